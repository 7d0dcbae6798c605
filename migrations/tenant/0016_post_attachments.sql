-- Files attached to posts (C1): PDF, JPEG and PNG only, recognised by their first bytes (what
-- a file claims to be counts for nothing), at most 10 MB each and five per post. They reach
-- exactly who the post reaches, and are always served as downloads.
CREATE TABLE post_attachments (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id      bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    file_name    text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg',
                                                             'image/png')),
    bytes        bytea       NOT NULL CHECK (length(bytes) BETWEEN 4 AND 10485760),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX post_attachments_post_id ON post_attachments (post_id, id);
