-- Requests for mail about an account that anyone may make (a forgotten password). The page
-- only writes the request; a background task decides whether the address has an account and
-- mails it. So the answer takes the same path, and the same time, whether or not it has one.
-- A row lives for moments: it is deleted in the transaction that answers it.
CREATE TABLE platform.account_mail_requests (
    id           bigserial   PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('password_reset')),
    tenant_id    bigint      NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    email        text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- The language of the page the request came from, for an account without a choice.
    language     text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_mail_requests_by_school ON platform.account_mail_requests (tenant_id, id);
