-- A parent's profile photo (P8), shown to others only as their privacy choice for "photo"
-- allows (P7). Only JPEG and PNG, recognised by their first bytes, at most 2 MB.
CREATE TABLE person_photos (
    person_id    bigint      PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    content_type text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    bytes        bytea       NOT NULL CHECK (length(bytes) BETWEEN 8 AND 2097152),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
