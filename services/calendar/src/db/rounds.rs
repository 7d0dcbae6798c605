//! Conference rounds and their slots as the teacher's pages list and change them.

use chrono::{DateTime, NaiveDate, Utc};
use tenant_router::TenantTx;

/// A round in the teacher's list, with how many slots it has and how many are booked.
#[derive(Debug, sqlx::FromRow)]
pub struct ListedRound {
    pub id: i64,
    pub title: String,
    pub group_name: String,
    pub status: String,
    pub days: Vec<NaiveDate>,
    pub slots: i64,
    pub booked: i64,
}

/// The rounds of the groups a person teaches (every round when `admin`), latest first.
pub async fn listed(
    tx: &mut TenantTx,
    admin: bool,
    person_id: i64,
) -> Result<Vec<ListedRound>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.title, g.name AS group_name, r.status, r.days,
                (SELECT count(*) FROM conference_slots s WHERE s.round_id = r.id) AS slots,
                (SELECT count(*) FROM conference_bookings b WHERE b.round_id = r.id) AS booked
           FROM conference_rounds r JOIN groups g ON g.id = r.group_id
          WHERE $1 OR EXISTS (SELECT 1 FROM group_teachers t
                               WHERE t.group_id = r.group_id AND t.person_id = $2)
          ORDER BY r.days[1] DESC, r.id DESC",
    )
    .bind(admin)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// A slot of the round: its start, end and booking, if any.
pub async fn slot(
    tx: &mut TenantTx,
    round_id: i64,
    slot_id: i64,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>, Option<i64>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.starts_at, s.ends_at, b.id FROM conference_slots s
           LEFT JOIN conference_bookings b ON b.slot_id = s.id
          WHERE s.id = $1 AND s.round_id = $2",
    )
    .bind(slot_id)
    .bind(round_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Whether the slot is the round's.
pub async fn slot_exists(
    tx: &mut TenantTx,
    round_id: i64,
    slot_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conference_slots WHERE id = $1 AND round_id = $2)",
    )
    .bind(slot_id)
    .bind(round_id)
    .fetch_one(&mut **tx)
    .await
}

/// Inserts a slot; an overlap with another fails (see [`crate::rounds::is_overlap`]).
pub async fn insert_slot(
    tx: &mut TenantTx,
    round_id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO conference_slots (round_id, starts_at, ends_at) VALUES ($1, $2, $3)")
        .bind(round_id)
        .bind(starts_at)
        .bind(ends_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_slot(tx: &mut TenantTx, slot_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM conference_slots WHERE id = $1")
        .bind(slot_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_slots(tx: &mut TenantTx, slot_ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM conference_slots WHERE id = ANY($1)")
        .bind(slot_ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The round's other slots in the time from `from` to `until`, `(slot, booking)`.
pub async fn slots_between(
    tx: &mut TenantTx,
    round_id: i64,
    except_slot: i64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(i64, Option<i64>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, b.id FROM conference_slots s
           LEFT JOIN conference_bookings b ON b.slot_id = s.id
          WHERE s.round_id = $1 AND s.id <> $2 AND s.starts_at < $3 AND s.ends_at > $4",
    )
    .bind(round_id)
    .bind(except_slot)
    .bind(until)
    .bind(from)
    .fetch_all(&mut **tx)
    .await
}

/// Moves a slot's end; an overlap with another fails (see [`crate::rounds::is_overlap`]).
pub async fn set_slot_end(
    tx: &mut TenantTx,
    slot_id: i64,
    ends_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE conference_slots SET ends_at = $2 WHERE id = $1")
        .bind(slot_id)
        .bind(ends_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The slot of one of the round's bookings.
pub async fn slot_of_booking(
    tx: &mut TenantTx,
    round_id: i64,
    booking_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT slot_id FROM conference_bookings WHERE id = $1 AND round_id = $2")
        .bind(booking_id)
        .bind(round_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Publishes the round, with the invitation text mailed (if it was).
pub async fn publish(
    tx: &mut TenantTx,
    round_id: i64,
    invitation: Option<&str>,
    invitation_en: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conference_rounds
            SET status = 'published', published_at = now(), invitation_text = $2,
                invitation_text_en = $3
          WHERE id = $1",
    )
    .bind(round_id)
    .bind(invitation)
    .bind(invitation_en)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn close(tx: &mut TenantTx, round_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE conference_rounds SET status = 'closed', closed_at = now() WHERE id = $1")
        .bind(round_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the round, its slots with it.
pub async fn delete(tx: &mut TenantTx, round_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM conference_rounds WHERE id = $1")
        .bind(round_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The school's own invitation texts (`None`: the built-in one).
pub async fn save_invitation_texts(
    tx: &mut TenantTx,
    nl: Option<&str>,
    en: Option<&str>,
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conference_settings
            SET invitation_text = $1, invitation_text_en = $2, updated_by = $3, updated_at = now()",
    )
    .bind(nl)
    .bind(en)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
