//! Reading back what imports left: the history of runs and the teachers the last file listed.

use serde::Serialize;
use tenant_router::TenantTx;

/// One earlier import, for the history on the import page.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct RecentImport {
    pub format: String,
    pub added: i32,
    pub changed: i32,
    pub unchanged: i32,
    pub marked_left: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The last `limit` imports, newest first.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> Result<Vec<RecentImport>, sqlx::Error> {
    sqlx::query_as(
        "SELECT format, added, changed, unchanged, marked_left, created_at
           FROM roster_imports ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// A teacher of the last imported file, with their groups and where they stand.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ImportedTeacherRow {
    pub key: String,
    pub name: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// Staff of this school already (by address).
    pub is_staff: bool,
}

/// The teachers of the last imported file, by name.
pub async fn imported_teachers(tx: &mut TenantTx) -> Result<Vec<ImportedTeacherRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.key, t.name, t.email,
                ARRAY(SELECT DISTINCT g.name FROM group_keys k JOIN groups g ON g.id = k.group_id
                       WHERE k.key = ANY (t.group_keys) ORDER BY g.name) AS groups,
                EXISTS (SELECT 1 FROM people pe WHERE pe.kind = 'staff'
                         AND lower(pe.email) = lower(t.email)) AS is_staff
           FROM imported_teachers t ORDER BY t.name, t.key",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Makes `person_id` teacher of every group the file gave the teacher with `key`.
pub async fn give_teacher_their_groups(
    tx: &mut TenantTx,
    key: &str,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO group_teachers (group_id, person_id)
         SELECT DISTINCT k.group_id, $2 FROM imported_teachers t
           JOIN group_keys k ON k.key = ANY (t.group_keys)
          WHERE t.key = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
