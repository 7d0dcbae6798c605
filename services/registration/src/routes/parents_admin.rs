//! The admin's side of parents joining (A2, T5): whether new links take effect at once, the
//! school's own code, the links waiting for approval, and each pupil's code with a way to
//! replace it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::confirm::{ConfirmKeys, Confirmation};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{Admin, AppError, AppState, Pages};
use schoolplein_mailing::{Outbox, signups};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::codes;
use crate::db::guardians::{self, GroupLetters, PendingLink, PupilCode, WithoutChild};
use crate::domain::ActivationCode;

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
    pages: Pages,
    csrf: Csrf,
    _: Admin,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let settings = codes::settings(&mut tx).await?;
    let pending = guardians::pending(&mut tx).await?;
    let without_child = guardians::without_child(&mut tx).await?;
    let mut pupils = guardians::pupil_codes(&mut tx).await?;
    let groups = guardians::group_letters(&mut tx).await?;
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
    pages.show("registration/parents_admin.html", &page)
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
    _: Admin,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, AppError> {
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

/// `GET /admin/parents/school-code/{new|remove}`: asks first when parents may hold the
/// current code (a new one replaces it).
pub async fn confirm_school_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Path(action): Path<SchoolCodeAction>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let current = codes::settings(&mut tx).await?.school_code;
    tx.commit().await?;
    let (id, title, button) = match action {
        SchoolCodeAction::New => (
            "new-school-code",
            "registration.school_code_new_title",
            "registration.school_code_new",
        ),
        SchoolCodeAction::Remove => (
            "remove-school-code",
            "registration.school_code_remove_title",
            "registration.school_code_remove",
        ),
    };
    let action_path = match action {
        SchoolCodeAction::New => "/admin/parents/school-code/new",
        SchoolCodeAction::Remove => "/admin/parents/school-code/remove",
    };
    Confirmation::new(
        &state,
        pages.language(),
        id,
        ConfirmKeys {
            title,
            button,
            note: current.is_some().then_some("registration.school_code_held"),
        },
        current.as_deref().map(printed).unwrap_or_default(),
        action_path,
        "/admin/parents",
    )
    .respond(&state, csrf)
}

/// `POST /admin/parents/school-code/{new|remove}`.
pub async fn change_school_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _: Admin,
    Path(action): Path<SchoolCodeAction>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let code = match action {
        SchoolCodeAction::New => Some(ActivationCode::generate()),
        SchoolCodeAction::Remove => None,
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    codes::set_school_code(&mut tx, code.as_ref()).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/parents").into_response())
}

/// `GET /admin/pupils/{id}/code`: asks first: the code on the letter parents may hold stops
/// working; parents already linked stay linked.
pub async fn confirm_regenerate_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Path(pupil_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let pupil = guardians::pupil_code(&mut tx, pupil_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let subject = match (&pupil.code, &pupil.group_name) {
        (Some(code), Some(group)) => format!("{} ({group}) · {}", pupil.name, printed(code)),
        (Some(code), None) => format!("{} · {}", pupil.name, printed(code)),
        (None, _) => pupil.name.clone(),
    };
    let catalog = state.templates.catalog();
    let linked = catalog
        .get(pages.language(), "registration.code_parents_stay")
        .unwrap_or_default();
    let mut confirm = Confirmation::new(
        &state,
        pages.language(),
        "regenerate-code",
        ConfirmKeys {
            title: "registration.code_regenerate_title",
            button: "registration.code_regenerate",
            note: Some("registration.code_letter_stops"),
        },
        subject,
        format!("/admin/pupils/{pupil_id}/code"),
        format!("/admin/parents#pupil-{pupil_id}"),
    );
    if pupil.parents > 0 {
        // Not lost, but the admin asks it first: what happens to the parents already in.
        confirm.note = Some(format!(
            "{} {linked} ({})",
            confirm.note.take().unwrap_or_default(),
            pupil.parents
        ));
    }
    confirm.respond(&state, csrf)
}

/// `POST /admin/pupils/{id}/code`: a new code; the old one stops working.
pub async fn regenerate_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _: Admin,
    Path(pupil_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
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
    viewer: Admin,
    Path((pupil_id, person_id, decision)): Path<(i64, i64, Decision)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let approved = matches!(decision, Decision::Approve);
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let done = if approved {
        guardians::approve(&mut tx, pupil_id, person_id, viewer.person_id).await?
    } else {
        guardians::decline(&mut tx, pupil_id, person_id).await?
    };
    if !done {
        return Err(AppError::NotFound);
    }
    // The parent hears of it in the same transaction: the mail exists exactly when the decision does.
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let link = state
        .config
        .tenancy
        .school_url(tenant.entry().slug.as_str(), "/");
    signups::tell_parent(&mut tx, &outbox, pupil_id, person_id, approved, &link).await?;
    tx.commit().await?;
    tracing::info!(
        pupil.id = pupil_id,
        person.id = person_id,
        approved,
        "parent link decided"
    );
    Ok(Redirect::to("/admin/parents").into_response())
}
