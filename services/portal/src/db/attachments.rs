//! Files attached to posts.

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
