//! The group page (P10): the group's teachers and its pupils' parents, each parent shown only
//! as far as they chose (staff see all). The same view is served as JSON for apps and
//! exports, built by the same function, so no page shows more than another.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups;
use crate::db::people;
use crate::group_view::{GroupView, group_view};

/// The group page: the view every reader gets, and what this reader may do from it.
#[derive(Debug, Serialize)]
struct GroupPage<'a> {
    #[serde(flatten)]
    view: &'a GroupView,
    /// An admin invites the group's parents by mail from here (A3).
    can_invite: bool,
    /// Messages are on (C4): the teachers, and for staff the parents, get a message button.
    messages: bool,
    /// The addresses of "message the teachers" (`person:1,person:2`).
    teachers_address: String,
}

/// `GET /groups/{id}`.
pub async fn show_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Member,
    Path(group_id): Path<i64>,
) -> Result<Response, AppError> {
    let view = group_view(&state, &tenant, &viewer, group_id).await?;
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let teachers_address = view
        .teacher_ids
        .iter()
        .filter(|id| **id != viewer.person_id)
        .map(|id| format!("person:{id}"))
        .collect::<Vec<_>>()
        .join(",");
    let page = GroupPage {
        view: &view,
        can_invite: viewer.has(Role::SchoolAdmin) && !view.families.is_empty(),
        messages: settings.is_on(schoolplein_kernel::settings::Module::Messages)
            && !viewer.read_only,
        teachers_address,
    };
    pages.show("portal/group.html", &page)
}

/// `GET /api/groups/{id}`: the same view as JSON.
pub async fn group_json(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path(group_id): Path<i64>,
) -> Result<Json<GroupView>, AppError> {
    Ok(Json(group_view(&state, &tenant, &viewer, group_id).await?))
}

#[derive(Debug, Serialize)]
struct GroupsPage {
    groups: Vec<groups::GroupRow>,
}

/// `GET /groups`: staff see every group; parents the groups of their children.
pub async fn list_groups(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Member,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let looker = people::looker(&mut tx, &viewer).await?;
    let access = people::group_access(&mut tx, &viewer, &looker, &settings).await?;
    let (all, some) = match access {
        people::GroupAccess::All => (true, Vec::new()),
        people::GroupAccess::Only(groups) => (false, groups.into_iter().collect::<Vec<i64>>()),
    };
    let groups = groups::with_pupil_counts(&mut tx, all, &some).await?;
    tx.commit().await?;
    pages.show("portal/groups.html", &GroupsPage { groups })
}
