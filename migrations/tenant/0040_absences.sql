-- Sick reports (D1): a parent reports a child absent for medical reasons for today, a span
-- of days, or until the child is better; teachers see today's absences of their groups and
-- mark a child present again; the school keeps a register per child per school year.

-- How the school takes sick reports (one row).
CREATE TABLE absence_settings (
    id             boolean     PRIMARY KEY DEFAULT true CHECK (id),
    -- A report for today is taken online until this local (Europe/Amsterdam) time; NULL: all
    -- day. After it the page shows `late_text` and the school's phone number.
    report_until   time        DEFAULT '08:15',
    late_text      text        NOT NULL DEFAULT '' CHECK (length(late_text) <= 1000),
    -- The reasons parents choose from, in the order shown.
    reasons        text[]      NOT NULL DEFAULT ARRAY['ill', 'doctor', 'dentist', 'orthodontist', 'other']
                               CHECK (cardinality(reasons) BETWEEN 1 AND 6
                                      AND reasons <@ ARRAY['ill', 'doctor', 'dentist', 'orthodontist',
                                                           'hospital', 'other']),
    -- A child with this many reports starting in the last `signal_weeks` weeks is listed for
    -- the school (the usual signal for the school doctor: 3 in 8 weeks).
    signal_reports smallint    NOT NULL DEFAULT 3 CHECK (signal_reports BETWEEN 2 AND 20),
    signal_weeks   smallint    NOT NULL DEFAULT 8 CHECK (signal_weeks BETWEEN 1 AND 52),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO absence_settings DEFAULT VALUES;

CREATE TABLE absences (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pupil_id    bigint      NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    reason      text        NOT NULL CHECK (reason IN ('ill', 'doctor', 'dentist', 'orthodontist',
                                                       'hospital', 'other')),
    -- For the teacher; never in the export.
    note        text        NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    first_day   date        NOT NULL,
    -- NULL: until the child is better.
    last_day    date        CHECK (last_day >= first_day),
    reported_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    reported_at timestamptz NOT NULL DEFAULT now(),
    -- Who ended it ("better from tomorrow", or present again) and when.
    ended_by    bigint      REFERENCES people (id) ON DELETE SET NULL,
    ended_at    timestamptz,
    -- Marked present again during `last_day`: the child came back that day.
    back_at     timestamptz
);
CREATE INDEX absences_pupil_id ON absences (pupil_id, first_day);
-- Today's (and any day's) absences: those started by then, not ended before.
CREATE INDEX absences_first_day ON absences (first_day, last_day);
CREATE INDEX absences_reported_by ON absences (reported_by);
CREATE INDEX absences_ended_by ON absences (ended_by);
