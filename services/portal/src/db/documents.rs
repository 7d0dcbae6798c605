//! Documents: the folders a reader sees and the files in them.

use chrono::{DateTime, Utc};
use schoolplein_kernel::audience::PostReader;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

use crate::sharing::sees_group_item;

/// A folder as the list shows it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct FolderRow {
    pub id: i64,
    pub name: String,
    pub group_id: Option<i64>,
    /// The group's name; `None` for the whole school.
    pub group_name: Option<String>,
    pub documents: i64,
    pub latest: Option<DateTime<Utc>>,
}

/// The folders the reader in `$1`–`$3` sees, `$4` one folder or all.
fn folders_sql() -> String {
    format!(
        "SELECT f.id, f.name, f.group_id, g.name AS group_name,
                (SELECT count(*) FROM documents d WHERE d.folder_id = f.id) AS documents,
                (SELECT max(d.created_at) FROM documents d WHERE d.folder_id = f.id) AS latest
           FROM document_folders f LEFT JOIN groups g ON g.id = f.group_id
          WHERE {} AND ($4::bigint IS NULL OR f.id = $4)
          ORDER BY f.group_id IS NOT NULL, g.year NULLS LAST, g.name, f.name, f.id",
        sees_group_item("f")
    )
}

/// The folders the reader sees, or only folder `only` if they see it, school folders first.
pub async fn visible_folders(
    tx: &mut TenantTx,
    reader: &PostReader,
    only: Option<i64>,
) -> Result<Vec<FolderRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(folders_sql()))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(&reader.groups)
        .bind(only)
        .fetch_all(&mut **tx)
        .await
}

/// Makes a folder (for a group, or the whole school); its id.
pub async fn create_folder(
    tx: &mut TenantTx,
    name: &str,
    group_id: Option<i64>,
    by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO document_folders (name, group_id, created_by) VALUES ($1, $2, $3)
         RETURNING id",
    )
    .bind(name)
    .bind(group_id)
    .bind(by)
    .fetch_one(&mut **tx)
    .await
}

/// Deletes a folder with its documents.
pub async fn delete_folder(tx: &mut TenantTx, folder_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM document_folders WHERE id = $1")
        .bind(folder_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A document as a folder lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i32,
    pub created_at: DateTime<Utc>,
}

/// A folder's documents, newest first.
pub async fn in_folder(tx: &mut TenantTx, folder_id: i64) -> Result<Vec<DocumentRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, file_name, content_type, length(bytes) AS size, created_at
           FROM documents WHERE folder_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(folder_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn insert(
    tx: &mut TenantTx,
    folder_id: i64,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO documents (folder_id, file_name, content_type, bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(folder_id)
    .bind(file_name)
    .bind(content_type)
    .bind(bytes)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A document in a folder the reader sees: `(file name, content type, bytes)`.
pub async fn file(
    tx: &mut TenantTx,
    reader: &PostReader,
    folder_id: i64,
    document_id: i64,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    let sql = format!(
        "SELECT d.file_name, d.content_type, d.bytes
           FROM documents d JOIN document_folders f ON f.id = d.folder_id
          WHERE d.id = $5 AND f.id = $4 AND {}",
        sees_group_item("f")
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(&reader.groups)
        .bind(folder_id)
        .bind(document_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Deletes a document of the folder; `false` when the folder has no such document.
pub async fn delete(
    tx: &mut TenantTx,
    folder_id: i64,
    document_id: i64,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM documents WHERE id = $1 AND folder_id = $2")
        .bind(document_id)
        .bind(folder_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(removed != 0)
}
