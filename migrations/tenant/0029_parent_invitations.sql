-- Parents invited by mail (A3): the administration's file names every parent's address, so the
-- school can send each an invitation that links them to exactly the children it names when
-- they sign up or sign in — no activation code. One invitation per address and run, single
-- use, for a limited time; one reminder after a week. Only hashes of the links are kept.
CREATE TABLE parent_invitations (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email               text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    token_hash          bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The reminder carries a link of its own; both work until the invitation ends.
    reminder_token_hash bytea       UNIQUE CHECK (length(reminder_token_hash) = 32),
    invited_by          bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    reminded_at         timestamptz,
    accepted_at         timestamptz,
    accepted_by         bigint      REFERENCES people (id) ON DELETE SET NULL,
    -- The mails in the platform's outbox: whether they were delivered or refused.
    mail_id             bigint,
    reminder_mail_id    bigint,
    CHECK ((accepted_at IS NULL) = (accepted_by IS NULL) OR accepted_by IS NULL)
);
CREATE INDEX parent_invitations_email ON parent_invitations (lower(email));
CREATE INDEX parent_invitations_reminder_due ON parent_invitations (created_at)
    WHERE accepted_at IS NULL AND reminded_at IS NULL;

-- The children an invitation is for, with the contact's name as the file gave it.
CREATE TABLE parent_invitation_pupils (
    invitation_id bigint NOT NULL REFERENCES parent_invitations (id) ON DELETE CASCADE,
    pupil_id      bigint NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    contact_name  text   NOT NULL CHECK (length(contact_name) BETWEEN 1 AND 250),
    PRIMARY KEY (invitation_id, pupil_id)
);
CREATE INDEX parent_invitation_pupils_pupil_id ON parent_invitation_pupils (pupil_id);
