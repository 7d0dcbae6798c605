//! The SQL of sick reports (D1): the school's rules, a family's children and their reports, a
//! day's absences of some groups or the whole school, the register and the signal list.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

use crate::absence::{Reason, Report, Rules};

/// A pupil's name as the school writes it.
const CHILD_NAME: &str = "concat_ws(' ', pu.first_name, nullif(pu.name_prefix, ''), pu.last_name)";

/// How the school takes reports, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AbsenceSettings {
    pub report_until: Option<NaiveTime>,
    pub late_text: String,
    pub reasons: Vec<String>,
    pub signal_reports: i16,
    pub signal_weeks: i16,
    /// The school's phone number (T5), for "call the school".
    pub phone: String,
}

impl AbsenceSettings {
    pub fn rules(&self) -> Rules {
        Rules {
            report_until: self.report_until,
            reasons: self
                .reasons
                .iter()
                .filter_map(|r| Reason::parse(r))
                .collect(),
        }
    }
}

pub async fn settings(tx: &mut TenantTx) -> Result<AbsenceSettings, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.report_until, s.late_text, s.reasons, s.signal_reports, s.signal_weeks,
                coalesce((SELECT phone FROM school_profile LIMIT 1), '') AS phone
           FROM absence_settings s",
    )
    .fetch_one(&mut **tx)
    .await
}

/// What an admin sets.
#[derive(Debug, Clone)]
pub struct NewSettings {
    pub report_until: Option<NaiveTime>,
    pub late_text: String,
    pub reasons: Vec<&'static str>,
    pub signal_reports: i16,
    pub signal_weeks: i16,
}

pub async fn save_settings(tx: &mut TenantTx, new: &NewSettings) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE absence_settings
            SET report_until = $1, late_text = $2, reasons = $3, signal_reports = $4,
                signal_weeks = $5, updated_at = now()",
    )
    .bind(new.report_until)
    .bind(&new.late_text)
    .bind(&new.reasons)
    .bind(new.signal_reports)
    .bind(new.signal_weeks)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A child of the family, still at the school.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Child {
    pub id: i64,
    pub first_name: String,
    pub name: String,
    pub group_name: Option<String>,
}

/// The children whose link to this parent is in effect, still at the school, youngest group
/// last.
pub async fn children_of(tx: &mut TenantTx, person_id: i64) -> Result<Vec<Child>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pu.id, pu.first_name, {CHILD_NAME} AS name, gr.name AS group_name
           FROM guardians g
           JOIN pupils pu ON pu.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = pu.group_id
          WHERE g.person_id = $1 AND g.status = 'active' AND pu.left_at IS NULL
          ORDER BY pu.date_of_birth, pu.id"
    )))
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Of `pupil_ids`, those that are this parent's children, locked until the transaction ends,
/// so two parents reporting the same child at once write one report, not two.
pub async fn lock_children(
    tx: &mut TenantTx,
    person_id: i64,
    pupil_ids: &[i64],
) -> Result<Vec<Child>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pu.id, pu.first_name, {CHILD_NAME} AS name, gr.name AS group_name
           FROM pupils pu
           JOIN guardians g ON g.pupil_id = pu.id AND g.person_id = $1 AND g.status = 'active'
           LEFT JOIN groups gr ON gr.id = pu.group_id
          WHERE pu.id = ANY($2) AND pu.left_at IS NULL
          ORDER BY pu.date_of_birth, pu.id
            FOR UPDATE OF pu"
    )))
    .bind(person_id)
    .bind(pupil_ids)
    .fetch_all(&mut **tx)
    .await
}

/// A report already made for one of `pupil_ids` that shares a day with `first..=last`
/// (`last` `None`: open-ended): its child's first name and first day.
pub async fn overlapping(
    tx: &mut TenantTx,
    pupil_ids: &[i64],
    first: NaiveDate,
    last: Option<NaiveDate>,
) -> Result<Option<(String, NaiveDate)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pu.first_name, a.first_day
           FROM absences a JOIN pupils pu ON pu.id = a.pupil_id
          WHERE a.pupil_id = ANY($1)
            AND (a.last_day IS NULL OR a.last_day >= $2)
            AND ($3::date IS NULL OR a.first_day <= $3)
          ORDER BY a.first_day LIMIT 1",
    )
    .bind(pupil_ids)
    .bind(first)
    .bind(last)
    .fetch_optional(&mut **tx)
    .await
}

/// Writes one report per child; their ids.
pub async fn insert(
    tx: &mut TenantTx,
    report: &Report,
    reported_by: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO absences (pupil_id, reason, note, first_day, last_day, reported_by)
         SELECT child, $2, $3, $4, $5, $6 FROM unnest($1::bigint[]) AS child
         RETURNING id",
    )
    .bind(&report.children)
    .bind(report.reason.as_str())
    .bind(&report.note)
    .bind(report.span.first_day)
    .bind(report.span.last_day)
    .bind(reported_by)
    .fetch_all(&mut **tx)
    .await
}

/// One report, with its child and who made it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AbsenceRow {
    pub id: i64,
    pub pupil_id: i64,
    pub import_key: String,
    pub child: String,
    pub first_name: String,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub reason: String,
    pub note: String,
    pub first_day: NaiveDate,
    pub last_day: Option<NaiveDate>,
    pub reported_by: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub ended_by: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub back_at: Option<DateTime<Utc>>,
}

fn select_rows(condition: &str, order: &str) -> String {
    format!(
        "SELECT a.id, a.pupil_id, pu.import_key, {CHILD_NAME} AS child, pu.first_name,
                pu.group_id, gr.name AS group_name, a.reason, a.note, a.first_day, a.last_day,
                rp.name AS reported_by, a.reported_at, ep.name AS ended_by, a.ended_at, a.back_at
           FROM absences a
           JOIN pupils pu ON pu.id = a.pupil_id
           LEFT JOIN groups gr ON gr.id = pu.group_id
           LEFT JOIN people rp ON rp.id = a.reported_by
           LEFT JOIN people ep ON ep.id = a.ended_by
          WHERE {condition}
          ORDER BY {order}"
    )
}

/// The reports of these children that share a day with `from..=to`, newest first.
pub async fn of_children(
    tx: &mut TenantTx,
    pupil_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AbsenceRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(select_rows(
        "a.pupil_id = ANY($1) AND a.first_day <= $3 AND (a.last_day IS NULL OR a.last_day >= $2)",
        "a.first_day DESC, a.id DESC",
    )))
    .bind(pupil_ids)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// The children absent on `day`: of the pupils in `groups`, or of the whole school (`None`),
/// by group and name.
pub async fn on_day(
    tx: &mut TenantTx,
    day: NaiveDate,
    groups: Option<&[i64]>,
) -> Result<Vec<AbsenceRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(select_rows(
        "a.first_day <= $1 AND (a.last_day IS NULL OR a.last_day >= $1)
         AND pu.left_at IS NULL AND ($2::bigint[] IS NULL OR pu.group_id = ANY($2))",
        "gr.year NULLS LAST, gr.name, pu.last_name, pu.first_name, a.id",
    )))
    .bind(day)
    .bind(groups)
    .fetch_all(&mut **tx)
    .await
}

/// Every report sharing a day with `from..=to` (one school year), for the register: by group,
/// child and day.
pub async fn register(
    tx: &mut TenantTx,
    from: NaiveDate,
    to: NaiveDate,
    pupil_id: Option<i64>,
) -> Result<Vec<AbsenceRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(select_rows(
        "a.first_day <= $2 AND (a.last_day IS NULL OR a.last_day >= $1)
         AND ($3::bigint IS NULL OR a.pupil_id = $3)",
        "gr.year NULLS LAST, gr.name, pu.last_name, pu.first_name, a.first_day, a.id",
    )))
    .bind(from)
    .bind(to)
    .bind(pupil_id)
    .fetch_all(&mut **tx)
    .await
}

/// The groups a member of staff teaches.
pub async fn taught_groups(tx: &mut TenantTx, person_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT group_id FROM group_teachers WHERE person_id = $1 ORDER BY 1")
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await
}

/// A pupil's group and name, if the pupil exists.
pub async fn pupil(
    tx: &mut TenantTx,
    pupil_id: i64,
) -> Result<Option<(Option<i64>, String)>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pu.group_id, {CHILD_NAME} FROM pupils pu WHERE pu.id = $1"
    )))
    .bind(pupil_id)
    .fetch_optional(&mut **tx)
    .await
}

/// A report's child, group, days and whether the person is a parent of that child (locked
/// for the change that follows).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Held {
    pub pupil_id: i64,
    pub group_id: Option<i64>,
    pub first_day: NaiveDate,
    pub last_day: Option<NaiveDate>,
    pub is_parent: bool,
}

pub async fn hold(
    tx: &mut TenantTx,
    absence_id: i64,
    person_id: i64,
) -> Result<Option<Held>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.pupil_id, pu.group_id, a.first_day, a.last_day,
                EXISTS (SELECT 1 FROM guardians g WHERE g.pupil_id = a.pupil_id
                           AND g.person_id = $2 AND g.status = 'active') AS is_parent
           FROM absences a JOIN pupils pu ON pu.id = a.pupil_id
          WHERE a.id = $1
            FOR UPDATE OF a",
    )
    .bind(absence_id)
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Ends a report with `last_day` (the child is better from the day after); `back_at` when the
/// child came back during that day.
pub async fn end(
    tx: &mut TenantTx,
    absence_id: i64,
    last_day: NaiveDate,
    by: i64,
    back_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE absences SET last_day = $2, ended_by = $3, ended_at = now(), back_at = $4
          WHERE id = $1",
    )
    .bind(absence_id)
    .bind(last_day)
    .bind(by)
    .bind(back_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Withdraws a report for days still to come.
pub async fn withdraw(tx: &mut TenantTx, absence_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM absences WHERE id = $1")
        .bind(absence_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A child with many reports lately.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Signal {
    pub pupil_id: i64,
    pub child: String,
    pub group_name: Option<String>,
    pub reports: i64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The children still at school with at least `reports` reports starting in `since..=today`.
pub async fn signals(
    tx: &mut TenantTx,
    since: NaiveDate,
    today: NaiveDate,
    reports: i16,
) -> Result<Vec<Signal>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pu.id AS pupil_id, {CHILD_NAME} AS child, gr.name AS group_name,
                count(*) AS reports, min(a.first_day) AS first_day, max(a.first_day) AS last_day
           FROM absences a
           JOIN pupils pu ON pu.id = a.pupil_id
           LEFT JOIN groups gr ON gr.id = pu.group_id
          WHERE a.first_day BETWEEN $1 AND $2 AND pu.left_at IS NULL
          GROUP BY pu.id, gr.id
         HAVING count(*) >= $3
          ORDER BY count(*) DESC, gr.year NULLS LAST, gr.name, pu.last_name, pu.first_name"
    )))
    .bind(since)
    .bind(today)
    .bind(i64::from(reports))
    .fetch_all(&mut **tx)
    .await
}

/// A person's address in the school.
pub async fn email_of(tx: &mut TenantTx, person_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

/// How many children still at school are absent on `day`.
pub async fn count_on_day(tx: &mut TenantTx, day: NaiveDate) -> Result<usize, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT a.pupil_id) FROM absences a JOIN pupils pu ON pu.id = a.pupil_id
          WHERE a.first_day <= $1 AND (a.last_day IS NULL OR a.last_day >= $1)
            AND pu.left_at IS NULL",
    )
    .bind(day)
    .fetch_one(&mut **tx)
    .await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// For the demo: the first pupil of `group` (by name) whose import key is not among `except`.
pub async fn demo_candidate(
    tx: &mut TenantTx,
    group: i64,
    except: &[&str],
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM pupils WHERE group_id = $1 AND left_at IS NULL
            AND NOT (import_key = ANY($2))
          ORDER BY last_name, first_name, id LIMIT 1",
    )
    .bind(group)
    .bind(except)
    .fetch_optional(&mut **tx)
    .await
}

/// Every group of the school: id and name, in the school's order.
pub async fn groups(tx: &mut TenantTx) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM groups ORDER BY year NULLS LAST, name, id")
        .fetch_all(&mut **tx)
        .await
}
