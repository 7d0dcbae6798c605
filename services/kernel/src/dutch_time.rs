//! Instants as people in the Netherlands read them: always in Europe/Amsterdam (summer and
//! winter time), in one house style, for pages (the `when` filter) and code alike.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Europe::Amsterdam;

use crate::Language;

/// How much of an instant to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Day and time, relative where that reads better: "vandaag 14:05", "gisteren 09:12",
    /// "ma 30 nov 08:15", "30 nov 2025 08:15".
    Moment,
    /// The day alone: "vandaag", "ma 30 nov", "30 nov 2025".
    Day,
    /// Day and time, never relative (for lists that are kept or printed): "30-11-2026 08:15".
    Exact,
}

impl Style {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "moment" => Some(Self::Moment),
            "day" => Some(Self::Day),
            "exact" => Some(Self::Exact),
            _ => None,
        }
    }
}

const MONTHS_NL: [&str; 12] = [
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS_NL: [&str; 7] = ["ma", "di", "wo", "do", "vr", "za", "zo"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The day it is now in the Netherlands.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&Amsterdam).date_naive()
}

/// `at` as shown to a reader of `language` at `now`.
pub fn show(at: DateTime<Utc>, now: DateTime<Utc>, language: Language, style: Style) -> String {
    let local = at.with_timezone(&Amsterdam);
    let today = now.with_timezone(&Amsterdam).date_naive();
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    if style == Style::Exact {
        return format!(
            "{:02}-{:02}-{} {time}",
            local.day(),
            local.month(),
            local.year()
        );
    }
    let day = day_words(local.date_naive(), today, language);
    match style {
        Style::Day => day,
        _ => format!("{day} {time}"),
    }
}

const FULL_MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const FULL_MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The Dutch day of `at` as a letter is dated: "3 december 2026" ("3 December 2026").
pub fn letter_date(at: DateTime<Utc>, language: Language) -> String {
    let day = at.with_timezone(&Amsterdam).date_naive();
    let months = match language {
        Language::En => &FULL_MONTHS_EN,
        _ => &FULL_MONTHS_NL,
    };
    format!(
        "{} {} {}",
        day.day(),
        months[day.month0() as usize],
        day.year()
    )
}

/// A day relative to `today`: "vandaag", "gisteren", "morgen", the weekday and date within
/// this year, or the date with its year.
fn day_words(day: NaiveDate, today: NaiveDate, language: Language) -> String {
    let (months, weekdays, [yesterday, this_day, tomorrow]) = match language {
        Language::En => (&MONTHS_EN, &WEEKDAYS_EN, ["yesterday", "today", "tomorrow"]),
        _ => (&MONTHS_NL, &WEEKDAYS_NL, ["gisteren", "vandaag", "morgen"]),
    };
    let month = months[day.month0() as usize];
    match (day - today).num_days() {
        -1 => yesterday.to_owned(),
        0 => this_day.to_owned(),
        1 => tomorrow.to_owned(),
        _ if day.year() == today.year() => format!(
            "{} {} {month}",
            weekdays[day.weekday().num_days_from_monday() as usize],
            day.day()
        ),
        _ => format!("{} {month} {}", day.day(), day.year()),
    }
}

/// The `when` filter: `{{ post.published_at | when(lang=lang) }}`, with `style="day"` or
/// `style="exact"`. Takes what serde makes of a `DateTime<Utc>` (RFC 3339); anything else is
/// an error, so a template that passes the wrong field fails its test.
pub fn when_filter(
    value: &tera::Value,
    args: &HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let text = value
        .as_str()
        .ok_or_else(|| tera::Error::msg("when: expects an instant"))?;
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|e| tera::Error::msg(format!("when: {text:?} is no instant ({e})")))?
        .with_timezone(&Utc);
    let language = args
        .get("lang")
        .and_then(tera::Value::as_str)
        .and_then(Language::from_tag)
        .unwrap_or(Language::Nl);
    let style = match args.get("style").and_then(tera::Value::as_str) {
        None => Style::Moment,
        Some(name) => Style::parse(name)
            .ok_or_else(|| tera::Error::msg(format!("when: no style {name:?}")))?,
    };
    Ok(tera::Value::String(show(at, Utc::now(), language, style)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn a_letter_is_dated_by_the_dutch_day_not_the_utc_one() {
        // 23:30 UTC on 31 December is already 1 January in Amsterdam.
        assert_eq!(
            letter_date(utc(2026, 12, 31, 23, 30), Language::Nl),
            "1 januari 2027"
        );
        assert_eq!(
            letter_date(utc(2026, 12, 3, 9, 0), Language::En),
            "3 December 2026"
        );
    }

    #[test]
    fn summer_time_starts_and_ends_on_the_last_sundays_of_march_and_october() {
        let now = utc(2026, 12, 3, 12, 0);
        // 29 March 2026: clocks go from 02:00 to 03:00 (01:00 UTC).
        assert_eq!(
            show(utc(2026, 3, 29, 0, 30), now, Language::Nl, Style::Moment),
            "zo 29 mrt 01:30"
        );
        assert_eq!(
            show(utc(2026, 3, 29, 1, 30), now, Language::Nl, Style::Moment),
            "zo 29 mrt 03:30"
        );
        // 25 October 2026: clocks go from 03:00 back to 02:00 (01:00 UTC).
        assert_eq!(
            show(utc(2026, 10, 25, 0, 30), now, Language::Nl, Style::Moment),
            "zo 25 okt 02:30"
        );
        assert_eq!(
            show(utc(2026, 10, 25, 1, 30), now, Language::Nl, Style::Moment),
            "zo 25 okt 02:30"
        );
        assert_eq!(
            show(utc(2026, 10, 25, 1, 30), now, Language::Nl, Style::Exact),
            "25-10-2026 02:30"
        );
    }

    #[test]
    fn near_days_are_named_and_the_day_follows_amsterdam_not_utc() {
        // 23:30 UTC on 2 December is 00:30 on 3 December in Amsterdam.
        let now = utc(2026, 12, 3, 8, 0);
        assert_eq!(
            show(utc(2026, 12, 2, 23, 30), now, Language::Nl, Style::Moment),
            "vandaag 00:30"
        );
        assert_eq!(
            show(utc(2026, 12, 2, 22, 30), now, Language::Nl, Style::Moment),
            "gisteren 23:30"
        );
        assert_eq!(
            show(utc(2026, 12, 4, 7, 0), now, Language::En, Style::Day),
            "tomorrow"
        );
        assert_eq!(
            show(utc(2026, 11, 30, 7, 15), now, Language::En, Style::Moment),
            "Mon 30 Nov 08:15"
        );
        assert_eq!(
            show(utc(2025, 11, 30, 7, 15), now, Language::Nl, Style::Day),
            "30 nov 2025"
        );
    }

    #[test]
    fn the_filter_refuses_what_is_no_instant() {
        let args = HashMap::new();
        assert!(when_filter(&tera::Value::String("gisteren".into()), &args).is_err());
        assert!(when_filter(&tera::Value::Null, &args).is_err());
        let mut args = HashMap::new();
        args.insert("style".to_owned(), tera::Value::String("loose".into()));
        assert!(when_filter(&tera::Value::String("2026-03-29T01:30:00Z".into()), &args).is_err());
    }
}
