-- A read mark updated to another person (by hand: the app only inserts and deletes marks)
-- announced only its new reader, so the old reader's kept timeline went on showing the post
-- read. An update now announces both; inserts and deletes as before (0026).
CREATE OR REPLACE FUNCTION announce_read_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM pg_notify('schoolplein_reads_changed',
                          substr(TG_TABLE_SCHEMA, 3) || ':' || OLD.person_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('schoolplein_reads_changed',
                          substr(TG_TABLE_SCHEMA, 3) || ':' || NEW.person_id);
    END IF;
    RETURN NULL;
END
$$;
