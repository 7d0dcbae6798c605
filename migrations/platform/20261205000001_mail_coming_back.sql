-- Mail coming back (N4, N7). Each mail leaves with its own envelope sender
-- (`bounce+<id>-<return_token>@<inbound domain>`), so a delivery report that comes back later
-- names exactly the mail it is about, and nobody who does not hold the token can fail a mail.
ALTER TABLE platform.outbox ADD COLUMN return_token text NULL CHECK (return_token ~ '^[0-9a-f]{32}$');
ALTER TABLE platform.outbox ALTER COLUMN return_token SET DEFAULT replace(gen_random_uuid()::text, '-', '');

-- What a school's mail is about, for the delivery figures staff see (N7): the person it went
-- to and `post:<id>` or `message:<id>`. Kept here, beside the mail's state, rather than in
-- every school's schema: one index for the platform instead of one per school.
ALTER TABLE platform.outbox
    ADD COLUMN person_id bigint NULL,
    ADD COLUMN about     text   NULL CHECK (about ~ '^(post|message):[0-9]+$');
CREATE INDEX outbox_about ON platform.outbox (tenant_id, about) WHERE about IS NOT NULL;
