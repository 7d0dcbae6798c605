//! The calendar's month as a person reads it: the events of its grid they see, the school's
//! holidays and their children's leave; this month kept per person in the school cache with
//! its grid rendered once (the month is the calendar page read most, and read cold it cost
//! the database four statements planned afresh for the school).

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use schoolplein_kernel::rendered::Rendered;
use schoolplein_kernel::school_cache::{MONTH, Weighed};
use schoolplein_kernel::{AppError, AppState, Pages, Role, Viewer};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

use crate::db::days_off::{self, DaysOff};
use crate::display::Names;
use crate::events::{self, EventReader, EventRow};
use crate::zone;

/// An event in a day's cell of the month.
#[derive(Debug, Serialize)]
struct DayEvent {
    id: i64,
    title: String,
    time: String,
}

#[derive(Debug, Serialize)]
struct DayView {
    /// yyyy-mm-dd, the cell's anchor.
    date: String,
    number: u32,
    /// "zaterdag 24 oktober 2026", for screen readers and the list.
    label: String,
    in_month: bool,
    today: bool,
    events: Vec<DayEvent>,
    /// The school's holidays on the day, by name.
    holidays: Vec<String>,
    /// A holiday starts this day (or is under way on the grid's first day): a phone's agenda
    /// shows that day, not every day of the holiday.
    holiday_starts: bool,
    /// For a parent: which of their children have leave that day.
    leave: Vec<String>,
}

/// The first day of the month after the one `first` begins.
pub fn next_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first)
}

/// The days the month's grid shows: whole weeks, Monday first.
pub fn grid(first: NaiveDate) -> Vec<NaiveDate> {
    let start = first - chrono::Duration::days(i64::from(first.weekday().num_days_from_monday()));
    let last = next_month(first).pred_opt().unwrap_or(first);
    let end = last + chrono::Duration::days(i64::from(6 - last.weekday().num_days_from_monday()));
    start.iter_days().take_while(|d| *d <= end).collect()
}

/// Whether an event covers part of the Dutch days `from..=to`.
fn during(event: &EventRow, from: NaiveDate, to: NaiveDate) -> bool {
    event.starts_at < zone::start_of_day(to.succ_opt().unwrap_or(to))
        && event.ends_at > zone::start_of_day(from)
}

/// A month as one person reads it, with its grid once rendered.
#[derive(Debug)]
pub struct Month {
    pub first: NaiveDate,
    /// The roles it was read with: what it shows depends on them.
    roles: Vec<Role>,
    pub may_create: bool,
    events: Vec<EventRow>,
    holidays: Vec<DaysOff>,
    leave: Vec<DaysOff>,
    rendered: Rendered,
}

impl Month {
    /// One read-only transaction's worth: the reader's groups, the grid's events, holidays
    /// and (for a parent) their children's leave.
    pub async fn read(
        tx: &mut TenantTx,
        person_id: i64,
        roles: Vec<Role>,
        first: NaiveDate,
    ) -> Result<Self, sqlx::Error> {
        let days = grid(first);
        let (grid_start, grid_end) = (days[0], days[days.len() - 1]);
        let reader = EventReader::load(tx, person_id, &roles).await?;
        let events = events::visible_between(
            tx,
            &reader,
            zone::start_of_day(grid_start),
            zone::start_of_day(grid_end.succ_opt().unwrap_or(grid_end)),
        )
        .await?;
        let holidays = days_off::holidays(tx, grid_start, grid_end).await?;
        let leave = if roles.contains(&Role::Parent) {
            days_off::family_leave(tx, person_id, grid_start, grid_end).await?
        } else {
            Vec::new()
        };
        Ok(Self {
            first,
            roles,
            may_create: reader.may_create(),
            events,
            holidays,
            leave,
            rendered: Rendered::default(),
        })
    }

    /// Whether nothing happens in the month itself (the grid's days of the months around it
    /// do not count).
    pub fn is_empty(&self) -> bool {
        let last = next_month(self.first).pred_opt().unwrap_or(self.first);
        let overlaps = |s: &DaysOff| s.first_day <= last && s.last_day >= self.first;
        !self.events.iter().any(|e| during(e, self.first, last))
            && !self.holidays.iter().any(overlaps)
            && !self.leave.iter().any(overlaps)
    }

    /// The month's grid as HTML in the reader's language, with `today` marked: rendered once
    /// per kept month, language and day.
    pub fn grid_html(&self, pages: &Pages, today: NaiveDate) -> Result<Arc<str>, AppError> {
        #[derive(Serialize)]
        struct Grid {
            header: Vec<String>,
            weeks: Vec<Vec<DayView>>,
        }
        self.rendered.get_or_render_on(today, pages.language(), || {
            let names = Names::new(pages.templates().catalog(), pages.language());
            let grid = Grid {
                header: names.week_header(),
                weeks: self.weeks(&names, today),
            };
            pages.render_part("calendar/month_grid.html", &grid)
        })
    }

    fn weeks(&self, names: &Names, today: NaiveDate) -> Vec<Vec<DayView>> {
        let days = grid(self.first);
        let grid_start = days[0];
        let on = |spans: &[DaysOff], day: NaiveDate| -> Vec<String> {
            spans
                .iter()
                .filter(|s| s.first_day <= day && day <= s.last_day)
                .map(|s| s.name.clone())
                .collect()
        };
        let mut cells = days
            .iter()
            .map(|&day| DayView {
                date: day.format("%Y-%m-%d").to_string(),
                number: day.day(),
                label: names.day(day),
                in_month: day.month() == self.first.month(),
                today: day == today,
                events: self
                    .events
                    .iter()
                    .filter(|e| during(e, day, day))
                    .map(|e| DayEvent {
                        id: e.id,
                        title: e.title.clone(),
                        time: names.time_on(e, day),
                    })
                    .collect(),
                holidays: on(&self.holidays, day),
                holiday_starts: self.holidays.iter().any(|h| {
                    h.first_day == day
                        || (day == grid_start && h.first_day < day && day <= h.last_day)
                }),
                leave: on(&self.leave, day),
            })
            .peekable();
        let mut weeks = Vec::with_capacity(days.len() / 7);
        while cells.peek().is_some() {
            weeks.push(cells.by_ref().take(7).collect());
        }
        weeks
    }
}

/// About how much HTML a day's cell takes, rendered.
const CELL_BYTES: usize = 300;

impl Weighed for Month {
    fn bytes(&self) -> usize {
        let event = |e: &EventRow| {
            256 + e.title.len()
                + e.description.len()
                + e.place.len()
                + e.author.as_ref().map_or(0, String::len)
                + e.groups.iter().map(|g| 24 + g.len()).sum::<usize>()
                + 8 * e.group_ids.len()
        };
        let spans = |s: &[DaysOff]| s.iter().map(|d| 64 + d.name.len()).sum::<usize>();
        std::mem::size_of::<Self>()
            + self.events.iter().map(event).sum::<usize>()
            + spans(&self.holidays)
            + spans(&self.leave)
            // The grid once rendered, in one language: 42 cells at most, and the events' titles.
            + 42 * CELL_BYTES
            + self.events.iter().map(|e| 128 + e.title.len()).sum::<usize>()
    }
}

/// The month that begins on `first` as `viewer` reads it. This month, the one opened most, is
/// kept per person until the school announces a change to what it shows (events, groups,
/// holidays, leave: tenant migrations 0025, 0035 and 0045) and used only under the roles it
/// was read with; other months are read every time.
pub async fn month(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    first: NaiveDate,
) -> Result<Arc<Month>, AppError> {
    let this_month = zone::today(Utc::now()).with_day(1);
    if this_month != Some(first) {
        let mut tx = TenantTx::begin_read_only(&state.schools, tenant).await?;
        let month = Month::read(&mut tx, viewer.person_id, viewer.roles.clone(), first).await?;
        tx.commit().await?;
        return Ok(Arc::new(month));
    }
    let (person_id, roles) = (viewer.person_id, viewer.roles.clone());
    state
        .school_data
        .get_or_read(
            &state.schools,
            tenant,
            (MONTH, viewer.person_id),
            |kept: &Month| kept.first == first && kept.roles == viewer.roles,
            move |tx: &mut TenantTx| {
                Box::pin(async move {
                    Ok::<_, AppError>(Month::read(tx, person_id, roles, first).await?)
                })
            },
        )
        .await
}
