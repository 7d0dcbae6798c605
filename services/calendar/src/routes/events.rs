//! The calendar's pages (K1): the month (weeks from Monday), the list of what is coming, one
//! event, and the form staff add and change events with. An event one may not see answers 404.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, Utc};
use http::StatusCode;
use schoolplein_kernel::confirm::{ConfirmKeys, Confirmation};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppError, AppState, Member, Pages, Staff, Writable, dutch_time};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups::{self, GroupChoice};
use crate::display::Names;
use crate::events::{self, EventDraft, EventReader, EventRow, Visibility};
use crate::{month, zone};

#[derive(Debug, Serialize)]
struct MonthPage<'a> {
    label: Option<String>,
    month: String,
    /// yyyy-mm of the months before and after.
    previous: String,
    next: String,
    /// Nothing happens in the month itself.
    empty: bool,
    /// The weeks, rendered (`Month::grid_html`).
    grid_html: &'a str,
    may_create: bool,
}

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

/// The first day of a `yyyy-mm` month.
fn parse_month(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.trim().split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
        .filter(|d| (2000..=2100).contains(&d.year()))
}

fn month_param(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

/// `GET /calendar?month=yyyy-mm`: the month's weeks with what happens on each day that the
/// viewer sees (this month when none is asked for).
pub async fn show_month(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Member,
    Query(query): Query<MonthQuery>,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let today = zone::today(Utc::now());
    let first = match query.month.as_deref().map(str::trim) {
        None | Some("") => today.with_day(1).unwrap_or(today),
        Some(text) => parse_month(text)
            .ok_or_else(|| AppError::bad_request("month", "calendar.events.bad_month"))?,
    };
    let read = month::month(&state, tenant.id(), &viewer, first).await?;
    let grid_html = read.grid_html(&pages, today)?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let page = MonthPage {
        label: settings.module(Module::Calendar).name,
        month: names.month(first),
        previous: month_param(
            first
                .checked_sub_months(chrono::Months::new(1))
                .unwrap_or(first),
        ),
        next: month_param(month::next_month(first)),
        empty: read.is_empty(),
        grid_html: &grid_html,
        may_create: read.may_create,
    };
    pages.show("calendar/month.html", &page)
}

/// An event in a list.
#[derive(Debug, Serialize)]
struct EventItem {
    id: i64,
    title: String,
    when: String,
    place: String,
    audience: String,
    visibility: String,
}

fn item(event: &EventRow, names: &Names, whole_school: &str) -> EventItem {
    EventItem {
        id: event.id,
        title: event.title.clone(),
        when: names.when(event.times()),
        place: event.place.clone(),
        audience: if event.whole_school {
            whole_school.to_owned()
        } else {
            event.groups.join(", ")
        },
        visibility: event.visibility.clone(),
    }
}

#[derive(Debug, Serialize)]
struct UpcomingPage {
    label: Option<String>,
    events: Vec<EventItem>,
    may_create: bool,
}

/// How many coming events the list shows.
const UPCOMING: i64 = 100;

/// `GET /calendar/upcoming`: what is coming that the viewer sees, soonest first.
pub async fn list_upcoming(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Member,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let rows = events::upcoming(&mut tx, &reader, Utc::now(), UPCOMING).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let names = Names::new(catalog, pages.language());
    let whole_school = catalog
        .get(pages.language(), "calendar.events.whole_school")
        .unwrap_or_default();
    let page = UpcomingPage {
        label: settings.module(Module::Calendar).name,
        events: rows.iter().map(|e| item(e, &names, whole_school)).collect(),
        may_create: reader.may_create(),
    };
    pages.show("calendar/upcoming.html", &page)
}

#[derive(Debug, Serialize)]
struct EventPage<'a> {
    csrf: &'a str,
    event: EventItem,
    description_lines: Vec<String>,
    author: Option<String>,
    /// The month the event starts in, to go back to.
    month: String,
    may_manage: bool,
}

/// `GET /calendar/events/{id}`.
pub async fn show_event(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(event_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let event = events::visible_event(&mut tx, &reader, event_id).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let names = Names::new(catalog, pages.language());
    let whole_school = catalog
        .get(pages.language(), "calendar.events.whole_school")
        .unwrap_or_default();
    let page = EventPage {
        csrf: csrf.token(),
        description_lines: event.description.lines().map(str::to_owned).collect(),
        author: event.author.clone(),
        month: month_param(zone::local(event.starts_at).date()),
        may_manage: reader.may_manage(&event),
        event: item(&event, &names, whole_school),
    };
    pages.show("calendar/event.html", &page)
}

/// What the form shows: an event's fields as typed (empty for a new one).
#[derive(Debug, Default, Serialize)]
struct FormValues {
    title: String,
    description: String,
    place: String,
    visibility: String,
    whole_school: bool,
    groups: Vec<i64>,
    all_day: bool,
    start_date: String,
    start_time: String,
    end_date: String,
    end_time: String,
}

impl FormValues {
    /// The fields as the form sent them, to fill it in again after a mistake.
    fn typed(form: &[(String, String)]) -> Self {
        let one = |name: &str| {
            form.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Self {
            title: one("title"),
            description: one("description"),
            place: one("place"),
            visibility: one("visibility"),
            whole_school: form.iter().any(|(k, _)| k == "whole_school"),
            groups: form
                .iter()
                .filter(|(k, _)| k == "groups")
                .filter_map(|(_, v)| v.trim().parse().ok())
                .collect(),
            all_day: form.iter().any(|(k, _)| k == "all_day"),
            start_date: one("start_date"),
            start_time: one("start_time"),
            end_date: one("end_date"),
            end_time: one("end_time"),
        }
    }

    fn of(event: &EventRow) -> Self {
        let (start_date, start_time, end_date, end_time) = match event.all_day() {
            Some((first, last)) => (first, String::new(), last, String::new()),
            None => {
                let starts = zone::local(event.starts_at);
                let ends = zone::local(event.ends_at);
                (
                    starts.date(),
                    starts.format("%H:%M").to_string(),
                    ends.date(),
                    ends.format("%H:%M").to_string(),
                )
            }
        };
        Self {
            title: event.title.clone(),
            description: event.description.clone(),
            place: event.place.clone(),
            visibility: event.visibility.clone(),
            whole_school: event.whole_school,
            groups: event.group_ids.clone(),
            all_day: event.all_day().is_some(),
            start_date: start_date.format("%Y-%m-%d").to_string(),
            start_time,
            end_date: end_date.format("%Y-%m-%d").to_string(),
            end_time,
        }
    }
}

#[derive(Debug, Serialize)]
struct FormPage<'a> {
    csrf: &'a str,
    /// Where the form posts to.
    action: String,
    /// `None` for a new event.
    event_id: Option<i64>,
    values: FormValues,
    groups: Vec<GroupChoice>,
    admin: bool,
    visibilities: Vec<&'static str>,
    /// The mistake the form came back with.
    mistake: Option<Mistake>,
}

/// The event form: empty, an event's, or as sent with its mistake (`typed`, 400).
async fn form_page(
    pages: &Pages,
    csrf: &Csrf,
    tx: &mut TenantTx,
    reader: &EventReader,
    event: Option<&EventRow>,
    typed: Option<(FormValues, Mistake)>,
) -> Result<Response, AppError> {
    let taught: Vec<i64> = reader.taught.iter().copied().collect();
    let groups = groups::choices(tx, reader.admin, &taught).await?;
    let (typed, mistake, status) = match typed {
        Some((values, mistake)) => (Some(values), Some(mistake), StatusCode::BAD_REQUEST),
        None => (None, None, StatusCode::OK),
    };
    // A teacher with one group finds it ticked on a new event.
    let only_group = (!reader.admin && groups.len() == 1).then(|| groups[0].id);
    let page = FormPage {
        mistake,
        csrf: csrf.token(),
        action: event.map_or_else(
            || "/calendar/events".to_owned(),
            |e| format!("/calendar/events/{}/edit", e.id),
        ),
        event_id: event.map(|e| e.id),
        values: typed.unwrap_or_else(|| {
            event.map(FormValues::of).unwrap_or_else(|| FormValues {
                visibility: Visibility::Members.as_str().to_owned(),
                whole_school: reader.admin,
                groups: only_group.into_iter().collect(),
                ..FormValues::default()
            })
        }),
        groups,
        admin: reader.admin,
        visibilities: Visibility::ALL.iter().map(|v| v.as_str()).collect(),
    };
    pages.show_with(status, "calendar/event_form.html", &page)
}

/// Staff who may add events (admins, teachers of a group); 403 for staff without a group.
fn require_maker(reader: &EventReader) -> Result<(), AppError> {
    if reader.may_create() {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            reason: "calendar.events.no_groups",
        })
    }
}

/// `GET /calendar/events/new`.
pub async fn new_event(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    require_maker(&reader)?;
    let form = form_page(&pages, &csrf, &mut tx, &reader, None, None).await?;
    tx.commit().await?;
    Ok(form)
}

/// `POST /calendar/events` (see [`EventDraft::parse`] for the fields): admins for the school
/// or any groups, teachers for the groups they teach. Bad input writes nothing.
pub async fn create_event(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    require_maker(&reader)?;
    let draft = match checked_draft(&mut tx, &reader, &form).await {
        Ok(draft) => draft,
        Err(error) => {
            return form_again(&state, &pages, csrf, &mut tx, &reader, None, &form, error).await;
        }
    };
    let event_id = events::insert(&mut tx, &draft, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/calendar/events/{event_id}")).into_response())
}

/// The draft the form describes, for an audience the reader may reach.
async fn checked_draft(
    tx: &mut TenantTx,
    reader: &EventReader,
    form: &[(String, String)],
) -> Result<EventDraft, AppError> {
    let draft = EventDraft::parse(form)?;
    draft.check_audience(tx, reader).await?;
    Ok(draft)
}

/// The form again after a mistake in what was typed (400, everything kept, the mistake at
/// its field); any other error as it is. Nothing was written.
#[allow(clippy::too_many_arguments)]
async fn form_again(
    state: &AppState,
    pages: &Pages,
    csrf: Csrf,
    tx: &mut TenantTx,
    reader: &EventReader,
    event: Option<&EventRow>,
    form: &[(String, String)],
    error: AppError,
) -> Result<Response, AppError> {
    let Some(mistake) = Mistake::of(&error, &state.templates, pages.language(), field_anchor)
    else {
        return Err(error);
    };
    form_page(
        pages,
        &csrf,
        tx,
        reader,
        event,
        Some((FormValues::typed(form), mistake)),
    )
    .await
}

/// The id of the element holding a form field, for the summary's links.
fn field_anchor(field: &str) -> String {
    match field {
        "groups" | "whole_school" => "for-whom".to_owned(),
        "visibility" => "who-sees".to_owned(),
        other => other.replace('_', "-"),
    }
}

/// An event the viewer may change, or 404 (unseen) / 403 (seen, not theirs to change).
async fn manageable_event(
    tx: &mut TenantTx,
    reader: &EventReader,
    event_id: i64,
) -> Result<EventRow, AppError> {
    let event = events::visible_event(tx, reader, event_id).await?;
    if reader.may_manage(&event) {
        Ok(event)
    } else {
        Err(AppError::Forbidden {
            reason: "calendar.events.not_yours",
        })
    }
}

/// `GET /calendar/events/{id}/edit`.
pub async fn edit_event_form(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    Path(event_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let event = manageable_event(&mut tx, &reader, event_id).await?;
    let form = form_page(&pages, &csrf, &mut tx, &reader, Some(&event), None).await?;
    tx.commit().await?;
    Ok(form)
}

/// `POST /calendar/events/{id}/edit`: the same fields as a new event.
pub async fn edit_event(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(event_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let event = manageable_event(&mut tx, &reader, event_id).await?;
    let draft = match checked_draft(&mut tx, &reader, &form).await {
        Ok(draft) => draft,
        Err(error) => {
            return form_again(
                &state,
                &pages,
                csrf,
                &mut tx,
                &reader,
                Some(&event),
                &form,
                error,
            )
            .await;
        }
    };
    events::update(&mut tx, event_id, &draft).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/calendar/events/{event_id}")).into_response())
}

/// `GET /calendar/events/{id}/delete`: asks first, naming the event and its day.
pub async fn confirm_delete_event(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(event_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let event = manageable_event(&mut tx, &reader, event_id).await?;
    tx.commit().await?;
    let when = dutch_time::show(
        event.starts_at,
        Utc::now(),
        pages.language(),
        dutch_time::Style::Moment,
    );
    Confirmation::new(
        &state,
        pages.language(),
        "delete-event",
        ConfirmKeys {
            title: "calendar.events.delete_title",
            button: "calendar.events.delete",
            note: Some("calendar.events.delete_note"),
        },
        format!("{} · {when}", event.title),
        format!("/calendar/events/{event_id}/delete"),
        format!("/calendar/events/{event_id}"),
    )
    .respond(&state, csrf)
}

/// `POST /calendar/events/{id}/delete`.
pub async fn delete_event(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(event_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let event = manageable_event(&mut tx, &reader, event_id).await?;
    events::delete(&mut tx, event_id).await?;
    tx.commit().await?;
    let month = month_param(zone::local(event.starts_at).date());
    Ok(Redirect::to(&format!("/calendar?month={month}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_whole_weeks_from_monday() {
        let november = parse_month("2026-11").unwrap();
        let days = month::grid(november);
        // 1 November 2026 is a Sunday: the grid starts on Monday 26 October.
        assert_eq!(days.first(), NaiveDate::from_ymd_opt(2026, 10, 26).as_ref());
        assert_eq!(days.last(), NaiveDate::from_ymd_opt(2026, 12, 6).as_ref());
        assert_eq!(days.len() % 7, 0);
        assert_eq!(days.len(), 42);
        let february = month::grid(parse_month("2027-02").unwrap());
        assert_eq!(february.len(), 28, "1 February 2027 is a Monday");
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "november",
            "2026-11-01",
            "1999-12",
        ] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}
