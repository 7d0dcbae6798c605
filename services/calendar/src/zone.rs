//! Dutch local time: people type and read times in Europe/Amsterdam; the database keeps instants.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The school's time zone. Every Dutch school is in it, so it is not a setting.
pub const ZONE: Tz = chrono_tz::Europe::Amsterdam;

/// The IANA name, as feeds and the database write it.
pub const ZONE_NAME: &str = "Europe/Amsterdam";

/// A local time that does not exist: the clock skips it when summer time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} does not exist in Europe/Amsterdam")]
pub struct Nonexistent(pub NaiveDateTime);

/// The instant of a local date and time. A time that does not exist (between 02:00 and 03:00
/// on the last Sunday of March) is refused rather than moved, so nobody's event silently
/// shifts by an hour. A time that occurs twice (between 02:00 and 03:00 on the last Sunday of
/// October) is its first occurrence, still in summer time: the reading RFC 5545 prescribes for
/// such a time, so a feed that writes the local time means the same instant.
pub fn instant(local: NaiveDateTime) -> Result<DateTime<Utc>, Nonexistent> {
    match ZONE.from_local_datetime(&local) {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(Nonexistent(local)),
    }
}

/// The local date and time of an instant.
pub fn local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&ZONE).naive_local()
}

/// The instant a local day starts. Dutch clocks change at 02:00 and 03:00, never at midnight,
/// but a day that started in a gap would start at the end of the gap, not fail.
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    match ZONE.from_local_datetime(&midnight) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => {
            // Walk forward to the first minute that exists; a gap never exceeds a few hours.
            (1..=240)
                .find_map(|minutes| {
                    ZONE.from_local_datetime(&(midnight + chrono::Duration::minutes(minutes)))
                        .earliest()
                })
                .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
        }
    }
}

/// Today's local date at an instant.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    local(now).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn ten_oclock_is_ten_oclock_on_both_sides_of_the_october_change() {
        let before = instant(at("2026-10-24 10:00")).unwrap();
        let after = instant(at("2026-10-26 10:00")).unwrap();
        assert_eq!(before, utc("2026-10-24T08:00:00Z"), "summer time, +02:00");
        assert_eq!(after, utc("2026-10-26T09:00:00Z"), "winter time, +01:00");
        assert_eq!(local(before), at("2026-10-24 10:00"));
        assert_eq!(local(after), at("2026-10-26 10:00"));
    }

    #[test]
    fn the_skipped_hour_is_refused_and_the_repeated_hour_is_its_first_occurrence() {
        assert_eq!(
            instant(at("2027-03-28 02:30")),
            Err(Nonexistent(at("2027-03-28 02:30")))
        );
        assert_eq!(
            instant(at("2027-03-28 03:00")).unwrap(),
            utc("2027-03-28T01:00:00Z")
        );
        assert_eq!(
            instant(at("2026-10-25 02:30")).unwrap(),
            utc("2026-10-25T00:30:00Z"),
            "the first 02:30, still summer time"
        );
        assert_eq!(local(utc("2026-10-25T01:30:00Z")), at("2026-10-25 02:30"));
    }

    #[test]
    fn days_start_at_local_midnight() {
        let day = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(start_of_day(day), utc("2026-10-24T22:00:00Z"));
        assert_eq!(
            start_of_day(day.succ_opt().unwrap()),
            utc("2026-10-25T23:00:00Z"),
            "the day of the change has 25 hours"
        );
        assert_eq!(today(utc("2026-10-24T22:30:00Z")), day);
    }
}
