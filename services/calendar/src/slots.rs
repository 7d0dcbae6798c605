//! Slot generation for a conference round (K3): from the round's parameters to its talks' local
//! times, or a typed reason, naming the field, why they do not fit. Pure: no clock, no database.

use std::fmt;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Extra days a round may have besides its start date (seed 000: "maximaal vier extra dagen").
pub const MAX_EXTRA_DAYS: usize = 4;
/// Talks one round may have: a big group with every parent on their own is about 70; the rest
/// is headroom, and a bound keeps one form from making a table of thousands of rows.
pub const MAX_TALKS: u16 = 300;
/// The shortest talk worth planning.
pub const MIN_TALK_MINUTES: u16 = 5;
/// The longest talk (and the longest break).
pub const MAX_TALK_MINUTES: u16 = 120;
pub const MAX_BREAK_MINUTES: u16 = 120;

/// What the teacher fills in (seed 000): how many talks, how long, how many before a break and
/// how long the break, on which days between which local times (Europe/Amsterdam).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundPlan {
    pub talks: u16,
    pub talk_minutes: u16,
    /// After this many talks in a row comes a break; 0: no breaks.
    pub talks_before_break: u16,
    pub break_minutes: u16,
    pub start_date: NaiveDate,
    /// At most [`MAX_EXTRA_DAYS`], each after the start date, none twice.
    pub extra_days: Vec<NaiveDate>,
    pub day_start: NaiveTime,
    pub day_end: NaiveTime,
}

/// One talk's local date and times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalSlot {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Why a plan gives no slots. Each names the form field to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    NoTalks,
    TooManyTalks {
        max: u16,
    },
    TalkTooShort {
        min: u16,
    },
    TalkTooLong {
        max: u16,
    },
    BreakTooLong {
        max: u16,
    },
    /// The day ends at or before it starts.
    EndNotAfterStart,
    TooManyExtraDays {
        max: usize,
    },
    /// An extra day on or before the start date.
    ExtraDayNotAfterStart {
        day: NaiveDate,
    },
    ExtraDayTwice {
        day: NaiveDate,
    },
    /// The talks do not fit in the days' hours.
    DoesNotFit {
        talks: u16,
        talk_minutes: u16,
        /// How long the talks with their breaks take in one run.
        needed_minutes: u32,
        /// The hours of all the days together.
        available_minutes: u32,
        /// How many talks the days hold, breaks included.
        capacity: u32,
    },
    /// A time that the clock skips or passes twice on that day (daylight saving change).
    ClockChange {
        date: NaiveDate,
    },
}

impl SlotError {
    /// The form field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NoTalks | Self::TooManyTalks { .. } | Self::DoesNotFit { .. } => "talks",
            Self::TalkTooShort { .. } | Self::TalkTooLong { .. } => "talk_minutes",
            Self::BreakTooLong { .. } => "break_minutes",
            Self::EndNotAfterStart => "day_end",
            Self::TooManyExtraDays { .. }
            | Self::ExtraDayNotAfterStart { .. }
            | Self::ExtraDayTwice { .. } => "extra_days",
            Self::ClockChange { .. } => "day_start",
        }
    }

    /// The catalogue key of the reason; its text takes the placeholders of [`Self::values`].
    pub fn key(&self) -> &'static str {
        match self {
            Self::NoTalks => "rounds.error.no_talks",
            Self::TooManyTalks { .. } => "rounds.error.too_many_talks",
            Self::TalkTooShort { .. } => "rounds.error.talk_too_short",
            Self::TalkTooLong { .. } => "rounds.error.talk_too_long",
            Self::BreakTooLong { .. } => "rounds.error.break_too_long",
            Self::EndNotAfterStart => "rounds.error.end_not_after_start",
            Self::TooManyExtraDays { .. } => "rounds.error.too_many_extra_days",
            Self::ExtraDayNotAfterStart { .. } => "rounds.error.extra_day_not_after_start",
            Self::ExtraDayTwice { .. } => "rounds.error.extra_day_twice",
            Self::DoesNotFit { .. } => "rounds.error.does_not_fit",
            Self::ClockChange { .. } => "rounds.error.clock_change",
        }
    }

    /// The numbers and dates the reason's text speaks of, as `{name}` placeholders.
    pub fn values(&self) -> Vec<(&'static str, String)> {
        let day = |d: &NaiveDate| d.format("%d-%m-%Y").to_string();
        match self {
            Self::TooManyTalks { max } => vec![("max", max.to_string())],
            Self::TalkTooShort { min } => vec![("min", min.to_string())],
            Self::TalkTooLong { max } | Self::BreakTooLong { max } => {
                vec![("max", max.to_string())]
            }
            Self::TooManyExtraDays { max } => vec![("max", max.to_string())],
            Self::ExtraDayNotAfterStart { day: d }
            | Self::ExtraDayTwice { day: d }
            | Self::ClockChange { date: d } => vec![("day", day(d))],
            Self::DoesNotFit {
                talks,
                talk_minutes,
                needed_minutes,
                available_minutes,
                capacity,
            } => vec![
                ("talks", talks.to_string()),
                ("minutes", talk_minutes.to_string()),
                ("needed", hours(*needed_minutes)),
                ("available", hours(*available_minutes)),
                ("capacity", capacity.to_string()),
            ],
            Self::NoTalks | Self::EndNotAfterStart => Vec::new(),
        }
    }

    /// The reason in a language's text for it: `{name}` placeholders filled in.
    pub fn describe(&self, text: &str) -> String {
        self.values()
            .into_iter()
            .fold(text.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), &value)
            })
    }
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DoesNotFit {
                talks,
                talk_minutes,
                needed_minutes,
                available_minutes,
                capacity,
            } => write!(
                f,
                "{talks} talks of {talk_minutes} minutes with these breaks need {} hours; \
                 the days give {} (room for {capacity} talks)",
                hours(*needed_minutes),
                hours(*available_minutes)
            ),
            other => {
                write!(f, "{}: {}", other.field(), other.key())?;
                for (name, value) in other.values() {
                    write!(f, " {name}={value}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SlotError {}

/// Minutes as `h:mm`.
pub fn hours(minutes: u32) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

impl RoundPlan {
    /// Every day of the round, the start date first, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        let mut days = vec![self.start_date];
        days.extend(&self.extra_days);
        days.sort_unstable();
        days
    }

    /// Minutes `n` talks take in one run, with a break after every `talks_before_break`
    /// (none after the last).
    pub fn minutes_for(&self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let breaks = match self.talks_before_break {
            0 => 0,
            k => (n - 1) / u32::from(k),
        };
        n * u32::from(self.talk_minutes) + breaks * u32::from(self.break_minutes)
    }

    fn day_minutes(&self) -> u32 {
        let minutes = (self.day_end - self.day_start).num_minutes();
        u32::try_from(minutes).unwrap_or(0)
    }

    /// Talks one day holds.
    pub fn talks_per_day(&self) -> u32 {
        let day = self.day_minutes();
        let length = u32::from(self.talk_minutes.max(1));
        // Each talk takes at least its own length, so this bounds the count from above.
        let mut n = day / length;
        while n > 0 && self.minutes_for(n) > day {
            n -= 1;
        }
        n
    }

    /// Checks the plan's fields, each on its own, before anything is computed from them.
    fn check(&self) -> Result<(), SlotError> {
        if self.talks == 0 {
            return Err(SlotError::NoTalks);
        }
        if self.talks > MAX_TALKS {
            return Err(SlotError::TooManyTalks { max: MAX_TALKS });
        }
        if self.talk_minutes < MIN_TALK_MINUTES {
            return Err(SlotError::TalkTooShort {
                min: MIN_TALK_MINUTES,
            });
        }
        if self.talk_minutes > MAX_TALK_MINUTES {
            return Err(SlotError::TalkTooLong {
                max: MAX_TALK_MINUTES,
            });
        }
        if self.break_minutes > MAX_BREAK_MINUTES {
            return Err(SlotError::BreakTooLong {
                max: MAX_BREAK_MINUTES,
            });
        }
        if self.day_end <= self.day_start {
            return Err(SlotError::EndNotAfterStart);
        }
        if self.extra_days.len() > MAX_EXTRA_DAYS {
            return Err(SlotError::TooManyExtraDays {
                max: MAX_EXTRA_DAYS,
            });
        }
        for (i, day) in self.extra_days.iter().enumerate() {
            if *day <= self.start_date {
                return Err(SlotError::ExtraDayNotAfterStart { day: *day });
            }
            if self.extra_days[..i].contains(day) {
                return Err(SlotError::ExtraDayTwice { day: *day });
            }
        }
        Ok(())
    }

    /// The talks, day by day from the first: each day from its start time, a break after every
    /// `talks_before_break` talks of that day, as many as the day's end allows, until the count
    /// asked for is reached. Days not needed stay empty.
    pub fn slots(&self) -> Result<Vec<LocalSlot>, SlotError> {
        self.check()?;
        let days = self.days();
        let per_day = self.talks_per_day();
        let capacity = per_day * days.len() as u32;
        if u32::from(self.talks) > capacity {
            return Err(SlotError::DoesNotFit {
                talks: self.talks,
                talk_minutes: self.talk_minutes,
                needed_minutes: self.minutes_for(u32::from(self.talks)),
                available_minutes: self.day_minutes() * days.len() as u32,
                capacity,
            });
        }
        let length = Duration::minutes(i64::from(self.talk_minutes));
        let pause = Duration::minutes(i64::from(self.break_minutes));
        let mut slots = Vec::with_capacity(usize::from(self.talks));
        for date in days {
            let mut start = self.day_start;
            for n in 1..=per_day {
                if slots.len() == usize::from(self.talks) {
                    return Ok(slots);
                }
                let end = start + length;
                slots.push(LocalSlot { date, start, end });
                start = end;
                if self.talks_before_break > 0
                    && n.is_multiple_of(u32::from(self.talks_before_break))
                {
                    start += pause;
                }
            }
        }
        Ok(slots)
    }
}

/// A local time on a date in the school's zone as an instant; a time the clock skips or passes
/// twice that day is refused rather than guessed.
pub fn to_utc(date: NaiveDate, time: NaiveTime) -> Result<DateTime<Utc>, SlotError> {
    match crate::zone::ZONE.from_local_datetime(&NaiveDateTime::new(date, time)) {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(..) | LocalResult::None => Err(SlotError::ClockChange { date }),
    }
}

impl LocalSlot {
    /// The slot's start and end as instants.
    pub fn instants(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), SlotError> {
        Ok((to_utc(self.date, self.start)?, to_utc(self.date, self.end)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// Seed 000's form filled in as a teacher typically does: 20 talks of 10 minutes, a
    /// 10-minute break after every 5, from 15:00 to 18:30, and one extra day.
    fn seed_example() -> RoundPlan {
        RoundPlan {
            talks: 20,
            talk_minutes: 10,
            talks_before_break: 5,
            break_minutes: 10,
            start_date: date(2026, 11, 10),
            extra_days: vec![date(2026, 11, 12)],
            day_start: time(15, 0),
            day_end: time(18, 30),
        }
    }

    fn times(slots: &[LocalSlot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| {
                format!(
                    "{} {}-{}",
                    s.date,
                    s.start.format("%H:%M"),
                    s.end.format("%H:%M")
                )
            })
            .collect()
    }

    #[test]
    fn the_seed_example_fills_the_first_day_with_breaks_after_every_five() {
        let slots = seed_example().slots().unwrap();
        assert_eq!(slots.len(), 20);
        let times = times(&slots);
        assert_eq!(times[0], "2026-11-10 15:00-15:10");
        assert_eq!(times[4], "2026-11-10 15:40-15:50");
        // The break after the fifth talk.
        assert_eq!(times[5], "2026-11-10 16:00-16:10");
        assert_eq!(times[10], "2026-11-10 17:00-17:10");
        assert_eq!(times[15], "2026-11-10 18:00-18:10");
        assert_eq!(times[17], "2026-11-10 18:20-18:30");
        // 18 fit on the first day; the rest go to the extra day.
        assert_eq!(times[18], "2026-11-12 15:00-15:10");
        assert_eq!(times[19], "2026-11-12 15:10-15:20");
    }

    #[test]
    fn days_not_needed_stay_empty_and_extra_days_are_used_in_date_order() {
        let mut plan = seed_example();
        plan.talks = 40;
        plan.extra_days = vec![date(2026, 11, 17), date(2026, 11, 12)];
        let slots = plan.slots().unwrap();
        let days: Vec<NaiveDate> = slots.iter().map(|s| s.date).collect();
        assert_eq!(
            days.iter().filter(|d| **d == date(2026, 11, 10)).count(),
            18
        );
        assert_eq!(
            days.iter().filter(|d| **d == date(2026, 11, 12)).count(),
            18
        );
        assert_eq!(days.iter().filter(|d| **d == date(2026, 11, 17)).count(), 4);
        assert!(days.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn too_many_talks_for_the_days_say_how_long_they_need_and_what_the_days_give() {
        let plan = RoundPlan {
            talks: 40,
            talk_minutes: 15,
            talks_before_break: 4,
            break_minutes: 10,
            start_date: date(2026, 11, 10),
            extra_days: vec![],
            day_start: time(12, 0),
            day_end: time(20, 0),
        };
        let error = plan.slots().unwrap_err();
        assert_eq!(error.field(), "talks");
        // 40 × 15 = 600 minutes and 9 breaks of 10 = 690 minutes = 11:30.
        assert_eq!(
            error,
            SlotError::DoesNotFit {
                talks: 40,
                talk_minutes: 15,
                needed_minutes: 690,
                available_minutes: 480,
                capacity: 28,
            }
        );
        assert_eq!(
            error.to_string(),
            "40 talks of 15 minutes with these breaks need 11:30 hours; the days give 8:00 \
             (room for 28 talks)"
        );
        assert_eq!(
            error.describe("{talks}×{minutes}: {needed} > {available} ({capacity})"),
            "40×15: 11:30 > 8:00 (28)"
        );
    }

    #[test]
    fn bad_input_names_its_field() {
        let base = seed_example();
        let cases: Vec<(RoundPlan, &str, &str)> = vec![
            (
                RoundPlan {
                    day_end: time(14, 0),
                    ..base.clone()
                },
                "day_end",
                "rounds.error.end_not_after_start",
            ),
            (
                RoundPlan {
                    day_end: time(15, 0),
                    ..base.clone()
                },
                "day_end",
                "rounds.error.end_not_after_start",
            ),
            (
                RoundPlan {
                    talk_minutes: 0,
                    ..base.clone()
                },
                "talk_minutes",
                "rounds.error.talk_too_short",
            ),
            (
                RoundPlan {
                    talk_minutes: 500,
                    ..base.clone()
                },
                "talk_minutes",
                "rounds.error.talk_too_long",
            ),
            (
                RoundPlan {
                    talks: 0,
                    ..base.clone()
                },
                "talks",
                "rounds.error.no_talks",
            ),
            (
                RoundPlan {
                    talks: 500,
                    ..base.clone()
                },
                "talks",
                "rounds.error.too_many_talks",
            ),
            (
                RoundPlan {
                    break_minutes: 121,
                    ..base.clone()
                },
                "break_minutes",
                "rounds.error.break_too_long",
            ),
            (
                RoundPlan {
                    extra_days: (11..=15).map(|d| date(2026, 11, d)).collect(),
                    ..base.clone()
                },
                "extra_days",
                "rounds.error.too_many_extra_days",
            ),
            (
                RoundPlan {
                    extra_days: vec![date(2026, 11, 9)],
                    ..base.clone()
                },
                "extra_days",
                "rounds.error.extra_day_not_after_start",
            ),
            (
                RoundPlan {
                    extra_days: vec![date(2026, 11, 10)],
                    ..base.clone()
                },
                "extra_days",
                "rounds.error.extra_day_not_after_start",
            ),
            (
                RoundPlan {
                    extra_days: vec![date(2026, 11, 12), date(2026, 11, 12)],
                    ..base.clone()
                },
                "extra_days",
                "rounds.error.extra_day_twice",
            ),
        ];
        for (plan, field, key) in cases {
            let error = plan.slots().unwrap_err();
            assert_eq!((error.field(), error.key()), (field, key), "{plan:?}");
        }
    }

    #[test]
    fn three_hundred_talks_in_one_day_do_not_fit_and_say_so() {
        let plan = RoundPlan {
            talks: 300,
            talk_minutes: 10,
            talks_before_break: 0,
            break_minutes: 0,
            extra_days: vec![],
            day_start: time(8, 0),
            day_end: time(22, 0),
            ..seed_example()
        };
        match plan.slots().unwrap_err() {
            SlotError::DoesNotFit {
                needed_minutes,
                available_minutes,
                capacity,
                ..
            } => assert_eq!(
                (needed_minutes, available_minutes, capacity),
                (3000, 840, 84)
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn instants_follow_the_clock_change() {
        // Summer time starts on Sunday 29 March 2026; the talks' local times stay the same.
        let before = LocalSlot {
            date: date(2026, 3, 28),
            start: time(10, 0),
            end: time(10, 15),
        };
        let after = LocalSlot {
            date: date(2026, 3, 29),
            ..before
        };
        assert_eq!(
            before.instants().unwrap().0.to_rfc3339(),
            "2026-03-28T09:00:00+00:00"
        );
        assert_eq!(
            after.instants().unwrap().0.to_rfc3339(),
            "2026-03-29T08:00:00+00:00"
        );
        assert_eq!(
            crate::zone::local(after.instants().unwrap().1).time(),
            time(10, 15)
        );
        // 02:30 does not exist that night; 02:30 on 25 October 2026 happens twice.
        assert_eq!(
            to_utc(date(2026, 3, 29), time(2, 30)),
            Err(SlotError::ClockChange {
                date: date(2026, 3, 29)
            })
        );
        assert!(to_utc(date(2026, 10, 25), time(2, 30)).is_err());
    }

    fn any_plan() -> impl Strategy<Value = RoundPlan> {
        (
            1u16..=120,
            5u16..=60,
            0u16..=8,
            0u16..=30,
            0usize..=4,
            0u32..(24 * 60),
            0u32..(24 * 60),
        )
            .prop_map(|(talks, minutes, k, pause, extra, a, b)| {
                let (from, to) = (a.min(b), a.max(b));
                let start_date = date(2026, 6, 1);
                RoundPlan {
                    talks,
                    talk_minutes: minutes,
                    talks_before_break: k,
                    break_minutes: pause,
                    start_date,
                    extra_days: (1..=extra as u64)
                        .map(|d| start_date + chrono::Days::new(d * 2))
                        .collect(),
                    day_start: NaiveTime::from_num_seconds_from_midnight_opt(from * 60, 0).unwrap(),
                    day_end: NaiveTime::from_num_seconds_from_midnight_opt(to * 60, 0).unwrap(),
                }
            })
    }

    /// Talks one day holds, counted independently of the generator: the largest `n` whose run
    /// (n talks, a break after every k but not after the last) fits in the day.
    fn room(plan: &RoundPlan) -> u32 {
        let day = (plan.day_end - plan.day_start).num_minutes() as u32;
        (0..=day)
            .take_while(|&n| {
                let breaks = if plan.talks_before_break == 0 || n == 0 {
                    0
                } else {
                    (n - 1) / u32::from(plan.talks_before_break)
                };
                n * u32::from(plan.talk_minutes) + breaks * u32::from(plan.break_minutes) <= day
            })
            .last()
            .unwrap_or(0)
    }

    proptest! {
        #[test]
        fn slots_never_overlap_keep_their_breaks_stay_in_hours_and_count_what_was_asked(
            plan in any_plan()
        ) {
            match plan.slots() {
                Ok(slots) => {
                    prop_assert_eq!(slots.len(), usize::from(plan.talks));
                    let days = plan.days();
                    let length = Duration::minutes(i64::from(plan.talk_minutes));
                    for day in &days {
                        let today: Vec<&LocalSlot> = slots.iter().filter(|s| s.date == *day).collect();
                        if let Some(first) = today.first() {
                            prop_assert_eq!(first.start, plan.day_start);
                        }
                        for (i, slot) in today.iter().enumerate() {
                            prop_assert_eq!(slot.end - slot.start, length);
                            prop_assert!(slot.start >= plan.day_start);
                            prop_assert!(slot.end <= plan.day_end);
                            if let Some(next) = today.get(i + 1) {
                                let gap = next.start - slot.end;
                                let talk_number = i as u16 + 1;
                                let wanted = if plan.talks_before_break > 0
                                    && talk_number.is_multiple_of(plan.talks_before_break)
                                {
                                    Duration::minutes(i64::from(plan.break_minutes))
                                } else {
                                    Duration::zero()
                                };
                                // No overlap, and a break exactly where asked, nowhere else.
                                prop_assert_eq!(gap, wanted);
                            }
                        }
                    }
                    // Days are filled in order: a later day is used only when the earlier
                    // ones are full.
                    let per_day = room(&plan) as usize;
                    for (i, day) in days.iter().enumerate() {
                        let used = slots.iter().filter(|s| s.date == *day).count();
                        let before = slots.iter().filter(|s| s.date < *day).count();
                        if before + per_day <= usize::from(plan.talks) {
                            prop_assert_eq!(used, per_day, "day {} is full", i);
                        }
                    }
                    prop_assert!(slots.windows(2).all(|w| w[0] < w[1]));
                }
                Err(SlotError::DoesNotFit { capacity, needed_minutes, available_minutes, .. }) => {
                    let days = plan.days().len() as u32;
                    prop_assert_eq!(capacity, room(&plan) * days);
                    prop_assert!(u32::from(plan.talks) > capacity);
                    prop_assert_eq!(needed_minutes, plan.minutes_for(u32::from(plan.talks)));
                    prop_assert_eq!(
                        available_minutes,
                        (plan.day_end - plan.day_start).num_minutes() as u32 * days
                    );
                }
                Err(SlotError::EndNotAfterStart) => prop_assert!(plan.day_end <= plan.day_start),
                Err(other) => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            }
        }
    }
}
