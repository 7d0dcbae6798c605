-- Photo albums (C6): albums for one group (or, made by an admin, the whole school), their
-- photos with a thumbnail each, which pupils a photo shows, and each pupil's consent to the
-- use of their image. An album reaches whoever its group reaches, as the group is when
-- someone looks.
CREATE TABLE albums (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title              text        NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    -- NULL: the whole school.
    group_id           bigint      REFERENCES groups (id) ON DELETE CASCADE,
    -- Staff open an album to the parents' own photos (the school trip, the sports day).
    parents_may_upload boolean     NOT NULL DEFAULT false,
    created_by         bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX albums_group_id ON albums (group_id);

-- The original and its thumbnail live in the school's schema, next to the album: moved,
-- backed up and deleted with the school, and written with their tags in one transaction.
-- Only JPEG and PNG, recognised by their first bytes and decoded once to make the thumbnail.
CREATE TABLE photos (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    album_id        bigint      NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    file_name       text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type    text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    bytes           bytea       NOT NULL CHECK (length(bytes) BETWEEN 8 AND 10485760),
    -- Always a JPEG, at most 320 pixels wide and high.
    thumbnail       bytea       NOT NULL CHECK (length(thumbnail) BETWEEN 8 AND 1048576),
    uploaded_by     bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_album_id ON photos (album_id, id);

-- The pupils a photo shows, tagged by staff.
CREATE TABLE photo_tags (
    photo_id bigint NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    pupil_id bigint NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    PRIMARY KEY (photo_id, pupil_id)
);
CREATE INDEX photo_tags_pupil_id ON photo_tags (pupil_id);

-- Consent to use the pupil's image (toestemming beeldmateriaal), recorded by an admin from the
-- parents' answer. The privacy law asks for consent that was actually given, so a pupil
-- without a recorded answer has not consented: photos showing them are hidden from other
-- parents until the school records a yes.
ALTER TABLE pupils
    ADD COLUMN image_consent boolean NOT NULL DEFAULT false;
