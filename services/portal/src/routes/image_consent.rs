//! Consent to use pupils' images (C6): the school's admins record, per pupil, whether the
//! parents said yes. Without a recorded yes, photos showing the pupil are hidden from other
//! parents (see the albums).

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::FormBack;
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::pupils::{self, ConsentRow};

#[derive(Debug, Serialize)]
struct ConsentPage<'a> {
    csrf: &'a str,
    pupils: Vec<ConsentRow>,
    saved: bool,
    #[serde(flatten)]
    back: FormBack,
}

/// The id of the page's form.
const FORM: &str = "image-consent";

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /admin/image-consent`: every pupil at school, by group, with a box for consent.
pub async fn show_consent(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    consent_page(
        &state,
        &tenant,
        &pages,
        csrf,
        query.saved.is_some(),
        FormBack::none(),
    )
    .await
}

/// The page, with the boxes as ticked when the form came back (`back`, 400).
async fn consent_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    saved: bool,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let mut pupils = pupils::image_consents(&mut tx).await?;
    tx.commit().await?;
    if let Some(ticked) = back
        .mistake
        .is_some()
        .then(|| back.typed.many.get("consent"))
    {
        for pupil in &mut pupils {
            let id = pupil.id.to_string();
            pupil.image_consent = ticked.is_some_and(|sent| sent.contains(&id));
        }
    }
    let status = back.status();
    let page = ConsentPage {
        csrf: csrf.token(),
        pupils,
        saved,
        back,
    };
    pages.show_with(status, "portal/image_consent.html", &page)
}

/// `POST /admin/image-consent`: one `consent` per pupil who has it; every other pupil at
/// school has not.
pub async fn save_consent(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match record_consents(&state, &tenant, &form).await {
        Ok(()) => Ok(Redirect::to("/admin/image-consent?saved=1").into_response()),
        Err(error) => {
            let anchor = |_: &str| "consents".to_owned();
            let back = FormBack::of(&state, pages.language(), error, FORM, &form, anchor)?;
            consent_page(&state, &tenant, &pages, csrf, false, back).await
        }
    }
}

async fn record_consents(
    state: &AppState,
    tenant: &CurrentTenant,
    form: &[(String, String)],
) -> Result<(), AppError> {
    let consenting: BTreeSet<i64> = form
        .iter()
        .filter(|(key, _)| key == "consent")
        .map(|(_, value)| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::bad_request("consent", "portal.albums.bad_id"))
        })
        .collect::<Result<_, _>>()?;
    let consenting: Vec<i64> = consenting.into_iter().collect();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let known = pupils::count_at_school(&mut tx, &consenting).await?;
    if known != consenting.len() as i64 {
        return Err(AppError::bad_request(
            "consent",
            "portal.albums.unknown_pupil",
        ));
    }
    pupils::set_image_consents(&mut tx, &consenting).await?;
    tx.commit().await?;
    Ok(())
}
