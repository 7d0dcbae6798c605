-- The school's own description of itself, shown on its home page.
CREATE TABLE school_profile (
    id           boolean     PRIMARY KEY DEFAULT true CHECK (id),
    name         text        NOT NULL CHECK (length(name) BETWEEN 2 AND 120),
    welcome_text text        NOT NULL DEFAULT '' CHECK (length(welcome_text) <= 4000),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
