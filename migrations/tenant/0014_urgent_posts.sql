-- Urgent messages (C2): mailed at once to every parent they are for, ahead of other mail.
-- The recipients are kept as they were when it was sent, so staff see who has read it
-- (opened in the portal or followed the link in the mail) and who has not, and can remind
-- the latter. Each mail carries its own link; only the link's hash is kept.
ALTER TABLE posts
    ADD COLUMN urgent      boolean NOT NULL DEFAULT false,
    ADD COLUMN reminded_at timestamptz;

CREATE TABLE post_recipients (
    post_id   bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, person_id)
);

CREATE TABLE post_links (
    -- SHA-256 of the secret in the link.
    link_hash bytea  PRIMARY KEY CHECK (length(link_hash) = 32),
    post_id   bigint NOT NULL,
    person_id bigint NOT NULL,
    FOREIGN KEY (post_id, person_id) REFERENCES post_recipients (post_id, person_id)
        ON DELETE CASCADE
);
CREATE INDEX post_links_recipient ON post_links (post_id, person_id);
