//! `platform.accounts`: one row per person, whatever the number of schools.

use sqlx::PgConnection;
use tenant_router::PlatformPool;

use crate::domain::EmailAddress;

/// What sign-in needs to know of an account.
#[derive(Debug, sqlx::FromRow)]
pub struct SignInAccount {
    pub id: i64,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

pub async fn find_for_sign_in(
    db: &PlatformPool,
    email: &EmailAddress,
) -> Result<Option<SignInAccount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, password_hash, disabled FROM platform.accounts WHERE lower(email) = lower($1)",
    )
    .bind(email.as_str())
    .fetch_optional(&mut *db.acquire().await?)
    .await
}

pub async fn password_hash(
    db: &PlatformPool,
    account_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM platform.accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut *db.acquire().await?)
        .await
        .map(Option::flatten)
}

/// The account with this address, created (without a password) when there is none. Two
/// requests racing for the same new address end with one account.
pub async fn find_or_create(
    conn: &mut PgConnection,
    email: &EmailAddress,
    name: &str,
    language: &str,
) -> Result<i64, sqlx::Error> {
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO platform.accounts (email, name, language) VALUES ($1, $2, $3)
         ON CONFLICT ((lower(email))) DO NOTHING RETURNING id",
    )
    .bind(email.as_str())
    .bind(name)
    .bind(language)
    .fetch_optional(&mut *conn)
    .await?;
    match created {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT id FROM platform.accounts WHERE lower(email) = lower($1)")
                .bind(email.as_str())
                .fetch_one(&mut *conn)
                .await
        }
    }
}

pub async fn set_password(
    conn: &mut PgConnection,
    account_id: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE platform.accounts SET password_hash = $2, password_changed_at = now() WHERE id = $1",
    )
    .bind(account_id)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update_profile(
    db: &PlatformPool,
    account_id: i64,
    name: &str,
    language: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE platform.accounts SET name = $2, language = $3 WHERE id = $1")
        .bind(account_id)
        .bind(name)
        .bind(language)
        .execute(&mut *db.acquire().await?)
        .await?;
    Ok(())
}

/// The schools an account belongs to (for the switcher and the account page).
#[derive(Debug, sqlx::FromRow)]
pub struct SchoolOfAccount {
    pub tenant_id: i64,
    pub person_id: i64,
    pub roles: Vec<String>,
    pub blocked: bool,
}

pub async fn schools(
    db: &PlatformPool,
    account_id: i64,
) -> Result<Vec<SchoolOfAccount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT tenant_id, person_id, roles, blocked_at IS NOT NULL AS blocked
           FROM platform.memberships WHERE account_id = $1 ORDER BY tenant_id",
    )
    .bind(account_id)
    .fetch_all(&mut *db.acquire().await?)
    .await
}

/// What the pages need to know of the account behind an address.
#[derive(Debug, sqlx::FromRow)]
pub struct AccountByEmail {
    pub id: i64,
    pub email: String,
    pub language: String,
    pub has_password: bool,
    pub disabled: bool,
}

pub async fn find_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<AccountByEmail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, language, password_hash IS NOT NULL AS has_password, disabled
           FROM platform.accounts WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

pub async fn find_by_id(
    conn: &mut PgConnection,
    account_id: i64,
) -> Result<Option<AccountByEmail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, language, password_hash IS NOT NULL AS has_password, disabled
           FROM platform.accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(conn)
    .await
}

/// The account's name and sign-in address, as the person sees them on their account page.
pub async fn name_and_email(
    conn: &mut PgConnection,
    account_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT name, email FROM platform.accounts WHERE id = $1 AND NOT disabled")
        .bind(account_id)
        .fetch_optional(conn)
        .await
}

/// Sets the password only when the account has none yet (a person accepting an invitation
/// must not overwrite a password set meanwhile). True when it was set.
pub async fn set_first_password(
    conn: &mut PgConnection,
    account_id: i64,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE platform.accounts SET password_hash = $2, password_changed_at = now()
          WHERE id = $1 AND password_hash IS NULL",
    )
    .bind(account_id)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Why a new sign-in address was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailChangeOutcome {
    Changed,
    /// Another account signs in with this address.
    Taken,
}

/// Changes the sign-in address; the unique index decides races between two accounts.
pub async fn change_email(
    conn: &mut PgConnection,
    account_id: i64,
    new_email: &str,
) -> Result<EmailChangeOutcome, sqlx::Error> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM platform.accounts WHERE lower(email) = lower($1) AND id <> $2)",
    )
    .bind(new_email)
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await?;
    if taken {
        return Ok(EmailChangeOutcome::Taken);
    }
    let result = sqlx::query("UPDATE platform.accounts SET email = $2 WHERE id = $1")
        .bind(account_id)
        .bind(new_email)
        .execute(conn)
        .await;
    match result {
        Ok(_) => Ok(EmailChangeOutcome::Changed),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {
            Ok(EmailChangeOutcome::Taken)
        }
        Err(e) => Err(e),
    }
}
