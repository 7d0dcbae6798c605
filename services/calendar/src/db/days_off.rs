//! The days off the month shows besides events: the school's holidays (kept by the school
//! day's holiday page) and a parent's own children's approved leave.

use chrono::NaiveDate;
use tenant_router::TenantTx;

/// A named span of days.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DaysOff {
    pub name: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The school's holidays sharing a day with `from..=to`.
pub async fn holidays(
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DaysOff>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, first_day, last_day FROM school_holidays
          WHERE first_day <= $2 AND last_day >= $1 ORDER BY first_day, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// The approved leave of this parent's children sharing a day with `from..=to`, by the
/// child's first name.
pub async fn family_leave(
    tx: &mut TenantTx,
    person_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DaysOff>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pu.first_name AS name, r.first_day, r.last_day
           FROM leave_requests r
           JOIN leave_request_children c ON c.request_id = r.id
           JOIN guardians g ON g.pupil_id = c.pupil_id AND g.person_id = $1 AND g.status = 'active'
           JOIN pupils pu ON pu.id = c.pupil_id
          WHERE r.state IN ('approved', 'noted') AND r.first_day <= $3 AND r.last_day >= $2
          ORDER BY r.first_day, pu.first_name",
    )
    .bind(person_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}
