//! Inviting parents by mail (A3), for the admin: per pupil, every contact the administration
//! named — linked, invited, reminded, refused by their mail server, or without an address
//! (they get the koppelcode letter) — and one button that invites those not yet invited,
//! for the whole school or one group.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::{Admin, AppError, AppState, Pages};
use schoolplein_mailing::Outbox;
use schoolplein_mailing::invitations::invite_parents;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups::{self, GroupChoice};
use crate::db::invitations::{self, ContactStatus};

#[derive(Debug, Deserialize)]
pub struct InvitationsQuery {
    group: Option<i64>,
    sent: Option<i64>,
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    linked: usize,
    invited: usize,
    bounced: usize,
    not_invited: usize,
    no_address: usize,
}

#[derive(Debug, Serialize)]
struct InvitationsPage<'a> {
    csrf: &'a str,
    group: Option<i64>,
    groups: Vec<GroupChoice>,
    contacts: Vec<ContactStatus>,
    totals: Totals,
    sent: Option<i64>,
}

/// `GET /admin/invitations[?group=]`.
pub async fn show_invitations(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Query(query): Query<InvitationsQuery>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let groups = groups::all(&mut tx).await?;
    let contacts = invitations::contacts(&mut tx, tenant.id(), query.group).await?;
    tx.commit().await?;
    let mut totals = Totals::default();
    for contact in &contacts {
        match contact.status.as_str() {
            "linked" => totals.linked += 1,
            "invited" | "reminded" => totals.invited += 1,
            "bounced" => totals.bounced += 1,
            "no_address" => totals.no_address += 1,
            _ => totals.not_invited += 1,
        }
    }
    let page = InvitationsPage {
        csrf: csrf.token(),
        group: query.group,
        groups,
        contacts,
        totals,
        sent: query.sent,
    };
    pages.show("portal/invitations_admin.html", &page)
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    group: Option<String>,
}

/// `POST /admin/invitations`: invites every contact with an address who is not linked and
/// holds no open invitation (for one group, or the school).
pub async fn send_invitations(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Admin,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, AppError> {
    let group = match form.group.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::bad_request("group", "portal.groups.unknown_group"))?,
        ),
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if let Some(group) = group
        && !groups::exists(&mut tx, group).await?
    {
        return Err(AppError::bad_request(
            "group",
            "portal.groups.unknown_group",
        ));
    }
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let lifetime = chrono::Duration::from_std(state.config.accounts.invitation_lifetime())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let slug = tenant.entry().slug.as_str();
    let sent = invite_parents(
        &mut tx,
        &outbox,
        group,
        Some(viewer.person_id),
        lifetime,
        |token| {
            state
                .config
                .tenancy
                .school_url(slug, &format!("/invited/{}", token.expose()))
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(sent, group, "parents invited by mail");
    let back = match group {
        Some(group) => format!("/admin/invitations?group={group}&sent={sent}"),
        None => format!("/admin/invitations?sent={sent}"),
    };
    Ok(Redirect::to(&back).into_response())
}
