//! Sick reports (D1) as rules: the reasons a school offers, what a report form means, whether
//! a report for today still comes in time (in Dutch time, whatever the season), and the school
//! year a day belongs to.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use schoolplein_calendar::zone;
use schoolplein_kernel::AppError;
use schoolplein_kernel::forms::{value, values};

/// Why a child is absent, as parents choose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Ill,
    Doctor,
    Dentist,
    Orthodontist,
    Hospital,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Ill,
        Reason::Doctor,
        Reason::Dentist,
        Reason::Orthodontist,
        Reason::Hospital,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ill => "ill",
            Self::Doctor => "doctor",
            Self::Dentist => "dentist",
            Self::Orthodontist => "orthodontist",
            Self::Hospital => "hospital",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }
}

/// The longest a report may look ahead: further than this is a leave request, not a report.
pub const MAX_DAYS_AHEAD: i64 = 60;
/// The longest span of days one report may cover.
pub const MAX_SPAN_DAYS: i64 = 100;
/// The longest note for the teacher.
pub const MAX_NOTE_CHARS: usize = 1000;

/// The days a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first_day: NaiveDate,
    /// `None`: until the child is better.
    pub last_day: Option<NaiveDate>,
}

impl Span {
    /// Whether the report covers `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.first_day <= day && self.last_day.is_none_or(|last| day <= last)
    }

    /// Whether two reports share a day.
    pub fn overlaps(&self, other: &Span) -> bool {
        let ends_before = |a: &Span, b: &Span| a.last_day.is_some_and(|last| last < b.first_day);
        !ends_before(self, other) && !ends_before(other, self)
    }
}

/// A sick report as the form sent it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub children: Vec<i64>,
    pub span: Span,
    pub reason: Reason,
    pub note: String,
}

/// How the school takes reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Reports for today are taken until this Dutch time; `None`: all day.
    pub report_until: Option<NaiveTime>,
    pub reasons: Vec<Reason>,
}

/// A day the form sent, in the `yyyy-mm-dd` a date input sends (or `dd-mm-yyyy`, as people
/// type it where the browser shows a plain text box).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d-%m-%Y"))
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()))
}

/// Whether a report for today, made at `now`, comes in time.
pub fn in_time_for_today(rules: &Rules, now: DateTime<Utc>) -> bool {
    rules
        .report_until
        .is_none_or(|until| zone::local(now).time() <= until)
}

impl Report {
    /// The report the form describes, made at `now`: fields `children` (repeated pupil ids),
    /// `when` (`today`, `tomorrow`, `days` with `first_day` and `last_day`, or `until_better`
    /// with an optional `first_day`: today, or tomorrow once today's cut-off has passed),
    /// `reason` and `note`. A refusal names its field. Whether the
    /// children are the parent's, and are not reported already, the caller checks.
    pub fn parse(
        form: &[(String, String)],
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<Report, AppError> {
        let today = zone::today(now);
        let mut children = Vec::new();
        for text in values(form, "children") {
            let id = text
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::bad_request("children", "absence.error.no_child"))?;
            if !children.contains(&id) {
                children.push(id);
            }
        }
        if children.is_empty() {
            return Err(AppError::bad_request("children", "absence.error.no_child"));
        }
        let day_of = |field: &'static str| -> Result<Option<NaiveDate>, AppError> {
            match value(form, field).trim() {
                "" => Ok(None),
                text => parse_day(text)
                    .map(Some)
                    .ok_or_else(|| AppError::bad_request(field, "absence.error.bad_day")),
            }
        };
        let tomorrow = today.succ_opt().unwrap_or(today);
        let span = match value(form, "when").trim() {
            "today" | "" => Span {
                first_day: today,
                last_day: Some(today),
            },
            "tomorrow" => Span {
                first_day: tomorrow,
                last_day: Some(tomorrow),
            },
            "days" => {
                let first = day_of("first_day")?.ok_or_else(|| {
                    AppError::bad_request("first_day", "absence.error.no_first_day")
                })?;
                let last = day_of("last_day")?.ok_or_else(|| {
                    AppError::bad_request("last_day", "absence.error.no_last_day")
                })?;
                if last < first {
                    return Err(AppError::bad_request(
                        "last_day",
                        "absence.error.last_before_first",
                    ));
                }
                if (last - first).num_days() >= MAX_SPAN_DAYS {
                    return Err(AppError::bad_request("last_day", "absence.error.too_long"));
                }
                Span {
                    first_day: first,
                    last_day: Some(last),
                }
            }
            "until_better" => Span {
                first_day: day_of("first_day")?.unwrap_or(if in_time_for_today(rules, now) {
                    today
                } else {
                    tomorrow
                }),
                last_day: None,
            },
            _ => return Err(AppError::bad_request("when", "absence.error.bad_when")),
        };
        if span.first_day < today {
            return Err(AppError::bad_request(
                "first_day",
                "absence.error.in_the_past",
            ));
        }
        if (span.first_day - today).num_days() > MAX_DAYS_AHEAD {
            return Err(AppError::bad_request("first_day", "absence.error.too_far"));
        }
        if span.first_day == today && !in_time_for_today(rules, now) {
            return Err(AppError::bad_request("when", "absence.error.too_late"));
        }
        let reason = Reason::parse(value(form, "reason"))
            .filter(|r| rules.reasons.contains(r))
            .ok_or_else(|| AppError::bad_request("reason", "absence.error.no_reason"))?;
        let note = value(form, "note").trim().replace("\r\n", "\n");
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(AppError::bad_request("note", "absence.error.note_too_long"));
        }
        Ok(Report {
            children,
            span,
            reason,
            note,
        })
    }
}

/// The school year a day belongs to, by the year it starts in: a Dutch school year runs from
/// 1 August to 31 July (the summer holiday straddles the change).
pub fn school_year_of(day: NaiveDate) -> i32 {
    if day.month() >= 8 {
        day.year()
    } else {
        day.year() - 1
    }
}

/// The first and last day of the school year starting in `year`.
pub fn school_year(year: i32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, 8, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(year + 1, 7, 31).unwrap_or(NaiveDate::MAX);
    (first, last)
}

/// How many weekdays (Monday to Friday) lie in `first..=last`.
pub fn weekdays(first: NaiveDate, last: NaiveDate) -> i64 {
    if last < first {
        return 0;
    }
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").to_utc()
    }

    fn rules() -> Rules {
        Rules {
            report_until: NaiveTime::from_hms_opt(8, 15, 0),
            reasons: vec![Reason::Ill, Reason::Doctor, Reason::Other],
        }
    }

    fn form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn refusal(result: Result<Report, AppError>) -> (String, String) {
        match result {
            Err(AppError::BadRequest { field, reason }) => (field.to_string(), reason.to_string()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_cut_off_is_dutch_time_in_winter_and_in_summer_and_on_the_mornings_clocks_change() {
        let rules = rules();
        // (instant, in time?) — 08:15 Dutch time is 07:15 UTC in winter, 06:15 in summer.
        let cases = [
            ("2026-12-03T07:14:00Z", true),
            ("2026-12-03T07:16:00Z", false),
            ("2026-06-03T06:15:00Z", true),
            ("2026-06-03T06:16:00Z", false),
            // 29 March 2026, clocks go forward at 02:00: 08:10 is 06:10 UTC.
            ("2026-03-29T06:10:00Z", true),
            ("2026-03-29T06:20:00Z", false),
            // The Monday after: the first school morning in summer time.
            ("2026-03-30T06:14:59Z", true),
            ("2026-03-30T07:10:00Z", false),
            // 25 October 2026, clocks go back at 03:00: 08:10 is 07:10 UTC.
            ("2026-10-25T07:10:00Z", true),
            ("2026-10-25T07:20:00Z", false),
            ("2026-10-26T06:20:00Z", true),
        ];
        for (now, expected) in cases {
            assert_eq!(in_time_for_today(&rules, at(now)), expected, "{now}");
        }
        let all_day = Rules {
            report_until: None,
            ..rules
        };
        assert!(in_time_for_today(&all_day, at("2026-12-03T22:59:00Z")));
    }

    #[test]
    fn a_report_for_today_after_the_cut_off_is_refused_at_when_and_a_later_day_is_taken() {
        let late = at("2026-12-03T09:00:00Z");
        let today = form(&[("children", "7"), ("when", "today"), ("reason", "ill")]);
        assert_eq!(
            refusal(Report::parse(&today, &rules(), late)),
            ("when".to_owned(), "absence.error.too_late".to_owned())
        );
        let tomorrow = form(&[
            ("children", "7"),
            ("when", "days"),
            ("first_day", "2026-12-04"),
            ("last_day", "04-12-2026"),
            ("reason", "doctor"),
            ("note", " om 10 uur \r\nterug "),
        ]);
        let report = Report::parse(&tomorrow, &rules(), late).expect("taken");
        assert_eq!(report.span.first_day, report.span.last_day.expect("a day"));
        assert_eq!(report.reason, Reason::Doctor);
        assert_eq!(report.note, "om 10 uur \nterug");
    }

    #[test]
    fn after_the_cut_off_tomorrow_is_taken_and_until_better_starts_tomorrow() {
        let late = at("2026-12-03T09:00:00Z");
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 12, day).expect("a day");
        let tomorrow = form(&[("children", "7"), ("when", "tomorrow"), ("reason", "ill")]);
        let report = Report::parse(&tomorrow, &rules(), late).expect("taken");
        assert_eq!(
            (report.span.first_day, report.span.last_day),
            (d(4), Some(d(4)))
        );
        let open = form(&[
            ("children", "7"),
            ("when", "until_better"),
            ("reason", "ill"),
        ]);
        let report = Report::parse(&open, &rules(), late).expect("taken");
        assert_eq!((report.span.first_day, report.span.last_day), (d(4), None));
        let early = at("2026-12-03T07:00:00Z");
        let report = Report::parse(&open, &rules(), early).expect("taken");
        assert_eq!(report.span.first_day, d(3));
    }

    #[test]
    fn every_mistake_names_its_field() {
        let now = at("2026-12-03T06:00:00Z");
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (
                &[("when", "today"), ("reason", "ill")],
                "children",
                "no_child",
            ),
            (
                &[("children", "x"), ("reason", "ill")],
                "children",
                "no_child",
            ),
            (
                &[("children", "1"), ("when", "soon"), ("reason", "ill")],
                "when",
                "bad_when",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "days"),
                    ("last_day", "2026-12-04"),
                    ("reason", "ill"),
                ],
                "first_day",
                "no_first_day",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "days"),
                    ("first_day", "2026-12-04"),
                    ("reason", "ill"),
                ],
                "last_day",
                "no_last_day",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "days"),
                    ("first_day", "4 dec"),
                    ("last_day", "2026-12-04"),
                    ("reason", "ill"),
                ],
                "first_day",
                "bad_day",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "days"),
                    ("first_day", "2026-12-05"),
                    ("last_day", "2026-12-04"),
                    ("reason", "ill"),
                ],
                "last_day",
                "last_before_first",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "days"),
                    ("first_day", "2026-12-05"),
                    ("last_day", "2027-06-04"),
                    ("reason", "ill"),
                ],
                "last_day",
                "too_long",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "until_better"),
                    ("first_day", "2026-12-02"),
                    ("reason", "ill"),
                ],
                "first_day",
                "in_the_past",
            ),
            (
                &[
                    ("children", "1"),
                    ("when", "until_better"),
                    ("first_day", "2027-03-02"),
                    ("reason", "ill"),
                ],
                "first_day",
                "too_far",
            ),
            (
                &[("children", "1"), ("when", "today")],
                "reason",
                "no_reason",
            ),
            // Not among the school's reasons.
            (
                &[("children", "1"), ("when", "today"), ("reason", "hospital")],
                "reason",
                "no_reason",
            ),
        ];
        for (fields, field, key) in cases {
            assert_eq!(
                refusal(Report::parse(&form(fields), &rules(), now)),
                ((*field).to_owned(), format!("absence.error.{key}")),
                "{fields:?}"
            );
        }
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        let fields = form(&[("children", "1"), ("reason", "ill"), ("note", &long)]);
        assert_eq!(
            refusal(Report::parse(&fields, &rules(), now)).0,
            "note".to_owned()
        );
    }

    #[test]
    fn until_better_starts_today_unless_a_day_is_given_and_children_count_once() {
        let now = at("2026-12-03T06:00:00Z");
        let fields = form(&[
            ("children", "3"),
            ("children", "4"),
            ("children", "3"),
            ("when", "until_better"),
            ("reason", "ill"),
        ]);
        let report = Report::parse(&fields, &rules(), now).expect("taken");
        assert_eq!(report.children, vec![3, 4]);
        assert_eq!(
            report.span,
            Span {
                first_day: NaiveDate::from_ymd_opt(2026, 12, 3).expect("a day"),
                last_day: None
            }
        );
    }

    #[test]
    fn spans_overlap_when_they_share_a_day() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 12, day).expect("a day");
        let open = Span {
            first_day: d(3),
            last_day: None,
        };
        let before = Span {
            first_day: d(1),
            last_day: Some(d(2)),
        };
        let touching = Span {
            first_day: d(1),
            last_day: Some(d(3)),
        };
        assert!(!open.overlaps(&before) && !before.overlaps(&open));
        assert!(open.overlaps(&touching) && touching.overlaps(&open));
        assert!(open.covers(d(30)) && !open.covers(d(2)));
    }

    #[test]
    fn school_years_turn_on_the_first_of_august_and_weekdays_skip_weekends() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("a day");
        assert_eq!(school_year_of(d(2026, 7, 31)), 2025);
        assert_eq!(school_year_of(d(2026, 8, 1)), 2026);
        assert_eq!(school_year(2026), (d(2026, 8, 1), d(2027, 7, 31)));
        // Thursday 3 December to Tuesday 8 December: Thu, Fri, Mon, Tue.
        assert_eq!(weekdays(d(2026, 12, 3), d(2026, 12, 8)), 4);
        assert_eq!(weekdays(d(2026, 12, 5), d(2026, 12, 6)), 0);
        assert_eq!(weekdays(d(2026, 12, 8), d(2026, 12, 3)), 0);
    }
}
