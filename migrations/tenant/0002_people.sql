-- The school's people (parents and staff), how they were invited, and who blocked whom when.
CREATE TABLE people (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- platform.accounts.id once the person has an account; no foreign key across schemas.
    account_id bigint      UNIQUE,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    email      text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    kind       text        NOT NULL CHECK (kind IN ('staff', 'parent')),
    roles      text[]      NOT NULL DEFAULT '{}' CHECK (roles <@ ARRAY['school_admin', 'teacher',
                                        'parent', 'class_parent', 'lice_check_parent']),
    blocked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX people_email_key ON people (lower(email));

CREATE TABLE invitations (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE,
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- NULL when an operator invited from the command line.
    invited_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX invitations_person_id ON invitations (person_id);

-- Every block and unblock, with who did it and when (A6).
CREATE TABLE access_changes (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    action     text        NOT NULL CHECK (action IN ('block', 'unblock')),
    changed_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_changes_person_id ON access_changes (person_id);
