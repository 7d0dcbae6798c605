//! The school's holidays: entered by the school, or taken from the official table of school
//! holidays for its region (noord, midden, zuid) as the Ministry of Education publishes it,
//! Saturday to Sunday. The autumn and spring holidays are advice and schools may move them;
//! Christmas, May and summer are fixed.

use chrono::NaiveDate;

use crate::leave::Holiday;

/// The three holiday regions of the Netherlands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Noord,
    Midden,
    Zuid,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::Noord, Region::Midden, Region::Zuid];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Noord => "noord",
            Self::Midden => "midden",
            Self::Zuid => "zuid",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }
}

/// The kinds of holiday, by their key in the catalogue (`holidays.kind.*`).
pub const KINDS: [&str; 5] = ["autumn", "christmas", "spring", "may", "summer"];

/// One row of the official table: school year, kind, and the first and last day in noord,
/// midden and zuid.
type Row = (
    &'static str,
    &'static str,
    [(&'static str, &'static str); 3],
);

/// The official table, 2025–2026 to 2028–2029 (rijksoverheid.nl, "Schoolvakanties").
const OFFICIAL: &[Row] = &[
    (
        "2025-2026",
        "autumn",
        [
            ("2025-10-18", "2025-10-26"),
            ("2025-10-18", "2025-10-26"),
            ("2025-10-11", "2025-10-19"),
        ],
    ),
    (
        "2025-2026",
        "christmas",
        [
            ("2025-12-20", "2026-01-04"),
            ("2025-12-20", "2026-01-04"),
            ("2025-12-20", "2026-01-04"),
        ],
    ),
    (
        "2025-2026",
        "spring",
        [
            ("2026-02-21", "2026-03-01"),
            ("2026-02-14", "2026-02-22"),
            ("2026-02-14", "2026-02-22"),
        ],
    ),
    (
        "2025-2026",
        "may",
        [
            ("2026-04-25", "2026-05-03"),
            ("2026-04-25", "2026-05-03"),
            ("2026-04-25", "2026-05-03"),
        ],
    ),
    (
        "2025-2026",
        "summer",
        [
            ("2026-07-04", "2026-08-16"),
            ("2026-07-18", "2026-08-30"),
            ("2026-07-11", "2026-08-23"),
        ],
    ),
    (
        "2026-2027",
        "autumn",
        [
            ("2026-10-10", "2026-10-18"),
            ("2026-10-17", "2026-10-25"),
            ("2026-10-17", "2026-10-25"),
        ],
    ),
    (
        "2026-2027",
        "christmas",
        [
            ("2026-12-19", "2027-01-03"),
            ("2026-12-19", "2027-01-03"),
            ("2026-12-19", "2027-01-03"),
        ],
    ),
    (
        "2026-2027",
        "spring",
        [
            ("2027-02-20", "2027-02-28"),
            ("2027-02-20", "2027-02-28"),
            ("2027-02-13", "2027-02-21"),
        ],
    ),
    (
        "2026-2027",
        "may",
        [
            ("2027-04-24", "2027-05-02"),
            ("2027-04-24", "2027-05-02"),
            ("2027-04-24", "2027-05-02"),
        ],
    ),
    (
        "2026-2027",
        "summer",
        [
            ("2027-07-10", "2027-08-22"),
            ("2027-07-17", "2027-08-29"),
            ("2027-07-24", "2027-09-05"),
        ],
    ),
    (
        "2027-2028",
        "autumn",
        [
            ("2027-10-16", "2027-10-24"),
            ("2027-10-16", "2027-10-24"),
            ("2027-10-23", "2027-10-31"),
        ],
    ),
    (
        "2027-2028",
        "christmas",
        [
            ("2027-12-25", "2028-01-09"),
            ("2027-12-25", "2028-01-09"),
            ("2027-12-25", "2028-01-09"),
        ],
    ),
    (
        "2027-2028",
        "spring",
        [
            ("2028-02-19", "2028-02-27"),
            ("2028-02-26", "2028-03-05"),
            ("2028-02-26", "2028-03-05"),
        ],
    ),
    (
        "2027-2028",
        "may",
        [
            ("2028-04-29", "2028-05-07"),
            ("2028-04-29", "2028-05-07"),
            ("2028-04-29", "2028-05-07"),
        ],
    ),
    (
        "2027-2028",
        "summer",
        [
            ("2028-07-15", "2028-08-27"),
            ("2028-07-08", "2028-08-20"),
            ("2028-07-22", "2028-09-03"),
        ],
    ),
    (
        "2028-2029",
        "autumn",
        [
            ("2028-10-14", "2028-10-22"),
            ("2028-10-21", "2028-10-29"),
            ("2028-10-21", "2028-10-29"),
        ],
    ),
    (
        "2028-2029",
        "christmas",
        [
            ("2028-12-23", "2029-01-07"),
            ("2028-12-23", "2029-01-07"),
            ("2028-12-23", "2029-01-07"),
        ],
    ),
    (
        "2028-2029",
        "spring",
        [
            ("2029-02-17", "2029-02-25"),
            ("2029-02-17", "2029-02-25"),
            ("2029-02-10", "2029-02-18"),
        ],
    ),
    (
        "2028-2029",
        "may",
        [
            ("2029-04-28", "2029-05-06"),
            ("2029-04-28", "2029-05-06"),
            ("2029-04-28", "2029-05-06"),
        ],
    ),
    (
        "2028-2029",
        "summer",
        [
            ("2029-07-21", "2029-09-02"),
            ("2029-07-07", "2029-08-19"),
            ("2029-07-14", "2029-08-26"),
        ],
    ),
];

/// An official holiday: its kind (for its name in the reader's language) and days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Official {
    pub school_year: &'static str,
    pub kind: &'static str,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The official holidays of `region`, oldest first.
pub fn official(region: Region) -> Vec<Official> {
    let column = match region {
        Region::Noord => 0,
        Region::Midden => 1,
        Region::Zuid => 2,
    };
    OFFICIAL
        .iter()
        .filter_map(|(year, kind, days)| {
            let (first, last) = days[column];
            Some(Official {
                school_year: year,
                kind,
                first_day: NaiveDate::parse_from_str(first, "%Y-%m-%d").ok()?,
                last_day: NaiveDate::parse_from_str(last, "%Y-%m-%d").ok()?,
            })
        })
        .collect()
}

/// The last day of the latest summer holiday that ended before `day`.
pub fn summer_ended_before(holidays: &[(Holiday, bool)], day: NaiveDate) -> Option<NaiveDate> {
    holidays
        .iter()
        .filter(|(h, summer)| *summer && h.last_day < day)
        .map(|(h, _)| h.last_day)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};

    #[test]
    fn the_official_table_is_whole_and_runs_saturday_to_sunday() {
        for region in Region::ALL {
            let holidays = official(region);
            assert_eq!(holidays.len(), OFFICIAL.len(), "{region:?}");
            for h in &holidays {
                assert_eq!(h.first_day.weekday(), Weekday::Sat, "{h:?}");
                assert_eq!(h.last_day.weekday(), Weekday::Sun, "{h:?}");
                assert!(h.last_day > h.first_day && KINDS.contains(&h.kind), "{h:?}");
                let weeks = (h.last_day - h.first_day).num_days() + 1;
                let expected = if h.kind == "summer" {
                    44
                } else if h.kind == "christmas" {
                    16
                } else {
                    9
                };
                assert_eq!(weeks, expected, "{h:?}");
            }
            // Oldest first, never overlapping.
            for pair in holidays.windows(2) {
                assert!(pair[0].last_day < pair[1].first_day, "{pair:?}");
            }
        }
    }
}
