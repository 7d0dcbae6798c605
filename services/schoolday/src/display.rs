//! Sick reports as pages and mails show them: days by name in the reader's language, times in
//! Dutch time, and what the reader may still do with each report.

use chrono::{DateTime, NaiveDate, Utc};
use schoolplein_calendar::display::Names;
use schoolplein_calendar::times;
use serde::Serialize;

use crate::absence::weekdays;
use crate::db::absences::AbsenceRow;

/// A report on a page.
#[derive(Debug, Clone, Serialize)]
pub struct AbsenceView {
    pub id: i64,
    pub pupil_id: i64,
    pub child: String,
    pub first_name: String,
    pub group: String,
    /// The reason's key (`ill`, `doctor` …) for `t.absence.reason`.
    pub reason: String,
    pub note: String,
    /// "donderdag 3 december 2026".
    pub from: String,
    /// The last day by name; `None` while it lasts until the child is better.
    pub until: Option<String>,
    /// One day only.
    pub one_day: bool,
    /// How many weekdays it covers (until today while it lasts).
    pub days: i64,
    pub reported_by: String,
    /// When it was made, "do 03-12-2026 07:42".
    pub reported_at: String,
    /// Marked present again: at what time that day.
    pub back_at: Option<String>,
    pub ended_by: Option<String>,
    /// It covers today or a day to come.
    pub current: bool,
    /// It covers a day before today (so it can be ended, not withdrawn).
    pub started: bool,
    /// It began today.
    pub starts_today: bool,
}

/// How reports are written for one reader.
#[derive(Debug)]
pub struct Shown<'a> {
    pub names: &'a Names,
    pub templates: &'a schoolplein_kernel::Templates,
    pub language: schoolplein_kernel::Language,
    pub today: NaiveDate,
}

impl Shown<'_> {
    pub fn day(&self, day: NaiveDate) -> String {
        self.names.day(day)
    }

    pub fn moment(&self, at: DateTime<Utc>) -> String {
        times::moment(self.templates, self.language, at)
    }

    pub fn absence(&self, row: &AbsenceRow) -> AbsenceView {
        let counted_until = row.last_day.unwrap_or(self.today.max(row.first_day));
        AbsenceView {
            id: row.id,
            pupil_id: row.pupil_id,
            child: row.child.clone(),
            first_name: row.first_name.clone(),
            group: row.group_name.clone().unwrap_or_default(),
            reason: row.reason.clone(),
            note: row.note.clone(),
            from: self.day(row.first_day),
            until: row.last_day.map(|d| self.day(d)),
            one_day: row.last_day == Some(row.first_day),
            days: weekdays(row.first_day, counted_until),
            reported_by: row.reported_by.clone().unwrap_or_default(),
            reported_at: self.moment(row.reported_at),
            back_at: row.back_at.map(times::clock),
            ended_by: row.ended_by.clone(),
            current: row.last_day.is_none_or(|last| last >= self.today),
            started: row.first_day <= self.today,
            starts_today: row.first_day == self.today,
        }
    }
}
