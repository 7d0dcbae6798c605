-- A timeline card marks a post that carries attachments, so adding or removing one changes
-- what a cached timeline shows: it announces itself like the posts do (see 0026).
CREATE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_attachments
    FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change();
