//! The SQL of leave requests (D2) and the school's holidays: a family's requests, the
//! school's list, a decision, the leave on a day, and the holidays the rules count with.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

use crate::leave::{Holiday, LeaveDraft, LeaveState};

/// A pupil's name as the school writes it.
const CHILD_NAME: &str = "concat_ws(' ', pu.first_name, nullif(pu.name_prefix, ''), pu.last_name)";

/// The holidays sharing a day with `from..=to`.
pub async fn holidays_between(
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Holiday>, sqlx::Error> {
    let rows: Vec<(String, NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT name, first_day, last_day FROM school_holidays
          WHERE first_day <= $2 AND last_day >= $1 ORDER BY first_day",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, first_day, last_day)| Holiday {
            name,
            first_day,
            last_day,
        })
        .collect())
}

/// The last day of the latest summer holiday that ended before `day`.
pub async fn summer_ended_before(
    tx: &mut TenantTx,
    day: NaiveDate,
) -> Result<Option<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT max(last_day) FROM school_holidays WHERE kind = 'summer' AND last_day < $1",
    )
    .bind(day)
    .fetch_one(&mut **tx)
    .await
}

/// A holiday as the school's list shows it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct HolidayRow {
    pub id: i64,
    pub name: String,
    pub kind: Option<String>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The school's region (`noord`, `midden`, `zuid`) and its holidays ending on or after `from`.
pub async fn holidays(
    tx: &mut TenantTx,
    from: NaiveDate,
) -> Result<(Option<String>, Vec<HolidayRow>), sqlx::Error> {
    let region = sqlx::query_scalar("SELECT region FROM holiday_settings")
        .fetch_one(&mut **tx)
        .await?;
    let rows = sqlx::query_as(
        "SELECT id, name, kind, first_day, last_day FROM school_holidays
          WHERE last_day >= $1 ORDER BY first_day, id",
    )
    .bind(from)
    .fetch_all(&mut **tx)
    .await?;
    Ok((region, rows))
}

/// Follows the official table of `region`: its holidays replace the official ones kept
/// (the school's own days stay). `rows`: (name, kind, first, last).
pub async fn follow_region(
    tx: &mut TenantTx,
    region: &str,
    rows: &[(String, &str, NaiveDate, NaiveDate)],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE holiday_settings SET region = $1, updated_at = now()")
        .bind(region)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM school_holidays WHERE kind IS NOT NULL")
        .execute(&mut **tx)
        .await?;
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let firsts: Vec<NaiveDate> = rows.iter().map(|r| r.2).collect();
    let lasts: Vec<NaiveDate> = rows.iter().map(|r| r.3).collect();
    sqlx::query(
        "INSERT INTO school_holidays (name, kind, first_day, last_day)
         SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[])
         ON CONFLICT DO NOTHING",
    )
    .bind(&names)
    .bind(&kinds)
    .bind(&firsts)
    .bind(&lasts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds one of the school's own days off; `false` when it is there already.
pub async fn add_holiday(
    tx: &mut TenantTx,
    name: &str,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query(
        "INSERT INTO school_holidays (name, first_day, last_day) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(first_day)
    .bind(last_day)
    .execute(&mut **tx)
    .await?;
    Ok(added.rows_affected() == 1)
}

pub async fn delete_holiday(tx: &mut TenantTx, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM school_holidays WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Whether one of these children has holiday leave (art. 13a) asked or granted in the school
/// year starting in `year`.
pub async fn holiday_leave_in_year(
    tx: &mut TenantTx,
    pupil_ids: &[i64],
    year: i32,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM leave_requests r
                          JOIN leave_request_children c ON c.request_id = r.id
                         WHERE c.pupil_id = ANY($1) AND r.kind = 'holiday'
                           AND r.school_year = $2 AND r.state IN ('pending', 'approved'))",
    )
    .bind(pupil_ids)
    .bind(i16::try_from(year).unwrap_or(i16::MAX))
    .fetch_one(&mut **tx)
    .await
}

/// The employer's statement as sent.
#[derive(Debug, Clone)]
pub struct Statement {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Writes a request and its children; its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut TenantTx,
    draft: &LeaveDraft,
    school_days: i64,
    school_year: i32,
    state: LeaveState,
    requested_by: i64,
    statement: Option<&Statement>,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO leave_requests (kind, first_day, last_day, school_days, reason, school_year,
                                     requested_by, state, for_officer, statement_name,
                                     statement_type, statement)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8 = 'officer', $9, $10, $11)
         RETURNING id",
    )
    .bind(draft.kind.as_str())
    .bind(draft.first_day)
    .bind(draft.last_day)
    .bind(i16::try_from(school_days).unwrap_or(i16::MAX))
    .bind(&draft.reason)
    .bind(i16::try_from(school_year).unwrap_or(i16::MAX))
    .bind(requested_by)
    .bind(state.as_str())
    .bind(statement.map(|s| s.name.as_str()))
    .bind(statement.map(|s| s.content_type))
    .bind(statement.map(|s| s.bytes.as_slice()))
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO leave_request_children (request_id, pupil_id)
         SELECT $1, unnest($2::bigint[])",
    )
    .bind(id)
    .bind(&draft.children)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A request with its children and people.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub kind: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub school_days: i16,
    pub reason: String,
    pub state: String,
    pub for_officer: bool,
    pub officer_name: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub requested_by: Option<String>,
    pub requester_id: Option<i64>,
    pub requester_email: Option<String>,
    pub requester_language: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decision_reason: String,
    pub statement_name: Option<String>,
    /// The children's full names, by age.
    pub children: Vec<String>,
    pub child_ids: Vec<i64>,
    pub groups: Vec<String>,
}

fn select_requests(condition: &str) -> String {
    format!(
        "SELECT r.id, r.kind, r.first_day, r.last_day, r.school_days, r.reason, r.state,
                r.for_officer, r.officer_name, r.requested_at, rp.name AS requested_by,
                rp.id AS requester_id, rp.email AS requester_email, a.language AS requester_language,
                r.decided_at, dp.name AS decided_by, r.decision_reason, r.statement_name,
                ARRAY(SELECT {CHILD_NAME} FROM leave_request_children c JOIN pupils pu ON pu.id = c.pupil_id
                       WHERE c.request_id = r.id ORDER BY pu.date_of_birth, pu.id) AS children,
                ARRAY(SELECT c.pupil_id FROM leave_request_children c WHERE c.request_id = r.id
                       ORDER BY c.pupil_id) AS child_ids,
                ARRAY(SELECT DISTINCT g.name FROM leave_request_children c
                        JOIN pupils pu ON pu.id = c.pupil_id JOIN groups g ON g.id = pu.group_id
                       WHERE c.request_id = r.id ORDER BY g.name) AS groups
           FROM leave_requests r
           LEFT JOIN people rp ON rp.id = r.requested_by
           LEFT JOIN platform.accounts a ON a.id = rp.account_id
           LEFT JOIN people dp ON dp.id = r.decided_by
          WHERE {condition}
          ORDER BY r.first_day DESC, r.id DESC"
    )
}

/// The requests about any child of this parent: a family's requests, whichever parent asked.
pub async fn of_family(tx: &mut TenantTx, person_id: i64) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(select_requests(
        "r.id IN (SELECT c.request_id FROM leave_request_children c
                    JOIN guardians g ON g.pupil_id = c.pupil_id
                   WHERE g.person_id = $1 AND g.status = 'active')",
    )))
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// The school's requests in these states (all when empty), newest first, at most 500.
pub async fn of_school(tx: &mut TenantTx, states: &[&str]) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "{} LIMIT 500",
        select_requests("(cardinality($1::text[]) = 0 OR r.state = ANY($1))")
    )))
    .bind(states)
    .fetch_all(&mut **tx)
    .await
}

/// One request, locked for a change when `lock`.
pub async fn request(
    tx: &mut TenantTx,
    id: i64,
    lock: bool,
) -> Result<Option<RequestRow>, sqlx::Error> {
    if lock {
        sqlx::query("SELECT 1 FROM leave_requests WHERE id = $1 FOR UPDATE")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query_as(AssertSqlSafe(select_requests("r.id = $1")))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Whether the person is an active parent of one of the request's children.
pub async fn is_family(tx: &mut TenantTx, id: i64, person_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM leave_request_children c
                          JOIN guardians g ON g.pupil_id = c.pupil_id
                         WHERE c.request_id = $1 AND g.person_id = $2 AND g.status = 'active')",
    )
    .bind(id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// Records a decision (approved or refused) with its written reason.
pub async fn decide(
    tx: &mut TenantTx,
    id: i64,
    state: LeaveState,
    reason: &str,
    by: i64,
    officer_name: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE leave_requests
            SET state = $2, decision_reason = $3, decided_by = $4, decided_at = now(),
                officer_name = $5
          WHERE id = $1",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(reason)
    .bind(by)
    .bind(officer_name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn withdraw(tx: &mut TenantTx, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE leave_requests SET state = 'withdrawn' WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The employer's statement of a request.
pub async fn statement(
    tx: &mut TenantTx,
    id: i64,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT statement_name, statement_type, statement FROM leave_requests
          WHERE id = $1 AND statement IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// A child on leave on a day (approved, or a religious obligation noted).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct OnLeave {
    pub request_id: i64,
    pub child: String,
    pub group_name: Option<String>,
    pub kind: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The children on leave on `day`, of the pupils in `groups` or of the whole school.
pub async fn on_leave(
    tx: &mut TenantTx,
    day: NaiveDate,
    groups: Option<&[i64]>,
) -> Result<Vec<OnLeave>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT r.id AS request_id, {CHILD_NAME} AS child, g.name AS group_name, r.kind,
                r.first_day, r.last_day
           FROM leave_requests r
           JOIN leave_request_children c ON c.request_id = r.id
           JOIN pupils pu ON pu.id = c.pupil_id
           LEFT JOIN groups g ON g.id = pu.group_id
          WHERE r.state IN ('approved', 'noted') AND r.first_day <= $1 AND r.last_day >= $1
            AND pu.left_at IS NULL AND ($2::bigint[] IS NULL OR pu.group_id = ANY($2))
          ORDER BY g.year NULLS LAST, g.name, pu.last_name, pu.first_name"
    )))
    .bind(day)
    .bind(groups)
    .fetch_all(&mut **tx)
    .await
}

/// How many requests wait for a decision (the headmaster's, or the officer's to record).
pub async fn waiting(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM leave_requests WHERE state IN ('pending', 'officer')")
        .fetch_one(&mut **tx)
        .await
}
