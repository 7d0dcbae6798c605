-- Who a session's account is (its name, address and language, its membership of the school at
-- the host, whether mail to its address arrives) is kept in each process's memory
-- (`kernel::account_cache`), so a page served from memory asks the database nothing. Every
-- change to what that reads announces the account at commit, whoever writes; '*' (a table
-- emptied) names every account.
CREATE FUNCTION platform.announce_account_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('schoolplein_account_changed', '*');
    ELSIF TG_TABLE_NAME = 'accounts' THEN
        PERFORM pg_notify('schoolplein_account_changed', OLD.id::text);
    ELSIF TG_TABLE_NAME = 'memberships' THEN
        -- An insert has no OLD row, a delete no NEW one.
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('schoolplein_account_changed', OLD.account_id::text);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('schoolplein_account_changed', NEW.account_id::text);
        END IF;
    ELSE
        -- undeliverable_addresses: the accounts at the address (found by accounts_email_key).
        PERFORM pg_notify('schoolplein_account_changed', a.id::text)
           FROM platform.accounts a
          WHERE lower(a.email) IN (
                CASE WHEN TG_OP <> 'INSERT' THEN OLD.address END,
                CASE WHEN TG_OP <> 'DELETE' THEN NEW.address END);
    END IF;
    RETURN NULL;
END
$$;

-- A new account has nothing kept yet; its password and sign-in times are not read.
CREATE TRIGGER account_changed AFTER UPDATE OF email, name, language, disabled OR DELETE
    ON platform.accounts FOR EACH ROW EXECUTE FUNCTION platform.announce_account_change();
CREATE TRIGGER account_changed AFTER INSERT OR DELETE
    OR UPDATE OF account_id, tenant_id, person_id, roles, blocked_at, read_only_at
    ON platform.memberships FOR EACH ROW EXECUTE FUNCTION platform.announce_account_change();
CREATE TRIGGER account_changed AFTER INSERT OR UPDATE OR DELETE
    ON platform.undeliverable_addresses FOR EACH ROW EXECUTE FUNCTION platform.announce_account_change();
CREATE TRIGGER accounts_emptied AFTER TRUNCATE ON platform.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION platform.announce_account_change();
CREATE TRIGGER memberships_emptied AFTER TRUNCATE ON platform.memberships
    FOR EACH STATEMENT EXECUTE FUNCTION platform.announce_account_change();
CREATE TRIGGER undeliverable_emptied AFTER TRUNCATE ON platform.undeliverable_addresses
    FOR EACH STATEMENT EXECUTE FUNCTION platform.announce_account_change();
