-- Conversations (C4, the school's "Postvak"): messages between parents and staff that stay in
-- the portal. A message is readable by its author and its recipients only; the office is a
-- recipient that every admin reads for, with one read state for all of them (a shared inbox).

-- Whether parents may write to the other parents of their children's groups (the school
-- decides; both parents must also let their name be seen, P7).
ALTER TABLE school_settings
    ADD COLUMN parents_write_parents boolean NOT NULL DEFAULT false;

-- Class parents (A9): granted per group by an admin; they may write to that group's parents.
CREATE TABLE class_parents (
    group_id   bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    granted_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX class_parents_person_id ON class_parents (person_id);

-- Partners with joint use see each other's conversations about their shared children only
-- when both chose so.
ALTER TABLE people
    ADD COLUMN share_conversations boolean NOT NULL DEFAULT false;

CREATE TABLE conversations (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject        text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    -- The child it is about, if the writer said so (what partners may share).
    about_pupil_id bigint      REFERENCES pupils (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id       bigint      NOT NULL REFERENCES people (id),
    -- Written by an admin for the office: every admin sees it as the office's.
    for_office      boolean     NOT NULL DEFAULT false,
    body            text        NOT NULL CHECK (length(body) <= 20000),
    -- A forwarded message names what it forwards (its text is quoted in the body).
    forwarded_from  bigint      REFERENCES messages (id) ON DELETE SET NULL,
    -- NULL while it is a draft, which only its author sees.
    sent_at         timestamptz,
    -- A draft's chosen recipients, as the form names them (`person:12`, `office`, `group:3`,
    -- `special:4`, `list:5`), each with `to` or `cc`; turned into recipients when it is sent.
    draft_to        text[]      NOT NULL DEFAULT '{}',
    draft_cc        text[]      NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (sent_at IS NULL OR (draft_to = '{}' AND draft_cc = '{}'))
);
CREATE INDEX messages_conversation_id ON messages (conversation_id, id);
CREATE INDEX messages_author_id ON messages (author_id, id);
-- What the office wrote, which every admin sees as their own.
CREATE INDEX messages_for_office ON messages (id) WHERE for_office;

-- Who a sent message went to. `person_id` NULL is the office.
CREATE TABLE message_recipients (
    message_id bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    person_id  bigint      REFERENCES people (id) ON DELETE CASCADE,
    -- In cc rather than to.
    copy       boolean     NOT NULL DEFAULT false,
    -- Reached through a group, special group or list: the other recipients do not see them.
    hidden     boolean     NOT NULL DEFAULT false,
    read_at    timestamptz,
    -- When the notice mail (N3) named this message to this recipient.
    noticed_at timestamptz
);
CREATE UNIQUE INDEX message_recipients_key ON message_recipients (message_id, coalesce(person_id, 0));
CREATE INDEX message_recipients_person_id ON message_recipients (person_id, message_id);
-- What is unread, for the counters and the notice sweep.
CREATE INDEX message_recipients_unread ON message_recipients (person_id, message_id)
    WHERE read_at IS NULL;
-- What waits for its notice mail (N3): few rows, found at once by the minute's sweep.
CREATE INDEX message_recipients_to_notice ON message_recipients (message_id)
    WHERE read_at IS NULL AND noticed_at IS NULL;

CREATE TABLE message_attachments (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id   bigint      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    file_name    text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg',
                                                             'image/png')),
    bytes        bytea       NOT NULL CHECK (length(bytes) BETWEEN 4 AND 10485760),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_attachments_message_id ON message_attachments (message_id, id);

-- A person's archive: conversations moved out of their inbox (a new message brings one back).
CREATE TABLE conversation_archive (
    person_id       bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, conversation_id)
);

-- Senders a person does not want messages from (never staff).
CREATE TABLE blocked_senders (
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    sender_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    blocked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, sender_id),
    CHECK (person_id <> sender_id)
);

-- A recipient's row announces its changes like read marks do (0027): the navigation's unread
-- counter, kept in memory per person, then drops that person's entry in every process. A row
-- of the office counts for every admin.
CREATE FUNCTION announce_recipient_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    school text := substr(TG_TABLE_SCHEMA, 3);
    person bigint;
BEGIN
    FOR person IN
        SELECT changed.id FROM (VALUES (CASE WHEN TG_OP <> 'INSERT' THEN OLD.person_id END,
                                        TG_OP <> 'INSERT'),
                                       (CASE WHEN TG_OP <> 'DELETE' THEN NEW.person_id END,
                                        TG_OP <> 'DELETE')) AS changed (id, counts)
         WHERE changed.counts AND changed.id IS NOT NULL
    LOOP
        PERFORM pg_notify('schoolplein_reads_changed', school || ':' || person);
    END LOOP;
    IF (TG_OP <> 'INSERT' AND OLD.person_id IS NULL)
       OR (TG_OP <> 'DELETE' AND NEW.person_id IS NULL) THEN
        FOR person IN EXECUTE format('SELECT id FROM %I.people WHERE ''school_admin'' = ANY (roles)',
                                     TG_TABLE_SCHEMA)
        LOOP
            PERFORM pg_notify('schoolplein_reads_changed', school || ':' || person);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER message_recipients_changed AFTER INSERT OR UPDATE OR DELETE ON message_recipients
    FOR EACH ROW EXECUTE FUNCTION announce_recipient_change();
CREATE TRIGGER school_changed AFTER TRUNCATE ON message_recipients
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
