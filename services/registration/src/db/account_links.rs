//! Single-use links about an account, kept in the platform schema: password resets (A5) and
//! confirmations of a new sign-in address. Only the token's hash is stored.

use chrono::{DateTime, Utc};
use schoolplein_kernel::tokens::TokenHash;
use sqlx::PgConnection;

/// A password-reset link.
#[derive(Debug, sqlx::FromRow)]
pub struct PasswordReset {
    pub account_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// A link that confirms a new sign-in address.
#[derive(Debug, sqlx::FromRow)]
pub struct EmailChange {
    pub account_id: i64,
    pub new_email: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Whether a link can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Used,
    Expired,
}

/// The state of a link that expires at `expires_at` and was used at `used_at`.
pub fn link_state(
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> LinkState {
    if used_at.is_some() {
        LinkState::Used
    } else if expires_at <= now {
        LinkState::Expired
    } else {
        LinkState::Open
    }
}

impl PasswordReset {
    pub fn state(&self, now: DateTime<Utc>) -> LinkState {
        link_state(self.expires_at, self.used_at, now)
    }
}

impl EmailChange {
    pub fn state(&self, now: DateTime<Utc>) -> LinkState {
        link_state(self.expires_at, self.used_at, now)
    }
}

pub async fn create_password_reset(
    conn: &mut PgConnection,
    account_id: i64,
    token: &TokenHash,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO platform.password_resets (token_hash, account_id, expires_at)
         VALUES ($1, $2, $3)",
    )
    .bind(token.as_bytes())
    .bind(account_id)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The reset behind a link; `lock` holds the row to the end of the transaction.
pub async fn find_password_reset(
    conn: &mut PgConnection,
    token: &TokenHash,
    lock: bool,
) -> Result<Option<PasswordReset>, sqlx::Error> {
    let sql = if lock {
        "SELECT account_id, expires_at, used_at FROM platform.password_resets
          WHERE token_hash = $1 FOR UPDATE"
    } else {
        "SELECT account_id, expires_at, used_at FROM platform.password_resets
          WHERE token_hash = $1"
    };
    sqlx::query_as(sql)
        .bind(token.as_bytes())
        .fetch_optional(conn)
        .await
}

/// Uses up every open reset link of the account (the one just used and any older ones).
pub async fn close_password_resets(
    conn: &mut PgConnection,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE platform.password_resets SET used_at = now()
          WHERE account_id = $1 AND used_at IS NULL",
    )
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a new confirmation link; earlier open ones of the account stop working.
pub async fn create_email_change(
    conn: &mut PgConnection,
    account_id: i64,
    new_email: &str,
    token: &TokenHash,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE platform.email_changes SET expires_at = least(expires_at, now())
          WHERE account_id = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO platform.email_changes (token_hash, account_id, new_email, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token.as_bytes())
    .bind(account_id)
    .bind(new_email)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_email_change(
    conn: &mut PgConnection,
    token: &TokenHash,
    lock: bool,
) -> Result<Option<EmailChange>, sqlx::Error> {
    let sql = if lock {
        "SELECT account_id, new_email, expires_at, used_at FROM platform.email_changes
          WHERE token_hash = $1 FOR UPDATE"
    } else {
        "SELECT account_id, new_email, expires_at, used_at FROM platform.email_changes
          WHERE token_hash = $1"
    };
    sqlx::query_as(sql)
        .bind(token.as_bytes())
        .fetch_optional(conn)
        .await
}

pub async fn mark_email_change_used(
    conn: &mut PgConnection,
    token: &TokenHash,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE platform.email_changes SET used_at = now() WHERE token_hash = $1")
        .bind(token.as_bytes())
        .execute(conn)
        .await?;
    Ok(())
}
