//! After-school care and lunch (D3) for parents and care staff: the parents' page (sign a
//! child up for a day or every week, cancel until the evening before, the month's days and
//! amount) and the day list for staff, with allergies.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Duration, NaiveDate};
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly, value, values};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role, Staff, Viewer, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::parse_day;
use crate::care::{SignupAsk, closes_at, euros, open_for, runs_on};
use crate::db::absences::{self, Child};
use crate::db::care::{self as db, Moment, Signed};
use crate::db::leave::holidays_between;
use crate::display::weekday_names;

/// A moment as the parents' form offers it.
#[derive(Debug, Serialize)]
struct MomentView {
    id: i64,
    name: String,
    days: String,
    price: String,
}

#[derive(Debug, Serialize)]
struct SignupView {
    id: i64,
    moment: String,
    child: String,
    day: String,
    price: String,
    may_cancel: bool,
}

#[derive(Debug, Default, Serialize)]
struct FormValues {
    child: String,
    moment: String,
    day: String,
    repeat: String,
    weekdays: Vec<String>,
    from_day: String,
    until_day: String,
}

#[derive(Debug, Serialize)]
struct CarePage<'a> {
    csrf: &'a str,
    children: Vec<Child>,
    moments: Vec<MomentView>,
    values: FormValues,
    mistake: Option<Mistake>,
    until: String,
    signups: Vec<SignupView>,
    month_days: usize,
    month_amount: String,
    month_label: String,
    done: Option<DoneView>,
}

/// What a sign-up just did.
#[derive(Debug, Serialize)]
struct DoneView {
    signed: usize,
    full: Vec<String>,
    already: usize,
    cancelled: bool,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    signed: Option<usize>,
    full: Option<String>,
    already: Option<usize>,
    cancelled: Option<String>,
}

fn require_parent(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.has(Role::Parent) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            reason: "care.error.parents_only",
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    tx: &mut TenantTx,
    pages: &Pages,
    csrf: &str,
    viewer: &Viewer,
    typed: Option<(FormValues, Mistake)>,
    done: Option<DoneView>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let today = zone::today(now);
    let until = db::signup_until(tx).await?;
    let children = absences::children_of(tx, viewer.person_id).await?;
    let moments = db::moments(tx, true).await?;
    let month_first = today.with_day(1).unwrap_or(today);
    let rows = db::of_family(
        tx,
        viewer.person_id,
        month_first,
        today + Duration::days(7 * 8),
    )
    .await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let next_month = month_first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month_first);
    let this_month: Vec<_> = rows
        .iter()
        .filter(|r| r.day >= month_first && r.day < next_month)
        .collect();
    let (values, mistake, status) = match typed {
        Some((values, mistake)) => (values, Some(mistake), StatusCode::BAD_REQUEST),
        None => (
            FormValues {
                child: match children.as_slice() {
                    [only] => only.id.to_string(),
                    _ => String::new(),
                },
                moment: match moments.as_slice() {
                    [only] => only.id.to_string(),
                    _ => String::new(),
                },
                ..FormValues::default()
            },
            None,
            StatusCode::OK,
        ),
    };
    let page = CarePage {
        csrf,
        moments: moments
            .iter()
            .map(|m| MomentView {
                id: m.id,
                name: m.name.clone(),
                days: weekday_names(&names, &m.weekdays),
                price: euros(i64::from(m.price_cents)),
            })
            .collect(),
        children,
        values,
        mistake,
        until: until.format("%H:%M").to_string(),
        signups: rows
            .iter()
            .filter(|r| r.day >= today)
            .map(|r| SignupView {
                id: r.id,
                moment: r.moment.clone(),
                child: r.child.clone(),
                day: names.day(r.day),
                price: euros(i64::from(r.price_cents)),
                may_cancel: open_for(r.day, until, now),
            })
            .collect(),
        month_days: this_month.len(),
        month_amount: euros(this_month.iter().map(|r| i64::from(r.price_cents)).sum()),
        month_label: names.month(month_first),
        done,
    };
    pages.show_with(status, "schoolday/care/parent.html", &page)
}

/// `GET /care`.
pub async fn show_care(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let done = (query.signed.is_some() || query.cancelled.is_some()).then(|| DoneView {
        signed: query.signed.unwrap_or(0),
        full: query
            .full
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(parse_day)
            .map(|d| Names::new(state.templates.catalog(), pages.language()).day(d))
            .collect(),
        already: query.already.unwrap_or(0),
        cancelled: query.cancelled.is_some(),
    });
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let page = render(&state, &mut tx, &pages, csrf.token(), &viewer, None, done).await?;
    tx.commit().await?;
    Ok(page)
}

/// `POST /care/signups` (see [`SignupAsk::parse`]): each day is signed up while it has a place;
/// days that are full are named on the page. Days already closed (the evening before), days
/// the moment does not run and holidays are refused at the field.
pub async fn sign_up(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let checked = check(&mut tx, &viewer, &form, now).await;
    let (ask, moment, dates) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let Some(mistake) = Mistake::of(&error, &state.templates, pages.language(), |f| {
                f.replace('_', "-")
            }) else {
                return Err(error);
            };
            let typed = FormValues {
                child: value(&form, "child").to_owned(),
                moment: value(&form, "moment").to_owned(),
                day: value(&form, "day").to_owned(),
                repeat: value(&form, "repeat").to_owned(),
                weekdays: values(&form, "weekdays").map(str::to_owned).collect(),
                from_day: value(&form, "from_day").to_owned(),
                until_day: value(&form, "until_day").to_owned(),
            };
            let page = render(
                &state,
                &mut tx,
                &pages,
                csrf.token(),
                &viewer,
                Some((typed, mistake)),
                None,
            )
            .await?;
            tx.rollback().await?;
            return Ok(page);
        }
    };
    let (mut signed, mut already, mut full) = (0usize, 0usize, Vec::new());
    for day in dates {
        match db::sign_up(&mut tx, &moment, ask.child, day, viewer.person_id).await? {
            Signed::Yes(_) => signed += 1,
            Signed::Already => already += 1,
            Signed::Full => full.push(day.format("%Y-%m-%d").to_string()),
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/care?signed={signed}&already={already}&full={}",
        full.join(",")
    ))
    .into_response())
}

/// The ask, its moment and the days to sign up, or the refusal at its field.
async fn check(
    tx: &mut TenantTx,
    viewer: &Viewer,
    form: &[(String, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(SignupAsk, Moment, Vec<NaiveDate>), AppError> {
    let ask = SignupAsk::parse(form)?;
    let children = absences::lock_children(tx, viewer.person_id, &[ask.child]).await?;
    if children.is_empty() {
        return Err(AppError::bad_request("child", "care.error.not_your_child"));
    }
    let moment = db::moments(tx, true)
        .await?
        .into_iter()
        .find(|m| m.id == ask.moment)
        .ok_or_else(|| AppError::bad_request("moment", "care.error.no_moment"))?;
    let until = db::signup_until(tx).await?;
    let (from, to) = match &ask.days {
        crate::care::Days::One(day) => (*day, *day),
        crate::care::Days::Weekly { from, until, .. } => (*from, *until),
    };
    let holidays = holidays_between(tx, from, to).await?;
    let field = match ask.days {
        crate::care::Days::One(_) => "day",
        crate::care::Days::Weekly { .. } => "from_day",
    };
    let dates: Vec<NaiveDate> = ask
        .dates(&moment.weekdays, &holidays)
        .into_iter()
        .filter(|d| match ask.days {
            // A pattern starts with the first day still open.
            crate::care::Days::Weekly { .. } => open_for(*d, until, now),
            crate::care::Days::One(_) => true,
        })
        .collect();
    if let crate::care::Days::One(day) = ask.days {
        if !open_for(day, until, now) {
            return Err(AppError::bad_request("day", "care.error.closed"));
        }
        if !runs_on(&moment.weekdays, &holidays, day) {
            return Err(AppError::bad_request("day", "care.error.not_that_day"));
        }
    }
    if dates.is_empty() {
        return Err(AppError::bad_request(field, "care.error.no_days"));
    }
    Ok((ask, moment, dates))
}

/// `POST /care/signups/{id}/cancel`: a parent of the child, until the evening before.
pub async fn cancel(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(signup_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let (moment_id, day) = db::hold_for_parent(&mut tx, signup_id, viewer.person_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let until = db::signup_until(&mut tx).await?;
    if !open_for(day, until, now) {
        return Err(AppError::bad_request("signup", "care.error.closed"));
    }
    db::cancel(&mut tx, signup_id, moment_id, day).await?;
    tx.commit().await?;
    Ok(Redirect::to("/care?cancelled=1").into_response())
}

#[derive(Debug, Serialize)]
struct ChildOnList {
    child: String,
    group: String,
    allergies: String,
    medical: String,
}

#[derive(Debug, Serialize)]
struct DayPage {
    moments: Vec<MomentView>,
    moment: Option<i64>,
    moment_name: String,
    day: String,
    day_label: String,
    previous: String,
    next: String,
    children: Vec<ChildOnList>,
    capacity: i32,
    closes: String,
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    moment: Option<i64>,
    day: Option<String>,
}

/// `GET /care/day?moment=&day=`: who comes to a moment on a day, with their allergies and
/// medical notes (P8) — for staff only.
pub async fn show_day(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    _staff: Staff,
    Query(query): Query<DayQuery>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let day = match query.day.as_deref().map(str::trim) {
        None | Some("") => today,
        Some(text) => {
            parse_day(text).ok_or_else(|| AppError::bad_request("day", "care.error.bad_day"))?
        }
    };
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let moments = db::moments(&mut tx, false).await?;
    let chosen = match query.moment {
        Some(id) => Some(
            moments
                .iter()
                .find(|m| m.id == id)
                .ok_or(AppError::NotFound)?
                .clone(),
        ),
        None => moments.iter().find(|m| m.active).cloned(),
    };
    let list = match &chosen {
        Some(moment) => db::day_list(&mut tx, moment.id, day).await?,
        None => Vec::new(),
    };
    let until = db::signup_until(&mut tx).await?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let iso = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let page = DayPage {
        moments: moments
            .iter()
            .map(|m| MomentView {
                id: m.id,
                name: m.name.clone(),
                days: weekday_names(&names, &m.weekdays),
                price: euros(i64::from(m.price_cents)),
            })
            .collect(),
        moment: chosen.as_ref().map(|m| m.id),
        moment_name: chosen.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
        capacity: chosen.as_ref().map_or(0, |m| m.capacity),
        day: iso(day),
        day_label: names.day(day),
        previous: iso(day - Duration::days(1)),
        next: iso(day + Duration::days(1)),
        children: list
            .into_iter()
            .map(|c| ChildOnList {
                child: c.child,
                group: c.group_name.unwrap_or_default(),
                allergies: c.allergies,
                medical: c.medical,
            })
            .collect(),
        closes: schoolplein_calendar::times::moment(
            &state.templates,
            pages.language(),
            closes_at(day, until),
        ),
    };
    pages.show("schoolday/care/day.html", &page)
}
