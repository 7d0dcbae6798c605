-- Files sent with a post form that came back with a mistake (C1): kept for the person who
-- sent them and that form alone, under the SHA-256 of an unguessable token the form carries,
-- so that the author need not upload them again. Publishing the post moves them to
-- post_attachments; after a day they are no longer offered, and are cleared away.
CREATE TABLE pending_attachments (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form_hash    bytea       NOT NULL CHECK (length(form_hash) = 32),
    person_id    bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    file_name    text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg',
                                                             'image/png')),
    bytes        bytea       NOT NULL CHECK (length(bytes) BETWEEN 4 AND 10485760),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_attachments_form ON pending_attachments (form_hash, person_id, id);
CREATE INDEX pending_attachments_created_at ON pending_attachments (created_at);
