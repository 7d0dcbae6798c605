-- One-click unsubscribe (RFC 8058) for the mails a person gets in bulk: digests, a mail per
-- item, and message notices. Each such mail carries a link of its own, kept here by its hash;
-- a link turns off that kind of mail for that person once, and never again.
CREATE TABLE unsubscribe_links (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- What it turns off: the digest, a mail per item of one kind, or message notices.
    kind       text        NOT NULL CHECK (kind IN ('digest', 'each:news', 'each:agenda',
                                                    'each:board', 'message_notices')),
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX unsubscribe_links_created_at ON unsubscribe_links (created_at);

-- Message notices (N3) can be turned off by their own link or on the notifications page.
ALTER TABLE people ADD COLUMN message_notices boolean NOT NULL DEFAULT true;
