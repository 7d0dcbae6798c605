-- Posts for special groups (C1, P5): they reach the parents who joined the special group.
CREATE TABLE post_special_groups (
    post_id          bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    special_group_id bigint NOT NULL REFERENCES special_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, special_group_id)
);
CREATE INDEX post_special_groups_special_group_id ON post_special_groups (special_group_id);
