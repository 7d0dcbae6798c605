-- Answers by mail (C4, C5). A mail that invites an answer carries a reply address of its own
-- for its recipient (`reply+<school>-<token>@<inbound domain>`); an answer sent to it becomes
-- a message in the conversation (or, for a post sent as a mailing, a new conversation with
-- its writer). Only the token's hash is kept; a guessed or expired address finds nothing.
CREATE TABLE reply_addresses (
    token_hash      bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    person_id       bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- The conversation an answer joins; NULL with `post_id` NULL: a notice that named several
    -- conversations, whose answers are sent back with the advice to answer in the portal.
    conversation_id bigint      REFERENCES conversations (id) ON DELETE CASCADE,
    post_id         bigint      REFERENCES posts (id) ON DELETE CASCADE,
    expires_at      timestamptz NOT NULL,
    CHECK (conversation_id IS NULL OR post_id IS NULL)
);

-- Mailings (C5): a post or a message that staff sent by mail to everyone it reaches at once.
ALTER TABLE posts ADD COLUMN mailing boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN mailing boolean NOT NULL DEFAULT false;

-- The primary contact (A8): the school may send mail to groups only to each child's primary
-- contact (every parent still reads everything in the portal).
ALTER TABLE school_settings ADD COLUMN group_mail_primary_only boolean NOT NULL DEFAULT false;

-- Whether a person gets mailings (turned off by the one-click unsubscribe of one).
ALTER TABLE people ADD COLUMN mailings boolean NOT NULL DEFAULT true;

-- Whether a parent reached through their children in groups `p_groups` (NULL: the whole
-- school) gets a mailing when the school sends group mail to primary contacts only: when they
-- are the primary contact of one of those children, or one of them has none. Someone with no
-- child there (a member of a special group, a colleague) always does.
CREATE FUNCTION gets_group_mail(p_person bigint, p_groups bigint[]) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path FROM CURRENT
AS $$
    WITH children AS (
        SELECT g.pupil_id, g.is_primary
          FROM guardians g JOIN pupils p ON p.id = g.pupil_id AND p.left_at IS NULL
         WHERE g.person_id = p_person AND g.status = 'active'
           AND (p_groups IS NULL OR p.group_id = ANY (p_groups)))
    SELECT NOT EXISTS (SELECT 1 FROM children)
        OR EXISTS (SELECT 1 FROM children c
                    WHERE c.is_primary
                       OR NOT EXISTS (SELECT 1 FROM guardians o
                                       WHERE o.pupil_id = c.pupil_id AND o.is_primary
                                         AND o.status = 'active'))
$$;

-- Mailings carry a one-click unsubscribe link too (RFC 8058).
ALTER TABLE unsubscribe_links
    DROP CONSTRAINT unsubscribe_links_kind_check,
    ADD CONSTRAINT unsubscribe_links_kind_check
        CHECK (kind IN ('digest', 'each:news', 'each:agenda', 'each:board', 'message_notices',
                        'mailings'));
