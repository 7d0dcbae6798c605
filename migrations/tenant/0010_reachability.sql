-- More of what a parent keeps in the school (P8, A8): extra ways to reach them in an
-- emergency (work, sitter, grandparents — seen by staff only), medical data and allergies per
-- child (staff only), and which parent is a child's primary contact.
CREATE TABLE person_contacts (
    id        bigint NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    label     text   NOT NULL CHECK (length(label) BETWEEN 1 AND 50),
    name      text   NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    phone     text   NOT NULL CHECK (length(phone) BETWEEN 6 AND 20)
);
CREATE INDEX person_contacts_person_id ON person_contacts (person_id);

CREATE TABLE pupil_medical (
    pupil_id   bigint      PRIMARY KEY REFERENCES pupils (id) ON DELETE CASCADE,
    medical    text        NOT NULL DEFAULT '' CHECK (length(medical) <= 2000),
    allergies  text        NOT NULL DEFAULT '' CHECK (length(allergies) <= 1000),
    updated_by bigint      REFERENCES people (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE guardians ADD COLUMN is_primary boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX guardians_one_primary ON guardians (pupil_id) WHERE is_primary;
