-- What staff post (C1): news and agenda items for the whole school or for chosen groups, and
-- who has read which. Posts for groups reach the parents of the groups' pupils as they are
-- when a parent looks, so a pupil who joins a group later brings the group's posts along.
CREATE TABLE posts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('news', 'agenda')),
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body         text        NOT NULL CHECK (length(body) <= 20000),
    -- The day an agenda item is about.
    happens_on   date        CHECK ((kind = 'agenda') = (happens_on IS NOT NULL)),
    author_id    bigint      REFERENCES people (id) ON DELETE SET NULL,
    whole_school boolean     NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    edited_at    timestamptz
);
CREATE INDEX posts_newest ON posts (published_at DESC, id DESC);

CREATE TABLE post_groups (
    post_id  bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, group_id)
);
CREATE INDEX post_groups_group_id ON post_groups (group_id, post_id);

-- One row per person who opened a post: the unread marks of the timeline.
CREATE TABLE post_reads (
    post_id   bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    person_id bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    read_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, person_id)
);
CREATE INDEX post_reads_person_id ON post_reads (person_id);
