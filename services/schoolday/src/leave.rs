//! Leave requests (D2) as the Leerplichtwet 1969 arranges them: the three kinds a parent
//! asks for, the rules a form can check before anyone decides (each refusal names its rule),
//! how many school days a request covers, and who decides it.

use chrono::{Datelike, NaiveDate, Weekday};
use schoolplein_kernel::AppError;
use schoolplein_kernel::forms::{value, values};

use crate::absence::parse_day;

/// What kind of leave is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveKind {
    /// Art. 11 onder g: important circumstances (a wedding, a funeral, a jubilee, moving house).
    Circumstances,
    /// Art. 13a: a holiday outside the school holidays because of a parent's work.
    Holiday,
    /// Art. 11 onder f: religious obligations; a notice, not a request.
    Religious,
}

impl LeaveKind {
    pub const ALL: [LeaveKind; 3] = [
        LeaveKind::Circumstances,
        LeaveKind::Holiday,
        LeaveKind::Religious,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Circumstances => "circumstances",
            Self::Holiday => "holiday",
            Self::Religious => "religious",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text.trim())
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveState {
    /// Waiting for the headmaster.
    Pending,
    /// Longer than ten school days: for the attendance officer, whose decision the school
    /// records.
    Officer,
    Approved,
    Refused,
    /// A religious obligation, noted.
    Noted,
    /// Taken back by the parent before a decision.
    Withdrawn,
}

impl LeaveState {
    pub const ALL: [LeaveState; 6] = [
        LeaveState::Pending,
        LeaveState::Officer,
        LeaveState::Approved,
        LeaveState::Refused,
        LeaveState::Noted,
        LeaveState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Officer => "officer",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Noted => "noted",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// Still waiting for a decision.
    pub fn open(self) -> bool {
        matches!(self, Self::Pending | Self::Officer)
    }
}

/// The headmaster decides up to this many school days of leave (art. 11 g); longer requests
/// go to the attendance officer. Art. 13a allows at most this many days at all.
pub const HEADMASTER_DAYS: i64 = 10;
/// Art. 13a: no holiday leave in the first two weeks after the summer holiday.
pub const AFTER_SUMMER_DAYS: i64 = 14;
/// Art. 13: a religious obligation is notified at least two days beforehand.
pub const RELIGIOUS_NOTICE_DAYS: i64 = 2;
/// The longest reason.
pub const MAX_REASON_CHARS: usize = 2000;

/// A school holiday: its first and last day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub name: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The school days in `first..=last`: weekdays outside the school's holidays.
pub fn school_days(first: NaiveDate, last: NaiveDate, holidays: &[Holiday]) -> i64 {
    if last < first {
        return 0;
    }
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .filter(|d| {
            !holidays
                .iter()
                .any(|h| h.first_day <= *d && *d <= h.last_day)
        })
        .count() as i64
}

/// A request as the form sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveDraft {
    pub children: Vec<i64>,
    pub kind: LeaveKind,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub reason: String,
}

impl LeaveDraft {
    /// Fields `children` (repeated), `kind`, `first_day`, `last_day` (empty: one day) and
    /// `reason`. A refusal names its field.
    pub fn parse(form: &[(String, String)]) -> Result<Self, AppError> {
        let mut children = Vec::new();
        for text in values(form, "children") {
            let id = text
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::bad_request("children", "leave.error.no_child"))?;
            if !children.contains(&id) {
                children.push(id);
            }
        }
        if children.is_empty() {
            return Err(AppError::bad_request("children", "leave.error.no_child"));
        }
        let kind = LeaveKind::parse(value(form, "kind"))
            .ok_or_else(|| AppError::bad_request("kind", "leave.error.no_kind"))?;
        let first_day = match value(form, "first_day").trim() {
            "" => {
                return Err(AppError::bad_request(
                    "first_day",
                    "leave.error.no_first_day",
                ));
            }
            text => parse_day(text)
                .ok_or_else(|| AppError::bad_request("first_day", "leave.error.bad_day"))?,
        };
        let last_day = match value(form, "last_day").trim() {
            "" => first_day,
            text => parse_day(text)
                .ok_or_else(|| AppError::bad_request("last_day", "leave.error.bad_day"))?,
        };
        if last_day < first_day {
            return Err(AppError::bad_request(
                "last_day",
                "leave.error.last_before_first",
            ));
        }
        if (last_day - first_day).num_days() > 366 {
            return Err(AppError::bad_request("last_day", "leave.error.too_long"));
        }
        let reason = value(form, "reason").trim().replace("\r\n", "\n");
        if reason.chars().count() < 3 {
            return Err(AppError::bad_request("reason", "leave.error.no_reason"));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(AppError::bad_request(
                "reason",
                "leave.error.reason_too_long",
            ));
        }
        Ok(Self {
            children,
            kind,
            first_day,
            last_day,
            reason,
        })
    }
}

/// What the rules need to know besides the request.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub today: NaiveDate,
    /// The school's holidays around the request.
    pub holidays: &'a [Holiday],
    /// The last day of the summer holiday before the request's first day, when known.
    pub summer_ended: Option<NaiveDate>,
    /// One of the children already has holiday leave (art. 13a) asked or granted in the
    /// request's school year.
    pub holiday_leave_this_year: bool,
    /// An employer's statement comes with the request.
    pub has_statement: bool,
}

/// A request the rules let through: its school days and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub school_days: i64,
    pub state: LeaveState,
}

/// A rule a request breaks: the field it concerns and the text naming the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenRule {
    pub field: &'static str,
    pub key: &'static str,
}

impl From<BrokenRule> for AppError {
    fn from(rule: BrokenRule) -> Self {
        AppError::bad_request(rule.field, rule.key)
    }
}

/// The rules of the Leerplichtwet a form can check.
pub fn check(draft: &LeaveDraft, at: &Situation<'_>) -> Result<Checked, BrokenRule> {
    let broken = |field, key| Err(BrokenRule { field, key });
    if draft.first_day <= at.today && draft.kind != LeaveKind::Religious {
        return broken("first_day", "leave.rule.not_afterwards");
    }
    let days = school_days(draft.first_day, draft.last_day, at.holidays);
    if days == 0 {
        return broken("first_day", "leave.rule.no_school_days");
    }
    let state = match draft.kind {
        LeaveKind::Religious => {
            if (draft.first_day - at.today).num_days() < RELIGIOUS_NOTICE_DAYS {
                return broken("first_day", "leave.rule.religious_two_days");
            }
            LeaveState::Noted
        }
        LeaveKind::Holiday => {
            if days > HEADMASTER_DAYS {
                return broken("last_day", "leave.rule.holiday_ten_days");
            }
            if let Some(ended) = at.summer_ended {
                let closed_from = ended + chrono::Duration::days(1);
                let closed_until = ended + chrono::Duration::days(AFTER_SUMMER_DAYS);
                if draft.first_day <= closed_until && draft.last_day >= closed_from {
                    return broken("first_day", "leave.rule.holiday_after_summer");
                }
            }
            if at.holiday_leave_this_year {
                return broken("kind", "leave.rule.holiday_once_a_year");
            }
            if !at.has_statement {
                return broken("statement", "leave.rule.holiday_statement");
            }
            LeaveState::Pending
        }
        LeaveKind::Circumstances => {
            if days > HEADMASTER_DAYS {
                LeaveState::Officer
            } else {
                LeaveState::Pending
            }
        }
    };
    Ok(Checked {
        school_days: days,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("a day")
    }

    fn holidays() -> Vec<Holiday> {
        let holiday = |name: &str, first, last| Holiday {
            name: name.to_owned(),
            first_day: first,
            last_day: last,
        };
        // Region midden, 2026–2027.
        vec![
            holiday("Zomervakantie", d(2026, 7, 18), d(2026, 8, 30)),
            holiday("Herfstvakantie", d(2026, 10, 17), d(2026, 10, 25)),
            holiday("Kerstvakantie", d(2026, 12, 19), d(2027, 1, 3)),
            holiday("Voorjaarsvakantie", d(2027, 2, 20), d(2027, 2, 28)),
        ]
    }

    fn draft(kind: LeaveKind, first: NaiveDate, last: NaiveDate) -> LeaveDraft {
        LeaveDraft {
            children: vec![1],
            kind,
            first_day: first,
            last_day: last,
            reason: "Bruiloft van een zus in Turkije".to_owned(),
        }
    }

    #[test]
    fn school_days_skip_weekends_and_the_school_holidays() {
        let h = holidays();
        // Monday 12 to Friday 23 October 2026: one school week, then the autumn holiday.
        assert_eq!(school_days(d(2026, 10, 12), d(2026, 10, 23), &h), 5);
        assert_eq!(school_days(d(2026, 10, 17), d(2026, 10, 25), &h), 0);
        // Thursday 17 to Tuesday 22 December: two days, then Christmas.
        assert_eq!(school_days(d(2026, 12, 17), d(2026, 12, 22), &h), 2);
    }

    #[test]
    fn each_rule_of_art_11_and_13a_refuses_with_its_own_name() {
        let h = holidays();
        let base = Situation {
            today: d(2026, 9, 1),
            holidays: &h,
            summer_ended: Some(d(2026, 8, 30)),
            holiday_leave_this_year: false,
            has_statement: true,
        };
        let earlier = Situation {
            holiday_leave_this_year: true,
            ..base.clone()
        };
        let without_statement = Situation {
            has_statement: false,
            ..base.clone()
        };
        let nearly_religious = Situation {
            today: d(2026, 11, 19),
            ..base.clone()
        };
        use LeaveKind::*;
        // (kind, first, last, circumstances, expected: Ok(days, state) or Err(field, key))
        type Case<'a> = (
            LeaveKind,
            NaiveDate,
            NaiveDate,
            &'a Situation<'a>,
            Result<(i64, LeaveState), (&'a str, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            // Art. 11 g: a wedding on a Friday; ten days still the headmaster's; eleven the officer's.
            (
                Circumstances,
                d(2026, 11, 20),
                d(2026, 11, 20),
                &base,
                Ok((1, LeaveState::Pending)),
            ),
            (
                Circumstances,
                d(2026, 11, 9),
                d(2026, 11, 20),
                &base,
                Ok((10, LeaveState::Pending)),
            ),
            (
                Circumstances,
                d(2026, 11, 9),
                d(2026, 11, 23),
                &base,
                Ok((11, LeaveState::Officer)),
            ),
            // Never afterwards, nor for today.
            (
                Circumstances,
                d(2026, 9, 1),
                d(2026, 9, 1),
                &base,
                Err(("first_day", "leave.rule.not_afterwards")),
            ),
            (
                Holiday,
                d(2026, 8, 20),
                d(2026, 8, 21),
                &base,
                Err(("first_day", "leave.rule.not_afterwards")),
            ),
            // Wholly in a school holiday (or a weekend): no leave needed.
            (
                Circumstances,
                d(2026, 10, 19),
                d(2026, 10, 23),
                &base,
                Err(("first_day", "leave.rule.no_school_days")),
            ),
            (
                Holiday,
                d(2026, 11, 21),
                d(2026, 11, 22),
                &base,
                Err(("first_day", "leave.rule.no_school_days")),
            ),
            // Art. 13a: ten school days at most (the Christmas holiday does not count) …
            (
                Holiday,
                d(2026, 12, 7),
                d(2026, 12, 18),
                &base,
                Ok((10, LeaveState::Pending)),
            ),
            (
                Holiday,
                d(2026, 12, 8),
                d(2027, 1, 4),
                &base,
                Ok((10, LeaveState::Pending)),
            ),
            (
                Holiday,
                d(2026, 12, 4),
                d(2026, 12, 18),
                &base,
                Err(("last_day", "leave.rule.holiday_ten_days")),
            ),
            // … not in the first two weeks after the summer holiday (31 August to 13 September) …
            (
                Holiday,
                d(2026, 9, 10),
                d(2026, 9, 11),
                &base,
                Err(("first_day", "leave.rule.holiday_after_summer")),
            ),
            (
                Holiday,
                d(2026, 9, 14),
                d(2026, 9, 18),
                &base,
                Ok((5, LeaveState::Pending)),
            ),
            // … once a school year, and with the employer's statement.
            (
                Holiday,
                d(2027, 3, 1),
                d(2027, 3, 5),
                &earlier,
                Err(("kind", "leave.rule.holiday_once_a_year")),
            ),
            (
                Holiday,
                d(2027, 3, 1),
                d(2027, 3, 5),
                &without_statement,
                Err(("statement", "leave.rule.holiday_statement")),
            ),
            // Art. 11 f: a notice, at least two days beforehand.
            (
                Religious,
                d(2026, 11, 20),
                d(2026, 11, 20),
                &base,
                Ok((1, LeaveState::Noted)),
            ),
            (
                Religious,
                d(2026, 11, 20),
                d(2026, 11, 20),
                &nearly_religious,
                Err(("first_day", "leave.rule.religious_two_days")),
            ),
        ];
        for (kind, first, last, at, expected) in cases {
            let got = check(&draft(kind, first, last), at)
                .map(|c| (c.school_days, c.state))
                .map_err(|r| (r.field, r.key));
            assert_eq!(got, expected, "{kind:?} {first}–{last}");
        }
    }

    #[test]
    fn the_form_names_the_field_of_each_mistake() {
        let form = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let refusal = |fields: &[(&str, &str)]| match LeaveDraft::parse(&form(fields)) {
            Err(AppError::BadRequest { field, .. }) => field.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        let full = [
            ("children", "4"),
            ("kind", "circumstances"),
            ("first_day", "2026-11-20"),
            ("last_day", ""),
            ("reason", "Bruiloft"),
        ];
        let draft = LeaveDraft::parse(&form(&full)).expect("a draft");
        assert_eq!(draft.last_day, draft.first_day);
        for (drop, field) in [
            ("children", "children"),
            ("kind", "kind"),
            ("first_day", "first_day"),
            ("reason", "reason"),
        ] {
            let fields: Vec<(&str, &str)> =
                full.iter().copied().filter(|(k, _)| *k != drop).collect();
            assert_eq!(refusal(&fields), field, "without {drop}");
        }
        let mut backwards = full.to_vec();
        backwards[3] = ("last_day", "2026-11-19");
        assert_eq!(refusal(&backwards), "last_day");
        let mut bad = full.to_vec();
        bad[2] = ("first_day", "twintig november");
        assert_eq!(refusal(&bad), "first_day");
    }
}
