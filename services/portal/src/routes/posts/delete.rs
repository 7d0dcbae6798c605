//! `GET`/`POST /posts/{id}/delete`: what deleting a post would lose, and deleting it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{AppError, AppState, Pages, Staff, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::changeable;
use crate::db::posts::{self, PostHoldings};

#[derive(Debug, Serialize)]
struct DeletePage<'a> {
    csrf: &'a str,
    post_id: i64,
    post: PostHoldings,
}

/// `GET /posts/{id}/delete`: what deleting the post would lose — its answers, filled-in
/// questionnaires and attachments — with the button that does it.
pub async fn confirm_delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(post_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    let post = posts::holdings(&mut tx, post_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.rollback().await?;
    pages.show(
        "portal/post_delete.html",
        &DeletePage {
            csrf: csrf.token(),
            post_id,
            post,
        },
    )
}

/// `POST /posts/{id}/delete`: by its author or a school admin.
pub async fn delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(post_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    posts::delete(&mut tx, post_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/timeline").into_response())
}
