//! The school admin's list of the school's people, with blocking and unblocking (A6).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Viewer, Writable};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::people;
use crate::pages::people::people_page;

#[derive(Debug, serde::Deserialize)]
pub struct PeopleQuery {
    notice: Option<String>,
}

pub async fn list_people(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Admin,
    Query(query): Query<PeopleQuery>,
) -> Result<Response, AppError> {
    let invited = query.notice.as_deref() == Some("invited");
    people_page(&state, &tenant, &pages, csrf, &viewer, invited, None).await
}

async fn set_blocked(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    person_id: i64,
    blocked: bool,
) -> Result<Response, AppError> {
    if person_id == viewer.person_id {
        return Err(AppError::bad_request(
            "person",
            "registration.cannot_block_self",
        ));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let exists = people::exists(&mut tx, person_id).await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    let changed = people::set_blocked(&mut tx, person_id, blocked, Some(viewer.person_id)).await?;
    tx.commit().await?;
    if changed {
        tracing::info!(person.id = person_id, blocked, "access changed");
    }
    Ok(Redirect::to("/admin/people").into_response())
}

/// What an admin does to a person's access.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessChange {
    Block,
    Unblock,
}

pub async fn change_access(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Admin>,
    Path((person_id, change)): Path<(i64, AccessChange)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let blocked = matches!(change, AccessChange::Block);
    set_blocked(&state, &tenant, &viewer, person_id, blocked).await
}
