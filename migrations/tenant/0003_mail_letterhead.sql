-- The school's letterhead around every mail it sends (plain text; escaped in HTML mails).
ALTER TABLE school_profile
    ADD COLUMN mail_header text NOT NULL DEFAULT '' CHECK (length(mail_header) <= 2000),
    ADD COLUMN mail_footer text NOT NULL DEFAULT '' CHECK (length(mail_footer) <= 2000);
