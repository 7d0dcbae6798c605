-- Bulletin-board items (C1): posts that parents answer ("who can drive on Friday?"). An
-- answer is seen by the one who gave it and by the post's author and the school's admins,
-- never by other parents.
ALTER TABLE posts DROP CONSTRAINT posts_kind_check;
ALTER TABLE posts ADD CONSTRAINT posts_kind_check CHECK (kind IN ('news', 'agenda', 'board'));

CREATE TABLE post_answers (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    body       text        NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX post_answers_post_id ON post_answers (post_id, id);
