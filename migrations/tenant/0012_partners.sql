-- Partners (A8): two parents of the same child who linked their accounts in this school, one
-- asking and the other accepting. While both keep "joint use" on, each may change the other's
-- details; either of them ends the link alone. Privacy choices stay each person's own.
ALTER TABLE people
    ADD COLUMN partner_id bigint UNIQUE REFERENCES people (id) ON DELETE SET NULL,
    ADD COLUMN joint_use  boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT people_partner_not_self CHECK (partner_id <> id);

-- A link is always both ways: checked at commit, so the two rows change in one transaction.
CREATE FUNCTION people_partner_both_ways() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    IF NEW.partner_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM people WHERE id = NEW.partner_id AND partner_id = NEW.id
    ) THEN
        RAISE EXCEPTION 'the partner link of person % is one-sided', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'people_partner_both_ways';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER people_partner_both_ways
    AFTER INSERT OR UPDATE OF partner_id ON people
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION people_partner_both_ways();

-- At most one open request per parent; asking someone else replaces it.
CREATE TABLE partner_requests (
    from_person bigint      PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    to_person   bigint      NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (from_person <> to_person)
);
CREATE INDEX partner_requests_to_person ON partner_requests (to_person);

ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('welcome', 'invitation_accepted', 'partner_request', 'partner_linked',
                    'partner_ended', 'partner_changed_details'));
