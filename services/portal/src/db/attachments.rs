//! Files attached to posts, and those kept from a post form that came back with a mistake.

use schoolplein_kernel::audience::{PostReader, SEES_POST};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// A file as the post's page lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AttachmentLink {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i32,
}

/// The files of a post, oldest first.
pub async fn of_post(tx: &mut TenantTx, post_id: i64) -> Result<Vec<AttachmentLink>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, file_name, content_type, length(bytes) AS size
           FROM post_attachments WHERE post_id = $1 ORDER BY id",
    )
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn count(tx: &mut TenantTx, post_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM post_attachments WHERE post_id = $1")
        .bind(post_id)
        .fetch_one(&mut **tx)
        .await
}

pub async fn insert(
    tx: &mut TenantTx,
    post_id: i64,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO post_attachments (post_id, file_name, content_type, bytes)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(post_id)
    .bind(file_name)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A file of a post the reader sees: `(file name, content type, bytes)`.
pub async fn file(
    tx: &mut TenantTx,
    reader: &PostReader,
    post_id: i64,
    attachment_id: i64,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    let sql = format!(
        "SELECT a.file_name, a.content_type, a.bytes
           FROM post_attachments a JOIN posts po ON po.id = a.post_id
          WHERE a.id = $5 AND po.id = $4 AND {SEES_POST}"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(&reader.groups)
        .bind(post_id)
        .bind(attachment_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Deletes a file of the post; `false` when the post has no such file.
pub async fn delete(
    tx: &mut TenantTx,
    post_id: i64,
    attachment_id: i64,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM post_attachments WHERE id = $1 AND post_id = $2")
        .bind(attachment_id)
        .bind(post_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(removed != 0)
}

/// How long a file sent with a post form that came back stays on offer.
const PENDING_FOR: &str = "1 day";

/// A file kept from a post form that came back with a mistake, as the form lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PendingFile {
    pub id: i64,
    pub file_name: String,
    pub size: i32,
}

/// The files kept for `person_id` under the form `form_hash` and not expired, oldest first.
pub async fn pending(
    tx: &mut TenantTx,
    form_hash: &[u8],
    person_id: i64,
) -> Result<Vec<PendingFile>, sqlx::Error> {
    let sql = format!(
        "SELECT id, file_name, length(bytes) AS size FROM pending_attachments
          WHERE form_hash = $1 AND person_id = $2
            AND created_at > now() - interval '{PENDING_FOR}'
          ORDER BY id"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(form_hash)
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await
}

/// Keeps a file sent with a post form that came back, for `person_id` and that form.
pub async fn insert_pending(
    tx: &mut TenantTx,
    form_hash: &[u8],
    person_id: i64,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pending_attachments (form_hash, person_id, file_name, content_type, bytes)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(form_hash)
    .bind(person_id)
    .bind(file_name)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Drops kept files of `person_id`'s form `form_hash` (the ones the author ticked to remove),
/// and every school's kept files older than a day.
pub async fn drop_pending(
    tx: &mut TenantTx,
    form_hash: &[u8],
    person_id: i64,
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "DELETE FROM pending_attachments
          WHERE (form_hash = $1 AND person_id = $2 AND id = ANY ($3))
             OR created_at <= now() - interval '{PENDING_FOR}'"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(form_hash)
        .bind(person_id)
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the files kept for `person_id`'s form `form_hash` (not expired, not in `except`) to
/// post `post_id`; how many it moved.
pub async fn adopt_pending(
    tx: &mut TenantTx,
    form_hash: &[u8],
    person_id: i64,
    except: &[i64],
    post_id: i64,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "WITH taken AS (
             DELETE FROM pending_attachments
              WHERE form_hash = $1 AND person_id = $2 AND id <> ALL ($3)
                AND created_at > now() - interval '{PENDING_FOR}'
             RETURNING id, file_name, content_type, bytes)
         INSERT INTO post_attachments (post_id, file_name, content_type, bytes)
         SELECT $4, file_name, content_type, bytes FROM taken ORDER BY id"
    );
    let moved = sqlx::query(AssertSqlSafe(sql))
        .bind(form_hash)
        .bind(person_id)
        .bind(except)
        .bind(post_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(moved)
}
