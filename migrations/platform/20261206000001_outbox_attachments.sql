-- Files a mail carries (a leave decision letter, D2): most mail carries links, but a formal
-- decision is a document the parent keeps. Written with the mail, in the same transaction,
-- and sent with it on every attempt.
CREATE TABLE platform.outbox_attachments (
    mail_id      bigint   NOT NULL REFERENCES platform.outbox (id) ON DELETE CASCADE,
    position     smallint NOT NULL CHECK (position BETWEEN 0 AND 4),
    file_name    text     NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200
                                          AND file_name !~ '[\r\n"/\\]'),
    content_type text     NOT NULL CHECK (content_type IN ('application/pdf')),
    bytes        bytea    NOT NULL CHECK (length(bytes) BETWEEN 1 AND 5242880),
    PRIMARY KEY (mail_id, position)
);

-- How many files a mail carries: the worker looks them up only for mail that has some.
ALTER TABLE platform.outbox ADD COLUMN attachments smallint NOT NULL DEFAULT 0;
