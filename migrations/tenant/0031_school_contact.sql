-- How parents reach the school (T5): the address answers to its mails go to, a phone
-- number and a postal address, shown under its mails and on its letters. Empty: not given.
ALTER TABLE school_profile
    ADD COLUMN contact_email text NOT NULL DEFAULT '' CHECK (length(contact_email) <= 254),
    ADD COLUMN phone         text NOT NULL DEFAULT '' CHECK (length(phone) <= 30),
    ADD COLUMN address       text NOT NULL DEFAULT '' CHECK (length(address) <= 300);
