-- A person's contact details in this school, and who may see each of them (P7, P8): per
-- field and per child, the school's parents or the child's group's parents; nobody unless the
-- person chose otherwise. Staff always see.
ALTER TABLE people
    ADD COLUMN address      text CHECK (length(address) <= 200),
    ADD COLUMN phone_mobile text CHECK (length(phone_mobile) <= 20),
    ADD COLUMN phone_other  text CHECK (length(phone_other) <= 20),
    ADD COLUMN about        text CHECK (length(about) <= 1000);

CREATE TABLE privacy_choices (
    person_id bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    pupil_id  bigint NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    field     text   NOT NULL CHECK (field IN ('name', 'address', 'phone_mobile', 'phone_other',
                                                'email', 'photo')),
    audience  text   NOT NULL CHECK (audience IN ('school', 'group')),
    PRIMARY KEY (person_id, pupil_id, field)
);
