//! Special groups: the list staff and parents see, making one, joining and leaving (under
//! the special group's row lock), and who joined.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// A special group as its page lists it for one viewer.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct SpecialRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub has_activity: bool,
    pub main_group: Option<String>,
    pub signup_until: Option<NaiveDate>,
    pub max_participants: Option<i32>,
    pub members: i64,
    /// The viewer has joined.
    pub joined: bool,
    /// The viewer may join now (a parent of an allowed group, before the last day, room left).
    pub may_join: bool,
    /// Signing up has closed (the last day has passed).
    pub closed: bool,
}

/// Which special groups a parent may join: by their children's groups (links in effect).
const MAY_JOIN: &str = "
    EXISTS (
        SELECT 1 FROM guardians g JOIN pupils p ON p.id = g.pupil_id
         WHERE g.person_id = $1 AND g.status = 'active' AND p.left_at IS NULL
           AND (
                 (NOT s.has_activity AND (s.main_group_id IS NULL OR p.group_id = s.main_group_id))
              OR (s.has_activity AND (
                     NOT EXISTS (SELECT 1 FROM special_group_groups x WHERE x.special_group_id = s.id)
                  OR EXISTS (SELECT 1 FROM special_group_groups x
                              WHERE x.special_group_id = s.id AND x.group_id = p.group_id)))
           ))";

/// The special groups a viewer sees: every one for staff, for a parent the ones they may join
/// or have joined; newest first.
pub async fn listed(
    tx: &mut TenantTx,
    person_id: i64,
    staff: bool,
) -> Result<Vec<SpecialRow>, sqlx::Error> {
    let sql = format!(
        "SELECT s.id, s.name, s.description, s.has_activity, g.name AS main_group, s.signup_until,
                s.max_participants,
                (SELECT count(*) FROM special_group_members m WHERE m.special_group_id = s.id) AS members,
                EXISTS (SELECT 1 FROM special_group_members m
                         WHERE m.special_group_id = s.id AND m.person_id = $1) AS joined,
                ({MAY_JOIN}
                 AND (s.signup_until IS NULL
                      OR s.signup_until >= (now() AT TIME ZONE 'Europe/Amsterdam')::date)
                 AND (s.max_participants IS NULL OR s.max_participants >
                      (SELECT count(*) FROM special_group_members m WHERE m.special_group_id = s.id))
                ) AS may_join,
                (s.signup_until IS NOT NULL
                 AND s.signup_until < (now() AT TIME ZONE 'Europe/Amsterdam')::date) AS closed
           FROM special_groups s LEFT JOIN groups g ON g.id = s.main_group_id
          WHERE $2 OR {MAY_JOIN}
             OR EXISTS (SELECT 1 FROM special_group_members m
                         WHERE m.special_group_id = s.id AND m.person_id = $1)
          ORDER BY s.created_at DESC, s.id DESC"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(person_id)
        .bind(staff)
        .fetch_all(&mut **tx)
        .await
}

/// A special group as staff make it.
#[derive(Debug)]
pub struct NewSpecialGroup<'a> {
    pub name: &'a str,
    pub main_group: Option<i64>,
    pub has_activity: bool,
    pub description: &'a str,
    pub signup_until: Option<NaiveDate>,
    pub max_participants: Option<i32>,
    pub created_by: i64,
    /// The groups whose parents may join an activity (none: every group).
    pub allowed: &'a [i64],
}

/// Makes the special group with its allowed groups; its id.
pub async fn create(tx: &mut TenantTx, group: &NewSpecialGroup<'_>) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO special_groups (name, main_group_id, has_activity, description,
                                     signup_until, max_participants, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(group.name)
    .bind(group.main_group)
    .bind(group.has_activity)
    .bind(group.description)
    .bind(group.signup_until)
    .bind(group.max_participants)
    .bind(group.created_by)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO special_group_groups (special_group_id, group_id)
         SELECT $1, unnest($2::int8[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(group.allowed)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The special group, locked: whether the person may join it, whether signing up has
/// closed, and its maximum. `None` when there is no such special group.
pub async fn lock_for_joining(
    tx: &mut TenantTx,
    id: i64,
    person_id: i64,
) -> Result<Option<(bool, bool, Option<i32>)>, sqlx::Error> {
    let sql = format!(
        "SELECT {MAY_JOIN} AS may,
                (s.signup_until IS NOT NULL
                 AND s.signup_until < (now() AT TIME ZONE 'Europe/Amsterdam')::date) AS closed,
                s.max_participants
           FROM special_groups s WHERE s.id = $2 FOR UPDATE OF s"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(person_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn member_count(tx: &mut TenantTx, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM special_group_members WHERE special_group_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

pub async fn is_member(tx: &mut TenantTx, id: i64, person_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM special_group_members
                         WHERE special_group_id = $1 AND person_id = $2)",
    )
    .bind(id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn join(tx: &mut TenantTx, id: i64, person_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO special_group_members (special_group_id, person_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn leave(tx: &mut TenantTx, id: i64, person_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM special_group_members WHERE special_group_id = $1 AND person_id = $2")
        .bind(id)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn name_of(tx: &mut TenantTx, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM special_groups WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// A member as the printed list shows them.
#[derive(Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub name: String,
    pub email: String,
    pub phone_mobile: Option<String>,
    pub children: Option<String>,
}

/// The members, in the order they joined, with their children at school.
pub async fn members(tx: &mut TenantTx, id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name, pe.email, pe.phone_mobile,
                (SELECT string_agg(p.first_name || coalesce(' (' || gr.name || ')', ''), ', ')
                   FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                   LEFT JOIN groups gr ON gr.id = p.group_id
                  WHERE g.person_id = pe.id AND g.status = 'active' AND p.left_at IS NULL) AS children
           FROM special_group_members m JOIN people pe ON pe.id = m.person_id
          WHERE m.special_group_id = $1 ORDER BY m.joined_at, pe.name",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await
}

/// How many of these ids are special groups of the school.
pub async fn count_known(tx: &mut TenantTx, ids: &[i64]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM special_groups WHERE id = ANY($1)")
        .bind(ids)
        .fetch_one(&mut **tx)
        .await
}

/// An activity a parent may still sign up for, whose last day is near.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct SignupClosing {
    pub id: i64,
    pub name: String,
    pub signup_until: NaiveDate,
}

/// The activities this parent may join and has not, whose sign-up closes within `days` days
/// (today counted), soonest first: the home page's to-do list names them.
pub async fn signups_closing(
    tx: &mut TenantTx,
    person_id: i64,
    days: i32,
) -> Result<Vec<SignupClosing>, sqlx::Error> {
    let sql = format!(
        "SELECT s.id, s.name, s.signup_until
           FROM special_groups s
          WHERE s.has_activity AND {MAY_JOIN}
            AND s.signup_until BETWEEN (now() AT TIME ZONE 'Europe/Amsterdam')::date
                                   AND (now() AT TIME ZONE 'Europe/Amsterdam')::date + $2
            AND NOT EXISTS (SELECT 1 FROM special_group_members m
                             WHERE m.special_group_id = s.id AND m.person_id = $1)
            AND (s.max_participants IS NULL OR s.max_participants >
                 (SELECT count(*) FROM special_group_members m WHERE m.special_group_id = s.id))
          ORDER BY s.signup_until, s.id"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(person_id)
        .bind(days)
        .fetch_all(&mut **tx)
        .await
}
