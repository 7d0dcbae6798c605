-- The rest of the school's settings (T5): what teachers may do, the PDF header, extra data
-- fields, what parents may download, the dashboard's tiles, whether the portal is open to
-- parents, and which modules are on under which name.
ALTER TABLE school_settings
    ADD COLUMN teachers_manage_parents       boolean NOT NULL DEFAULT false,
    ADD COLUMN teachers_see_all_groups       boolean NOT NULL DEFAULT false,
    ADD COLUMN parents_download_address_list boolean NOT NULL DEFAULT false,
    ADD COLUMN pdf_header                    text    NOT NULL DEFAULT ''
        CHECK (length(pdf_header) <= 200),
    -- Labels of extra fields the school keeps per parent (e.g. "Werkgever").
    ADD COLUMN extra_fields                  text[]  NOT NULL DEFAULT '{}'
        CHECK (cardinality(extra_fields) <= 10),
    ADD COLUMN intranet_url                  text    CHECK (intranet_url ~ '^https://'
                                                            AND length(intranet_url) <= 500),
    ADD COLUMN photo_upload_tile             boolean NOT NULL DEFAULT false,
    ADD COLUMN portal_open                   boolean NOT NULL DEFAULT true,
    -- {"<module>": {"on": bool, "name": text|null}}; a module missing is on, with its own name.
    ADD COLUMN modules                       jsonb   NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(modules) = 'object');
