-- One account per person, whatever the number of schools; what sign-in needs and no more.
CREATE TABLE platform.accounts (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored as typed after trimming; compared case-insensitively.
    email               text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- argon2id in PHC string form; NULL until the person sets a password.
    password_hash       text,
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    language            text        NOT NULL DEFAULT 'nl' CHECK (language IN ('nl', 'en')),
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz
);
CREATE UNIQUE INDEX accounts_email_key ON platform.accounts (lower(email));

-- Which schools an account belongs to, as which person, with which roles. Mirrors the school's
-- own `people` row (written in the same transaction), so the per-request check of a signed-in
-- person reads one platform row instead of a school's schema.
CREATE TABLE platform.memberships (
    account_id bigint      NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    tenant_id  bigint      NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    person_id  bigint      NOT NULL,
    roles      text[]      NOT NULL CHECK (roles <@ ARRAY['school_admin', 'teacher', 'parent',
                                                          'class_parent', 'lice_check_parent']),
    blocked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, tenant_id),
    UNIQUE (tenant_id, person_id)
);
CREATE INDEX memberships_tenant_id ON platform.memberships (tenant_id);

-- Single-use links sent by mail: only a hash of the token is kept.
CREATE TABLE platform.password_resets (
    token_hash bytea       PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_account_id ON platform.password_resets (account_id);

CREATE TABLE platform.email_changes (
    token_hash bytea       PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    new_email  text        NOT NULL CHECK (length(new_email) BETWEEN 3 AND 254),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_changes_account_id ON platform.email_changes (account_id);
