//! The admin's side of parents joining (A2, T5): whether new links take effect at once, the
//! school's own code, the links waiting for approval, and each pupil's code with a way to
//! replace it.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::{AppError, AppState, Lang, Role, Viewer};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::codes;
use crate::domain::ActivationCode;
use crate::routes::sign_in::EmptyForm;

#[derive(Debug, Serialize, sqlx::FromRow)]
struct PendingLink {
    pupil_id: i64,
    person_id: i64,
    parent_name: String,
    parent_email: String,
    pupil_name: String,
    group_name: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct WithoutChild {
    name: String,
    email: String,
    registration_note: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct PupilCode {
    id: i64,
    name: String,
    group_name: Option<String>,
    code: Option<String>,
    #[sqlx(skip)]
    printed: Option<String>,
    parents: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct GroupLetters {
    id: i64,
    name: String,
    pupils: i64,
}

#[derive(Debug, Serialize)]
struct ParentsPage<'a> {
    groups: Vec<GroupLetters>,
    csrf: &'a str,
    at_once: bool,
    school_code: Option<String>,
    pending: Vec<PendingLink>,
    without_child: Vec<WithoutChild>,
    pupils: Vec<PupilCode>,
}

fn printed(code: &str) -> String {
    ActivationCode::from_stored(code.to_owned()).printed()
}

/// `GET /admin/parents`.
pub async fn show_parents(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let settings = codes::settings(&mut tx).await?;
    let pending: Vec<PendingLink> = sqlx::query_as(
        "SELECT g.pupil_id, g.person_id, pe.name AS parent_name, pe.email AS parent_email,
                p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS pupil_name,
                gr.name AS group_name, g.created_at
           FROM guardians g
           JOIN people pe ON pe.id = g.person_id
           JOIN pupils p ON p.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = p.group_id
          WHERE g.status = 'pending'
          ORDER BY g.created_at, g.pupil_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let without_child: Vec<WithoutChild> = sqlx::query_as(
        "SELECT pe.name, pe.email, pe.registration_note FROM people pe
          WHERE 'parent' = ANY(pe.roles) AND pe.account_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM guardians g WHERE g.person_id = pe.id)
          ORDER BY pe.created_at DESC LIMIT 200",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut pupils: Vec<PupilCode> = sqlx::query_as(
        "SELECT p.id,
                p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS name,
                gr.name AS group_name, c.code,
                (SELECT count(*) FROM guardians g WHERE g.pupil_id = p.id AND g.status = 'active') AS parents
           FROM pupils p
           LEFT JOIN groups gr ON gr.id = p.group_id
           LEFT JOIN pupil_codes c ON c.pupil_id = p.id
          WHERE p.left_at IS NULL
          ORDER BY gr.year NULLS LAST, gr.name, p.last_name, p.first_name",
    )
    .fetch_all(&mut *tx)
    .await?;
    let groups: Vec<GroupLetters> = sqlx::query_as(
        "SELECT g.id, g.name,
                (SELECT count(*) FROM pupils p WHERE p.group_id = g.id AND p.left_at IS NULL) AS pupils
           FROM groups g ORDER BY g.year NULLS LAST, g.name",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    for pupil in &mut pupils {
        pupil.printed = pupil.code.as_deref().map(printed);
    }
    let page = ParentsPage {
        groups,
        csrf: csrf.token(),
        at_once: settings.activate_parents_at_once,
        school_code: settings.school_code.as_deref().map(printed),
        pending,
        without_child,
        pupils,
    };
    let html = Html(
        state
            .templates
            .render("registration/parents_admin.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    at_once: Option<String>,
}

/// `POST /admin/parents/settings`: new links at once, or after approval.
pub async fn save_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    codes::set_activate_at_once(&mut tx, form.at_once.is_some()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/parents").into_response())
}

/// What to do with the school's code.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchoolCodeAction {
    New,
    Remove,
}

/// `POST /admin/parents/school-code/{new|remove}`.
pub async fn change_school_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(action): Path<SchoolCodeAction>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let code = match action {
        SchoolCodeAction::New => Some(ActivationCode::generate()),
        SchoolCodeAction::Remove => None,
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    codes::set_school_code(&mut tx, code.as_ref()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/parents").into_response())
}

/// `POST /admin/pupils/{id}/code`: a new code; the old one stops working.
pub async fn regenerate_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(pupil_id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if codes::regenerate(&mut tx, pupil_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    tracing::info!(pupil.id = pupil_id, "activation code replaced");
    Ok(Redirect::to(&format!("/admin/parents#pupil-{pupil_id}")).into_response())
}

/// What an admin decides about a waiting link.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

/// `POST /admin/parents/pending/{pupil_id}/{person_id}/{approve|reject}`.
pub async fn decide_link(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path((pupil_id, person_id, decision)): Path<(i64, i64, Decision)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let done = match decision {
        Decision::Approve => {
            sqlx::query(
                "UPDATE guardians SET status = 'active', approved_at = now(), approved_by = $3
              WHERE pupil_id = $1 AND person_id = $2 AND status = 'pending'",
            )
            .bind(pupil_id)
            .bind(person_id)
            .bind(viewer.person_id)
            .execute(&mut *tx)
            .await?
        }
        Decision::Reject => sqlx::query(
            "DELETE FROM guardians WHERE pupil_id = $1 AND person_id = $2 AND status = 'pending'",
        )
        .bind(pupil_id)
        .bind(person_id)
        .execute(&mut *tx)
        .await?,
    };
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    tracing::info!(
        pupil.id = pupil_id,
        person.id = person_id,
        approved = matches!(decision, Decision::Approve),
        "parent link decided"
    );
    Ok(Redirect::to("/admin/parents").into_response())
}
