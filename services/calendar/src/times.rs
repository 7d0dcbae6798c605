//! How conference times are written on pages and in mails: the school's local time
//! (Europe/Amsterdam), with weekday names from the catalogue.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schoolplein_kernel::{Language, Templates};

use crate::zone::local as to_local;

/// `di 10-11-2026` in Dutch, `Tue 10-11-2026` in English.
pub fn day_label(templates: &Templates, language: Language, date: NaiveDate) -> String {
    let key = match date.weekday() {
        chrono::Weekday::Mon => "rounds.weekday.mon",
        chrono::Weekday::Tue => "rounds.weekday.tue",
        chrono::Weekday::Wed => "rounds.weekday.wed",
        chrono::Weekday::Thu => "rounds.weekday.thu",
        chrono::Weekday::Fri => "rounds.weekday.fri",
        chrono::Weekday::Sat => "rounds.weekday.sat",
        chrono::Weekday::Sun => "rounds.weekday.sun",
    };
    let weekday = templates.catalog().get(language, key).unwrap_or_default();
    format!("{weekday} {}", date.format("%d-%m-%Y"))
}

/// `15:00`, local.
pub fn clock(at: DateTime<Utc>) -> String {
    to_local(at).format("%H:%M").to_string()
}

/// `15:00–15:10`, local.
pub fn span(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> String {
    format!("{}–{}", clock(starts_at), clock(ends_at))
}

/// `di 10-11-2026 15:00`, local.
pub fn moment(templates: &Templates, language: Language, at: DateTime<Utc>) -> String {
    format!(
        "{} {}",
        day_label(templates, language, to_local(at).date()),
        clock(at)
    )
}

/// The local date an instant falls on.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    to_local(at).date()
}

/// A moment as `<input type="datetime-local">` shows it.
pub fn input_value(at: DateTime<Utc>) -> String {
    to_local(at).format("%Y-%m-%dT%H:%M").to_string()
}
