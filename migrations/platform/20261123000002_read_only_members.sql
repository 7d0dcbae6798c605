-- A school admin can make one member's use of the school read-only (A6): mirrored here from
-- the school's `people` row, like blocking, so the per-request check reads one platform row.
ALTER TABLE platform.memberships ADD COLUMN read_only_at timestamptz;
