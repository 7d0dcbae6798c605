//! A person's notification preferences in this school (N2): per kind of post, a mail per
//! item, a daily or twice-daily digest, or nothing. Urgent messages cannot be turned off.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, value};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Viewer, Writable};
use schoolplein_mailing::notifications::{Delivery, KINDS};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::preferences;

/// The id of the page's form.
const FORM: &str = "notifications-form";

#[derive(Debug, Serialize)]
struct KindRow {
    kind: &'static str,
    delivery: &'static str,
}

#[derive(Debug, Serialize)]
struct PreferencesPage<'a> {
    csrf: &'a str,
    kinds: Vec<KindRow>,
    deliveries: Vec<&'static str>,
    digest_time: String,
    /// The school's digest weekdays, named.
    digest_days: Vec<String>,
    /// Notices of new messages (N3) are on.
    message_notices: bool,
    /// Mailings by staff (C5) are on.
    mailings: bool,
    saved: bool,
    #[serde(flatten)]
    back: FormBack,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /notifications`: the viewer's choices, and when the school's digest goes out.
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    preferences_page(
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

/// The page, with the form as sent when `back` holds it (400).
async fn preferences_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    saved: bool,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let chosen = preferences::of_person(&mut tx, viewer.person_id).await?;
    let (digest_time, digest_days) = preferences::digest_schedule(&mut tx).await?;
    let (message_notices, mailings) = preferences::switches(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let digest_days = digest_days
        .iter()
        .map(|day| {
            catalog
                .get(
                    pages.language(),
                    &format!("portal.notifications.weekday.{day}"),
                )
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let kinds = KINDS
        .into_iter()
        .map(|kind| KindRow {
            kind,
            delivery: chosen
                .iter()
                .find(|(k, _)| k == kind)
                .and_then(|(_, d)| Delivery::parse(d))
                .unwrap_or(Delivery::DEFAULT)
                .as_str(),
        })
        .collect();
    let status = back.status();
    let page = PreferencesPage {
        csrf: csrf.token(),
        kinds,
        deliveries: Delivery::ALL.into_iter().map(Delivery::as_str).collect(),
        digest_time,
        digest_days,
        message_notices,
        mailings,
        saved,
        back,
    };
    pages.show_with(status, "portal/notifications.html", &page)
}

/// `POST /notifications`: one field per kind (`news`, `agenda`, `board`), each `each`,
/// `daily`, `twice_daily` or `none`; all are checked before any is stored, and a mistake
/// brings the page back with the choices as sent.
pub async fn save(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let checked = KINDS
        .into_iter()
        .map(|kind| {
            Delivery::parse(value(&form, kind).trim())
                .map(|delivery| (kind, delivery.as_str()))
                .ok_or_else(|| AppError::bad_request(kind, "portal.notifications.bad_delivery"))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|choices| {
            // Left out (an older form): as it was.
            let switch = |field: &'static str| match value(&form, field).trim() {
                "" => Ok(None),
                "on" => Ok(Some(true)),
                "off" => Ok(Some(false)),
                _ => Err(AppError::bad_request(
                    field,
                    "portal.notifications.bad_delivery",
                )),
            };
            Ok((choices, switch("message_notices")?, switch("mailings")?))
        });
    let (choices, notices, mailings) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let anchor = |field: &str| format!("delivery-{field}");
            let back = FormBack::of(&state, pages.language(), error, FORM, &form, anchor)?;
            return preferences_page(&state, &tenant, &pages, csrf, &viewer, false, back).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    preferences::save(&mut tx, viewer.person_id, &choices).await?;
    if let Some(on) = notices {
        preferences::set_message_notices(&mut tx, viewer.person_id, on).await?;
    }
    if let Some(on) = mailings {
        preferences::set_mailings(&mut tx, viewer.person_id, on).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to("/notifications?saved=1").into_response())
}
