-- The home page keeps, per person, what it reads besides the news (the school's name and
-- welcome text, questionnaires still to answer, today's and the next days' events, talks to
-- book, activities closing): these tables now announce their changes at commit like the
-- roster and the posts (0025, 0026), whoever writes, so every process drops the school's kept
-- pages within milliseconds.
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON school_profile
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event_groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON conference_rounds
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON conference_bookings
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON responses
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_answers
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
