-- Announces, at commit, that something a group page shows has changed in this school, so that
-- every process drops what it keeps in memory of the school (`kernel::school_cache`; 0026 adds
-- what timelines show). A trigger rather than the
-- code that writes: no path that changes these tables can forget to announce it. Statement
-- triggers, and PostgreSQL sends identical notifications of one transaction once, so an import
-- of a thousand pupils announces once. The payload is the school's id, taken from the table's
-- own schema (`t_<id>`), whatever the search path of the writer.
CREATE FUNCTION announce_school_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('schoolplein_school_changed', substr(TG_TABLE_SCHEMA, 3));
    RETURN NULL;
END
$$;

CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_teachers
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pupils
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON guardians
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy_choices
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON person_photos
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pupil_medical
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
-- People change for other reasons too (the digest's bookkeeping, twice a day): only the
-- columns a group page shows count.
CREATE TRIGGER school_changed AFTER INSERT OR DELETE OR TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER person_details_changed
    AFTER UPDATE OF name, email, address, phone_mobile, phone_other, blocked_at ON people
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
