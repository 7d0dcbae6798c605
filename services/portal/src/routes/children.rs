//! A parent's own page in the school (P7, P8): their children (in effect or waiting for the
//! school), per child who may see which of their details, and their details themselves.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{AppError, AppState, Lang, Viewer};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::open_to;
use crate::db::children::{self, ChildRow, ContactRow};
use crate::db::people::{self, Details};
use crate::details::DetailsForm;
use crate::fields::{optional_phone as phone, optional_text as text};
use crate::notify::{self, Changed};
use crate::privacy::{Audience, Field};

#[derive(Debug, Serialize)]
struct ChildrenPage<'a> {
    csrf: &'a str,
    children: Vec<ChildRow>,
    contacts: Vec<ContactRow>,
    /// Empty rows for more contacts, up to the maximum.
    free_contacts: Vec<usize>,
    fields: Vec<&'static str>,
    details: Details,
    saved: bool,
}

/// `GET /children`.
pub async fn show_children(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let mut children = children::of_parent(&mut tx, viewer.person_id).await?;
    let choices = children::privacy_choices(&mut tx, viewer.person_id).await?;
    let contacts = children::contacts(&mut tx, viewer.person_id).await?;
    let details = people::details(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    for child in &mut children {
        for (pupil, field, audience) in &choices {
            if *pupil == child.pupil_id
                && let (Some(field), Some(audience)) =
                    (Field::parse(field), Audience::parse(audience))
            {
                child.choices.insert(field.as_str(), audience.as_str());
            }
        }
    }
    let page = ChildrenPage {
        csrf: csrf.token(),
        free_contacts: (contacts.len()..MAX_CONTACTS).collect(),
        contacts,
        children,
        fields: Field::ALL.iter().map(|f| f.as_str()).collect(),
        details,
        saved: query.saved.is_some(),
    };
    let html = Html(
        state
            .templates
            .render("portal/children.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `POST /children/{pupil_id}/privacy`: one select per field — `nobody`, `group`, `school`.
pub async fn save_privacy(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(pupil_id): Path<i64>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut chosen = Vec::new();
    for (key, value) in &form {
        if key == "csrf" {
            continue;
        }
        let field = Field::parse(key)
            .ok_or_else(|| AppError::bad_request(key.clone(), "portal.privacy.unknown_field"))?;
        match value.as_str() {
            "nobody" => {}
            other => {
                let audience = Audience::parse(other).ok_or_else(|| {
                    AppError::bad_request(key.clone(), "portal.privacy.unknown_audience")
                })?;
                chosen.push((field, audience));
            }
        }
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !children::is_guardian(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    let fields: Vec<&str> = chosen.iter().map(|(f, _)| f.as_str()).collect();
    let audiences: Vec<&str> = chosen.iter().map(|(_, a)| a.as_str()).collect();
    children::replace_privacy_choices(&mut tx, viewer.person_id, pupil_id, &fields, &audiences)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// `POST /children/details`: the parent's own address, phones and "about me".
pub async fn save_details(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<DetailsForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let details = form.validate()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    details
        .store(&state, &tenant, &mut tx, viewer.person_id)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// Extra contacts per parent.
const MAX_CONTACTS: usize = 5;

/// `POST /children/contacts`: `label_N`, `name_N`, `phone_N` for N = 0…4; a row with no phone
/// is left out; all of them replace the old ones.
pub async fn save_contacts(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut rows = Vec::new();
    for n in 0..MAX_CONTACTS {
        let get = |part: &str| {
            form.get(&format!("{part}_{n}"))
                .map(|v| v.trim())
                .unwrap_or_default()
        };
        let Some(number) = phone(&format!("phone_{n}"), get("phone"))? else {
            continue;
        };
        let label_field = format!("label_{n}");
        let label = text(&label_field, get("label"), 50, false)?.ok_or_else(|| {
            AppError::bad_request(label_field.clone(), "portal.contacts.label_missing")
        })?;
        let name = text(&format!("name_{n}"), get("name"), 100, false)?.unwrap_or_default();
        rows.push((label, name, number));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    children::replace_contacts(&mut tx, viewer.person_id, &rows).await?;
    notify::admins_of_change(
        &state,
        &tenant,
        &mut tx,
        viewer.person_id,
        Changed::Contacts,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

#[derive(Debug, Deserialize)]
pub struct MedicalForm {
    medical: String,
    allergies: String,
}

/// `POST /children/{pupil_id}/medical`: what the school must know of the child's health
/// (staff only see it).
pub async fn save_medical(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(pupil_id): Path<i64>,
    CsrfForm(form): CsrfForm<MedicalForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let medical = text("medical", &form.medical, 2000, true)?.unwrap_or_default();
    let allergies = text("allergies", &form.allergies, 1000, true)?.unwrap_or_default();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !children::linked(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    children::save_medical(&mut tx, pupil_id, &medical, &allergies, viewer.person_id).await?;
    notify::admins_of_change(&state, &tenant, &mut tx, viewer.person_id, Changed::Medical).await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// `POST /children/{pupil_id}/primary`: this parent becomes the child's primary contact
/// (group messages can reach only them, A8); the child's other parents no longer are.
pub async fn make_primary(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(pupil_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !children::linked(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    children::make_primary(&mut tx, pupil_id, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}
