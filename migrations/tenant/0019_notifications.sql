-- Notification preferences (N2): per person and kind of post, a mail per item, a daily digest
-- (the default), a twice-daily digest, or nothing. Urgent messages are always mailed and have
-- no preference. The digest goes out at the school's time on the school's weekdays.
CREATE TABLE notification_preferences (
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind      text   NOT NULL CHECK (kind IN ('news', 'agenda', 'board')),
    delivery  text   NOT NULL CHECK (delivery IN ('each', 'daily', 'twice_daily', 'none')),
    PRIMARY KEY (person_id, kind)
);

ALTER TABLE school_settings
    -- Local time (Europe/Amsterdam) of the daily digest; the twice-daily one also goes at 07:30.
    ADD COLUMN digest_time time       NOT NULL DEFAULT '17:30'
        CHECK (digest_time BETWEEN '06:00' AND '22:00'),
    -- ISO weekdays, 1 = Monday.
    ADD COLUMN digest_days smallint[] NOT NULL DEFAULT '{1,2,3,4,5}'
        CHECK (cardinality(digest_days) BETWEEN 1 AND 7 AND 1 <= ALL (digest_days)
               AND 7 >= ALL (digest_days));

-- How far each person's digests have covered: posts published up to these instants were in
-- one (or were before the person joined). Moved in the transaction that queues the digests,
-- so a run that fails sends nothing and a second run sends nothing again.
ALTER TABLE people
    ADD COLUMN digest_through       timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN daily_digest_through timestamptz NOT NULL DEFAULT now();
