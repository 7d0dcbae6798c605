-- After-school care and lunch (D3): the school's care moments with their days, capacity and
-- price; parents sign children up per day (a weekly pattern writes its days at once) until
-- the evening before; a count per moment and day keeps the capacity under a rush.

CREATE TABLE care_settings (
    id           boolean     PRIMARY KEY DEFAULT true CHECK (id),
    -- Sign-ups and cancellations for a day close at this local time the day before.
    signup_until time        NOT NULL DEFAULT '18:00',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO care_settings DEFAULT VALUES;

CREATE TABLE care_moments (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- ISO weekdays it runs on: 1 Monday … 5 Friday.
    weekdays    smallint[]  NOT NULL CHECK (cardinality(weekdays) BETWEEN 1 AND 5
                                            AND 1 <= ALL (weekdays) AND 5 >= ALL (weekdays)),
    capacity    integer     NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
    price_cents integer     NOT NULL CHECK (price_cents BETWEEN 0 AND 100000),
    -- Stopped moments take no new sign-ups; their history stays for the billing.
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- How many places of a moment are taken on a day: raised only while below the capacity, in
-- one statement, so a rush of sign-ups never overbooks.
CREATE TABLE care_days (
    moment_id bigint  NOT NULL REFERENCES care_moments (id) ON DELETE CASCADE,
    day       date    NOT NULL,
    taken     integer NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (moment_id, day)
);

CREATE TABLE care_signups (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    moment_id      bigint      NOT NULL REFERENCES care_moments (id) ON DELETE CASCADE,
    pupil_id       bigint      NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    day            date        NOT NULL,
    -- The price of the day when signed up: a later change of price bills the days to come.
    price_cents    integer     NOT NULL CHECK (price_cents >= 0),
    signed_up_by   bigint      REFERENCES people (id) ON DELETE SET NULL,
    signed_up_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (moment_id, pupil_id, day)
);
CREATE INDEX care_signups_day ON care_signups (day, moment_id);
CREATE INDEX care_signups_pupil_id ON care_signups (pupil_id, day);
CREATE INDEX care_signups_signed_up_by ON care_signups (signed_up_by);
