//! Dates and times as people read them, in Dutch or English: month and day names from the
//! catalogues, and when an event happens in Dutch local time.

use chrono::{Datelike, NaiveDate};
use schoolplein_kernel::Language;
use schoolplein_kernel::i18n::Catalog;

use crate::events::{EventRow, EventTimes};
use crate::zone;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The names of months and days in one language.
#[derive(Debug, Clone)]
pub struct Names {
    months: Vec<String>,
    weekdays: Vec<String>,
    weekdays_short: Vec<String>,
    all_day: String,
}

impl Names {
    pub fn new(catalog: &Catalog, language: Language) -> Self {
        let text = |key: String| catalog.get(language, &key).unwrap_or_default().to_owned();
        Self {
            months: (1..=12)
                .map(|m| text(format!("calendar.month.m{m:02}")))
                .collect(),
            weekdays: WEEKDAYS
                .iter()
                .map(|d| text(format!("calendar.weekday.{d}")))
                .collect(),
            weekdays_short: WEEKDAYS
                .iter()
                .map(|d| text(format!("calendar.weekday_short.{d}")))
                .collect(),
            all_day: text("calendar.events.all_day".to_owned()),
        }
    }

    /// "oktober 2026".
    pub fn month(&self, first: NaiveDate) -> String {
        format!("{} {}", self.month_name(first), first.year())
    }

    fn month_name(&self, day: NaiveDate) -> &str {
        self.months
            .get(day.month0() as usize)
            .map_or("", String::as_str)
    }

    /// The short day names of a week, Monday first.
    pub fn week_header(&self) -> Vec<String> {
        self.weekdays_short.clone()
    }

    pub fn weekday(&self, day: NaiveDate) -> &str {
        self.weekdays
            .get(day.weekday().num_days_from_monday() as usize)
            .map_or("", String::as_str)
    }

    pub fn weekday_short(&self, day: NaiveDate) -> &str {
        self.weekdays_short
            .get(day.weekday().num_days_from_monday() as usize)
            .map_or("", String::as_str)
    }

    /// "zaterdag 24 oktober 2026".
    pub fn day(&self, day: NaiveDate) -> String {
        format!(
            "{} {} {} {}",
            self.weekday(day),
            day.day(),
            self.month_name(day),
            day.year()
        )
    }

    /// "24 okt"-style: the day and month, for short lists.
    pub fn day_short(&self, day: NaiveDate) -> String {
        format!("{} {}", day.day(), self.month_name(day))
    }

    /// When an event happens, in Dutch time: "zaterdag 24 oktober 2026, 10:00–11:30", or its
    /// days when it lasts all day.
    pub fn when(&self, event: EventTimes) -> String {
        if let Some((first, last)) = event.all_day {
            return if first == last {
                format!("{} ({})", self.day(first), self.all_day)
            } else {
                format!(
                    "{} – {} ({})",
                    self.day(first),
                    self.day(last),
                    self.all_day
                )
            };
        }
        let starts = zone::local(event.starts_at);
        let ends = zone::local(event.ends_at);
        if starts.date() == ends.date() {
            format!(
                "{}, {}–{}",
                self.day(starts.date()),
                starts.format("%H:%M"),
                ends.format("%H:%M")
            )
        } else {
            format!(
                "{}, {} – {}, {}",
                self.day(starts.date()),
                starts.format("%H:%M"),
                self.day(ends.date()),
                ends.format("%H:%M")
            )
        }
    }

    /// What a day's cell of the month shows for an event: its start time on the day it
    /// starts, "all day" for all-day events, and "…" on the later days of a longer event.
    pub fn time_on(&self, event: &EventRow, day: NaiveDate) -> String {
        if event.all_day().is_some() {
            return self.all_day.clone();
        }
        let starts = zone::local(event.starts_at);
        if starts.date() == day {
            starts.format("%H:%M").to_string()
        } else {
            "…".to_owned()
        }
    }
}
