-- Parent–teacher conference rounds (K3, K4, K6): a teacher plans a round of talks for a group,
-- its slots are generated from the round's parameters and edited by hand, parents book a slot
-- each (or the teacher assigns one), and the round opens for booking at a set moment — earlier,
-- if the school wants, for families with several children at school.

-- The invitation text the school mails when a round is published, as the school writes it;
-- NULL: the built-in text in the parent's language.
CREATE TABLE conference_settings (
    id                 boolean     PRIMARY KEY DEFAULT true CHECK (id),
    invitation_text    text        CHECK (length(invitation_text) BETWEEN 1 AND 4000),
    -- The same in English, for parents who read English; NULL: they get `invitation_text`.
    invitation_text_en text        CHECK (length(invitation_text_en) BETWEEN 1 AND 4000),
    updated_by         bigint      REFERENCES people (id) ON DELETE SET NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO conference_settings DEFAULT VALUES;

CREATE TABLE conference_rounds (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id           bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    title              text        NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    -- The parameters the slots were generated from (seed 000), kept to show them again.
    talks              smallint    NOT NULL CHECK (talks BETWEEN 1 AND 300),
    talk_minutes       smallint    NOT NULL CHECK (talk_minutes BETWEEN 5 AND 120),
    -- 0: no breaks.
    talks_before_break smallint    NOT NULL CHECK (talks_before_break BETWEEN 0 AND 300),
    break_minutes      smallint    NOT NULL CHECK (break_minutes BETWEEN 0 AND 120),
    -- The start date and up to four extra days, in date order (local dates).
    days               date[]      NOT NULL CHECK (cardinality(days) BETWEEN 1 AND 5),
    day_start          time        NOT NULL,
    day_end            time        NOT NULL CHECK (day_end > day_start),
    -- Separated parents: 'shared' — one talk per child, booked by either parent;
    -- 'per_parent' — each parent with their own account books their own talk.
    booking_mode       text        NOT NULL DEFAULT 'shared'
                                   CHECK (booking_mode IN ('shared', 'per_parent')),
    -- Parents book, change and cancel until this many days before the round's first day
    -- (at midnight, Dutch time); NULL: until the teacher closes the round.
    change_until_days  smallint    CHECK (change_until_days BETWEEN 0 AND 60),
    -- Booking opens at this moment (fair start, K6); NULL: as soon as the round is published.
    opens_at           timestamptz,
    -- Families with two or more children at school may book from this earlier moment.
    siblings_open_at   timestamptz CHECK (siblings_open_at < opens_at),
    -- A personal word from the teacher, shown above the times (seed 003).
    message            text        NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    -- The invitation as it was mailed at publication, if it was.
    invitation_text    text        CHECK (length(invitation_text) <= 4000),
    invitation_text_en text        CHECK (length(invitation_text_en) <= 4000),
    status             text        NOT NULL DEFAULT 'draft'
                                   CHECK (status IN ('draft', 'published', 'closed')),
    created_by         bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    published_at       timestamptz,
    closed_at          timestamptz,
    CHECK ((status = 'draft') = (published_at IS NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    -- What a booking refers to, so that its mode is the round's (see conference_bookings).
    UNIQUE (id, booking_mode)
);
CREATE INDEX conference_rounds_group_id ON conference_rounds (group_id);
CREATE INDEX conference_rounds_open ON conference_rounds (group_id) WHERE status = 'published';

-- One talk's time. A double talk is one slot twice the round's length.
CREATE TABLE conference_slots (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id  bigint      NOT NULL REFERENCES conference_rounds (id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL,
    CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '4 hours'),
    UNIQUE (round_id, starts_at),
    -- What a booking refers to, so that its round is the slot's.
    UNIQUE (id, round_id)
);

-- No two slots of a round overlap. An exclusion constraint would need btree_gist, an
-- extension installed once per database, outside the school's schema; a trigger keeps the
-- rule inside it. It takes the round's row lock before it looks, so two transactions adding
-- slots to one round check one after the other, each seeing what the other committed (a
-- volatile function's query takes a fresh snapshot). Bookings do not move slots and never
-- fire it.
CREATE FUNCTION conference_slots_no_overlap() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM 1 FROM conference_rounds WHERE id = NEW.round_id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM conference_slots s
                WHERE s.round_id = NEW.round_id AND s.id <> NEW.id
                  AND s.starts_at < NEW.ends_at AND NEW.starts_at < s.ends_at) THEN
        RAISE EXCEPTION 'slots of round % overlap', NEW.round_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'conference_slots_no_overlap';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER conference_slots_no_overlap
    AFTER INSERT OR UPDATE OF starts_at, ends_at ON conference_slots
    FOR EACH ROW EXECUTE FUNCTION conference_slots_no_overlap();

-- A booked talk: a slot, the child it is about and, when each parent books their own talk,
-- the parent whose talk it is. A slot is booked at most once (its UNIQUE), a child once per
-- round, or once per parent in 'per_parent' mode (the second UNIQUE, NULLs equal), and the
-- mode is the round's, so a round's mode cannot change under its bookings.
CREATE TABLE conference_bookings (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id     bigint      NOT NULL,
    slot_id      bigint      NOT NULL UNIQUE,
    pupil_id     bigint      NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    -- 'per_parent' mode: the parent whose talk it is; 'shared': NULL (the child's family).
    parent_id    bigint      REFERENCES people (id) ON DELETE CASCADE,
    booking_mode text        NOT NULL,
    -- Who booked last: the parent, or the teacher who assigned the slot.
    booked_by    bigint      REFERENCES people (id) ON DELETE SET NULL,
    assigned     boolean     NOT NULL DEFAULT false,
    booked_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (slot_id, round_id) REFERENCES conference_slots (id, round_id) ON DELETE CASCADE,
    FOREIGN KEY (round_id, booking_mode) REFERENCES conference_rounds (id, booking_mode)
        ON DELETE CASCADE,
    CHECK ((booking_mode = 'shared') = (parent_id IS NULL)),
    UNIQUE NULLS NOT DISTINCT (round_id, pupil_id, parent_id)
);
CREATE INDEX conference_bookings_pupil_id ON conference_bookings (pupil_id);
CREATE INDEX conference_bookings_parent_id ON conference_bookings (parent_id);
