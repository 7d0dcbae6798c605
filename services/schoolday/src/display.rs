//! Sick reports and leave requests as pages and mails show them: days by name in the reader's language, times in
//! Dutch time, and what the reader may still do with each report.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use schoolplein_calendar::display::Names;
use schoolplein_calendar::times;
use serde::Serialize;

use crate::absence::weekdays;
use crate::db::absences::AbsenceRow;
use crate::db::leave::RequestRow;
use crate::leave::LeaveState;
use crate::letter;

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

/// A request on a page.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: i64,
    pub kind: String,
    pub article: &'static str,
    pub children: String,
    pub groups: String,
    pub period: String,
    pub school_days: i16,
    pub reason: String,
    pub state: String,
    pub for_officer: bool,
    pub officer_name: Option<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_reason: String,
    pub has_statement: bool,
    pub open: bool,
}

/// How a request reads in `names`' language.
pub fn view(
    row: &RequestRow,
    names: &Names,
    state: &schoolplein_kernel::AppState,
    language: schoolplein_kernel::Language,
) -> RequestView {
    let period = if row.first_day == row.last_day {
        names.day(row.first_day)
    } else {
        let through = state
            .templates
            .catalog()
            .get(language, "absence.through")
            .unwrap_or("–");
        format!(
            "{} {through} {}",
            names.day(row.first_day),
            names.day(row.last_day)
        )
    };
    RequestView {
        id: row.id,
        kind: row.kind.clone(),
        article: letter::article(&row.kind),
        children: row.children.join(", "),
        groups: row.groups.join(", "),
        period,
        school_days: row.school_days,
        reason: row.reason.clone(),
        state: row.state.clone(),
        for_officer: row.for_officer,
        officer_name: row.officer_name.clone(),
        requested_by: row.requested_by.clone().unwrap_or_default(),
        requested_at: schoolplein_calendar::times::moment(
            &state.templates,
            language,
            row.requested_at,
        ),
        decided_by: row.decided_by.clone(),
        decided_at: row
            .decided_at
            .map(|at| schoolplein_kernel::dutch_time::letter_date(at, language)),
        decision_reason: row.decision_reason.clone(),
        has_statement: row.statement_name.is_some(),
        open: LeaveState::parse(&row.state).is_some_and(LeaveState::open),
    }
}

/// A cell a spreadsheet takes as text, never as a formula (`=`, `+`, `-`, `@` lead one).
pub fn csv_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// ISO weekdays (1 Monday … 5 Friday) by their short names: "ma, di, do".
pub fn weekday_names(names: &Names, weekdays: &[i16]) -> String {
    // 2 November 2026 is a Monday.
    let monday = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
    weekdays
        .iter()
        .map(|d| {
            names
                .weekday_short(monday + Duration::days(i64::from(*d) - 1))
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join(", ")
}
