//! The school's groups as pickers and lists offer them, and a school arranging its groups by
//! hand: merging two groups into one class, or splitting a combination group by year. Both
//! keep the administration's keys where the school put them, so the next import respects the
//! choice.

use schoolplein_kernel::audience::PostReader;
use serde::{Deserialize, Serialize};
use tenant_router::TenantTx;

/// A group as a picker offers it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GroupChoice {
    pub id: i64,
    pub name: String,
}

/// Every group of the school, by year and name.
pub async fn all(tx: &mut TenantTx) -> Result<Vec<GroupChoice>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM groups ORDER BY year NULLS LAST, name")
        .fetch_all(&mut **tx)
        .await
}

/// The groups `member` may make items for: every group for an admin, a teacher's own.
pub async fn manageable(
    tx: &mut TenantTx,
    member: &PostReader,
) -> Result<Vec<GroupChoice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name FROM groups WHERE $1 OR id = ANY($2) ORDER BY year NULLS LAST, name",
    )
    .bind(member.admin)
    .bind(member.taught.iter().copied().collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await
}

/// Every special group of the school, by name.
pub async fn special_groups(tx: &mut TenantTx) -> Result<Vec<GroupChoice>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM special_groups ORDER BY name, id")
        .fetch_all(&mut **tx)
        .await
}

/// A group in the list of groups, with how many pupils it has.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub pupils: i64,
}

/// Every group when `all`, else the groups in `ids`, with their pupils at school counted.
pub async fn with_pupil_counts(
    tx: &mut TenantTx,
    all: bool,
    ids: &[i64],
) -> Result<Vec<GroupRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.name,
                (SELECT count(*) FROM pupils p WHERE p.group_id = g.id AND p.left_at IS NULL) AS pupils
           FROM groups g
          WHERE $1 OR g.id = ANY($2)
          ORDER BY g.year NULLS LAST, g.name",
    )
    .bind(all)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

/// A group on the admin's groups page.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AdminGroup {
    pub id: i64,
    pub name: String,
    pub years: Vec<i16>,
    pub pupils: i64,
    /// The administration's keys with the years each stands for: a group with two or more
    /// can be split.
    #[sqlx(json)]
    pub keys: Vec<GroupKey>,
    #[sqlx(skip)]
    pub teachers: Vec<GroupTeacher>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupKey {
    pub key: String,
    pub years: Vec<i16>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GroupTeacher {
    pub group_id: i64,
    pub person_id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct StaffMember {
    pub id: i64,
    pub name: String,
}

/// Every group with its pupils at school and its administration's keys, by year and name;
/// their teachers are for [`teachers`] to fill in.
pub async fn for_admin(tx: &mut TenantTx) -> Result<Vec<AdminGroup>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.name, g.years,
                (SELECT count(*) FROM pupils p WHERE p.group_id = g.id AND p.left_at IS NULL) AS pupils,
                (SELECT coalesce(jsonb_agg(jsonb_build_object('key', k.key, 'years', k.years)
                                           ORDER BY k.years, k.key), '[]')
                   FROM group_keys k WHERE k.group_id = g.id) AS keys
           FROM groups g ORDER BY g.year NULLS LAST, g.name",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Every group's teachers, by name.
pub async fn teachers(tx: &mut TenantTx) -> Result<Vec<GroupTeacher>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.group_id, t.person_id, pe.name FROM group_teachers t
           JOIN people pe ON pe.id = t.person_id ORDER BY pe.name",
    )
    .fetch_all(&mut **tx)
    .await
}

/// The school's staff who are not blocked, by name.
pub async fn staff(tx: &mut TenantTx) -> Result<Vec<StaffMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name FROM people WHERE kind = 'staff' AND blocked_at IS NULL ORDER BY name",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Makes a group by hand; `None` when the name is taken.
pub async fn create(
    tx: &mut TenantTx,
    name: &str,
    year: Option<i16>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO groups (name, year, years)
         VALUES ($1, $2, CASE WHEN $2::int2 IS NULL THEN '{}' ELSE ARRAY[$2::int2] END)
         ON CONFLICT ((lower(name))) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(year)
    .fetch_optional(&mut **tx)
    .await
}

/// Gives the group this member of staff as a teacher; `false` when nothing was added (no
/// such group or member of staff, or they teach it already).
pub async fn add_teacher(
    tx: &mut TenantTx,
    group_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query(
        "INSERT INTO group_teachers (group_id, person_id)
         SELECT g.id, pe.id FROM groups g, people pe
          WHERE g.id = $1 AND pe.id = $2 AND pe.kind = 'staff'
         ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(added.rows_affected() != 0)
}

pub async fn is_teacher(
    tx: &mut TenantTx,
    group_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_teachers WHERE group_id = $1 AND person_id = $2)",
    )
    .bind(group_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// `false` when the person did not teach the group.
pub async fn remove_teacher(
    tx: &mut TenantTx,
    group_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM group_teachers WHERE group_id = $1 AND person_id = $2")
        .bind(group_id)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(removed.rows_affected() != 0)
}

/// How many of the two ids are groups of the school.
pub async fn count_pair(tx: &mut TenantTx, a: i64, b: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM groups WHERE id IN ($1, $2)")
        .bind(a)
        .bind(b)
        .fetch_one(&mut **tx)
        .await
}

/// Moves every pupil of `from` still at school into `to`; how many.
pub async fn move_pupils(tx: &mut TenantTx, from: i64, to: i64) -> Result<u64, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE pupils SET group_id = $2, updated_at = now() WHERE group_id = $1 AND left_at IS NULL",
    )
    .bind(from)
    .bind(to)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(moved)
}

/// How many of these ids are groups of the school.
pub async fn count_known(tx: &mut TenantTx, ids: &[i64]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM groups WHERE id = ANY($1)")
        .bind(ids)
        .fetch_one(&mut **tx)
        .await
}

/// A group's name, if the school has it.
pub async fn name_of(tx: &mut TenantTx, group_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM groups WHERE id = $1")
        .bind(group_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Whether the school has a group with this id.
pub async fn exists(tx: &mut TenantTx, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// Every column that refers to a group, as `(table, column)`. Merging moves each of them; a
/// test compares this list with the database's foreign keys, so a new table that refers to
/// groups cannot be forgotten here.
pub const GROUP_REFERENCES: [(&str, &str); 14] = [
    ("albums", "group_id"),
    ("calendar_feeds", "group_id"),
    ("class_parents", "group_id"),
    ("conference_rounds", "group_id"),
    ("document_folders", "group_id"),
    ("event_groups", "group_id"),
    ("group_keys", "group_id"),
    ("group_teachers", "group_id"),
    ("post_groups", "group_id"),
    ("pupils", "group_id"),
    ("recipient_lists", "group_id"),
    ("special_group_groups", "group_id"),
    ("special_groups", "main_group_id"),
    ("tasks", "group_id"),
];

/// Why a merge or split cannot be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrangeRefused {
    UnknownGroup,
    SameGroup,
    /// The key is not one of the group's, or it is the group's only key.
    NotSplittable,
    NameTaken,
}

/// A group as the merge confirmation describes it: what it holds that would move.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct GroupHoldings {
    pub id: i64,
    pub name: String,
    pub years: Vec<i16>,
    pub pupils: i64,
    pub teachers: i64,
    pub posts: i64,
    pub events: i64,
    pub albums: i64,
    pub folders: i64,
}

/// What merging `from` into `into` would move, for the admin to confirm.
pub async fn merge_preview(
    tx: &mut TenantTx,
    from: i64,
    into: i64,
) -> Result<(GroupHoldings, GroupHoldings), MergeError> {
    if from == into {
        return Err(MergeError::Refused(ArrangeRefused::SameGroup));
    }
    let mut found: Vec<GroupHoldings> = sqlx::query_as(
        "SELECT g.id, g.name, g.years,
                (SELECT count(*) FROM pupils p WHERE p.group_id = g.id AND p.left_at IS NULL) AS pupils,
                (SELECT count(*) FROM group_teachers t WHERE t.group_id = g.id) AS teachers,
                (SELECT count(*) FROM post_groups pg WHERE pg.group_id = g.id) AS posts,
                (SELECT count(*) FROM event_groups e WHERE e.group_id = g.id) AS events,
                (SELECT count(*) FROM albums a WHERE a.group_id = g.id) AS albums,
                (SELECT count(*) FROM document_folders f WHERE f.group_id = g.id) AS folders
           FROM groups g WHERE g.id IN ($1, $2)",
    )
    .bind(from)
    .bind(into)
    .fetch_all(&mut **tx)
    .await?;
    let position = |id: i64, found: &[GroupHoldings]| found.iter().position(|g| g.id == id);
    let (Some(f), Some(_)) = (position(from, &found), position(into, &found)) else {
        return Err(MergeError::Refused(ArrangeRefused::UnknownGroup));
    };
    let from_group = found.remove(f);
    let into_group = found.remove(0);
    Ok((from_group, into_group))
}

/// Moves everything of group `from` into group `into` — pupils, teachers, keys, posts, events,
/// albums, folders, lists, conference rounds, feeds — and deletes `from`. `into` spans the
/// years of both and is marked as arranged by the school.
pub async fn merge(tx: &mut TenantTx, from: i64, into: i64) -> Result<(), MergeError> {
    if from == into {
        return Err(MergeError::Refused(ArrangeRefused::SameGroup));
    }
    let found: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM groups WHERE id IN ($1, $2) FOR UPDATE")
            .bind(from)
            .bind(into)
            .fetch_all(&mut **tx)
            .await?;
    if found.len() != 2 {
        return Err(MergeError::Refused(ArrangeRefused::UnknownGroup));
    }
    // Rows whose key includes the group: copied where not there yet; the rest go with `from`.
    for (table, other) in [
        ("group_teachers", "person_id"),
        ("post_groups", "post_id"),
        ("event_groups", "event_id"),
        ("special_group_groups", "special_group_id"),
        ("class_parents", "person_id"),
    ] {
        let sql = format!(
            "INSERT INTO {table} (group_id, {other}) SELECT $2, {other} FROM {table}
              WHERE group_id = $1 ON CONFLICT DO NOTHING"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(into)
            .execute(&mut **tx)
            .await?;
    }
    // One feed per person and group: a person with feeds of both keeps the one of `into`.
    sqlx::query(
        "DELETE FROM calendar_feeds f WHERE f.group_id = $1
            AND EXISTS (SELECT 1 FROM calendar_feeds o WHERE o.group_id = $2 AND o.person_id = f.person_id)",
    )
    .bind(from)
    .bind(into)
    .execute(&mut **tx)
    .await?;
    for (table, column) in [
        ("albums", "group_id"),
        ("calendar_feeds", "group_id"),
        ("conference_rounds", "group_id"),
        ("document_folders", "group_id"),
        ("group_keys", "group_id"),
        ("pupils", "group_id"),
        ("recipient_lists", "group_id"),
        ("special_groups", "main_group_id"),
        ("tasks", "group_id"),
    ] {
        let sql = format!("UPDATE {table} SET {column} = $2 WHERE {column} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(into)
            .execute(&mut **tx)
            .await?;
    }
    // `from`'s first key becomes `into`'s, if it had none (the column is unique: freed first).
    let from_key: Option<String> = sqlx::query_scalar(
        "UPDATE groups n SET import_key = NULL FROM groups o
          WHERE n.id = $1 AND o.id = n.id RETURNING o.import_key",
    )
    .bind(from)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE groups g SET arranged_by_school = true,
                years = ARRAY(SELECT DISTINCT y FROM groups o, unnest(o.years) y
                               WHERE o.id IN ($1, $2) ORDER BY y),
                year = (SELECT min(y) FROM groups o, unnest(o.years) y WHERE o.id IN ($1, $2)),
                import_key = coalesce(g.import_key, $3)
          WHERE g.id = $2",
    )
    .bind(from)
    .bind(into)
    .bind(from_key)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Splits the administration's key `key` (one year group) off group `group` into a new group
/// named `name`, with the pupils the administration places under that key. Returns the new
/// group's id.
pub async fn split(
    tx: &mut TenantTx,
    group: i64,
    key: &str,
    name: &str,
) -> Result<i64, MergeError> {
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT key FROM group_keys WHERE group_id = $1 FOR UPDATE")
            .bind(group)
            .fetch_all(&mut **tx)
            .await?;
    if keys.is_empty() {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)")
            .bind(group)
            .fetch_one(&mut **tx)
            .await?;
        if !exists {
            return Err(MergeError::Refused(ArrangeRefused::UnknownGroup));
        }
    }
    if keys.len() < 2 || !keys.iter().any(|k| k == key) {
        return Err(MergeError::Refused(ArrangeRefused::NotSplittable));
    }
    // The group's own import_key may be the one that leaves.
    sqlx::query(
        "UPDATE groups SET import_key = (SELECT min(key) FROM group_keys
                                          WHERE group_id = $1 AND key <> $2)
          WHERE id = $1 AND import_key = $2",
    )
    .bind(group)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO groups (name, import_key, years, year, arranged_by_school)
         SELECT $1, $2, k.years, k.years[1], true FROM group_keys k WHERE k.key = $2
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(created) = created else {
        return Err(MergeError::Refused(ArrangeRefused::NameTaken));
    };
    sqlx::query("UPDATE group_keys SET group_id = $2 WHERE key = $1")
        .bind(key)
        .bind(created)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE pupils SET group_id = $3, updated_at = now() WHERE group_id = $1 AND group_key = $2",
    )
    .bind(group)
    .bind(key)
    .bind(created)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE groups g SET arranged_by_school = true,
                years = ARRAY(SELECT DISTINCT y FROM group_keys k, unnest(k.years) y
                               WHERE k.group_id = $1 ORDER BY y),
                year = (SELECT min(y) FROM group_keys k, unnest(k.years) y WHERE k.group_id = $1)
          WHERE g.id = $1",
    )
    .bind(group)
    .execute(&mut **tx)
    .await?;
    Ok(created)
}

/// A refusal the admin can act on, or the database's error.
#[derive(Debug)]
pub enum MergeError {
    Refused(ArrangeRefused),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for MergeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}
