-- The school's holidays (K1, D2, D3) and leave requests under the Leerplichtwet (D2).

-- The holiday region the school follows (NULL: none chosen; the school enters its own).
CREATE TABLE holiday_settings (
    id         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    region     text        CHECK (region IN ('noord', 'midden', 'zuid')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO holiday_settings DEFAULT VALUES;

-- A school holiday: from the official table of its region (`kind` set), or the school's own.
CREATE TABLE school_holidays (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- autumn, christmas, spring, may or summer for the official ones; NULL for a school's own
    -- day off (a study day, a local holiday).
    kind       text        CHECK (kind IN ('autumn', 'christmas', 'spring', 'may', 'summer')),
    first_day  date        NOT NULL,
    last_day   date        NOT NULL CHECK (last_day >= first_day),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX school_holidays_days ON school_holidays (first_day, last_day);
CREATE UNIQUE INDEX school_holidays_once ON school_holidays (first_day, last_day, name);

CREATE TABLE leave_requests (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- circumstances: art. 11 onder g; holiday: art. 13a; religious: art. 11 onder f.
    kind            text        NOT NULL CHECK (kind IN ('circumstances', 'holiday', 'religious')),
    first_day       date        NOT NULL,
    last_day        date        NOT NULL CHECK (last_day >= first_day),
    -- Weekdays outside the school's holidays, counted when asked.
    school_days     smallint    NOT NULL CHECK (school_days BETWEEN 1 AND 366),
    reason          text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    -- The school year (by its first calendar year) the leave starts in: art. 13a counts once
    -- per school year.
    school_year     smallint    NOT NULL,
    requested_by    bigint      REFERENCES people (id) ON DELETE SET NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    state           text        NOT NULL CHECK (state IN ('pending', 'officer', 'approved', 'refused',
                                                          'noted', 'withdrawn')),
    -- Longer than ten school days: the attendance officer decides; the school records it.
    for_officer     boolean     NOT NULL DEFAULT false,
    officer_name    text        CHECK (length(officer_name) <= 100),
    decided_by      bigint      REFERENCES people (id) ON DELETE SET NULL,
    decided_at      timestamptz,
    decision_reason text        NOT NULL DEFAULT '' CHECK (length(decision_reason) <= 4000),
    -- The employer's statement (art. 13a), as sent: PDF, JPEG or PNG.
    statement_name  text        CHECK (length(statement_name) <= 200),
    statement_type  text        CHECK (statement_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    statement       bytea       CHECK (length(statement) <= 10485760),
    CHECK ((statement IS NULL) = (statement_type IS NULL)),
    CHECK ((state IN ('approved', 'refused')) = (decided_at IS NOT NULL))
);
CREATE INDEX leave_requests_state ON leave_requests (state, first_day);
CREATE INDEX leave_requests_requested_by ON leave_requests (requested_by);
CREATE INDEX leave_requests_decided_by ON leave_requests (decided_by);

CREATE TABLE leave_request_children (
    request_id bigint NOT NULL REFERENCES leave_requests (id) ON DELETE CASCADE,
    pupil_id   bigint NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    PRIMARY KEY (request_id, pupil_id)
);
CREATE INDEX leave_request_children_pupil_id ON leave_request_children (pupil_id, request_id);
