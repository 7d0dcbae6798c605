-- A person's first inbox page is kept in memory like their timeline (kernel::school_cache, kind
-- "inbox"): everything that page shows now announces its change for the person it changes
-- for, on the channel read marks use (0026), so every process drops that person's entries.
-- The recipients' rows announce their readers already (0036); the folder rows also change for
-- a message's author, and archiving, a conversation's subject and a partner's sharing change
-- what a person's inbox shows without touching them.

-- Announces `person` of this school, or every admin of it for the office (0).
CREATE FUNCTION announce_person(schema_name text, person bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    school text := substr(schema_name, 3);
    admin bigint;
BEGIN
    IF person <> 0 THEN
        PERFORM pg_notify('schoolplein_reads_changed', school || ':' || person);
        RETURN;
    END IF;
    FOR admin IN EXECUTE format('SELECT id FROM %I.people WHERE ''school_admin'' = ANY (roles)',
                                schema_name)
    LOOP
        PERFORM pg_notify('schoolplein_reads_changed', school || ':' || admin);
    END LOOP;
END
$$;

-- A row naming its person in the column TG_ARGV[0]: that person, before and after.
CREATE FUNCTION announce_row_person() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM announce_person(TG_TABLE_SCHEMA, (to_jsonb(OLD) ->> TG_ARGV[0])::bigint);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM announce_person(TG_TABLE_SCHEMA, (to_jsonb(NEW) ->> TG_ARGV[0])::bigint);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER folders_changed AFTER INSERT OR UPDATE OR DELETE ON conversation_folders
    FOR EACH ROW EXECUTE FUNCTION announce_row_person('reader_id');
CREATE TRIGGER school_changed AFTER TRUNCATE ON conversation_folders
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();

CREATE TRIGGER archive_changed AFTER INSERT OR UPDATE OR DELETE ON conversation_archive
    FOR EACH ROW EXECUTE FUNCTION announce_row_person('person_id');
CREATE TRIGGER school_changed AFTER TRUNCATE ON conversation_archive
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();

-- A new subject: everyone whose folder lists the conversation.
CREATE FUNCTION announce_conversation_readers() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    reader bigint;
BEGIN
    FOR reader IN EXECUTE format('SELECT reader_id FROM %I.conversation_folders
                                   WHERE conversation_id = $1', TG_TABLE_SCHEMA)
                  USING NEW.id
    LOOP
        PERFORM announce_person(TG_TABLE_SCHEMA, reader);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER subject_changed AFTER UPDATE OF subject ON conversations
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject)
    EXECUTE FUNCTION announce_conversation_readers();

-- Sharing conversations with a partner (A8): the person and both partners, old and new.
CREATE FUNCTION announce_partners() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    person bigint;
BEGIN
    FOR person IN SELECT DISTINCT p FROM unnest(ARRAY[NEW.id, OLD.partner_id, NEW.partner_id]) p
                   WHERE p IS NOT NULL
    LOOP
        PERFORM announce_person(TG_TABLE_SCHEMA, person);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER sharing_changed AFTER UPDATE OF partner_id, joint_use, share_conversations ON people
    FOR EACH ROW
    WHEN ((OLD.partner_id, OLD.joint_use, OLD.share_conversations)
          IS DISTINCT FROM (NEW.partner_id, NEW.joint_use, NEW.share_conversations))
    EXECUTE FUNCTION announce_partners();

-- Who received an author's message, read it and got its mail (N7) shows on the conversation
-- as its author keeps it: a read or notice mark announces the message's author too (the
-- office's message: every admin), and so does its mail's state in the outbox
-- (`platform.outbox`, which calls `announce_message_author` by the message's id).
CREATE FUNCTION announce_message_author(message bigint) RETURNS void
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    written messages%ROWTYPE;
BEGIN
    SELECT * INTO written FROM messages WHERE id = message;
    IF FOUND THEN
        PERFORM announce_person(current_schema(),
                                CASE WHEN written.for_office THEN 0 ELSE written.author_id END);
    END IF;
END
$$;

CREATE FUNCTION announce_recipient_marks() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM announce_message_author(NEW.message_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER delivery_changed AFTER UPDATE OF read_at, noticed_at ON message_recipients
    FOR EACH ROW
    WHEN ((OLD.read_at, OLD.noticed_at) IS DISTINCT FROM (NEW.read_at, NEW.noticed_at))
    EXECUTE FUNCTION announce_recipient_marks();
