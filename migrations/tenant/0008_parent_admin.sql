-- What school admins (and teachers, where the school allows) keep about parents: the school's
-- extra fields, and whether a parent may only read. Every such change is recorded (X4).
ALTER TABLE people
    ADD COLUMN read_only_at timestamptz,
    -- Values of the school's extra fields, by label.
    ADD COLUMN extra        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(extra) = 'object');

ALTER TABLE access_changes DROP CONSTRAINT access_changes_action_check;
ALTER TABLE access_changes ADD CONSTRAINT access_changes_action_check
    CHECK (action IN ('block', 'unblock', 'read_only', 'writable', 'remove', 'details'));
