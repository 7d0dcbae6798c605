//! Inviting parents by mail (A3), for the admin: per pupil, every contact the administration
//! named — linked, invited, reminded, refused by their mail server, or without an address
//! (they get the koppelcode letter) — and one button that invites those not yet invited,
//! for the whole school or one group.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::{AppError, AppState, Lang, Role, Viewer};
use schoolplein_mailing::Outbox;
use schoolplein_mailing::invitations::invite_parents;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

#[derive(Debug, Deserialize)]
pub struct InvitationsQuery {
    group: Option<i64>,
    sent: Option<i64>,
}

/// One contact of one pupil, with where their invitation stands.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct ContactRow {
    pupil_id: i64,
    pupil: String,
    group_name: Option<String>,
    contact: String,
    email: Option<String>,
    status: String,
    invited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct GroupOption {
    id: i64,
    name: String,
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
    groups: Vec<GroupOption>,
    contacts: Vec<ContactRow>,
    totals: Totals,
    sent: Option<i64>,
}

/// `GET /admin/invitations[?group=]`.
pub async fn show_invitations(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Query(query): Query<InvitationsQuery>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let groups: Vec<GroupOption> =
        sqlx::query_as("SELECT id, name FROM groups ORDER BY year NULLS LAST, name")
            .fetch_all(&mut *tx)
            .await?;
    // A mail counts as bounced while the receiving server refuses it for good (the outbox
    // keeps trying, less and less often, and records the kind of refusal).
    let contacts: Vec<ContactRow> = sqlx::query_as(
        "SELECT p.id AS pupil_id,
                concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS pupil,
                g.name AS group_name, coalesce(c->>'name', '') AS contact,
                nullif(lower(c->>'email'), '') AS email,
                CASE
                  WHEN nullif(c->>'email', '') IS NULL THEN 'no_address'
                  WHEN EXISTS (SELECT 1 FROM guardians gu JOIN people pe ON pe.id = gu.person_id
                                WHERE gu.pupil_id = p.id AND gu.status = 'active'
                                  AND lower(pe.email) = lower(c->>'email'))
                    OR inv.accepted_at IS NOT NULL THEN 'linked'
                  WHEN inv.id IS NULL THEN 'not_invited'
                  WHEN EXISTS (SELECT 1 FROM platform.outbox o
                                WHERE o.tenant_id = $2 AND o.sent_at IS NULL
                                  AND o.id IN (inv.mail_id, inv.reminder_mail_id)
                                  AND o.last_error LIKE '%permanent%') THEN 'bounced'
                  WHEN inv.expires_at <= now() THEN 'expired'
                  WHEN inv.reminded_at IS NOT NULL THEN 'reminded'
                  ELSE 'invited'
                END AS status,
                inv.created_at AS invited_at
           FROM pupils p
           LEFT JOIN groups g ON g.id = p.group_id
           CROSS JOIN LATERAL jsonb_array_elements(p.contacts) c
           LEFT JOIN LATERAL (
                SELECT i.* FROM parent_invitation_pupils ip
                  JOIN parent_invitations i ON i.id = ip.invitation_id
                 WHERE ip.pupil_id = p.id AND lower(i.email) = lower(c->>'email')
                 ORDER BY i.id DESC LIMIT 1) inv ON true
          WHERE p.left_at IS NULL AND ($1::bigint IS NULL OR p.group_id = $1)
          ORDER BY g.year NULLS LAST, g.name, p.last_name, p.first_name, p.id",
    )
    .bind(query.group)
    .bind(tenant.id().get())
    .fetch_all(&mut *tx)
    .await?;
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
    let html = Html(
        state
            .templates
            .render("portal/invitations_admin.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
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
    viewer: Viewer,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let group = match form.group.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::bad_request("group", "portal.groups.unknown_group"))?,
        ),
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if let Some(group) = group {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)")
            .bind(group)
            .fetch_one(&mut *tx)
            .await?;
        if !known {
            return Err(AppError::bad_request(
                "group",
                "portal.groups.unknown_group",
            ));
        }
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
