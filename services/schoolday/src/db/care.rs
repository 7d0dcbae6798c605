//! The SQL of after-school care and lunch (D3): moments, places taken per day, sign-ups, the
//! day list with allergies, and the month per family for the billing.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// A pupil's name as the school writes it.
const CHILD_NAME: &str = "concat_ws(' ', pu.first_name, nullif(pu.name_prefix, ''), pu.last_name)";

pub async fn signup_until(tx: &mut TenantTx) -> Result<NaiveTime, sqlx::Error> {
    sqlx::query_scalar("SELECT signup_until FROM care_settings")
        .fetch_one(&mut **tx)
        .await
}

pub async fn save_signup_until(tx: &mut TenantTx, until: NaiveTime) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE care_settings SET signup_until = $1, updated_at = now()")
        .bind(until)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A care moment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Moment {
    pub id: i64,
    pub name: String,
    pub weekdays: Vec<i16>,
    pub capacity: i32,
    pub price_cents: i32,
    pub active: bool,
}

/// The school's moments (only those taking sign-ups when `active_only`), by name.
pub async fn moments(tx: &mut TenantTx, active_only: bool) -> Result<Vec<Moment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, weekdays, capacity, price_cents, active FROM care_moments
          WHERE active OR NOT $1 ORDER BY NOT active, name, id",
    )
    .bind(active_only)
    .fetch_all(&mut **tx)
    .await
}

pub async fn insert_moment(
    tx: &mut TenantTx,
    name: &str,
    weekdays: &[i16],
    capacity: i32,
    price_cents: i32,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO care_moments (name, weekdays, capacity, price_cents)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(weekdays)
    .bind(capacity)
    .bind(price_cents)
    .fetch_one(&mut **tx)
    .await
}

/// Stops (or restarts) a moment's sign-ups; `false` when there is no such moment.
pub async fn set_active(tx: &mut TenantTx, id: i64, active: bool) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query("UPDATE care_moments SET active = $2 WHERE id = $1")
        .bind(id)
        .bind(active)
        .execute(&mut **tx)
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// Writes a child's sign-up for a day and takes its place: `Some(id)` when signed up, `None`
/// when the child was signed up for that day already or the day is full (then nothing of it
/// is written). Taking the place raises the day's count only while it is below the capacity,
/// in one statement: two parents taking the last place at once, one gets it.
pub async fn sign_up(
    tx: &mut TenantTx,
    moment: &Moment,
    pupil_id: i64,
    day: NaiveDate,
    by: i64,
) -> Result<Signed, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO care_signups (moment_id, pupil_id, day, price_cents, signed_up_by)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(moment.id)
    .bind(pupil_id)
    .bind(day)
    .bind(moment.price_cents)
    .bind(by)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else {
        return Ok(Signed::Already);
    };
    let taken: Option<i32> = sqlx::query_scalar(
        "INSERT INTO care_days (moment_id, day, taken) VALUES ($1, $2, 1)
         ON CONFLICT (moment_id, day) DO UPDATE SET taken = care_days.taken + 1
          WHERE care_days.taken < $3
         RETURNING taken",
    )
    .bind(moment.id)
    .bind(day)
    .bind(moment.capacity)
    .fetch_optional(&mut **tx)
    .await?;
    if taken.is_none() {
        sqlx::query("DELETE FROM care_signups WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        return Ok(Signed::Full);
    }
    Ok(Signed::Yes(id))
}

/// What a sign-up for one day came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    Yes(i64),
    Already,
    Full,
}

/// A sign-up as its family sees it, with whether this parent is a parent of its child.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SignupRow {
    pub id: i64,
    pub moment_id: i64,
    pub moment: String,
    pub pupil_id: i64,
    pub child: String,
    pub day: NaiveDate,
    pub price_cents: i32,
}

/// The sign-ups of this parent's children from `from` to `to`.
pub async fn of_family(
    tx: &mut TenantTx,
    person_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SignupRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.moment_id, m.name AS moment, s.pupil_id, pu.first_name AS child, s.day,
                s.price_cents
           FROM care_signups s
           JOIN care_moments m ON m.id = s.moment_id
           JOIN pupils pu ON pu.id = s.pupil_id
           JOIN guardians g ON g.pupil_id = s.pupil_id AND g.person_id = $1 AND g.status = 'active'
          WHERE s.day BETWEEN $2 AND $3
          ORDER BY s.day, m.name, pu.first_name",
    )
    .bind(person_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// A sign-up this parent may cancel (a parent of its child), locked: its moment and day.
pub async fn hold_for_parent(
    tx: &mut TenantTx,
    id: i64,
    person_id: i64,
) -> Result<Option<(i64, NaiveDate)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.moment_id, s.day FROM care_signups s
          WHERE s.id = $1 AND EXISTS (SELECT 1 FROM guardians g WHERE g.pupil_id = s.pupil_id
                                        AND g.person_id = $2 AND g.status = 'active')
            FOR UPDATE",
    )
    .bind(id)
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Removes a sign-up and frees its place.
pub async fn cancel(
    tx: &mut TenantTx,
    id: i64,
    moment_id: i64,
    day: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM care_signups WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE care_days SET taken = taken - 1 WHERE moment_id = $1 AND day = $2 AND taken > 0",
    )
    .bind(moment_id)
    .bind(day)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Places taken per moment and day from `from` to `to`.
pub async fn taken(
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(i64, NaiveDate, i32)>, sqlx::Error> {
    sqlx::query_as("SELECT moment_id, day, taken FROM care_days WHERE day BETWEEN $1 AND $2")
        .bind(from)
        .bind(to)
        .fetch_all(&mut **tx)
        .await
}

/// A child on the day list, with what the care staff must know.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OnTheList {
    pub child: String,
    pub group_name: Option<String>,
    pub allergies: String,
    pub medical: String,
    pub signed_up_at: DateTime<Utc>,
}

/// The children signed up for a moment on a day, by group and name.
pub async fn day_list(
    tx: &mut TenantTx,
    moment_id: i64,
    day: NaiveDate,
) -> Result<Vec<OnTheList>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CHILD_NAME} AS child, gr.name AS group_name,
                coalesce(md.allergies, '') AS allergies, coalesce(md.medical, '') AS medical,
                s.signed_up_at
           FROM care_signups s
           JOIN pupils pu ON pu.id = s.pupil_id
           LEFT JOIN groups gr ON gr.id = pu.group_id
           LEFT JOIN pupil_medical md ON md.pupil_id = pu.id
          WHERE s.moment_id = $1 AND s.day = $2
          ORDER BY gr.year NULLS LAST, gr.name, pu.last_name, pu.first_name"
    )))
    .bind(moment_id)
    .bind(day)
    .fetch_all(&mut **tx)
    .await
}

/// One family's month of one moment, for the billing: the family is the children's primary
/// contact (or, without one, their first parent in the portal).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FamilyMonth {
    pub parent: Option<String>,
    pub email: Option<String>,
    pub children: String,
    pub moment: String,
    pub days: i64,
    pub cents: i64,
}

pub async fn month(
    tx: &mut TenantTx,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<FamilyMonth>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name AS parent, pe.email,
                string_agg(DISTINCT pu.first_name, ', ') AS children, m.name AS moment,
                count(*) AS days, sum(s.price_cents)::bigint AS cents
           FROM care_signups s
           JOIN care_moments m ON m.id = s.moment_id
           JOIN pupils pu ON pu.id = s.pupil_id
           LEFT JOIN LATERAL (SELECT g.person_id FROM guardians g
                               WHERE g.pupil_id = s.pupil_id AND g.status = 'active'
                               ORDER BY g.is_primary DESC, g.person_id LIMIT 1) fam ON true
           LEFT JOIN people pe ON pe.id = fam.person_id
          WHERE s.day BETWEEN $1 AND $2
          GROUP BY coalesce(fam.person_id, -s.pupil_id), pe.name, pe.email, m.id, m.name
          ORDER BY pe.name NULLS LAST, coalesce(fam.person_id, -s.pupil_id), m.name",
    )
    .bind(first)
    .bind(last)
    .fetch_all(&mut **tx)
    .await
}
