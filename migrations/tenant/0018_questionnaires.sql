-- Questionnaires (C3): questions a post carries (yes/no, one choice, several choices, short
-- text), answered once per parent — or once per child when the post asks per child — until a
-- deadline. Partners in joint use share one answer: whoever answers first creates it, the
-- other sees and changes the same one. And recipient lists staff keep (all parents of a group,
-- everyone who has not answered a post, everyone who answered something), resolved into the
-- post's recipients at the moment a post is sent to them.
ALTER TABLE posts
    ADD COLUMN answers_until        timestamptz,
    ADD COLUMN per_child            boolean NOT NULL DEFAULT false,
    -- The automatic reminder the day before the deadline, sent once.
    ADD COLUMN deadline_reminded_at timestamptz,
    -- Who a post sent to a recipient list is for: its post_recipients, fixed when sent.
    ADD COLUMN by_list              boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT posts_list_or_groups CHECK (NOT (by_list AND whole_school));

CREATE TABLE questions (
    id       bigserial PRIMARY KEY,
    post_id  bigint   NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position smallint NOT NULL CHECK (position BETWEEN 1 AND 20),
    kind     text     NOT NULL CHECK (kind IN ('yes_no', 'one_choice', 'many_choices',
                                               'short_text')),
    prompt   text     NOT NULL CHECK (length(prompt) BETWEEN 1 AND 300),
    options  text[]   NOT NULL DEFAULT '{}',
    CHECK (CASE WHEN kind IN ('one_choice', 'many_choices')
                THEN cardinality(options) BETWEEN 2 AND 20
                ELSE cardinality(options) = 0 END),
    CHECK (length(array_to_string(options, '')) <= 20 * 100),
    UNIQUE (post_id, position)
);

-- One parent's (or couple's) answer to a post, for one child or (pupil_id null) for the family.
CREATE TABLE responses (
    id          bigserial   PRIMARY KEY,
    post_id     bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    person_id   bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    pupil_id    bigint      REFERENCES pupils (id) ON DELETE CASCADE,
    answered_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    answered_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (post_id, person_id, pupil_id)
);

CREATE TABLE response_answers (
    response_id bigint NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    question_id bigint NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    yes         boolean,
    -- Positions in the question's options, from 0.
    choices     smallint[] CHECK (0 <= ALL (choices) AND 20 > ALL (choices)),
    text        text CHECK (length(text) BETWEEN 1 AND 500),
    PRIMARY KEY (response_id, question_id),
    CHECK (num_nonnulls(yes, choices, text) = 1)
);
CREATE INDEX response_answers_question ON response_answers (question_id);

-- Who a post asks to answer: the parents it reaches (through a child in its audience, a
-- special group, or its recipient list), not blocked; with the child each section is about
-- when it asks per child (a parent reached only as a person answers for each of their children,
-- or once when they have none).
CREATE FUNCTION post_addressees(p_post bigint) RETURNS TABLE (person_id bigint, pupil_id bigint)
    LANGUAGE sql STABLE
    SET search_path FROM CURRENT
AS $$
    WITH post AS (SELECT whole_school, per_child, by_list FROM posts WHERE id = p_post),
         through_child AS (
             SELECT g.person_id, p.id AS pupil_id
               FROM post, guardians g
               JOIN pupils p ON p.id = g.pupil_id AND p.left_at IS NULL
              WHERE g.status = 'active' AND NOT post.by_list
                AND (post.whole_school
                     OR p.group_id IN (SELECT group_id FROM post_groups WHERE post_id = p_post))),
         as_person AS (
             SELECT m.person_id
               FROM post_special_groups ps
               JOIN special_group_members m ON m.special_group_id = ps.special_group_id
              WHERE ps.post_id = p_post
             UNION
             SELECT r.person_id FROM post, post_recipients r
              WHERE post.by_list AND r.post_id = p_post),
         their_children AS (
             SELECT a.person_id, p.id AS pupil_id
               FROM as_person a
               LEFT JOIN guardians g ON g.person_id = a.person_id AND g.status = 'active'
               LEFT JOIN pupils p ON p.id = g.pupil_id AND p.left_at IS NULL),
         reached AS (SELECT * FROM through_child UNION SELECT * FROM their_children)
    SELECT DISTINCT r.person_id, CASE WHEN post.per_child THEN r.pupil_id END
      FROM post, reached r
      JOIN people pe ON pe.id = r.person_id AND pe.blocked_at IS NULL
     -- A section without a child only for someone with no child at school.
     WHERE r.pupil_id IS NOT NULL
        OR NOT EXISTS (SELECT 1 FROM reached x
                        WHERE x.person_id = r.person_id AND x.pupil_id IS NOT NULL)
$$;

-- Who answered for whom: a section counts as answered when the addressee or their partner in
-- joint use (both having it on) answered it.
CREATE FUNCTION post_answered(p_post bigint)
    RETURNS TABLE (person_id bigint, pupil_id bigint, response_id bigint)
    LANGUAGE sql STABLE
    SET search_path FROM CURRENT
AS $$
    SELECT a.person_id, a.pupil_id, r.id
      FROM post_addressees(p_post) a
      JOIN people me ON me.id = a.person_id
      LEFT JOIN people partner ON partner.id = me.partner_id AND me.joint_use AND partner.joint_use
      LEFT JOIN LATERAL (
          SELECT id FROM responses r
           WHERE r.post_id = p_post AND r.pupil_id IS NOT DISTINCT FROM a.pupil_id
             AND r.person_id IN (me.id, partner.id)
           ORDER BY r.person_id = me.id DESC, r.id
           LIMIT 1) r ON true
$$;

CREATE TABLE recipient_lists (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    rule        text        NOT NULL CHECK (rule IN ('group', 'not_answered', 'answered')),
    group_id    bigint      REFERENCES groups (id) ON DELETE CASCADE,
    post_id     bigint      REFERENCES posts (id) ON DELETE CASCADE,
    question_id bigint      REFERENCES questions (id) ON DELETE CASCADE,
    -- 'answered': the option's position (choices), 1/0 for yes/no.
    answer      smallint,
    created_by  bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE rule
               WHEN 'group' THEN group_id IS NOT NULL AND post_id IS NULL AND question_id IS NULL
               WHEN 'not_answered' THEN post_id IS NOT NULL AND group_id IS NULL
                                        AND question_id IS NULL
               ELSE question_id IS NOT NULL AND answer IS NOT NULL AND group_id IS NULL END)
);
