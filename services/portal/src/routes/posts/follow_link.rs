//! `GET /r/{secret}`: the link in an urgent mail, which counts as reading the post.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::posts;

/// `GET /r/{secret}`: the link in an urgent mail. Following it counts as reading the post,
/// signed in or not; then the post itself (which asks to sign in when needed).
pub async fn follow_link(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    let secret = SecretToken::parse(&secret).ok_or(AppError::NotFound)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let post_id = posts::follow_link(&mut tx, secret.hash().as_bytes()).await?;
    let post_id = post_id.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}
