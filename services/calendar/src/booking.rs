//! Booking a conference slot (K4, K6): when a parent may book, change or cancel, how a booking
//! is placed in one short transaction that cannot book a slot twice, and which free slots lie
//! next to a sibling's talk.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tenant_router::TenantTx;

use crate::rounds::{BookingMode, Round, RoundStatus, lock_slots};

/// Free slots at most this far from a sibling's talk count as "next to" it.
pub const NEXT_TO_SIBLING: Duration = Duration::minutes(15);

/// Whether parents may book in a round right now, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Availability {
    Open,
    /// Booking opens at `at` (for this family: the siblings' window when they have one).
    NotYet {
        at: DateTime<Utc>,
    },
    /// The cut-off passed at `since`: the times stand.
    PastCutoff {
        since: DateTime<Utc>,
    },
    /// The teacher closed the planning.
    Closed,
    /// Not published: parents do not see it.
    Draft,
}

impl Availability {
    /// The rules of fair start and cut-off for a round at `now`; `several_children`: the
    /// family has two or more children at school, which opens the siblings' window.
    pub fn of(round: &Round, now: DateTime<Utc>, several_children: bool) -> Self {
        match round.state() {
            RoundStatus::Draft => return Self::Draft,
            RoundStatus::Closed => return Self::Closed,
            RoundStatus::Published => {}
        }
        if let Some(since) = round.cutoff().filter(|c| now >= *c) {
            return Self::PastCutoff { since };
        }
        let opens = match (round.opens_at, round.siblings_open_at) {
            (Some(_), Some(early)) if several_children => Some(early),
            (opens, _) => opens,
        };
        match opens {
            Some(at) if now < at => Self::NotYet { at },
            _ => Self::Open,
        }
    }

    /// The reason to give when a booking is refused; `None` when it is open.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Open => None,
            Self::NotYet { .. } => Some("bookings.error.not_open_yet"),
            Self::PastCutoff { .. } => Some("bookings.error.past_cutoff"),
            Self::Closed => Some("bookings.error.closed"),
            Self::Draft => Some("bookings.error.not_published"),
        }
    }
}

/// How placing a booking ended. Only `Booked` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// The booking is made (or moved there from the family's earlier slot).
    Booked,
    /// The slot was already this family's (a second click, or a form sent twice).
    AlreadyTheirs,
    /// Someone else has the slot.
    Taken,
    /// The family's booking moved while this request waited (another tab, the other
    /// parent); nothing was changed, the page shows where it is now.
    ChangedMeanwhile,
}

/// Who a booking is for: a child, and in `per_parent` mode the parent whose talk it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booker {
    pub pupil_id: i64,
    pub parent_id: Option<i64>,
    /// Who acts: the parent, or the teacher assigning the slot.
    pub by: i64,
    pub assigned: bool,
}

impl Booker {
    /// The parent's own booking for their child, as the round's mode has it.
    pub fn parent(mode: BookingMode, pupil_id: i64, person_id: i64) -> Self {
        Self {
            pupil_id,
            parent_id: (mode == BookingMode::PerParent).then_some(person_id),
            by: person_id,
            assigned: false,
        }
    }
}

/// The family's booking in the round, if any: (booking id, slot id).
async fn current(
    tx: &mut TenantTx,
    round_id: i64,
    who: &Booker,
    lock: bool,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let sql = if lock {
        "SELECT id, slot_id FROM conference_bookings
          WHERE round_id = $1 AND pupil_id = $2 AND parent_id IS NOT DISTINCT FROM $3
            FOR UPDATE"
    } else {
        "SELECT id, slot_id FROM conference_bookings
          WHERE round_id = $1 AND pupil_id = $2 AND parent_id IS NOT DISTINCT FROM $3"
    };
    sqlx::query_as(sql)
        .bind(round_id)
        .bind(who.pupil_id)
        .bind(who.parent_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Books `slot_id` of `round` for `who`, moving the family's earlier booking in the round (if
/// any) in the same step, so the old slot is free exactly when the new one is taken.
///
/// The caller has checked the round (status, opening, cut-off, that the child is in its
/// group) with the round's row held shared, so closing the round waits for this transaction.
/// Then: the slots involved are locked in id order — every writer of bookings does so — after
/// which whether the slot is free is known for certain; the write is one statement; the
/// unique constraints stay as the last word. Nothing is written unless it returns `Booked`.
pub async fn place(
    tx: &mut TenantTx,
    round: &Round,
    slot_id: i64,
    who: &Booker,
) -> Result<Placed, sqlx::Error> {
    let seen = current(tx, round.id, who, false).await?;
    if seen.is_some_and(|(_, slot)| slot == slot_id) {
        return Ok(Placed::AlreadyTheirs);
    }
    let mut touched = vec![slot_id];
    touched.extend(seen.map(|(_, slot)| slot));
    lock_slots(tx, &touched).await?;
    let now = current(tx, round.id, who, true).await?;
    if now != seen {
        return Ok(if now.is_some_and(|(_, slot)| slot == slot_id) {
            Placed::AlreadyTheirs
        } else {
            Placed::ChangedMeanwhile
        });
    }
    let holder: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT pupil_id, parent_id FROM conference_bookings WHERE slot_id = $1")
            .bind(slot_id)
            .fetch_optional(&mut **tx)
            .await?;
    if holder.is_some() {
        return Ok(Placed::Taken);
    }
    let written = match now {
        Some((booking_id, _)) => sqlx::query(
            "UPDATE conference_bookings
                SET slot_id = $2, booked_by = $3, assigned = $4, booked_at = now()
              WHERE id = $1",
        )
        .bind(booking_id)
        .bind(slot_id)
        .bind(who.by)
        .bind(who.assigned)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        None => sqlx::query(
            "INSERT INTO conference_bookings (round_id, slot_id, pupil_id, parent_id,
                                              booking_mode, booked_by, assigned)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .bind(round.id)
        .bind(slot_id)
        .bind(who.pupil_id)
        .bind(who.parent_id)
        .bind(&round.booking_mode)
        .bind(who.by)
        .bind(who.assigned)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    Ok(if written == 1 {
        Placed::Booked
    } else {
        Placed::Taken
    })
}

/// Removes a booking (a parent's cancellation or the teacher's), its slot locked first like
/// every other change; returns whether there was one.
pub async fn remove(tx: &mut TenantTx, booking_id: i64, slot_id: i64) -> Result<bool, sqlx::Error> {
    lock_slots(tx, &[slot_id]).await?;
    let removed = sqlx::query("DELETE FROM conference_bookings WHERE id = $1 AND slot_id = $2")
        .bind(booking_id)
        .bind(slot_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(removed == 1)
}

/// A sibling's booked talk, for placing another child's talk next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiblingTalk {
    pub pupil_id: i64,
    pub child: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// How a free slot relates to the siblings' talks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NextTo {
    /// The sibling whose talk ends when this one starts (or starts when it ends), within
    /// [`NEXT_TO_SIBLING`].
    pub sibling: Option<String>,
    /// The sibling whose talk is at the same time.
    pub clash: Option<String>,
}

/// Where a slot of `for_pupil` stands to the other children's talks.
pub fn next_to(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    for_pupil: i64,
    siblings: &[SiblingTalk],
) -> NextTo {
    let mut result = NextTo::default();
    let mut nearest: Option<Duration> = None;
    for talk in siblings.iter().filter(|t| t.pupil_id != for_pupil) {
        if talk.starts_at < ends_at && starts_at < talk.ends_at {
            result.clash.get_or_insert_with(|| talk.child.clone());
            continue;
        }
        let gap = if talk.ends_at <= starts_at {
            starts_at - talk.ends_at
        } else {
            talk.starts_at - ends_at
        };
        if gap <= NEXT_TO_SIBLING && nearest.is_none_or(|n| gap < n) {
            nearest = Some(gap);
            result.sibling = Some(talk.child.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime, TimeZone};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 10, h, m, 0).unwrap()
    }

    fn round(status: &str) -> Round {
        Round {
            id: 1,
            group_id: 1,
            group_name: "Groep 3".into(),
            title: "Gesprekken".into(),
            talks: 10,
            talk_minutes: 10,
            talks_before_break: 0,
            break_minutes: 0,
            days: vec![NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()],
            day_start: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
            day_end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            booking_mode: "shared".into(),
            change_until_days: None,
            opens_at: None,
            siblings_open_at: None,
            message: String::new(),
            invitation_text: None,
            invitation_text_en: None,
            status: status.into(),
            published_at: Some(at(8, 0)),
            closed_at: None,
        }
    }

    #[test]
    fn a_round_opens_at_its_moment_and_earlier_for_families_with_several_children() {
        let fair = Round {
            opens_at: Some(at(19, 0)),
            siblings_open_at: Some(at(18, 0)),
            ..round("published")
        };
        assert_eq!(
            Availability::of(&fair, at(17, 59), true),
            Availability::NotYet { at: at(18, 0) }
        );
        assert_eq!(Availability::of(&fair, at(18, 0), true), Availability::Open);
        assert_eq!(
            Availability::of(&fair, at(18, 30), false),
            Availability::NotYet { at: at(19, 0) }
        );
        assert_eq!(
            Availability::of(&fair, at(19, 0), false),
            Availability::Open
        );
        assert_eq!(
            Availability::of(&round("published"), at(0, 0), false),
            Availability::Open
        );
        assert_eq!(
            Availability::of(&round("closed"), at(20, 0), true),
            Availability::Closed
        );
        assert_eq!(
            Availability::of(&round("draft"), at(20, 0), true),
            Availability::Draft
        );
    }

    #[test]
    fn the_cutoff_ends_booking_and_changes() {
        let round = Round {
            change_until_days: Some(3),
            ..round("published")
        };
        // 20 November minus 3 days: midnight starting 17 November, 23:00 UTC on the 16th.
        let cutoff = Utc.with_ymd_and_hms(2026, 11, 16, 23, 0, 0).unwrap();
        assert_eq!(
            Availability::of(&round, cutoff - Duration::seconds(1), false),
            Availability::Open
        );
        assert_eq!(
            Availability::of(&round, cutoff, false),
            Availability::PastCutoff { since: cutoff }
        );
    }

    #[test]
    fn slots_next_to_a_siblings_talk_are_found_and_clashes_named() {
        let siblings = vec![
            SiblingTalk {
                pupil_id: 2,
                child: "Sanne".into(),
                starts_at: at(16, 0),
                ends_at: at(16, 10),
            },
            SiblingTalk {
                pupil_id: 1,
                child: "Daan".into(),
                starts_at: at(15, 0),
                ends_at: at(15, 10),
            },
        ];
        // Right after Sanne's talk.
        assert_eq!(
            next_to(at(16, 10), at(16, 20), 1, &siblings)
                .sibling
                .as_deref(),
            Some("Sanne")
        );
        // Ten minutes before it.
        assert_eq!(
            next_to(at(15, 40), at(15, 50), 1, &siblings)
                .sibling
                .as_deref(),
            Some("Sanne")
        );
        // Too far away, and a child's own talk is no sibling's.
        assert_eq!(
            next_to(at(15, 10), at(15, 20), 1, &siblings),
            NextTo::default()
        );
        // At the same time.
        let clash = next_to(at(16, 5), at(16, 15), 1, &siblings);
        assert_eq!(clash.clash.as_deref(), Some("Sanne"));
        assert_eq!(clash.sibling, None);
    }
}
