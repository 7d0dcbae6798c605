-- Special groups (P5): groups parents sign up for (readers, the library, the school trip),
-- without an activity (a name and perhaps a main group) or with one (a description, a last
-- day to sign up, a maximum of participants, and the groups whose parents may join).
CREATE TABLE special_groups (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Without an activity: only parents of this group may join (NULL: every parent).
    main_group_id    bigint      REFERENCES groups (id) ON DELETE SET NULL,
    has_activity     boolean     NOT NULL DEFAULT false,
    description      text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    -- The last day to sign up, in the school's time (Europe/Amsterdam).
    signup_until     date,
    max_participants integer     CHECK (max_participants BETWEEN 1 AND 10000),
    created_by       bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (has_activity OR (signup_until IS NULL AND max_participants IS NULL))
);

-- With an activity: the groups whose parents may join (none listed: every group).
CREATE TABLE special_group_groups (
    special_group_id bigint NOT NULL REFERENCES special_groups (id) ON DELETE CASCADE,
    group_id         bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (special_group_id, group_id)
);

CREATE TABLE special_group_members (
    special_group_id bigint      NOT NULL REFERENCES special_groups (id) ON DELETE CASCADE,
    person_id        bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (special_group_id, person_id)
);
CREATE INDEX special_group_members_person_id ON special_group_members (person_id);
