-- A person's notices announce their changes like their read marks do (0026, 0027): the
-- navigation's counts, kept in memory per person, then drop that person's entry in every
-- process, so a new notice or one just read shows in the menu at once.
CREATE TRIGGER notices_changed AFTER INSERT OR UPDATE OR DELETE ON notices
    FOR EACH ROW EXECUTE FUNCTION announce_read_change();
CREATE TRIGGER school_changed AFTER TRUNCATE ON notices
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
