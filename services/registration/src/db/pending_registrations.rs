//! `platform.pending_registrations`: a parent's registration waiting for its mailed link.

use chrono::{DateTime, Utc};
use schoolplein_kernel::tokens::SecretToken;
use tenant_router::TenantTx;

/// A registration to keep until its link is opened.
#[derive(Debug)]
pub struct NewRegistration<'a> {
    pub token: &'a SecretToken,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub language: &'a str,
    pub tenant_id: i64,
    pub pupil_id: Option<i64>,
    pub note: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    tx: &mut TenantTx,
    registration: &NewRegistration<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO platform.pending_registrations
             (token_hash, email, name, password_hash, language, tenant_id, pupil_id, note, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(registration.token.hash().as_bytes())
    .bind(registration.email)
    .bind(registration.name)
    .bind(registration.password_hash)
    .bind(registration.language)
    .bind(registration.tenant_id)
    .bind(registration.pupil_id)
    .bind(registration.note)
    .bind(registration.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A registration waiting for its link.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingRegistration {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub language: String,
    pub tenant_id: i64,
    pub pupil_id: Option<i64>,
    pub note: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// The registration a link's token stands for, locked for the rest of the transaction when
/// `lock` is set.
pub async fn find(
    conn: &mut sqlx::PgConnection,
    token: &SecretToken,
    lock: bool,
) -> Result<Option<PendingRegistration>, sqlx::Error> {
    let sql = if lock {
        "SELECT email, name, password_hash, language, tenant_id, pupil_id, note, expires_at, used_at
           FROM platform.pending_registrations WHERE token_hash = $1 FOR UPDATE"
    } else {
        "SELECT email, name, password_hash, language, tenant_id, pupil_id, note, expires_at, used_at
           FROM platform.pending_registrations WHERE token_hash = $1"
    };
    sqlx::query_as(sql)
        .bind(token.hash().as_bytes())
        .fetch_optional(conn)
        .await
}

/// Uses the link up.
pub async fn mark_used(tx: &mut TenantTx, token: &SecretToken) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE platform.pending_registrations SET used_at = now() WHERE token_hash = $1")
        .bind(token.hash().as_bytes())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
