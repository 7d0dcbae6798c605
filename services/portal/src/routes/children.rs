//! A parent's own page in the school (P7, P8): their children (in effect or waiting for the
//! school), per child who may see which of their details, and their details themselves.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, TokenOnly, value};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Writable};
use serde::Deserialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::children_page::{CONTACTS_FORM, MAX_CONTACTS, children_page};
use crate::db::children;
use crate::details::DetailsForm;
use crate::fields::{optional_phone as phone, optional_text as text};
use crate::notify::{self, Changed};
use crate::privacy::{Audience, Field};

/// The ids of the page's forms: the parent's details (contacts and photo:
/// `crate::children_page`), and per child its medical and privacy forms.
const DETAILS_FORM: &str = "details";

fn medical_form(pupil_id: i64) -> String {
    format!("medical-form-{pupil_id}")
}

fn privacy_form(pupil_id: i64) -> String {
    format!("privacy-{pupil_id}")
}

/// `GET /children`.
pub async fn show_children(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Response, AppError> {
    children_page(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        query.saved.is_some(),
        FormBack::none(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// The privacy form's choices: one select per field — `nobody`, `group`, `school`.
fn parse_privacy(form: &[(String, String)]) -> Result<Vec<(Field, Audience)>, AppError> {
    let mut chosen = Vec::new();
    for (key, value) in form {
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
    Ok(chosen)
}

/// `POST /children/{pupil_id}/privacy`: one select per field — `nobody`, `group`, `school`.
pub async fn save_privacy(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    Path(pupil_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let chosen = match parse_privacy(&form) {
        Ok(chosen) => chosen,
        Err(error) => {
            let anchor = |field: &str| format!("privacy-{pupil_id}-{field}");
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                privacy_form(pupil_id),
                &form,
                anchor,
            )?;
            return children_page(&state, &tenant, &pages, csrf, &viewer, false, back).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !children::is_guardian(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    let fields: Vec<&str> = chosen.iter().map(|(f, _)| f.as_str()).collect();
    let audiences: Vec<&str> = chosen.iter().map(|(_, a)| a.as_str()).collect();
    children::replace_privacy_choices(&mut tx, viewer.person_id, pupil_id, &fields, &audiences)
        .await?;
    tx.commit().await?;
    // Group pages kept in this process show it at once; others hear it announced.
    state.school_data.forget(tenant.id());
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// `POST /children/details`: the parent's own address, phones and "about me". A mistake
/// brings the page back with the form as sent; nothing is saved.
pub async fn save_details(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let details = match DetailsForm::of(&form).validate() {
        Ok(details) => details,
        Err(error) => {
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                DETAILS_FORM,
                &form,
                str::to_owned,
            )?;
            return children_page(&state, &tenant, &pages, csrf, &viewer, false, back).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    details
        .store(&state, &tenant, &mut tx, viewer.person_id)
        .await?;
    tx.commit().await?;
    // Group pages kept in this process show it at once; others hear it announced.
    state.school_data.forget(tenant.id());
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// The contacts form's rows, checked: a row with no phone is left out; a row with a phone
/// needs a label.
fn parse_contacts(form: &[(String, String)]) -> Result<Vec<(String, String, String)>, AppError> {
    let mut rows = Vec::new();
    for n in 0..MAX_CONTACTS {
        let get = |part: &str| value(form, &format!("{part}_{n}")).trim();
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
    Ok(rows)
}

/// `POST /children/contacts`: `label_N`, `name_N`, `phone_N` for N = 0…4; a row with no phone
/// is left out; all of them replace the old ones.
pub async fn save_contacts(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let rows = match parse_contacts(&form) {
        Ok(rows) => rows,
        Err(error) => {
            // The name fields' ids differ from the details form's `name`-less ids.
            let anchor = |field: &str| match field.strip_prefix("name_") {
                Some(n) => format!("cname_{n}"),
                None => field.to_owned(),
            };
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                CONTACTS_FORM,
                &form,
                anchor,
            )?;
            return children_page(&state, &tenant, &pages, csrf, &viewer, false, back).await;
        }
    };
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

/// `POST /children/{pupil_id}/medical`: what the school must know of the child's health
/// (staff only see it), fields `medical` and `allergies`.
pub async fn save_medical(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    Path(pupil_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let checked = text("medical", value(&form, "medical"), 2000, true).and_then(|medical| {
        let allergies = text("allergies", value(&form, "allergies"), 1000, true)?;
        Ok((medical.unwrap_or_default(), allergies.unwrap_or_default()))
    });
    let (medical, allergies) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let anchor = |field: &str| format!("{field}-{pupil_id}");
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                medical_form(pupil_id),
                &form,
                anchor,
            )?;
            return children_page(&state, &tenant, &pages, csrf, &viewer, false, back).await;
        }
    };
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
    viewer: Writable<Member>,
    Path(pupil_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !children::linked(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    children::make_primary(&mut tx, pupil_id, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}
