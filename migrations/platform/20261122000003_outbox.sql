-- The mail outbox: every mail is a row first, written in the transaction of the change that
-- causes it, then delivered by workers. Rows hold only what the mail itself needs.
CREATE TABLE platform.outbox (
    id              bigserial   PRIMARY KEY,
    -- The school that sends it; NULL for the platform's own mails. Deleting a school erases
    -- its unsent mail with the rest of its data.
    tenant_id       bigint      NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    recipient       text        NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    subject         text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 250),
    body_text       text        NOT NULL,
    body_html       text        NOT NULL,
    -- `<uuid@domain>`, fixed at enqueue: every attempt sends the same Message-ID, so a
    -- receiver can recognise a resent copy.
    message_id      text        NOT NULL UNIQUE,
    urgent          boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Due time; a claim moves it to the end of the lease, so an abandoned claim falls due again.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    claimed_until   timestamptz NULL,
    sent_at         timestamptz NULL,
    -- The kind of the last failure (e.g. "smtp transient rejection 451"), never server text.
    last_error      text        NULL
);

-- Claiming reads unsent mail, urgent first, then by due time.
CREATE INDEX outbox_due ON platform.outbox (urgent DESC, next_attempt_at, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_tenant_id ON platform.outbox (tenant_id) WHERE tenant_id IS NOT NULL;
