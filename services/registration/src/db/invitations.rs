//! The school's `invitations`: single-use links that make a person of the school a member.

use chrono::{DateTime, Utc};
use schoolplein_kernel::tokens::TokenHash;
use tenant_router::TenantTx;

/// An invitation with the person it is for.
#[derive(Debug, sqlx::FromRow)]
pub struct Invitation {
    pub id: i64,
    pub person_id: i64,
    pub invited_by: Option<i64>,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    /// The person's account, when they already have one.
    pub account_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// What an invitation link can still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Open,
    Used,
    Expired,
}

impl Invitation {
    pub fn state(&self, now: DateTime<Utc>) -> InvitationState {
        if self.used_at.is_some() {
            InvitationState::Used
        } else if self.expires_at <= now {
            InvitationState::Expired
        } else {
            InvitationState::Open
        }
    }
}

/// Writes a new invitation for `person_id`. Earlier open invitations of the person end now:
/// only the newest link works.
pub async fn create(
    tx: &mut TenantTx,
    person_id: i64,
    invited_by: Option<i64>,
    token: &TokenHash,
    expires_at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "UPDATE invitations SET expires_at = least(expires_at, now())
          WHERE person_id = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar(
        "INSERT INTO invitations (token_hash, person_id, invited_by, expires_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(token.as_bytes())
    .bind(person_id)
    .bind(invited_by)
    .bind(expires_at)
    .fetch_one(&mut **tx)
    .await
}

/// The invitation behind a link; `lock` holds its row until the transaction ends, so two
/// acceptances of one link cannot both succeed.
pub async fn find(
    tx: &mut TenantTx,
    token: &TokenHash,
    lock: bool,
) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = if lock {
        "SELECT i.id, i.person_id, i.invited_by, p.name, p.email, p.roles, p.account_id,
                i.expires_at, i.used_at
           FROM invitations i JOIN people p ON p.id = i.person_id
          WHERE i.token_hash = $1 FOR UPDATE OF i"
    } else {
        "SELECT i.id, i.person_id, i.invited_by, p.name, p.email, p.roles, p.account_id,
                i.expires_at, i.used_at
           FROM invitations i JOIN people p ON p.id = i.person_id
          WHERE i.token_hash = $1"
    };
    sqlx::query_as(sql)
        .bind(token.as_bytes())
        .fetch_optional(&mut **tx)
        .await
}

pub async fn mark_used(tx: &mut TenantTx, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invitations SET used_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account of the invited person: linked already, or found by the address.
pub async fn account_of(
    tx: &mut TenantTx,
    invitation: &Invitation,
) -> Result<Option<super::accounts::AccountByEmail>, sqlx::Error> {
    match invitation.account_id {
        Some(id) => super::accounts::find_by_id(tx, id).await,
        None => super::accounts::find_by_email(tx, &invitation.email).await,
    }
}
