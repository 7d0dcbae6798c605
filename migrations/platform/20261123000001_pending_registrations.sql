-- A parent who registered with an activation code and has not yet confirmed their address:
-- the account is made (or found) only when the mailed link is used, so no unconfirmed
-- account exists and the form never says whether an address already has one.
CREATE TABLE platform.pending_registrations (
    token_hash      bytea       PRIMARY KEY,
    email           text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- argon2id of the chosen password; used only if the address has no account yet.
    password_hash   text        NOT NULL,
    language        text        NOT NULL CHECK (language IN ('nl', 'en')),
    tenant_id       bigint      NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    -- The child the pupil's code names (an id in the school's schema), or NULL for the
    -- school's own code.
    pupil_id        bigint,
    note            text        CHECK (length(note) <= 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX pending_registrations_expires_at ON platform.pending_registrations (expires_at)
    WHERE used_at IS NULL;
