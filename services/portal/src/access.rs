//! A viewer as a reader of posts: the posts they see and the ones they may change.

use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::{AppError, Role, Viewer};
use tenant_router::TenantTx;

use crate::db::posts::{self, PostRow};

/// Who the viewer is to posts.
pub async fn reader(tx: &mut TenantTx, viewer: &Viewer) -> Result<PostReader, sqlx::Error> {
    PostReader::load(
        tx,
        viewer.person_id,
        viewer.has(Role::SchoolAdmin),
        viewer.has(Role::Teacher),
    )
    .await
}

/// One post, if the reader sees it: a post one may not see does not exist for them (404).
pub async fn visible_post(
    tx: &mut TenantTx,
    reader: &PostReader,
    post_id: i64,
) -> Result<PostRow, AppError> {
    let row = posts::visible(tx, reader, post_id).await?;
    row.ok_or(AppError::NotFound)
}

/// A post's kind, the post locked, if the viewer may change it (its author or a school
/// admin): 404 when there is no such post, 403 when it is someone else's.
pub async fn changeable(
    tx: &mut TenantTx,
    viewer: &Viewer,
    post_id: i64,
) -> Result<PostKind, AppError> {
    let row = posts::author_and_kind_for_update(tx, post_id).await?;
    let (author, kind) = row.ok_or(AppError::NotFound)?;
    if !viewer.has(Role::SchoolAdmin) && author != Some(viewer.person_id) {
        return Err(AppError::Forbidden {
            reason: "portal.posts.not_yours",
        });
    }
    PostKind::parse(&kind).ok_or_else(|| AppError::Internal(format!("post kind {kind}")))
}
