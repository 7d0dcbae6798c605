//! The school's holidays page: every member sees the coming holidays; admins choose the
//! official table of their region (noord, midden, zuid) and add or remove their own days off.
//! Leave requests and care sign-ups count with these days.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly, value};
use schoolplein_kernel::{Admin, AppError, AppState, Language, Member, Pages, Role, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::parse_day;
use crate::db::leave as db;
use crate::holidays::{Region, official};

#[derive(Debug, Serialize)]
struct HolidayView {
    id: i64,
    name: String,
    official: bool,
    period: String,
}

#[derive(Debug, Default, Serialize)]
struct OwnValues {
    name: String,
    first_day: String,
    last_day: String,
}

#[derive(Debug, Serialize)]
struct HolidaysPage<'a> {
    csrf: &'a str,
    admin: bool,
    region: Option<String>,
    regions: Vec<&'static str>,
    holidays: Vec<HolidayView>,
    values: OwnValues,
    mistake: Option<Mistake>,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: &Csrf,
    admin: bool,
    typed: Option<(OwnValues, Mistake)>,
    saved: bool,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (region, rows) = db::holidays(&mut tx, today - Duration::days(31)).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let names = Names::new(catalog, pages.language());
    let through = catalog
        .get(pages.language(), "absence.through")
        .unwrap_or("–");
    let holidays = rows
        .iter()
        .map(|h| HolidayView {
            id: h.id,
            name: h
                .kind
                .as_deref()
                .and_then(|k| catalog.get(pages.language(), &format!("holidays.kind.{k}")))
                .map_or_else(|| h.name.clone(), str::to_owned),
            official: h.kind.is_some(),
            period: if h.first_day == h.last_day {
                names.day(h.first_day)
            } else {
                format!(
                    "{} {through} {}",
                    names.day(h.first_day),
                    names.day(h.last_day)
                )
            },
        })
        .collect();
    let (values, mistake, status) = match typed {
        Some((values, mistake)) => (values, Some(mistake), StatusCode::BAD_REQUEST),
        None => (OwnValues::default(), None, StatusCode::OK),
    };
    let page = HolidaysPage {
        csrf: csrf.token(),
        admin,
        region,
        regions: Region::ALL.iter().map(|r| r.as_str()).collect(),
        holidays,
        values,
        mistake,
        saved,
    };
    pages.show_with(status, "schoolday/holidays/holidays.html", &page)
}

/// `GET /holidays`.
pub async fn show_holidays(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let admin = viewer.has(Role::SchoolAdmin);
    render(
        &state,
        &tenant,
        &pages,
        &csrf,
        admin,
        None,
        query.saved.is_some(),
    )
    .await
}

/// `POST /holidays/region`: field `region`; the official holidays of that region replace the
/// official ones kept (the school's own days stay), named in Dutch.
pub async fn follow_region(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _admin: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let region = Region::parse(value(&form, "region"))
        .ok_or_else(|| AppError::bad_request("region", "holidays.error.no_region"))?;
    let catalog = state.templates.catalog();
    let rows: Vec<_> = official(region)
        .into_iter()
        .map(|h| {
            let name = catalog
                .get(Language::Nl, &format!("holidays.kind.{}", h.kind))
                .unwrap_or(h.kind)
                .to_owned();
            (name, h.kind, h.first_day, h.last_day)
        })
        .collect();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    db::follow_region(&mut tx, region.as_str(), &rows).await?;
    tx.commit().await?;
    Ok(Redirect::to("/holidays?saved=1").into_response())
}

/// `POST /holidays`: one of the school's own days off — fields `name`, `first_day` and
/// `last_day` (empty: one day). A mistake comes back at its field with what was typed.
pub async fn add_holiday(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _admin: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let typed = || OwnValues {
        name: value(&form, "name").to_owned(),
        first_day: value(&form, "first_day").to_owned(),
        last_day: value(&form, "last_day").to_owned(),
    };
    let parsed = (|| {
        let name = value(&form, "name").trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::bad_request("name", "holidays.error.name"));
        }
        let first = parse_day(value(&form, "first_day"))
            .ok_or_else(|| AppError::bad_request("first_day", "absence.error.bad_day"))?;
        let last = match value(&form, "last_day").trim() {
            "" => first,
            text => parse_day(text)
                .ok_or_else(|| AppError::bad_request("last_day", "absence.error.bad_day"))?,
        };
        if last < first {
            return Err(AppError::bad_request(
                "last_day",
                "absence.error.last_before_first",
            ));
        }
        if (last - first).num_days() > 92 {
            return Err(AppError::bad_request("last_day", "holidays.error.too_long"));
        }
        Ok((name.to_owned(), first, last))
    })();
    let (name, first, last) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let mistake = Mistake::of(&error, &state.templates, pages.language(), |f| {
                f.replace('_', "-")
            })
            .ok_or(error)?;
            return render(
                &state,
                &tenant,
                &pages,
                &csrf,
                true,
                Some((typed(), mistake)),
                false,
            )
            .await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    db::add_holiday(&mut tx, &name, first, last).await?;
    tx.commit().await?;
    Ok(Redirect::to("/holidays?saved=1").into_response())
}

/// `POST /holidays/{id}/delete`.
pub async fn delete_holiday(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _admin: Writable<Admin>,
    Path(holiday_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !db::delete_holiday(&mut tx, holiday_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/holidays?saved=1").into_response())
}
