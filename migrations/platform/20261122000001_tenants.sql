-- The fleet of schools: one row per school, its custom domains, and the ledger of school migrations.
CREATE TABLE platform.tenants (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug         text        NOT NULL UNIQUE
                 CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) BETWEEN 2 AND 40),
    display_name text        NOT NULL CHECK (length(display_name) BETWEEN 2 AND 120),
    status       text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform.domains (
    host       text        PRIMARY KEY CHECK (host = lower(host) AND length(host) BETWEEN 1 AND 253),
    tenant_id  bigint      NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_tenant_id ON platform.domains (tenant_id);

CREATE TABLE platform.tenant_migrations (
    tenant_id  bigint      NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    version    bigint      NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);
