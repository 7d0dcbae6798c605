//! Conference rounds, slots and bookings as the parents' conference page reads them.

use chrono::{DateTime, Utc};
use tenant_router::TenantTx;

use crate::rounds::{PUPIL_NAME, ROUND_COLUMNS, Round};

/// A child at school, in a group.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Child {
    pub id: i64,
    pub name: String,
    pub group_id: i64,
}

/// A slot of a round with its booking, if any.
#[derive(Debug, sqlx::FromRow)]
pub struct SlotState {
    pub id: i64,
    pub round_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub booking_id: Option<i64>,
    pub pupil_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub booked_by: Option<String>,
    pub assigned: Option<bool>,
}

/// What a parent's family looks like to the booking rules: their children at school.
pub async fn children_of(tx: &mut TenantTx, person_id: i64) -> Result<Vec<Child>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT pu.id, {PUPIL_NAME} AS name, pu.group_id
           FROM guardians gu JOIN pupils pu ON pu.id = gu.pupil_id
          WHERE gu.person_id = $1 AND gu.status = 'active' AND pu.left_at IS NULL
            AND pu.group_id IS NOT NULL
          ORDER BY pu.date_of_birth, pu.id"
    )))
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// The rounds of these groups that parents see (published or closed), by first day.
pub async fn published_rounds(
    tx: &mut TenantTx,
    group_ids: &[i64],
) -> Result<Vec<Round>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS} FROM conference_rounds r JOIN groups g ON g.id = r.group_id
          WHERE r.group_id = ANY($1) AND r.status <> 'draft'
          ORDER BY r.days[1], r.id"
    )))
    .bind(group_ids)
    .fetch_all(&mut **tx)
    .await
}

/// Every slot of these rounds with its booking and who booked it, by time.
pub async fn slots_of_rounds(
    tx: &mut TenantTx,
    round_ids: &[i64],
) -> Result<Vec<SlotState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.round_id, s.starts_at, s.ends_at, b.id AS booking_id, b.pupil_id,
                b.parent_id, booker.name AS booked_by, b.assigned
           FROM conference_slots s
           LEFT JOIN conference_bookings b ON b.slot_id = s.id
           LEFT JOIN people booker ON booker.id = b.booked_by
          WHERE s.round_id = ANY($1)
          ORDER BY s.starts_at, s.id",
    )
    .bind(round_ids)
    .fetch_all(&mut **tx)
    .await
}

/// The database's clock (the transaction's start).
pub async fn now(tx: &mut TenantTx) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut **tx)
        .await
}

/// A booking's `(slot, pupil, parent)`.
pub async fn booking(
    tx: &mut TenantTx,
    booking_id: i64,
) -> Result<Option<(i64, i64, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("SELECT slot_id, pupil_id, parent_id FROM conference_bookings WHERE id = $1")
        .bind(booking_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The round of a slot, held shared until the transaction ends: closing the round (which
/// updates that row) waits for this booking, and a booking after the close sees it closed.
pub async fn round_of_slot(tx: &mut TenantTx, slot_id: i64) -> Result<Option<Round>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS}
           FROM conference_slots s
           JOIN conference_rounds r ON r.id = s.round_id
           JOIN groups g ON g.id = r.group_id
          WHERE s.id = $1
            FOR SHARE OF r"
    )))
    .bind(slot_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Whether the child is the viewer's (in effect, at school) and in the group, how many
/// children at school the viewer has, and the database's clock, in one query.
pub async fn family_check(
    tx: &mut TenantTx,
    person_id: i64,
    pupil_id: i64,
    group_id: i64,
) -> Result<(bool, i64, DateTime<Utc>), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM guardians gu JOIN pupils pu ON pu.id = gu.pupil_id
                         WHERE gu.person_id = $1 AND gu.pupil_id = $2 AND gu.status = 'active'
                           AND pu.left_at IS NULL AND pu.group_id = $3),
                (SELECT count(*) FROM guardians gu JOIN pupils pu ON pu.id = gu.pupil_id
                  WHERE gu.person_id = $1 AND gu.status = 'active' AND pu.left_at IS NULL),
                now()",
    )
    .bind(person_id)
    .bind(pupil_id)
    .bind(group_id)
    .fetch_one(&mut **tx)
    .await
}

/// A published round of a child's group in which the child has no talk yet.
#[derive(Debug, sqlx::FromRow)]
pub struct UnbookedRound {
    #[sqlx(flatten)]
    pub round: Round,
    pub pupil_id: i64,
    /// The child's first name.
    pub child: String,
}

/// The published rounds of the groups of this parent's children at school where a child has
/// no talk yet: none at all in a shared round, none of this parent's in a per-parent one.
pub async fn unbooked_rounds(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<UnbookedRound>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS}, pu.id AS pupil_id, pu.first_name AS child
           FROM guardians gu
           JOIN pupils pu ON pu.id = gu.pupil_id
           JOIN conference_rounds r ON r.group_id = pu.group_id
           JOIN groups g ON g.id = r.group_id
          WHERE gu.person_id = $1 AND gu.status = 'active' AND pu.left_at IS NULL
            AND r.status = 'published'
            AND NOT EXISTS (SELECT 1 FROM conference_bookings b
                             WHERE b.round_id = r.id AND b.pupil_id = pu.id
                               AND (b.parent_id IS NULL OR b.parent_id = $1))
          ORDER BY r.days[1], r.id, pu.date_of_birth, pu.id"
    )))
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// How many children at school this parent has (two or more open the siblings' window).
pub async fn children_at_school(tx: &mut TenantTx, person_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM guardians gu JOIN pupils pu ON pu.id = gu.pupil_id
          WHERE gu.person_id = $1 AND gu.status = 'active' AND pu.left_at IS NULL
            AND pu.group_id IS NOT NULL",
    )
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}
