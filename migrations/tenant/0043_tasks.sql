-- Homework and tasks (D4): a task for a group, or for some of its pupils, with a due day,
-- a description and files; a parent ticks a child's task done, the teacher sees who is.
CREATE TABLE tasks (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id    bigint      NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    title       text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    due_day     date        NOT NULL,
    -- false: only the pupils in task_pupils.
    whole_group boolean     NOT NULL,
    created_by  bigint      REFERENCES people (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_group_id ON tasks (group_id, due_day);
CREATE INDEX tasks_created_by ON tasks (created_by);

CREATE TABLE task_pupils (
    task_id  bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    pupil_id bigint NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, pupil_id)
);
CREATE INDEX task_pupils_pupil_id ON task_pupils (pupil_id);

CREATE TABLE task_done (
    task_id  bigint      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    pupil_id bigint      NOT NULL REFERENCES pupils (id) ON DELETE CASCADE,
    done_by  bigint      REFERENCES people (id) ON DELETE SET NULL,
    done_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, pupil_id)
);
CREATE INDEX task_done_pupil_id ON task_done (pupil_id);
CREATE INDEX task_done_done_by ON task_done (done_by);

-- Files with a task: PDF, JPEG or PNG, as sent.
CREATE TABLE task_files (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id      bigint      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    file_name    text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    content_type text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    bytes        bytea       NOT NULL CHECK (length(bytes) <= 10485760),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_files_task_id ON task_files (task_id);
