-- A change to posts (what they say, whom they are for, their files and answers) names its part:
-- `posts:<school id>` on schoolplein_school_changed, where 0025–0035 announced the whole school.
-- Posts change all day and the roster rarely: a process now drops what shows posts and keeps
-- what reads the roster alone (the group pages), which a post does not touch. A process that
-- does not know this form takes it for an unreadable payload and drops everything it keeps:
-- safe while old and new run side by side. The special groups a post may name stay whole-school
-- announcements, as do the rest.
CREATE FUNCTION announce_posts_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('schoolplein_school_changed', 'posts:' || substr(TG_TABLE_SCHEMA, 3));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON posts
    FOR EACH STATEMENT EXECUTE FUNCTION announce_posts_change();
CREATE OR REPLACE TRIGGER school_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_posts_change();
CREATE OR REPLACE TRIGGER school_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_special_groups
    FOR EACH STATEMENT EXECUTE FUNCTION announce_posts_change();
CREATE OR REPLACE TRIGGER school_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_recipients
    FOR EACH STATEMENT EXECUTE FUNCTION announce_posts_change();
CREATE OR REPLACE TRIGGER school_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_attachments
    FOR EACH STATEMENT EXECUTE FUNCTION announce_posts_change();
CREATE OR REPLACE TRIGGER school_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON post_answers
    FOR EACH STATEMENT EXECUTE FUNCTION announce_posts_change();
