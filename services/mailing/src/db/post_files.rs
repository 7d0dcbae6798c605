//! The files attached to posts, as mails about the posts name them.

use tenant_router::TenantTx;

/// A file of a post: `(post id, file id, file name)`.
pub type PostFile = (i64, i64, String);

/// The files of `post_ids`, by post and oldest first.
pub async fn of_posts(tx: &mut TenantTx, post_ids: &[i64]) -> Result<Vec<PostFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT post_id, id, file_name FROM post_attachments
          WHERE post_id = ANY ($1) ORDER BY post_id, id",
    )
    .bind(post_ids)
    .fetch_all(&mut **tx)
    .await
}
