//! iCalendar (RFC 5545) text for the calendar feeds: a pure writer of `FeedEvent`s, whatever
//! they come from (the school's events, a parent's booked conference times).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc, Weekday};

use crate::zone::{self, ZONE, ZONE_NAME};

/// When a feed entry happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedTime {
    /// From one instant to a later one (or the same: a moment).
    At {
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
    },
    /// Whole days, `first` to `last` inclusive, whatever the time zone.
    Days { first: NaiveDate, last: NaiveDate },
}

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Unique across every feed and school, and stable, so calendar apps update an entry in
    /// place instead of adding it twice.
    pub uid: String,
    pub when: FeedTime,
    pub summary: String,
    pub location: Option<String>,
    pub description: Option<String>,
    /// Where the entry can be read in the portal.
    pub url: Option<String>,
    /// When the entry was last changed.
    pub changed: DateTime<Utc>,
}

/// The longest content line in octets, without its CRLF (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// Europe/Amsterdam as the EU has kept it since 1996: summer time from the last Sunday of
/// March, 02:00 local, to the last Sunday of October, 03:00 local. Times are written against
/// it only where it agrees with the time-zone database (see `uses_zone`).
const VTIMEZONE: &[&str] = &[
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Amsterdam",
    "X-LIC-LOCATION:Europe/Amsterdam",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

/// A whole feed: `name` is what calendar apps call the subscription.
pub fn write_feed(name: &str, events: &[FeedEvent]) -> String {
    let mut out = String::with_capacity(512 + events.len() * 400);
    let mut line = |text: &str| push_line(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Schoolplein//Kalender//NL");
    line("CALSCALE:GREGORIAN");
    line(&format!("NAME:{}", escape_text(name)));
    line(&format!("X-WR-CALNAME:{}", escape_text(name)));
    line(&format!("X-WR-TIMEZONE:{ZONE_NAME}"));
    // Ask apps to look again every hour (RFC 7986; the X- form for older apps).
    line("REFRESH-INTERVAL;VALUE=DURATION:PT1H");
    line("X-PUBLISHED-TTL:PT1H");
    for text in VTIMEZONE {
        line(text);
    }
    for event in events {
        write_event(&mut line, event);
    }
    line("END:VCALENDAR");
    out
}

fn write_event(line: &mut impl FnMut(&str), event: &FeedEvent) {
    line("BEGIN:VEVENT");
    line(&format!("UID:{}", escape_text(&event.uid)));
    // Without a METHOD, DTSTAMP is when the entry was last revised (RFC 5545 §3.8.7.2):
    // stable between fetches, so apps see no change where there was none.
    line(&format!("DTSTAMP:{}", utc_stamp(event.changed)));
    line(&format!("LAST-MODIFIED:{}", utc_stamp(event.changed)));
    match &event.when {
        FeedTime::At { starts, ends } => {
            line(&format!("DTSTART{}", date_time(*starts)));
            // A moment has no end (RFC 5545 §3.6.1); DTEND must be later than DTSTART.
            if ends > starts {
                line(&format!("DTEND{}", date_time(*ends)));
            }
        }
        FeedTime::Days { first, last } => {
            line(&format!("DTSTART;VALUE=DATE:{}", first.format("%Y%m%d")));
            // DTEND of a date is exclusive: the day after the last.
            let end = last.succ_opt().unwrap_or(*last);
            line(&format!("DTEND;VALUE=DATE:{}", end.format("%Y%m%d")));
            line("TRANSP:TRANSPARENT");
        }
    }
    line(&format!("SUMMARY:{}", escape_text(&event.summary)));
    if let Some(location) = event.location.as_deref().filter(|l| !l.is_empty()) {
        line(&format!("LOCATION:{}", escape_text(location)));
    }
    if let Some(description) = event.description.as_deref().filter(|d| !d.is_empty()) {
        line(&format!("DESCRIPTION:{}", escape_text(description)));
    }
    if let Some(url) = event.url.as_deref().filter(|u| is_plain_uri(u)) {
        line(&format!("URL:{url}"));
    }
    line("END:VEVENT");
}

/// `:20261024T080000Z`-style UTC, for DTSTAMP and LAST-MODIFIED.
fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The parameters and value of a DTSTART or DTEND: local time against the feed's VTIMEZONE
/// where that means exactly this instant, UTC otherwise.
fn date_time(at: DateTime<Utc>) -> String {
    if uses_zone(at) {
        format!(
            ";TZID={ZONE_NAME}:{}",
            zone::local(at).format("%Y%m%dT%H%M%S")
        )
    } else {
        format!(":{}", utc_stamp(at))
    }
}

/// Whether the local time of `at` against the VTIMEZONE above names exactly `at`: the
/// time-zone database agrees with the VTIMEZONE's rule at that instant (true from 1996 on,
/// until the rules change), and the local time is not the second of a repeated hour, which a
/// reader takes as the first (RFC 5545 §3.3.5).
fn uses_zone(at: DateTime<Utc>) -> bool {
    let offset = ZONE.offset_from_utc_datetime(&at.naive_utc()).fix();
    offset.local_minus_utc() == eu_offset_seconds(at)
        && ZONE
            .from_local_datetime(&zone::local(at))
            .earliest()
            .is_some_and(|first| first.with_timezone(&Utc) == at)
}

/// The UTC offset the VTIMEZONE's rule gives: summer time from 01:00 UTC on the last Sunday
/// of March to 01:00 UTC on the last Sunday of October.
fn eu_offset_seconds(at: DateTime<Utc>) -> i32 {
    let year = at.year();
    let change = |month| {
        last_sunday(year, month)
            .and_then(|day| day.and_hms_opt(1, 0, 0))
            .map(|t| t.and_utc())
    };
    match (change(3), change(10)) {
        (Some(starts), Some(ends)) if at >= starts && at < ends => 7200,
        _ => 3600,
    }
}

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_of_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    Some(last - chrono::Duration::days(i64::from(back))).filter(|d| d.weekday() == Weekday::Sun)
}

/// TEXT as RFC 5545 §3.3.11 writes it: backslash, semicolon, comma and line breaks escaped;
/// other control characters, which TEXT may not hold, left out.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI fit for a URL property: printable ASCII without spaces, so it needs no escaping.
fn is_plain_uri(uri: &str) -> bool {
    !uri.is_empty() && uri.bytes().all(|b| b.is_ascii_graphic())
}

/// Appends one content line with its CRLF, folded (RFC 5545 §3.1): no line longer than 75
/// octets, each continuation starting with a space, never splitting a UTF-8 character.
fn push_line(out: &mut String, text: &str) {
    let mut rest = text;
    let mut limit = MAX_LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = write!(out, "{}\r\n ", &rest[..cut]);
        rest = &rest[cut..];
        // The space that starts a continuation line counts towards its 75 octets.
        limit = MAX_LINE_OCTETS - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn event(when: FeedTime) -> FeedEvent {
        FeedEvent {
            uid: "event-7-3@schoolplein.test".into(),
            when,
            summary: "Sportdag".into(),
            location: None,
            description: None,
            url: None,
            changed: utc("2026-09-01T12:00:00Z"),
        }
    }

    /// The content lines, unfolded.
    fn unfolded(feed: &str) -> Vec<String> {
        feed.replace("\r\n ", "")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_line_ends_in_crlf_and_none_is_longer_than_75_octets() {
        let mut long = event(FeedTime::At {
            starts: utc("2026-10-24T08:00:00Z"),
            ends: utc("2026-10-24T09:00:00Z"),
        });
        long.description =
            Some("Ouderavond: één, twee; drie… ".repeat(20) + "😀".repeat(30).as_str());
        long.summary = "ü".repeat(100);
        let feed = write_feed("Mijn kalender", &[long.clone()]);
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        assert!(!feed.replace("\r\n", "").contains('\n'), "bare LF");
        assert!(!feed.replace("\r\n", "").contains('\r'), "bare CR");
        for line in feed.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let lines = unfolded(&feed);
        assert!(lines.contains(&format!("SUMMARY:{}", "ü".repeat(100))));
        assert!(lines.contains(&format!(
            "DESCRIPTION:{}",
            escape_text(long.description.as_deref().unwrap())
        )));
    }

    #[test]
    fn folding_cuts_between_characters_only() {
        for prefix in 0..4 {
            let text = format!("{}{}", "x".repeat(prefix), "€".repeat(60));
            let mut out = String::new();
            push_line(&mut out, &text);
            let pieces: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
            assert!(pieces.len() > 1);
            for (i, piece) in pieces.iter().enumerate() {
                assert!(piece.len() <= 75);
                if i > 0 {
                    assert!(piece.starts_with(' '));
                }
            }
            assert_eq!(out.replace("\r\n ", "").trim_end_matches("\r\n"), text);
        }
        let mut exact = String::new();
        push_line(&mut exact, &"a".repeat(75));
        assert_eq!(exact, format!("{}\r\n", "a".repeat(75)), "75 octets fit");
    }

    #[test]
    fn text_escapes_backslash_semicolon_comma_and_newlines() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\u{7}h"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng".to_owned() + "h"
        );
        assert_eq!(escape_text("gym: zaal 2"), "gym: zaal 2", "colons stay");
    }

    #[test]
    fn times_are_local_with_the_zone_and_days_are_dates_with_an_exclusive_end() {
        let feed = write_feed(
            "Groep 3",
            &[
                event(FeedTime::At {
                    starts: utc("2026-10-24T08:00:00Z"),
                    ends: utc("2026-10-24T09:30:00Z"),
                }),
                event(FeedTime::At {
                    starts: utc("2026-10-26T09:00:00Z"),
                    ends: utc("2026-10-26T09:00:00Z"),
                }),
                event(FeedTime::Days {
                    first: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                    last: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                }),
            ],
        );
        let lines = unfolded(&feed);
        for expected in [
            "DTSTART;TZID=Europe/Amsterdam:20261024T100000",
            "DTEND;TZID=Europe/Amsterdam:20261024T113000",
            "DTSTART;TZID=Europe/Amsterdam:20261026T100000",
            "DTSTART;VALUE=DATE:20261224",
            "DTEND;VALUE=DATE:20270102",
            "DTSTAMP:20260901T120000Z",
            "UID:event-7-3@schoolplein.test",
            "TZID:Europe/Amsterdam",
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected}\n{feed}");
        }
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("DTEND")).count(),
            2,
            "the moment has no end"
        );
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 3);
    }

    #[test]
    fn the_second_of_a_repeated_hour_and_times_before_the_rule_are_written_in_utc() {
        // 02:30 happens twice on 2026-10-25: first at 00:30 UTC, then at 01:30 UTC.
        assert_eq!(
            date_time(utc("2026-10-25T00:30:00Z")),
            ";TZID=Europe/Amsterdam:20261025T023000"
        );
        assert_eq!(date_time(utc("2026-10-25T01:30:00Z")), ":20261025T013000Z");
        // In 1990 summer time ended in September, which the VTIMEZONE does not describe.
        assert_eq!(date_time(utc("1990-10-01T10:00:00Z")), ":19901001T100000Z");
    }

    #[test]
    fn the_vtimezone_rule_agrees_with_the_time_zone_database_every_hour_for_years() {
        let mut at = utc("2024-01-01T00:00:00Z");
        while at < utc("2032-01-01T00:00:00Z") {
            let database = ZONE.offset_from_utc_datetime(&at.naive_utc()).fix();
            assert_eq!(database.local_minus_utc(), eu_offset_seconds(at), "{at}");
            at += chrono::Duration::minutes(30);
        }
    }

    #[test]
    fn urls_with_spaces_or_breaks_are_left_out() {
        let mut with_url = event(FeedTime::At {
            starts: utc("2026-10-24T08:00:00Z"),
            ends: utc("2026-10-24T09:00:00Z"),
        });
        with_url.url = Some("https://school.test/calendar/events/7".into());
        assert!(
            write_feed("x", &[with_url.clone()])
                .contains("URL:https://school.test/calendar/events/7\r\n")
        );
        with_url.url = Some("https://school.test/\r\nX-EVIL:1".into());
        assert!(!write_feed("x", &[with_url]).contains("X-EVIL"));
    }
}
