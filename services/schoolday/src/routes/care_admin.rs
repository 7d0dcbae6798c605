//! The school's side of care (D3): its moments (days, capacity, price), until when parents
//! sign up, and the month per family, on the page and as CSV for the billing.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, NaiveTime};
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly, value, values};
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::care::{euros, parse_euros};
use crate::db::care::{self as db, FamilyMonth};
use crate::display::{csv_cell, weekday_names};

#[derive(Debug, Serialize)]
struct MomentRow {
    id: i64,
    name: String,
    /// Its weekdays by name.
    days: String,
    capacity: i32,
    price: String,
    active: bool,
}

#[derive(Debug, Default, Serialize)]
struct MomentValues {
    name: String,
    weekdays: Vec<String>,
    capacity: String,
    price: String,
}

#[derive(Debug, Serialize)]
struct AdminPage<'a> {
    csrf: &'a str,
    moments: Vec<MomentRow>,
    until: String,
    values: MomentValues,
    mistake: Option<Mistake>,
    saved: bool,
    month: String,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: &Csrf,
    typed: Option<(MomentValues, Mistake)>,
    saved: bool,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let moments = db::moments(&mut tx, false).await?;
    let until = db::signup_until(&mut tx).await?;
    tx.commit().await?;
    let (values, mistake, status) = match typed {
        Some((values, mistake)) => (values, Some(mistake), StatusCode::BAD_REQUEST),
        None => (
            MomentValues {
                weekdays: ["1", "2", "4"].map(str::to_owned).to_vec(),
                ..MomentValues::default()
            },
            None,
            StatusCode::OK,
        ),
    };
    let today = zone::today(state.clock.now());
    let names = Names::new(state.templates.catalog(), pages.language());
    let page = AdminPage {
        csrf: csrf.token(),
        moments: moments
            .into_iter()
            .map(|m| MomentRow {
                id: m.id,
                name: m.name,
                days: weekday_names(&names, &m.weekdays),
                capacity: m.capacity,
                price: euros(i64::from(m.price_cents)),
                active: m.active,
            })
            .collect(),
        until: until.format("%H:%M").to_string(),
        values,
        mistake,
        saved,
        month: today.format("%Y-%m").to_string(),
    };
    pages.show_with(status, "schoolday/care/admin.html", &page)
}

/// `GET /care/admin`.
pub async fn show_admin(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _admin: Admin,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    render(&state, &tenant, &pages, &csrf, None, query.saved.is_some()).await
}

/// `POST /care/moments`: fields `name`, `weekdays` (repeated 1–5), `capacity`, `price` (euros).
pub async fn add_moment(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _admin: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let parsed = (|| {
        let name = value(&form, "name").trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::bad_request("name", "care.error.name"));
        }
        let mut weekdays: Vec<i16> = Vec::new();
        for text in values(&form, "weekdays") {
            let day = text
                .trim()
                .parse::<i16>()
                .ok()
                .filter(|d| (1..=5).contains(d))
                .ok_or_else(|| AppError::bad_request("weekdays", "care.error.no_weekdays"))?;
            if !weekdays.contains(&day) {
                weekdays.push(day);
            }
        }
        if weekdays.is_empty() {
            return Err(AppError::bad_request("weekdays", "care.error.no_weekdays"));
        }
        weekdays.sort_unstable();
        let capacity = value(&form, "capacity")
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|c| (1..=1000).contains(c))
            .ok_or_else(|| AppError::bad_request("capacity", "care.error.capacity"))?;
        let price = parse_euros(value(&form, "price"))
            .filter(|p| *p <= 100_000)
            .ok_or_else(|| AppError::bad_request("price", "care.error.price"))?;
        Ok((name.to_owned(), weekdays, capacity, price))
    })();
    let (name, weekdays, capacity, price) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let mistake = Mistake::of(&error, &state.templates, pages.language(), str::to_owned)
                .ok_or(error)?;
            let typed = MomentValues {
                name: value(&form, "name").to_owned(),
                weekdays: values(&form, "weekdays").map(str::to_owned).collect(),
                capacity: value(&form, "capacity").to_owned(),
                price: value(&form, "price").to_owned(),
            };
            return render(
                &state,
                &tenant,
                &pages,
                &csrf,
                Some((typed, mistake)),
                false,
            )
            .await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    db::insert_moment(&mut tx, &name, &weekdays, capacity, price).await?;
    tx.commit().await?;
    Ok(Redirect::to("/care/admin?saved=1").into_response())
}

/// `POST /care/moments/{id}/stop` and `/start`: a stopped moment takes no new sign-ups; the
/// days signed up stay, for the list and the billing.
pub async fn stop_moment(
    state: State<AppState>,
    tenant: CurrentTenant,
    admin: Writable<Admin>,
    path: Path<i64>,
    form: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    set_active(state, tenant, admin, path, form, false).await
}

pub async fn start_moment(
    state: State<AppState>,
    tenant: CurrentTenant,
    admin: Writable<Admin>,
    path: Path<i64>,
    form: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    set_active(state, tenant, admin, path, form, true).await
}

async fn set_active(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _admin: Writable<Admin>,
    Path(moment_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
    active: bool,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !db::set_active(&mut tx, moment_id, active).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/care/admin?saved=1").into_response())
}

/// `POST /care/settings`: field `signup_until` (hh:mm), the evening before.
pub async fn save_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _admin: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let text = value(&form, "signup_until").trim();
    let until = NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .map_err(|_| AppError::bad_request("signup_until", "absence.error.bad_time"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    db::save_signup_until(&mut tx, until).await?;
    tx.commit().await?;
    Ok(Redirect::to("/care/admin?saved=1").into_response())
}

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

/// The month asked for (`yyyy-mm`) as its first and last day, or this month.
fn month_of(asked: Option<&str>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), AppError> {
    let first = match asked.map(str::trim) {
        None | Some("") => today.with_day(1).unwrap_or(today),
        Some(text) => NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|d| (2000..=2100).contains(&d.year()))
            .ok_or_else(|| AppError::bad_request("month", "care.error.bad_month"))?,
    };
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    Ok((first, next.pred_opt().unwrap_or(first)))
}

#[derive(Debug, Serialize)]
struct FamilyView {
    parent: String,
    email: String,
    children: String,
    moment: String,
    days: i64,
    amount: String,
}

#[derive(Debug, Serialize)]
struct MonthPage {
    month: String,
    month_label: String,
    previous: String,
    next: String,
    families: Vec<FamilyView>,
    total_days: i64,
    total: String,
}

fn family_view(row: FamilyMonth) -> FamilyView {
    FamilyView {
        parent: row.parent.unwrap_or_default(),
        email: row.email.unwrap_or_default(),
        children: row.children,
        moment: row.moment,
        days: row.days,
        amount: euros(row.cents),
    }
}

/// `GET /care/month?month=yyyy-mm`: per family and moment the days and the amount.
pub async fn show_month(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    _admin: Admin,
    Query(query): Query<MonthQuery>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let (first, last) = month_of(query.month.as_deref(), today)?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let rows = db::month(&mut tx, first, last).await?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let total_days = rows.iter().map(|r| r.days).sum();
    let total = euros(rows.iter().map(|r| r.cents).sum());
    let page = MonthPage {
        month: first.format("%Y-%m").to_string(),
        month_label: names.month(first),
        previous: first
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(first)
            .format("%Y-%m")
            .to_string(),
        next: (last + chrono::Duration::days(1))
            .format("%Y-%m")
            .to_string(),
        families: rows.into_iter().map(family_view).collect(),
        total_days,
        total,
    };
    pages.show("schoolday/care/month.html", &page)
}

/// `GET /care/month.csv?month=yyyy-mm`: the same, for the billing: semicolons, a byte order
/// mark, amounts in cents and in euros.
pub async fn month_csv(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    _admin: Admin,
    Query(query): Query<MonthQuery>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let (first, last) = month_of(query.month.as_deref(), today)?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let rows = db::month(&mut tx, first, last).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let text = |key: &str| catalog.get(pages.language(), key).unwrap_or(key).to_owned();
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let failed = |e: csv::Error| AppError::Internal(format!("writing the month: {e}"));
    let header: Vec<String> = [
        "parent", "email", "children", "moment", "days", "cents", "amount",
    ]
    .iter()
    .map(|k| text(&format!("care.csv.{k}")))
    .collect();
    writer.write_record(&header).map_err(failed)?;
    for row in rows {
        let cents = row.cents;
        let view = family_view(row);
        writer
            .write_record([
                csv_cell(&view.parent),
                csv_cell(&view.email),
                csv_cell(&view.children),
                csv_cell(&view.moment),
                view.days.to_string(),
                cents.to_string(),
                format!("{},{:02}", cents / 100, cents % 100),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::Internal(format!("writing the month: {e}")))?;
    Ok((
        [
            (
                http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"opvang-{}.csv\"",
                    first.format("%Y-%m")
                ),
            ),
            (http::header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
