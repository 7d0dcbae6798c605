-- A person's notices in this school ("Sanne accepted your invitation", "welcome"), with
-- whether they have been read: the first kind of item behind the unread counts of the school
-- switcher. Later kinds (news, urgent messages) keep their own read state beside this one.
CREATE TABLE notices (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind       text        NOT NULL CHECK (kind IN ('welcome', 'invitation_accepted')),
    -- The person the notice is about (who accepted), when there is one.
    subject_id bigint      REFERENCES people (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz
);
CREATE INDEX notices_person_id ON notices (person_id, created_at DESC);
CREATE INDEX notices_unread ON notices (person_id) WHERE read_at IS NULL;
