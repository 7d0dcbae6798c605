//! How the school takes sick reports (D1), set by its admins: until what time a report for
//! today is taken online, what parents read after it, the reasons offered, and when a child
//! counts as absent often.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveTime;
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, value, values};
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::Reason;
use crate::db::absences::{self, NewSettings};

#[derive(Debug, Serialize)]
struct SettingsValues {
    report_until: String,
    late_text: String,
    reasons: Vec<String>,
    signal_reports: String,
    signal_weeks: String,
}

#[derive(Debug, Serialize)]
struct SettingsPage<'a> {
    csrf: &'a str,
    values: SettingsValues,
    all_reasons: Vec<&'static str>,
    phone: String,
    mistake: Option<Mistake>,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /absence/settings`.
pub async fn show_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _admin: Admin,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let settings = absences::settings(&mut tx).await?;
    tx.commit().await?;
    let page = SettingsPage {
        csrf: csrf.token(),
        values: SettingsValues {
            report_until: settings
                .report_until
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default(),
            late_text: settings.late_text,
            reasons: settings.reasons,
            signal_reports: settings.signal_reports.to_string(),
            signal_weeks: settings.signal_weeks.to_string(),
        },
        all_reasons: Reason::ALL.iter().map(|r| r.as_str()).collect(),
        phone: settings.phone,
        mistake: None,
        saved: query.saved.is_some(),
    };
    pages.show("schoolday/absence/settings.html", &page)
}

/// The settings the form describes; a refusal names its field.
fn parse(form: &[(String, String)]) -> Result<NewSettings, AppError> {
    let report_until = match value(form, "report_until").trim() {
        "" => None,
        text => Some(
            NaiveTime::parse_from_str(text, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
                .or_else(|_| NaiveTime::parse_from_str(text, "%H.%M"))
                .map_err(|_| AppError::bad_request("report_until", "absence.error.bad_time"))?,
        ),
    };
    let late_text = value(form, "late_text").trim().replace("\r\n", "\n");
    if late_text.chars().count() > 1000 {
        return Err(AppError::bad_request(
            "late_text",
            "absence.error.late_text_too_long",
        ));
    }
    let mut reasons = Vec::new();
    for text in values(form, "reasons") {
        let reason = Reason::parse(text)
            .ok_or_else(|| AppError::bad_request("reasons", "absence.error.no_reasons"))?;
        if !reasons.contains(&reason.as_str()) {
            reasons.push(reason.as_str());
        }
    }
    if reasons.is_empty() {
        return Err(AppError::bad_request("reasons", "absence.error.no_reasons"));
    }
    // Kept in the catalogue's order, whatever order the boxes came in.
    reasons.sort_by_key(|r| Reason::ALL.iter().position(|a| a.as_str() == *r));
    let number = |field: &'static str, range: std::ops::RangeInclusive<i16>| {
        value(form, field)
            .trim()
            .parse::<i16>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| AppError::bad_request(field, format!("absence.error.bad_{field}")))
    };
    Ok(NewSettings {
        report_until,
        late_text,
        reasons,
        signal_reports: number("signal_reports", 2..=20)?,
        signal_weeks: number("signal_weeks", 1..=52)?,
    })
}

/// `POST /absence/settings`: a mistake comes back at its field with everything typed kept.
pub async fn save_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _admin: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let new = match parse(&form) {
        Ok(new) => new,
        Err(error) => {
            let anchor = |field: &str| field.replace('_', "-");
            let Some(mistake) = Mistake::of(&error, &state.templates, pages.language(), anchor)
            else {
                return Err(error);
            };
            let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
            let stored = absences::settings(&mut tx).await?;
            tx.commit().await?;
            let page = SettingsPage {
                csrf: csrf.token(),
                values: SettingsValues {
                    report_until: value(&form, "report_until").to_owned(),
                    late_text: value(&form, "late_text").to_owned(),
                    reasons: values(&form, "reasons").map(str::to_owned).collect(),
                    signal_reports: value(&form, "signal_reports").to_owned(),
                    signal_weeks: value(&form, "signal_weeks").to_owned(),
                },
                all_reasons: Reason::ALL.iter().map(|r| r.as_str()).collect(),
                phone: stored.phone,
                mistake: Some(mistake),
                saved: false,
            };
            return pages.show_with(
                StatusCode::BAD_REQUEST,
                "schoolday/absence/settings.html",
                &page,
            );
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    absences::save_settings(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(Redirect::to("/absence/settings?saved=1").into_response())
}
