-- Rich text in posts: the body as written stays in `body` (to edit again); `body_html` is
-- what the allow-list sanitiser made of it when it was saved, the only form ever shown.
-- Posts from before are plain text and have none (shown as escaped paragraphs).
ALTER TABLE posts
    ADD COLUMN body_html text CHECK (length(body_html) <= 100000);
