-- A school's conversation is kept in memory for its reader with who received, read and got
-- each of their own messages (N7); the mail's part of that lives here. A message's mail
-- queued, sent or failed announces the message's author through the school's own function
-- (tenant migration 0044; a school without it yet keeps no conversations, so it is skipped).
CREATE FUNCTION platform.announce_message_mail() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    school text := 't_' || NEW.tenant_id;
BEGIN
    IF to_regprocedure(format('%I.announce_message_author(bigint)', school)) IS NOT NULL THEN
        EXECUTE format('SELECT %I.announce_message_author($1)', school)
            USING substr(NEW.about, length('message:') + 1)::bigint;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER message_mail_changed AFTER INSERT OR UPDATE OF sent_at, failed_at ON platform.outbox
    FOR EACH ROW WHEN (NEW.tenant_id IS NOT NULL AND NEW.about LIKE 'message:%')
    EXECUTE FUNCTION platform.announce_message_mail();

-- An address that no longer takes mail, or takes it again: every school with a member of that
-- address drops what it keeps (its staff's conversations show the address as undeliverable).
-- Bounces are rare, so the whole school is announced rather than each author.
CREATE FUNCTION platform.announce_undeliverable() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    address text := CASE WHEN TG_OP = 'DELETE' THEN OLD.address ELSE NEW.address END;
    school bigint;
BEGIN
    FOR school IN SELECT DISTINCT m.tenant_id
                    FROM platform.accounts a JOIN platform.memberships m ON m.account_id = a.id
                   WHERE lower(a.email) = address
    LOOP
        PERFORM pg_notify('schoolplein_school_changed', school::text);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER undeliverable_changed AFTER INSERT OR UPDATE OR DELETE
    ON platform.undeliverable_addresses
    FOR EACH ROW EXECUTE FUNCTION platform.announce_undeliverable();
