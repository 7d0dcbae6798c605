//! After-school care and lunch (D3) as rules: when a day's sign-up closes (the evening before,
//! Dutch time), the days a weekly pattern covers, and what the forms mean.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use schoolplein_calendar::zone;
use schoolplein_kernel::AppError;
use schoolplein_kernel::forms::{value, values};

use crate::absence::parse_day;
use crate::leave::Holiday;

/// The longest a weekly pattern runs.
pub const MAX_PATTERN_WEEKS: i64 = 26;

/// The moment sign-ups for `day` close: `until` (Dutch time) on the day before.
pub fn closes_at(day: NaiveDate, until: NaiveTime) -> DateTime<Utc> {
    let eve = day.pred_opt().unwrap_or(day);
    zone::instant(eve.and_time(until)).unwrap_or_else(|_| zone::start_of_day(day))
}

/// Whether sign-ups (and cancellations) for `day` are still open at `now`.
pub fn open_for(day: NaiveDate, until: NaiveTime, now: DateTime<Utc>) -> bool {
    now < closes_at(day, until)
}

/// Whether a moment that runs on ISO `weekdays` runs on `day`, outside the holidays.
pub fn runs_on(weekdays: &[i16], holidays: &[Holiday], day: NaiveDate) -> bool {
    let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
    weekdays.contains(&weekday)
        && !holidays
            .iter()
            .any(|h| h.first_day <= day && day <= h.last_day)
}

/// What a parent asks: one day, or every chosen weekday between two days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupAsk {
    pub child: i64,
    pub moment: i64,
    pub days: Days,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Days {
    One(NaiveDate),
    Weekly {
        weekdays: Vec<i16>,
        from: NaiveDate,
        until: NaiveDate,
    },
}

impl SignupAsk {
    /// Fields `child`, `moment`, and `day`; or `weekdays` (repeated, 1–5), `from_day` and
    /// `until_day` for a weekly pattern (`repeat=weekly`).
    pub fn parse(form: &[(String, String)]) -> Result<Self, AppError> {
        let number = |field: &'static str, key: &'static str| {
            value(form, field)
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::bad_request(field, key))
        };
        let child = number("child", "care.error.no_child")?;
        let moment = number("moment", "care.error.no_moment")?;
        let day = |field: &'static str| {
            parse_day(value(form, field))
                .ok_or_else(|| AppError::bad_request(field, "care.error.bad_day"))
        };
        let days = if value(form, "repeat") == "weekly" {
            let mut weekdays: Vec<i16> = Vec::new();
            for text in values(form, "weekdays") {
                let weekday = text
                    .trim()
                    .parse::<i16>()
                    .ok()
                    .filter(|d| (1..=5).contains(d))
                    .ok_or_else(|| AppError::bad_request("weekdays", "care.error.no_weekdays"))?;
                if !weekdays.contains(&weekday) {
                    weekdays.push(weekday);
                }
            }
            if weekdays.is_empty() {
                return Err(AppError::bad_request("weekdays", "care.error.no_weekdays"));
            }
            let from = day("from_day")?;
            let until = day("until_day")?;
            if until < from {
                return Err(AppError::bad_request(
                    "until_day",
                    "care.error.until_before_from",
                ));
            }
            if (until - from).num_days() > 7 * MAX_PATTERN_WEEKS {
                return Err(AppError::bad_request(
                    "until_day",
                    "care.error.pattern_too_long",
                ));
            }
            Days::Weekly {
                weekdays,
                from,
                until,
            }
        } else {
            Days::One(day("day")?)
        };
        Ok(Self {
            child,
            moment,
            days,
        })
    }

    /// The days asked for that the moment runs on, in order.
    pub fn dates(&self, weekdays: &[i16], holidays: &[Holiday]) -> Vec<NaiveDate> {
        match &self.days {
            Days::One(day) => vec![*day],
            Days::Weekly {
                weekdays: chosen,
                from,
                until,
            } => from
                .iter_days()
                .take_while(|d| d <= until)
                .filter(|d| {
                    let weekday = i16::try_from(d.weekday().number_from_monday()).unwrap_or(0);
                    chosen.contains(&weekday) && runs_on(weekdays, holidays, *d)
                })
                .collect(),
        }
    }
}

/// An amount in euros as people type it ("3,50", "3.50", "€ 4"), in cents.
pub fn parse_euros(text: &str) -> Option<i32> {
    let text = text.trim().trim_start_matches('€').trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 2 {
        return None;
    }
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i32>().ok()?;
    whole
        .parse::<i32>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

/// Cents as Dutch euros: "€ 3,50".
pub fn euros(cents: i64) -> String {
    format!("€ {},{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).expect("a day")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").to_utc()
    }

    #[test]
    fn sign_up_closes_the_evening_before_in_dutch_time() {
        let six = NaiveTime::from_hms_opt(18, 0, 0).expect("a time");
        // Thursday 3 December: closes Wednesday 18:00 CET (17:00 UTC).
        assert!(open_for(d(12, 3), six, at("2026-12-02T16:59:00Z")));
        assert!(!open_for(d(12, 3), six, at("2026-12-02T17:00:00Z")));
        // Monday 30 March (summer time since Sunday): closes Sunday 18:00 CEST (16:00 UTC).
        assert!(open_for(d(3, 30), six, at("2026-03-29T15:59:00Z")));
        assert!(!open_for(d(3, 30), six, at("2026-03-29T16:01:00Z")));
    }

    #[test]
    fn a_weekly_pattern_takes_the_chosen_days_the_moment_runs_outside_holidays() {
        let form: Vec<(String, String)> = [
            ("child", "1"),
            ("moment", "2"),
            ("repeat", "weekly"),
            ("weekdays", "1"),
            ("weekdays", "3"),
            ("from_day", "2026-12-07"),
            ("until_day", "2026-12-23"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let ask = SignupAsk::parse(&form).expect("a pattern");
        let christmas = Holiday {
            name: "Kerstvakantie".to_owned(),
            first_day: d(12, 19),
            last_day: d(12, 31),
        };
        // Runs Mon, Tue, Thu: of Mondays and Wednesdays only the Mondays, before Christmas.
        assert_eq!(
            ask.dates(&[1, 2, 4], &[christmas]),
            vec![d(12, 7), d(12, 14)]
        );
    }

    #[test]
    fn amounts_are_read_as_people_type_them() {
        assert_eq!(parse_euros("3,50"), Some(350));
        assert_eq!(parse_euros("€ 4"), Some(400));
        assert_eq!(parse_euros("2.5"), Some(250));
        assert_eq!(parse_euros("0"), Some(0));
        assert_eq!(parse_euros("3,505"), None);
        assert_eq!(parse_euros("-1"), None);
        assert_eq!(parse_euros("drie"), None);
        assert_eq!(euros(1234), "€ 12,34");
    }
}
