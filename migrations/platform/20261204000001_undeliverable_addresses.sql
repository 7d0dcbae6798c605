-- Mail that cannot arrive (N4). A permanent refusal (SMTP 5xx, or a temporary one that lasted
-- past `mail.give_up_after_hours`) fails the mail for good instead of retrying it forever, and
-- marks its address undeliverable until the person says they fixed it.
ALTER TABLE platform.outbox ADD COLUMN failed_at timestamptz NULL;
-- The one-click unsubscribe address of a bulk mail (RFC 8058): sent as List-Unsubscribe.
ALTER TABLE platform.outbox ADD COLUMN list_unsubscribe text NULL
    CHECK (list_unsubscribe ~ '^https?://' AND length(list_unsubscribe) <= 500);

DROP INDEX platform.outbox_due;
CREATE INDEX outbox_due ON platform.outbox (urgent DESC, next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
-- "Try again" finds an address's failed mail.
CREATE INDEX outbox_failed ON platform.outbox (lower(recipient)) WHERE failed_at IS NOT NULL;

CREATE TABLE platform.undeliverable_addresses (
    address text        PRIMARY KEY CHECK (address = lower(address)
                                           AND length(address) BETWEEN 3 AND 254),
    -- The kind of refusal ("smtp permanent rejection 550"), never the server's text.
    reason  text        NOT NULL CHECK (length(reason) <= 200),
    since   timestamptz NOT NULL DEFAULT now()
);
