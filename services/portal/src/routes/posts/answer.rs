//! `POST /posts/{id}/answers`: an answer to a bulletin-board item.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::audience::PostKind;
use schoolplein_kernel::csrf::CsrfForm;
use schoolplein_kernel::{AppError, AppState, Member, Writable};
use serde::Deserialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::{reader, visible_post};
use crate::db::posts;
use crate::fields::optional_text;

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    body: String,
}

/// `POST /posts/{id}/answers`: an answer to a bulletin-board item, by anyone it reaches.
pub async fn answer(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(post_id): Path<i64>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    let body = optional_text("body", &form.body, 2000, true)?
        .ok_or_else(|| AppError::bad_request("body", "portal.posts.answer_required"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let row = visible_post(&mut tx, &reader, post_id).await?;
    if row.kind != PostKind::Board.as_str() {
        return Err(AppError::bad_request("body", "portal.posts.not_board"));
    }
    posts::add_answer(&mut tx, post_id, reader.person_id, &body).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}
