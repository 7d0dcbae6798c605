//! The SQL of homework and tasks (D4): a group's tasks (for the whole group or some of its
//! pupils), their files, which pupil's task is done, and a family's tasks by week.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// A pupil's name as the school writes it.
const CHILD_NAME: &str = "concat_ws(' ', pu.first_name, nullif(pu.name_prefix, ''), pu.last_name)";

/// A task as written.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub group_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub due_day: NaiveDate,
    /// Empty: the whole group.
    pub pupils: &'a [i64],
}

/// A file as sent with a task.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

pub async fn insert(
    tx: &mut TenantTx,
    task: &NewTask<'_>,
    files: &[NewFile],
    by: i64,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (group_id, title, description, due_day, whole_group, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(task.group_id)
    .bind(task.title)
    .bind(task.description)
    .bind(task.due_day)
    .bind(task.pupils.is_empty())
    .bind(by)
    .fetch_one(&mut **tx)
    .await?;
    if !task.pupils.is_empty() {
        sqlx::query("INSERT INTO task_pupils (task_id, pupil_id) SELECT $1, unnest($2::bigint[])")
            .bind(id)
            .bind(task.pupils)
            .execute(&mut **tx)
            .await?;
    }
    for file in files {
        sqlx::query(
            "INSERT INTO task_files (task_id, file_name, content_type, bytes) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&file.name)
        .bind(file.content_type)
        .bind(&file.bytes)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// Of `pupil_ids`, how many are in `group_id` and still at school.
pub async fn pupils_in_group(
    tx: &mut TenantTx,
    group_id: i64,
    pupil_ids: &[i64],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM pupils WHERE id = ANY($1) AND group_id = $2 AND left_at IS NULL",
    )
    .bind(pupil_ids)
    .bind(group_id)
    .fetch_one(&mut **tx)
    .await
}

/// A pupil a task may be given to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GroupPupil {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
}

/// The pupils of these groups, by group and name.
pub async fn pupils_of(tx: &mut TenantTx, groups: &[i64]) -> Result<Vec<GroupPupil>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pu.id, pu.group_id, {CHILD_NAME} AS name FROM pupils pu
          WHERE pu.group_id = ANY($1) AND pu.left_at IS NULL
          ORDER BY pu.group_id, pu.last_name, pu.first_name"
    )))
    .bind(groups)
    .fetch_all(&mut **tx)
    .await
}

/// A task with its group and how far its pupils are.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub title: String,
    pub description: String,
    pub due_day: NaiveDate,
    pub whole_group: bool,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Pupils it is for, and of them done.
    pub pupils: i64,
    pub done: i64,
}

const TASK_COLUMNS: &str = "t.id, t.group_id, g.name AS group_name, t.title, t.description,
       t.due_day, t.whole_group, pe.name AS author, t.created_at,
       (SELECT count(*) FROM pupils pu WHERE pu.left_at IS NULL AND pu.group_id = t.group_id
          AND (t.whole_group OR EXISTS (SELECT 1 FROM task_pupils tp
                                         WHERE tp.task_id = t.id AND tp.pupil_id = pu.id))) AS pupils,
       (SELECT count(*) FROM task_done d JOIN pupils pu ON pu.id = d.pupil_id
         WHERE d.task_id = t.id AND pu.left_at IS NULL) AS done";

/// The tasks of these groups due from `from` on, soonest first.
pub async fn of_groups(
    tx: &mut TenantTx,
    groups: &[i64],
    from: NaiveDate,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS}
           FROM tasks t JOIN groups g ON g.id = t.group_id
           LEFT JOIN people pe ON pe.id = t.created_by
          WHERE t.group_id = ANY($1) AND t.due_day >= $2
          ORDER BY t.due_day, t.id LIMIT 200"
    )))
    .bind(groups)
    .bind(from)
    .fetch_all(&mut **tx)
    .await
}

pub async fn task(tx: &mut TenantTx, id: i64) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS}
           FROM tasks t JOIN groups g ON g.id = t.group_id
           LEFT JOIN people pe ON pe.id = t.created_by
          WHERE t.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// A pupil the task is for, and whether (and by whom) it is done.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PupilState {
    pub pupil_id: i64,
    pub name: String,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
}

pub async fn pupils_of_task(tx: &mut TenantTx, id: i64) -> Result<Vec<PupilState>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pu.id AS pupil_id, {CHILD_NAME} AS name, d.done_at, dp.name AS done_by
           FROM tasks t
           JOIN pupils pu ON pu.group_id = t.group_id AND pu.left_at IS NULL
           LEFT JOIN task_done d ON d.task_id = t.id AND d.pupil_id = pu.id
           LEFT JOIN people dp ON dp.id = d.done_by
          WHERE t.id = $1
            AND (t.whole_group OR EXISTS (SELECT 1 FROM task_pupils tp
                                           WHERE tp.task_id = t.id AND tp.pupil_id = pu.id))
          ORDER BY pu.last_name, pu.first_name"
    )))
    .bind(id)
    .fetch_all(&mut **tx)
    .await
}

/// A task of one of a parent's children, for the week view.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ChildTask {
    pub task_id: i64,
    pub pupil_id: i64,
    pub child: String,
    pub title: String,
    pub description: String,
    pub due_day: NaiveDate,
    pub group_name: String,
    pub done: bool,
    pub files: Vec<i64>,
    pub file_names: Vec<String>,
}

/// The tasks of this parent's children due in `from..=to`, by child and day.
pub async fn of_family(
    tx: &mut TenantTx,
    person_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ChildTask>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id AS task_id, pu.id AS pupil_id, pu.first_name AS child, t.title,
                t.description, t.due_day, g.name AS group_name,
                EXISTS (SELECT 1 FROM task_done d WHERE d.task_id = t.id AND d.pupil_id = pu.id) AS done,
                ARRAY(SELECT f.id FROM task_files f WHERE f.task_id = t.id ORDER BY f.id) AS files,
                ARRAY(SELECT f.file_name FROM task_files f WHERE f.task_id = t.id ORDER BY f.id) AS file_names
           FROM guardians gu
           JOIN pupils pu ON pu.id = gu.pupil_id AND pu.left_at IS NULL
           JOIN tasks t ON t.group_id = pu.group_id
           JOIN groups g ON g.id = t.group_id
          WHERE gu.person_id = $1 AND gu.status = 'active'
            AND t.due_day BETWEEN $2 AND $3
            AND (t.whole_group OR EXISTS (SELECT 1 FROM task_pupils tp
                                           WHERE tp.task_id = t.id AND tp.pupil_id = pu.id))
          ORDER BY pu.date_of_birth, pu.id, t.due_day, t.id",
    )
    .bind(person_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the task is for this pupil and the person is the pupil's parent (in effect).
pub async fn parent_may_mark(
    tx: &mut TenantTx,
    task_id: i64,
    pupil_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM tasks t
               JOIN pupils pu ON pu.id = $2 AND pu.group_id = t.group_id AND pu.left_at IS NULL
               JOIN guardians gu ON gu.pupil_id = pu.id AND gu.person_id = $3 AND gu.status = 'active'
              WHERE t.id = $1
                AND (t.whole_group OR EXISTS (SELECT 1 FROM task_pupils tp
                                               WHERE tp.task_id = t.id AND tp.pupil_id = pu.id)))",
    )
    .bind(task_id)
    .bind(pupil_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// Marks a pupil's task done or not done.
pub async fn mark(
    tx: &mut TenantTx,
    task_id: i64,
    pupil_id: i64,
    done: bool,
    by: i64,
) -> Result<(), sqlx::Error> {
    if done {
        sqlx::query(
            "INSERT INTO task_done (task_id, pupil_id, done_by) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(task_id)
        .bind(pupil_id)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query("DELETE FROM task_done WHERE task_id = $1 AND pupil_id = $2")
            .bind(task_id)
            .bind(pupil_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn delete(tx: &mut TenantTx, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tasks WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A task's file: its task's group, whole group or not, name, type and bytes.
pub async fn file(
    tx: &mut TenantTx,
    task_id: i64,
    file_id: i64,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT file_name, content_type, bytes FROM task_files WHERE id = $2 AND task_id = $1",
    )
    .bind(task_id)
    .bind(file_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Whether this parent has a child the task is for.
pub async fn family_has(
    tx: &mut TenantTx,
    task_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM tasks t
               JOIN pupils pu ON pu.group_id = t.group_id AND pu.left_at IS NULL
               JOIN guardians gu ON gu.pupil_id = pu.id AND gu.person_id = $2 AND gu.status = 'active'
              WHERE t.id = $1
                AND (t.whole_group OR EXISTS (SELECT 1 FROM task_pupils tp
                                               WHERE tp.task_id = t.id AND tp.pupil_id = pu.id)))",
    )
    .bind(task_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// The files of a task: id and name.
pub async fn files_of(tx: &mut TenantTx, task_id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, file_name FROM task_files WHERE task_id = $1 ORDER BY id")
        .bind(task_id)
        .fetch_all(&mut **tx)
        .await
}

/// Changes a task's title, description and due day.
pub async fn update(
    tx: &mut TenantTx,
    id: i64,
    title: &str,
    description: &str,
    due_day: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tasks SET title = $2, description = $3, due_day = $4 WHERE id = $1")
        .bind(id)
        .bind(title)
        .bind(description)
        .bind(due_day)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
