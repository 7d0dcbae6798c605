//! A parent's own page in the school (P7, P8): their children (in effect or waiting for the
//! school), per child who may see which of their details, and their details themselves.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::{AppError, AppState, Lang, Viewer};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::fields::{optional_phone as phone, optional_text as text};
use crate::notify::{self, Changed};
use crate::privacy::{Audience, Field};

#[derive(Debug, Serialize, sqlx::FromRow)]
struct ChildRow {
    pupil_id: i64,
    name: String,
    group_id: Option<i64>,
    group_name: Option<String>,
    status: String,
    is_primary: bool,
    medical: Option<String>,
    allergies: Option<String>,
    #[sqlx(skip)]
    choices: HashMap<&'static str, &'static str>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Details {
    address: Option<String>,
    phone_mobile: Option<String>,
    phone_other: Option<String>,
    about: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct ContactRow {
    label: String,
    name: String,
    phone: String,
}

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
    let mut children: Vec<ChildRow> = sqlx::query_as(
        "SELECT p.id AS pupil_id,
                p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS name,
                gr.id AS group_id, gr.name AS group_name, g.status, g.is_primary,
                m.medical, m.allergies
           FROM guardians g JOIN pupils p ON p.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = p.group_id
           LEFT JOIN pupil_medical m ON m.pupil_id = p.id
          WHERE g.person_id = $1 AND p.left_at IS NULL
          ORDER BY p.date_of_birth, p.id",
    )
    .bind(viewer.person_id)
    .fetch_all(&mut *tx)
    .await?;
    let choices: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT pupil_id, field, audience FROM privacy_choices WHERE person_id = $1",
    )
    .bind(viewer.person_id)
    .fetch_all(&mut *tx)
    .await?;
    let contacts: Vec<ContactRow> = sqlx::query_as(
        "SELECT label, name, phone FROM person_contacts WHERE person_id = $1 ORDER BY id",
    )
    .bind(viewer.person_id)
    .fetch_all(&mut *tx)
    .await?;
    let details: Details = sqlx::query_as(
        "SELECT address, phone_mobile, phone_other, about FROM people WHERE id = $1",
    )
    .bind(viewer.person_id)
    .fetch_one(&mut *tx)
    .await?;
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

/// Parents' pages answer only while the school keeps the portal open to parents (T5).
pub async fn open_to(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
) -> Result<(), AppError> {
    if viewer.is_staff() {
        return Ok(());
    }
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    settings.open_to(false)
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
    let linked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guardians WHERE pupil_id = $1 AND person_id = $2)",
    )
    .bind(pupil_id)
    .bind(viewer.person_id)
    .fetch_one(&mut *tx)
    .await?;
    if !linked {
        return Err(AppError::NotFound);
    }
    sqlx::query("DELETE FROM privacy_choices WHERE person_id = $1 AND pupil_id = $2")
        .bind(viewer.person_id)
        .bind(pupil_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO privacy_choices (person_id, pupil_id, field, audience)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[])",
    )
    .bind(viewer.person_id)
    .bind(pupil_id)
    .bind(chosen.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>())
    .bind(chosen.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

#[derive(Debug, Deserialize)]
pub struct DetailsForm {
    address: String,
    phone_mobile: String,
    phone_other: String,
    about: String,
}

/// A parent's address, phones and "about me", checked.
#[derive(Debug)]
pub struct ValidDetails {
    address: Option<String>,
    phone_mobile: Option<String>,
    phone_other: Option<String>,
    about: Option<String>,
}

impl DetailsForm {
    /// Checks every field; the first bad one is named in the 400.
    pub fn validate(&self) -> Result<ValidDetails, AppError> {
        Ok(ValidDetails {
            address: text("address", &self.address, 200, false)?,
            phone_mobile: phone("phone_mobile", &self.phone_mobile)?,
            phone_other: phone("phone_other", &self.phone_other)?,
            about: text("about", &self.about, 1000, true)?,
        })
    }
}

impl ValidDetails {
    /// Writes the details of `person_id` and mails the school's admins about it, in `tx`.
    pub async fn store(
        &self,
        state: &AppState,
        tenant: &CurrentTenant,
        tx: &mut TenantTx,
        person_id: i64,
    ) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE people SET address = $2, phone_mobile = $3, phone_other = $4, about = $5
              WHERE id = $1",
        )
        .bind(person_id)
        .bind(&self.address)
        .bind(&self.phone_mobile)
        .bind(&self.phone_other)
        .bind(&self.about)
        .execute(&mut **tx)
        .await?;
        notify::admins_of_change(state, tenant, tx, person_id, Changed::Details).await?;
        Ok(())
    }
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
    sqlx::query("DELETE FROM person_contacts WHERE person_id = $1")
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO person_contacts (person_id, label, name, phone)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])",
    )
    .bind(viewer.person_id)
    .bind(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.as_str()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
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

/// Whether this parent's link to the child is in effect.
async fn linked(tx: &mut TenantTx, pupil_id: i64, person_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guardians
                         WHERE pupil_id = $1 AND person_id = $2 AND status = 'active')",
    )
    .bind(pupil_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
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
    if !linked(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    sqlx::query(
        "INSERT INTO pupil_medical (pupil_id, medical, allergies, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pupil_id) DO UPDATE SET medical = EXCLUDED.medical,
                allergies = EXCLUDED.allergies, updated_by = EXCLUDED.updated_by, updated_at = now()",
    )
    .bind(pupil_id)
    .bind(medical)
    .bind(allergies)
    .bind(viewer.person_id)
    .execute(&mut *tx)
    .await?;
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
    CsrfForm(_): CsrfForm<schoolplein_registration::routes::sign_in::EmptyForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !linked(&mut tx, pupil_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    sqlx::query("UPDATE guardians SET is_primary = false WHERE pupil_id = $1 AND is_primary")
        .bind(pupil_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE guardians SET is_primary = true WHERE pupil_id = $1 AND person_id = $2")
        .bind(pupil_id)
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}
