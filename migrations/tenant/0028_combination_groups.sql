-- Combination groups. A class that spans year groups ("1-2 Beren") is one group in the portal,
-- but pupil administrations export it as one entry per year group, each with its own key and
-- the same name. Every key the administration uses points here at the group it belongs to, so
-- a re-import finds it again — also after the school split or merged groups by hand.
CREATE TABLE group_keys (
    key      text     PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 100),
    group_id bigint   NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    -- The year groups this key stands for, when the file says.
    years    smallint[] NOT NULL DEFAULT '{}'
);
CREATE INDEX group_keys_group_id ON group_keys (group_id);
INSERT INTO group_keys (key, group_id, years)
SELECT import_key, id, CASE WHEN year IS NULL THEN '{}' ELSE ARRAY[year] END
  FROM groups WHERE import_key IS NOT NULL;

-- The year groups a group spans, lowest first. `year` stays the lowest, for sorting;
-- `import_key` stays the key the group was first imported by.
ALTER TABLE groups
    ADD COLUMN years smallint[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(years) <= 9 AND 0 <= ALL (years) AND 8 >= ALL (years)),
    -- The school split or merged this group by hand: an import keeps its name.
    ADD COLUMN arranged_by_school boolean NOT NULL DEFAULT false;
UPDATE groups SET years = ARRAY[year] WHERE year IS NOT NULL;

-- The group key the administration's file gives each pupil: an import places the pupil in
-- the group that key points at.
ALTER TABLE pupils ADD COLUMN group_key text CHECK (length(group_key) BETWEEN 1 AND 100);
UPDATE pupils p SET group_key = g.import_key FROM groups g WHERE g.id = p.group_id;

CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_keys
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();

-- The teachers the last imported file listed (EDEXML's `<leerkrachten>`), with the keys of
-- their groups: the admin chooses whom to invite as staff of those groups.
CREATE TABLE imported_teachers (
    key         text        PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 100),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 250),
    email       text        CHECK (length(email) BETWEEN 3 AND 254),
    group_keys  text[]      NOT NULL DEFAULT '{}',
    imported_at timestamptz NOT NULL DEFAULT now()
);
