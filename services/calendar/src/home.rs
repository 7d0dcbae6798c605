//! What the school's home page shows of the calendar: for members the next seven days with
//! how many events each has (seed 003's strip of days with a counter), for visitors the
//! coming public events.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tenant_router::TenantTx;

use crate::booking::Availability;
use crate::display::Names;
use crate::events::{self, EventReader};
use crate::zone;

/// Days the home page looks ahead, today included.
pub const NEXT_DAYS: i64 = 7;
/// Public events the visitors' page lists at most.
pub const PUBLIC_EVENTS: i64 = 10;

/// What is on today, as the home page lists it.
#[derive(Debug, Serialize)]
pub struct TodayEvent {
    pub id: i64,
    pub title: String,
    /// "08:30 – 12:00", or "hele dag".
    pub time: String,
    pub place: String,
}

/// One day of the strip.
#[derive(Debug, Serialize)]
pub struct NextDay {
    /// yyyy-mm-dd, the day's cell in the month view.
    pub date: String,
    /// yyyy-mm, the month view it is in.
    pub month: String,
    pub weekday: String,
    /// "24 oktober".
    pub label: String,
    /// Events the person sees on that day, all day or for part of it.
    pub count: usize,
    /// For today only: those events, by time.
    pub events: Vec<TodayEvent>,
}

/// The next seven days from `now` and how many events the person sees on each; `reader`
/// as [`EventReader::load`] reads it (or made from a post reader at hand).
pub async fn next_days(
    tx: &mut TenantTx,
    reader: &EventReader,
    now: DateTime<Utc>,
    names: &Names,
) -> Result<Vec<NextDay>, sqlx::Error> {
    let today = zone::today(now);
    let days: Vec<_> = today.iter_days().take(NEXT_DAYS as usize).collect();
    let end = today + Duration::days(NEXT_DAYS);
    let rows = events::visible_between(
        tx,
        reader,
        zone::start_of_day(today),
        zone::start_of_day(end),
    )
    .await?;
    Ok(days
        .into_iter()
        .map(|day| {
            let from = zone::start_of_day(day);
            let to = zone::start_of_day(day + Duration::days(1));
            let on_day = || rows.iter().filter(|e| e.starts_at < to && e.ends_at > from);
            NextDay {
                date: day.format("%Y-%m-%d").to_string(),
                month: day.format("%Y-%m").to_string(),
                weekday: names.weekday_short(day).to_owned(),
                label: names.day_short(day),
                count: on_day().count(),
                events: if day == today {
                    on_day()
                        .map(|e| TodayEvent {
                            id: e.id,
                            title: e.title.clone(),
                            time: names.time_on(e, day),
                            place: e.place.clone(),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect())
}

/// A public event as visitors see it.
#[derive(Debug, Serialize)]
pub struct PublicEvent {
    pub id: i64,
    pub title: String,
    pub when: String,
    pub place: String,
}

/// The coming public events, soonest first.
pub async fn public_events(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    names: &Names,
) -> Result<Vec<PublicEvent>, sqlx::Error> {
    Ok(events::public_upcoming(tx, now, PUBLIC_EVENTS)
        .await?
        .iter()
        .map(|e| PublicEvent {
            id: e.id,
            title: e.title.clone(),
            when: names.when(e.times()),
            place: e.place.clone(),
        })
        .collect())
}

/// A conference round a parent still has to book a talk in, for one child.
#[derive(Debug, Serialize)]
pub struct BookingDue {
    pub round_id: i64,
    pub pupil_id: i64,
    pub title: String,
    /// The child's first name.
    pub child: String,
    /// Booking opens later (fair start, K6): then, in Dutch time.
    pub opens_at: Option<DateTime<Utc>>,
    /// The last moment to book, if the round has one.
    pub until: Option<DateTime<Utc>>,
}

/// The published rounds of the groups of this parent's children in which a child has no talk
/// yet (in `per_parent` rounds: none of this parent's), bookable now or opening later.
pub async fn bookings_due(
    tx: &mut TenantTx,
    person_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<BookingDue>, sqlx::Error> {
    let rows = crate::db::bookings::unbooked_rounds(tx, person_id).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let several_children = crate::db::bookings::children_at_school(tx, person_id).await? > 1;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let opens_at = match Availability::of(&row.round, now, several_children) {
                Availability::Open => None,
                Availability::NotYet { at } => Some(at),
                _ => return None,
            };
            Some(BookingDue {
                round_id: row.round.id,
                pupil_id: row.pupil_id,
                until: row.round.cutoff(),
                title: row.round.title,
                child: row.child,
                opens_at,
            })
        })
        .collect())
}
