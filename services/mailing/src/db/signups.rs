//! The SQL of telling about parents' sign-ups: links waiting for approval, the school's
//! admins, and the parent of a link.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenant_router::TenantTx;

/// A link that waits for an admin, as the admins' mail lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct WaitingLink {
    pub parent: String,
    pub child: String,
    pub group: Option<String>,
}

/// Someone to mail: name, address and the language of their account.
#[derive(Debug, sqlx::FromRow)]
pub struct Addressee {
    pub name: String,
    pub email: String,
    pub language: Option<String>,
}

/// The parent of a link, with the child's name.
#[derive(Debug, sqlx::FromRow)]
pub struct LinkParent {
    pub name: String,
    pub email: String,
    pub language: Option<String>,
    pub child: String,
}

/// When the school last mailed its admins about sign-ups; locks the settings row, so that two
/// runs of the clock for one school take turns.
pub async fn lock_last_batch(tx: &mut TenantTx) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT signups_told_at FROM school_settings FOR UPDATE")
        .fetch_one(&mut **tx)
        .await
}

/// Whether a link made before `now` waits for approval untold (an index lookup).
pub async fn any_untold(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guardians
                         WHERE status = 'pending' AND admins_told_at IS NULL
                           AND created_at <= $1)",
    )
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// The links waiting for approval that no admin was told of, made before `now`.
pub async fn untold(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
) -> Result<Vec<WaitingLink>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name AS parent,
                concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS child,
                gr.name AS \"group\"
           FROM guardians g
           JOIN people pe ON pe.id = g.person_id
           JOIN pupils p ON p.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = p.group_id
          WHERE g.status = 'pending' AND g.admins_told_at IS NULL AND g.created_at <= $1
          ORDER BY g.created_at, g.pupil_id",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await
}

/// How many links wait for approval in all.
pub async fn waiting(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM guardians WHERE status = 'pending'")
        .fetch_one(&mut **tx)
        .await
}

/// The school's admins who can be mailed: with an address, not blocked.
pub async fn admins(tx: &mut TenantTx) -> Result<Vec<Addressee>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name, pe.email, a.language
           FROM people pe
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE 'school_admin' = ANY(pe.roles) AND pe.blocked_at IS NULL
           
          ORDER BY pe.id",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Marks the untold links before `now` as told, and the batch as sent at `now`.
pub async fn mark_told(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guardians SET admins_told_at = $1
          WHERE status = 'pending' AND admins_told_at IS NULL AND created_at <= $1",
    )
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE school_settings SET signups_told_at = $1")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The parent `person_id` and the child `pupil_id`'s name, if the parent can be mailed.
pub async fn parent_of_link(
    tx: &mut TenantTx,
    pupil_id: i64,
    person_id: i64,
) -> Result<Option<LinkParent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name, pe.email, a.language,
                concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS child
           FROM people pe
           JOIN pupils p ON p.id = $1
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pe.id = $2 AND pe.blocked_at IS NULL",
    )
    .bind(pupil_id)
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}
