-- Documents (C7), the school's "digital bookcase": folders for the whole school or for one
-- group, holding newsletters, letters and forms. A school folder reaches everyone in the
-- school; a group folder reaches the group's parents, its teachers and the admins, as the
-- group is when someone looks. Files are recognised by their first bytes (what a file claims
-- to be counts for nothing), at most 10 MB, and are always served as downloads.
CREATE TABLE document_folders (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- NULL: the whole school.
    group_id   bigint      REFERENCES groups (id) ON DELETE CASCADE,
    created_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_folders_group_id ON document_folders (group_id);

-- The file itself lives in the school's schema, next to its folder: it is moved, backed up
-- and deleted with the school, and a file and its row are written in one transaction.
CREATE TABLE documents (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    folder_id    bigint      NOT NULL REFERENCES document_folders (id) ON DELETE CASCADE,
    file_name    text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type text        NOT NULL CHECK (content_type IN (
        'application/pdf', 'image/jpeg', 'image/png',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'application/vnd.openxmlformats-officedocument.presentationml.presentation')),
    bytes        bytea       NOT NULL CHECK (length(bytes) BETWEEN 4 AND 10485760),
    uploaded_by  bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_newest ON documents (folder_id, created_at DESC, id DESC);
