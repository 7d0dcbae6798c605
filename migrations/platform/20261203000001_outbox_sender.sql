-- A school's mail shows the school as its sender ("De Klimop via Schoolplein") and answers go
-- to the school's own address where it gave one; both fixed at enqueue, like the rest of the
-- mail. NULL: the platform's name and no Reply-To.
ALTER TABLE platform.outbox
    ADD COLUMN sender_name text NULL CHECK (length(sender_name) BETWEEN 1 AND 200),
    ADD COLUMN reply_to    text NULL CHECK (length(reply_to) BETWEEN 3 AND 254);
