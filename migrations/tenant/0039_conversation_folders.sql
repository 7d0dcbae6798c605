-- Each reader's conversations (C4), kept as messages are sent and read, so that a folder page
-- is a short range of one index instead of an aggregate over every message the reader has: a
-- teacher's inbox of 5,000 messages in 1,000 threads cost 20 ms of SQL per page that way.
-- Written only by the triggers below, so every way of sending (the form, a draft, an answer
-- by mail, a mailing) keeps it right.
CREATE TABLE conversation_folders (
    -- The reader: a person, or 0 for the office (which every admin reads).
    reader_id       bigint      NOT NULL,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The newest message the reader sees, and when it was sent.
    last_at         timestamptz NOT NULL,
    last_message_id bigint      NOT NULL,
    -- When the newest message the reader received was sent; NULL: they only wrote (the inbox
    -- and the archive compare it with when they archived the conversation).
    received_at     timestamptz,
    -- The reader wrote in it (the sent folder).
    own             boolean     NOT NULL DEFAULT false,
    messages        integer     NOT NULL DEFAULT 0,
    unread          integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (reader_id, conversation_id)
);
CREATE INDEX conversation_folders_newest
    ON conversation_folders (reader_id, last_at DESC, conversation_id DESC);

-- A sent message counts once for its author (the office for a message written for it) and
-- once for each recipient.
CREATE FUNCTION count_into_folder(p_reader bigint, p_conversation bigint, p_message bigint,
                                  p_sent_at timestamptz, p_received boolean, p_unread boolean)
    RETURNS void
    LANGUAGE sql
    SET search_path FROM CURRENT
AS $$
    INSERT INTO conversation_folders AS f
        (reader_id, conversation_id, last_at, last_message_id, received_at, own, messages, unread)
    VALUES (p_reader, p_conversation, p_sent_at, p_message,
            CASE WHEN p_received THEN p_sent_at END, NOT p_received, 1, p_unread::int)
    ON CONFLICT (reader_id, conversation_id) DO UPDATE SET
        last_message_id = CASE WHEN (EXCLUDED.last_at, EXCLUDED.last_message_id)
                                    > (f.last_at, f.last_message_id)
                               THEN EXCLUDED.last_message_id ELSE f.last_message_id END,
        last_at = greatest(f.last_at, EXCLUDED.last_at),
        received_at = greatest(f.received_at, EXCLUDED.received_at),
        own = f.own OR EXCLUDED.own,
        messages = f.messages + 1,
        unread = f.unread + EXCLUDED.unread;
$$;

CREATE FUNCTION folder_counts_sent_message() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM count_into_folder(CASE WHEN NEW.for_office THEN 0 ELSE NEW.author_id END,
                              NEW.conversation_id, NEW.id, NEW.sent_at, false, false);
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_sent_into_folders AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.sent_at IS NOT NULL) EXECUTE FUNCTION folder_counts_sent_message();
CREATE TRIGGER drafts_sent_into_folders AFTER UPDATE OF sent_at ON messages
    FOR EACH ROW WHEN (OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL)
    EXECUTE FUNCTION folder_counts_sent_message();

CREATE FUNCTION folder_counts_recipient() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    sent messages%ROWTYPE;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO sent FROM messages WHERE id = NEW.message_id AND sent_at IS NOT NULL;
        IF FOUND THEN
            PERFORM count_into_folder(coalesce(NEW.person_id, 0), sent.conversation_id, sent.id,
                                      sent.sent_at, true, NEW.read_at IS NULL);
        END IF;
    ELSE
        -- Read (or unread again).
        UPDATE conversation_folders f
           SET unread = greatest(f.unread + CASE WHEN NEW.read_at IS NULL THEN 1 ELSE -1 END, 0)
          FROM messages m
         WHERE m.id = NEW.message_id AND f.conversation_id = m.conversation_id
           AND f.reader_id = coalesce(NEW.person_id, 0);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER recipients_into_folders AFTER INSERT ON message_recipients
    FOR EACH ROW EXECUTE FUNCTION folder_counts_recipient();
CREATE TRIGGER reads_into_folders AFTER UPDATE OF read_at ON message_recipients
    FOR EACH ROW WHEN ((OLD.read_at IS NULL) <> (NEW.read_at IS NULL))
    EXECUTE FUNCTION folder_counts_recipient();

-- What is there already.
INSERT INTO conversation_folders
    (reader_id, conversation_id, last_at, last_message_id, received_at, own, messages, unread)
SELECT reader_id, conversation_id, max(sent_at),
       (array_agg(id ORDER BY sent_at DESC, id DESC))[1],
       max(sent_at) FILTER (WHERE NOT own), bool_or(own), count(*), count(*) FILTER (WHERE unread)
  FROM (SELECT coalesce(r.person_id, 0) AS reader_id, m.conversation_id, m.sent_at, m.id,
               false AS own, r.read_at IS NULL AS unread
          FROM message_recipients r JOIN messages m ON m.id = r.message_id
         WHERE m.sent_at IS NOT NULL
        UNION ALL
        SELECT CASE WHEN m.for_office THEN 0 ELSE m.author_id END, m.conversation_id,
               m.sent_at, m.id, true, false
          FROM messages m WHERE m.sent_at IS NOT NULL) counted
 GROUP BY reader_id, conversation_id;
