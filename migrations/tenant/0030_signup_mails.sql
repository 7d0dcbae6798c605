-- Telling about parents' sign-ups (A2): when the admins were mailed about a link waiting for
-- their approval (one mail per batch), and when the school last sent such a batch, so that a
-- stream of sign-ups on the evening the letters go home makes a few mails, not one each.
ALTER TABLE guardians ADD COLUMN admins_told_at timestamptz;
ALTER TABLE school_settings ADD COLUMN signups_told_at timestamptz;
-- Links that were waiting before this change count as told: no mail about old news.
UPDATE guardians SET admins_told_at = created_at WHERE status = 'pending';
CREATE INDEX guardians_untold ON guardians (created_at)
    WHERE status = 'pending' AND admins_told_at IS NULL;
