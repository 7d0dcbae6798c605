//! Parents' links to children as the admin sees and decides them (A2, T5): the links waiting
//! for approval, parents without a child, every pupil's code, and the decisions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenant_router::TenantTx;

/// A parent's link waiting for an admin.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PendingLink {
    pub pupil_id: i64,
    pub person_id: i64,
    pub parent_name: String,
    pub parent_email: String,
    pub pupil_name: String,
    pub group_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A parent who joined with the school's code and waits to be linked to a child.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct WithoutChild {
    pub name: String,
    pub email: String,
    pub registration_note: Option<String>,
}

/// A pupil at school with their code and how many parents are linked.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PupilCode {
    pub id: i64,
    pub name: String,
    pub group_name: Option<String>,
    pub code: Option<String>,
    #[sqlx(skip)]
    pub printed: Option<String>,
    pub parents: i64,
}

/// A group whose code letters can be printed.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct GroupLetters {
    pub id: i64,
    pub name: String,
    pub pupils: i64,
}

/// The pupil `p`'s full name, tussenvoegsel included, as SQL.
macro_rules! pupil_name {
    () => {
        "p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name)"
    };
}

pub async fn pending(tx: &mut TenantTx) -> Result<Vec<PendingLink>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT g.pupil_id, g.person_id, pe.name AS parent_name, pe.email AS parent_email,
                ",
        pupil_name!(),
        " AS pupil_name, gr.name AS group_name, g.created_at
           FROM guardians g
           JOIN people pe ON pe.id = g.person_id
           JOIN pupils p ON p.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = p.group_id
          WHERE g.status = 'pending'
          ORDER BY g.created_at, g.pupil_id"
    ))
    .fetch_all(&mut **tx)
    .await
}

/// The newest 200 parents with an account and no child.
pub async fn without_child(tx: &mut TenantTx) -> Result<Vec<WithoutChild>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name, pe.email, pe.registration_note FROM people pe
          WHERE 'parent' = ANY(pe.roles) AND pe.account_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM guardians g WHERE g.person_id = pe.id)
          ORDER BY pe.created_at DESC LIMIT 200",
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn pupil_codes(tx: &mut TenantTx) -> Result<Vec<PupilCode>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT p.id, ",
        pupil_name!(),
        " AS name, gr.name AS group_name, c.code,
                (SELECT count(*) FROM guardians g WHERE g.pupil_id = p.id AND g.status = 'active') AS parents
           FROM pupils p
           LEFT JOIN groups gr ON gr.id = p.group_id
           LEFT JOIN pupil_codes c ON c.pupil_id = p.id
          WHERE p.left_at IS NULL
          ORDER BY gr.year NULLS LAST, gr.name, p.last_name, p.first_name"
    ))
    .fetch_all(&mut **tx)
    .await
}

/// One pupil at school with their code, or `None`.
pub async fn pupil_code(
    tx: &mut TenantTx,
    pupil_id: i64,
) -> Result<Option<PupilCode>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT p.id, ",
        pupil_name!(),
        " AS name, gr.name AS group_name, c.code,
                (SELECT count(*) FROM guardians g WHERE g.pupil_id = p.id AND g.status = 'active') AS parents
           FROM pupils p
           LEFT JOIN groups gr ON gr.id = p.group_id
           LEFT JOIN pupil_codes c ON c.pupil_id = p.id
          WHERE p.id = $1 AND p.left_at IS NULL"
    ))
    .bind(pupil_id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn group_letters(tx: &mut TenantTx) -> Result<Vec<GroupLetters>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.name,
                (SELECT count(*) FROM pupils p WHERE p.group_id = g.id AND p.left_at IS NULL) AS pupils
           FROM groups g ORDER BY g.year NULLS LAST, g.name",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Puts a waiting link in effect; `false` if no such link waits.
pub async fn approve(
    tx: &mut TenantTx,
    pupil_id: i64,
    person_id: i64,
    approved_by: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE guardians SET status = 'active', approved_at = now(), approved_by = $3
          WHERE pupil_id = $1 AND person_id = $2 AND status = 'pending'",
    )
    .bind(pupil_id)
    .bind(person_id)
    .bind(approved_by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a waiting link; `false` if no such link waits.
pub async fn decline(
    tx: &mut TenantTx,
    pupil_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM guardians WHERE pupil_id = $1 AND person_id = $2 AND status = 'pending'",
    )
    .bind(pupil_id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The children whose link with this person waits for the school, by first name.
pub async fn waiting_for_school(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.first_name FROM guardians g JOIN pupils p ON p.id = g.pupil_id
          WHERE g.person_id = $1 AND g.status = 'pending' AND p.left_at IS NULL
          ORDER BY p.first_name",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}
