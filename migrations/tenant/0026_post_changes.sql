-- What a timeline shows announces its changes too (see 0025): posts, whom they are for, the
-- names of the special groups they name, and who belongs to those. Read marks change all day,
-- one reader at a time, so they announce the reader alone (`<school id>:<person id>` on
-- schoolplein_reads_changed): only that person's timeline is read again. A row trigger, since
-- the statement does not say whose marks they are; a transaction's identical announcements
-- are sent once.
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON posts
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_special_groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_recipients
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON special_groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON special_group_members
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();

CREATE FUNCTION announce_read_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('schoolplein_reads_changed',
                          substr(TG_TABLE_SCHEMA, 3) || ':' || OLD.person_id);
    ELSE
        PERFORM pg_notify('schoolplein_reads_changed',
                          substr(TG_TABLE_SCHEMA, 3) || ':' || NEW.person_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reads_changed AFTER INSERT OR UPDATE OR DELETE ON post_reads
    FOR EACH ROW EXECUTE FUNCTION announce_read_change();
-- Emptying the table at once says nothing of whose marks went: the whole school then.
CREATE TRIGGER school_changed AFTER TRUNCATE ON post_reads
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
