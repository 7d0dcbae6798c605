//! The school's groups as the calendar's pages offer them, and who belongs to a group.

use serde::Serialize;
use tenant_router::TenantTx;

/// A group to choose in a form.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct GroupChoice {
    pub id: i64,
    pub name: String,
}

/// Every group when `all`, else the groups in `ids`; by year, then name.
pub async fn choices(
    tx: &mut TenantTx,
    all: bool,
    ids: &[i64],
) -> Result<Vec<GroupChoice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name FROM groups WHERE $1 OR id = ANY($2) ORDER BY year NULLS LAST, name",
    )
    .bind(all)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

/// The groups a person plans conference rounds for: the ones they teach, every group when
/// `admin`.
pub async fn planned_by(
    tx: &mut TenantTx,
    admin: bool,
    person_id: i64,
) -> Result<Vec<GroupChoice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.name FROM groups g
          WHERE $1 OR EXISTS (SELECT 1 FROM group_teachers t
                               WHERE t.group_id = g.id AND t.person_id = $2)
          ORDER BY g.year NULLS LAST, g.name",
    )
    .bind(admin)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn exists(tx: &mut TenantTx, group_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)")
        .bind(group_id)
        .fetch_one(&mut **tx)
        .await
}

/// The address and account language of every parent of the group's pupils (links in
/// effect, not blocked), once each.
pub async fn parent_addresses(
    tx: &mut TenantTx,
    group_id: i64,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT pe.email, a.language
           FROM pupils pu
           JOIN guardians gu ON gu.pupil_id = pu.id AND gu.status = 'active'
           JOIN people pe ON pe.id = gu.person_id AND pe.blocked_at IS NULL
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pu.group_id = $1 AND pu.left_at IS NULL",
    )
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await
}

/// `(pupil, parent's name)` for every parent of the group's pupils (links in effect, not
/// blocked), by name.
pub async fn parent_names(
    tx: &mut TenantTx,
    group_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT gu.pupil_id, pe.name
           FROM pupils pu
           JOIN guardians gu ON gu.pupil_id = pu.id AND gu.status = 'active'
           JOIN people pe ON pe.id = gu.person_id AND pe.blocked_at IS NULL
          WHERE pu.group_id = $1
          ORDER BY pe.name",
    )
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await
}

/// The names of the group's teachers, by name.
pub async fn teacher_names(tx: &mut TenantTx, group_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT pe.name FROM group_teachers t JOIN people pe ON pe.id = t.person_id
          WHERE t.group_id = $1 ORDER BY pe.name",
    )
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await
}

/// The groups whose feed the reader may have: their children's and the groups they teach;
/// every group for admins.
pub async fn feed_choices(
    tx: &mut TenantTx,
    reader: &crate::events::EventReader,
) -> Result<Vec<GroupChoice>, sqlx::Error> {
    choices(tx, reader.admin, &reader.groups).await
}
