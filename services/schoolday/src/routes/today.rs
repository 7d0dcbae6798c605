//! The staff's side of sick reports (D1): who is absent on a day (teachers their groups,
//! admins the whole school), marking a child present again, a child's register, the register
//! of a school year as CSV, and the children absent often.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate};
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Staff, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::{parse_day, school_year, school_year_of, weekdays};
use crate::db::absences::{self, AbsenceRow, Signal};
use crate::display::{AbsenceView, Shown, csv_cell};
use crate::scope::Scope;

/// A group's absent children on the day.
#[derive(Debug, Serialize)]
struct GroupDay {
    name: String,
    absences: Vec<AbsenceView>,
}

#[derive(Debug, Serialize)]
struct TodayPage<'a> {
    csrf: &'a str,
    /// "donderdag 3 december 2026".
    day_label: String,
    day: String,
    previous: String,
    next: String,
    is_today: bool,
    admin: bool,
    /// A teacher without a group sees nobody.
    no_groups: bool,
    groups: Vec<GroupDay>,
    total: usize,
    /// Children on leave that day (approved, or a religious obligation noted), while the
    /// leave module is on.
    on_leave: Vec<LeaveView>,
    /// Back in class today.
    back: usize,
    year: i32,
    marked: bool,
}

/// A child on leave on the day.
#[derive(Debug, Serialize)]
struct LeaveView {
    child: String,
    group: String,
    kind: String,
    period: String,
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    day: Option<String>,
    marked: Option<String>,
}

/// The absences on `day` the scope sees, grouped by group in the school's order.
pub fn by_group(rows: &[AbsenceRow], shown: &Shown<'_>) -> Vec<(String, Vec<AbsenceView>)> {
    let mut groups: Vec<(String, Vec<AbsenceView>)> = Vec::new();
    for row in rows {
        let name = row.group_name.clone().unwrap_or_default();
        match groups.last_mut() {
            Some((last, views)) if *last == name => views.push(shown.absence(row)),
            _ => groups.push((name, vec![shown.absence(row)])),
        }
    }
    groups
}

/// `GET /absence/today?day=yyyy-mm-dd`: the children absent on the day (today when none is
/// asked for), by group, with why and since when.
pub async fn show_today(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    Query(query): Query<DayQuery>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let day = match query.day.as_deref().map(str::trim) {
        None | Some("") => today,
        Some(text) => {
            parse_day(text).ok_or_else(|| AppError::bad_request("day", "absence.error.bad_day"))?
        }
    };
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let scope = Scope::of(&mut tx, &viewer).await?;
    let nobody = matches!(&scope, Scope::Groups(groups) if groups.is_empty());
    let rows = if nobody {
        Vec::new()
    } else {
        absences::on_day(&mut tx, day, scope.groups()).await?
    };
    let leave_on = state
        .settings
        .get(&state.schools, tenant.id())
        .await?
        .is_on(schoolplein_kernel::settings::Module::Leave);
    let on_leave = if nobody || !leave_on {
        Vec::new()
    } else {
        crate::db::leave::on_leave(&mut tx, day, scope.groups()).await?
    };
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let shown = Shown {
        names: &names,
        templates: &state.templates,
        language: pages.language(),
        today,
    };
    let groups: Vec<GroupDay> = by_group(&rows, &shown)
        .into_iter()
        .map(|(name, absences)| GroupDay { name, absences })
        .collect();
    let back = rows
        .iter()
        .filter(|r| r.back_at.is_some() && r.last_day == Some(day))
        .count();
    let iso = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let page = TodayPage {
        csrf: csrf.token(),
        day_label: names.day(day),
        day: iso(day),
        previous: iso(day - Duration::days(1)),
        next: iso(day + Duration::days(1)),
        is_today: day == today,
        admin: matches!(scope, Scope::School),
        no_groups: matches!(&scope, Scope::Groups(g) if g.is_empty()),
        total: rows.len(),
        on_leave: on_leave
            .iter()
            .map(|l| LeaveView {
                child: l.child.clone(),
                group: l.group_name.clone().unwrap_or_default(),
                kind: l.kind.clone(),
                period: if l.first_day == l.last_day {
                    names.day_short(l.first_day)
                } else {
                    format!(
                        "{} – {}",
                        names.day_short(l.first_day),
                        names.day_short(l.last_day)
                    )
                },
            })
            .collect(),
        back,
        groups,
        year: school_year_of(day),
        marked: query.marked.is_some(),
    };
    pages.show("schoolday/absence/today.html", &page)
}

/// `POST /absence/{id}/present`: the child is in class again today — the report ends today,
/// with the time they came back. The child's teacher or an admin; a report not covering
/// today cannot be marked.
pub async fn mark_present(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(absence_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let today = zone::today(now);
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let scope = Scope::of(&mut tx, &viewer).await?;
    let held = absences::hold(&mut tx, absence_id, viewer.person_id)
        .await?
        .filter(|held| scope.sees(held.group_id))
        .ok_or(AppError::NotFound)?;
    let covers_today = held.first_day <= today && held.last_day.is_none_or(|l| l >= today);
    if !covers_today {
        return Err(AppError::bad_request("absence", "absence.error.not_today"));
    }
    absences::end(&mut tx, absence_id, today, viewer.person_id, Some(now)).await?;
    tx.commit().await?;
    Ok(Redirect::to("/absence/today?marked=1").into_response())
}

#[derive(Debug, Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

/// The school year asked for (`?year=2026` for 2026–2027), or the current one.
fn year_asked(asked: Option<i32>, today: NaiveDate) -> Result<i32, AppError> {
    match asked {
        None => Ok(school_year_of(today)),
        Some(year) if (2000..=2100).contains(&year) => Ok(year),
        Some(_) => Err(AppError::bad_request("year", "absence.error.bad_year")),
    }
}

#[derive(Debug, Serialize)]
struct PupilPage {
    child: String,
    year: i32,
    year_label: String,
    reports: usize,
    days: i64,
    absences: Vec<AbsenceView>,
}

/// `GET /absence/pupils/{id}?year=2026`: one child's register for a school year. The child's
/// teacher or an admin; anyone else 404.
pub async fn show_pupil(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Staff,
    Path(pupil_id): Path<i64>,
    Query(query): Query<YearQuery>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let year = year_asked(query.year, today)?;
    let (first, last) = school_year(year);
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let scope = Scope::of(&mut tx, &viewer).await?;
    let child = absences::pupil(&mut tx, pupil_id)
        .await?
        .filter(|(group_id, _)| scope.sees(*group_id))
        .map(|(_, child)| child)
        .ok_or(AppError::NotFound)?;
    let rows = absences::register(&mut tx, first, last, Some(pupil_id)).await?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let shown = Shown {
        names: &names,
        templates: &state.templates,
        language: pages.language(),
        today,
    };
    let views: Vec<AbsenceView> = rows.iter().map(|r| shown.absence(r)).collect();
    let page = PupilPage {
        child,
        year,
        year_label: format!("{year}–{}", year + 1),
        reports: views.len(),
        days: views.iter().map(|v| v.days).sum(),
        absences: views,
    };
    pages.show("schoolday/absence/pupil.html", &page)
}

/// `GET /absence/register.csv?year=2026`: every report of the school year, one line each, for
/// the pupil administration and the attendance officer; admins only. Semicolons and a byte
/// order mark, as Dutch spreadsheets open it; days as yyyy-mm-dd; the parents' notes stay
/// out.
pub async fn register_csv(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    _admin: Admin,
    Query(query): Query<YearQuery>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let year = year_asked(query.year, today)?;
    let (first, last) = school_year(year);
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let rows = absences::register(&mut tx, first, last, None).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let text = |key: &str| catalog.get(pages.language(), key).unwrap_or(key).to_owned();
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let header: Vec<String> = [
        "pupil_number",
        "pupil",
        "group",
        "first_day",
        "last_day",
        "school_days",
        "reason",
        "reported_by",
        "reported_at",
        "back_at",
    ]
    .iter()
    .map(|k| text(&format!("absence.csv.{k}")))
    .collect();
    let failed = |e: csv::Error| AppError::Internal(format!("writing the register: {e}"));
    writer.write_record(&header).map_err(failed)?;
    for row in &rows {
        // Days in this school year only; one still open counts until today.
        let from = row.first_day.max(first);
        let until = row.last_day.unwrap_or(today.max(row.first_day)).min(last);
        writer
            .write_record([
                csv_cell(&row.import_key),
                csv_cell(&row.child),
                csv_cell(row.group_name.as_deref().unwrap_or("")),
                row.first_day.format("%Y-%m-%d").to_string(),
                row.last_day
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                weekdays(from, until).to_string(),
                text(&format!("absence.reason.{}", row.reason)),
                csv_cell(row.reported_by.as_deref().unwrap_or("")),
                zone::local(row.reported_at)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                row.back_at
                    .map(|at| zone::local(at).format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::Internal(format!("writing the register: {e}")))?;
    let filename = format!("ziekmeldingen-{year}-{}.csv", year + 1);
    Ok((
        [
            (
                http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (http::header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct SignalsPage {
    /// As text, for the catalogue's placeholders.
    reports: String,
    weeks: String,
    since: String,
    signals: Vec<SignalView>,
}

#[derive(Debug, Serialize)]
struct SignalView {
    #[serde(flatten)]
    signal: Signal,
    first: String,
    last: String,
}

/// `GET /absence/signals`: the children with the school's number of reports or more in its
/// number of weeks (3 in 8 by default), for the school doctor's signal; admins only.
pub async fn show_signals(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    _admin: Admin,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let settings = absences::settings(&mut tx).await?;
    let since = today - Duration::weeks(i64::from(settings.signal_weeks)) + Duration::days(1);
    let signals = absences::signals(&mut tx, since, today, settings.signal_reports).await?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let page = SignalsPage {
        reports: settings.signal_reports.to_string(),
        weeks: settings.signal_weeks.to_string(),
        since: names.day(since),
        signals: signals
            .into_iter()
            .map(|signal| SignalView {
                first: names.day_short(signal.first_day),
                last: names.day_short(signal.last_day),
                signal,
            })
            .collect(),
    };
    pages.show("schoolday/absence/signals.html", &page)
}
