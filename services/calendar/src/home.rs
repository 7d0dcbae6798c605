//! What the school's home page shows of the calendar: for members the next seven days with
//! how many events each has (seed 003's strip of days with a counter), for visitors the
//! coming public events.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tenant_router::TenantTx;

use crate::display::Names;
use crate::events::{self, EventReader};
use crate::zone;

/// Days the home page looks ahead, today included.
pub const NEXT_DAYS: i64 = 7;
/// Public events the visitors' page lists at most.
pub const PUBLIC_EVENTS: i64 = 10;

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
            NextDay {
                date: day.format("%Y-%m-%d").to_string(),
                month: day.format("%Y-%m").to_string(),
                weekday: names.weekday_short(day).to_owned(),
                label: names.day_short(day),
                count: rows
                    .iter()
                    .filter(|e| e.starts_at < to && e.ends_at > from)
                    .count(),
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
            when: names.when(e),
            place: e.place.clone(),
        })
        .collect())
}
