-- The school's calendar (K1) and its iCalendar feeds (K2). An event is for the whole school
-- or for groups, and its visibility says who of that audience sees it: only its author
-- (private), staff, every member (members), or also visitors of the school's public page
-- (public). Times are instants; people enter and read them in Europe/Amsterdam.
CREATE TABLE events (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    place        text        NOT NULL DEFAULT '' CHECK (length(place) <= 200),
    visibility   text        NOT NULL CHECK (visibility IN ('private', 'staff', 'members', 'public')),
    -- false: the groups in event_groups.
    whole_school boolean     NOT NULL,
    -- The instants the event covers, for every event: what ranges and sorting use.
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    -- An all-day event's first and last day (inclusive), what it is shown as; its instants
    -- are then the Dutch midnights around those days.
    first_day    date,
    last_day     date,
    author_id    bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((first_day IS NULL) = (last_day IS NULL)),
    CHECK (last_day >= first_day),
    CHECK (first_day IS NULL
           OR (starts_at = first_day::timestamp AT TIME ZONE 'Europe/Amsterdam'
               AND ends_at = (last_day + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam'))
);
CREATE INDEX events_starts_at ON events (starts_at, id);
CREATE INDEX events_ends_at ON events (ends_at);
CREATE INDEX events_author_id ON events (author_id);

CREATE TABLE event_groups (
    event_id bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, group_id)
);
CREATE INDEX event_groups_group_id ON event_groups (group_id, event_id);

-- A person's secret feed links: one personal feed (group_id NULL) and one per group. Only
-- the SHA-256 of the link's secret is kept, so a copy of this table opens no feed; renewing
-- replaces the hash, and the old link stops working at once.
CREATE TABLE calendar_feeds (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    group_id   bigint      REFERENCES groups (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (person_id, group_id)
);
