-- The calendar's month is kept per person (`calendar::month`): besides the events and the
-- roster, which announce already (0025, 0035), it shows the school's holidays and, to a
-- parent, their children's leave. These tables now announce their changes at commit too,
-- whoever writes. Of a leave request only what the month shows counts: whether it is granted
-- and its days (a new note or a statement attached announces nothing).
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON school_holidays
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR DELETE OR TRUNCATE ON leave_requests
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER leave_days_changed AFTER UPDATE OF state, first_day, last_day ON leave_requests
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON leave_request_children
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
