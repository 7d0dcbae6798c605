-- The school's roster: groups with their teachers, pupils (as the pupil administration
-- exports them) with their contacts, the portal's links between parents and their children,
-- each pupil's activation code, and the settings that govern registration.

CREATE TABLE groups (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The pupil administration's key for the group (EDEXML `groep key`, or the name in CSV).
    import_key text        UNIQUE CHECK (length(import_key) BETWEEN 1 AND 100),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The year group (1–8) when known; sorts the groups.
    year       smallint    CHECK (year BETWEEN 0 AND 8),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_name_key ON groups (lower(name));

CREATE TABLE group_teachers (
    group_id  bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_teachers_person_id ON group_teachers (person_id);

CREATE TABLE pupils (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The pupil administration's key (leerlingnummer): re-imports update by it.
    import_key    text        NOT NULL UNIQUE CHECK (length(import_key) BETWEEN 1 AND 100),
    first_name    text        NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    name_prefix   text        NOT NULL DEFAULT '' CHECK (length(name_prefix) <= 30),
    last_name     text        NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    date_of_birth date        NOT NULL CHECK (date_of_birth > DATE '1990-01-01'),
    group_id      bigint      REFERENCES groups (id) ON DELETE SET NULL,
    -- The contacts (parents, guardians) as the administration holds them: staff-only data,
    -- replaced by every import.
    contacts      jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(contacts) = 'array'),
    -- Set when a pupil is no longer in the administration's file: kept, not deleted.
    left_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pupils_group_id ON pupils (group_id) WHERE left_at IS NULL;

-- A parent (a person of the school) linked to a child in the portal, by an activation code.
CREATE TABLE guardians (
    pupil_id    bigint      NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    person_id   bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- Waiting for a school admin, or in effect.
    status      text        NOT NULL CHECK (status IN ('pending', 'active')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    approved_at timestamptz,
    approved_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    PRIMARY KEY (pupil_id, person_id),
    CHECK ((status = 'active') = (approved_at IS NOT NULL))
);
CREATE INDEX guardians_person_id ON guardians (person_id);
CREATE INDEX guardians_pending ON guardians (created_at) WHERE status = 'pending';

-- Each pupil's activation code (koppelcode), printed on the letter to the parents. Kept
-- readable so letters can be printed again; a new code replaces the old one at once.
CREATE TABLE pupil_codes (
    pupil_id   bigint      PRIMARY KEY REFERENCES pupils (id) ON DELETE CASCADE,
    code       text        NOT NULL UNIQUE CHECK (code ~ '^[A-Z2-9]{12}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The school's settings (one row).
CREATE TABLE school_settings (
    id                       boolean     PRIMARY KEY DEFAULT true CHECK (id),
    -- New links between parents and children take effect at once, or wait for an admin.
    activate_parents_at_once boolean     NOT NULL DEFAULT false,
    -- A code for the whole school, as an alternative to the pupils' codes: a parent who
    -- registers with it joins the school and waits for an admin to link their children.
    school_code              text        UNIQUE CHECK (school_code ~ '^[A-Z2-9]{12}$'),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
INSERT INTO school_settings DEFAULT VALUES;

-- What a parent who registered with the school's code says about their children, for the admin.
ALTER TABLE people
    ADD COLUMN registration_note text CHECK (length(registration_note) <= 500);

-- Every import of the pupil administration's file: who, when, and what it changed.
CREATE TABLE roster_imports (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    imported_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    format      text        NOT NULL CHECK (format IN ('csv', 'edexml')),
    added       integer     NOT NULL,
    changed     integer     NOT NULL,
    unchanged   integer     NOT NULL,
    marked_left integer     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
