//! What a post holds besides its text, for the page that asks before deleting it.

use serde::Serialize;
use tenant_router::TenantTx;

/// What goes with a post when it is deleted.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PostHoldings {
    pub title: String,
    /// Answers to a notice-board item.
    pub answers: i64,
    /// Filled-in questionnaires.
    pub responses: i64,
    pub attachments: i64,
}

/// The post's title and what would be lost with it, or `None` when there is no such post.
pub async fn holdings(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<Option<PostHoldings>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.title,
                (SELECT count(*) FROM post_answers a WHERE a.post_id = p.id) AS answers,
                (SELECT count(*) FROM responses r WHERE r.post_id = p.id) AS responses,
                (SELECT count(*) FROM post_attachments f WHERE f.post_id = p.id) AS attachments
           FROM posts p WHERE p.id = $1",
    )
    .bind(post_id)
    .fetch_optional(&mut **tx)
    .await
}
