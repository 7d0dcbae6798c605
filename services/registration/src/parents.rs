//! Making a parent of a school with an activation code (A2): the person in the school (found
//! by account or address, or added), the membership, and the link to the child — in effect at
//! once or waiting for an admin, as the school has set (T5).

use schoolplein_kernel::Role;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::db::codes::{self, Claim};
use crate::db::notices::{self, NoticeKind};
use crate::db::people;
use crate::domain::EmailAddress;

/// Where a parent's link stands after registering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// The parent sees the child now.
    Active,
    /// An admin approves first.
    Pending,
    /// The school's own code: an admin links the children.
    SchoolCode,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::SchoolCode => "school_code",
        }
    }
}

/// The account's person in this school, made a parent: found by account, else by address,
/// else added (with a welcome notice).
pub async fn parent_person(
    tx: &mut TenantTx,
    account_id: i64,
    email: &EmailAddress,
    name: &str,
) -> Result<i64, sqlx::Error> {
    let linked: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
    let person_id = match linked {
        Some(id) => id,
        None => {
            let id = people::find_or_add(
                tx,
                &people::NewPerson {
                    name,
                    email,
                    roles: &[Role::Parent],
                },
            )
            .await?;
            people::link_account(tx, id, account_id).await?;
            notices::add(tx, id, NoticeKind::Welcome, None).await?;
            id
        }
    };
    people::add_roles(tx, person_id, &[Role::Parent]).await?;
    Ok(person_id)
}

/// The account's parent in this school with the claim applied, in the caller's transaction.
pub async fn link_parent(
    tx: &mut TenantTx,
    account_id: i64,
    email: &EmailAddress,
    name: &str,
    claim: &Claim,
    note: Option<&str>,
) -> Result<(i64, LinkStatus), sqlx::Error> {
    let person_id = parent_person(tx, account_id, email, name).await?;
    let status = match claim {
        Claim::Pupil { pupil_id, .. } => {
            let at_once = codes::settings(tx).await?.activate_parents_at_once;
            let status: String = sqlx::query_scalar(
                "WITH added AS (
                     INSERT INTO guardians (pupil_id, person_id, status, approved_at)
                     VALUES ($1, $2, CASE WHEN $3 THEN 'active' ELSE 'pending' END,
                             CASE WHEN $3 THEN now() END)
                     ON CONFLICT (pupil_id, person_id) DO NOTHING
                     RETURNING status)
                 SELECT status FROM added
                 UNION ALL
                 SELECT status FROM guardians WHERE pupil_id = $1 AND person_id = $2
                 LIMIT 1",
            )
            .bind(pupil_id)
            .bind(person_id)
            .bind(at_once)
            .fetch_one(&mut **tx)
            .await?;
            if status == "active" {
                LinkStatus::Active
            } else {
                LinkStatus::Pending
            }
        }
        Claim::School => {
            sqlx::query("UPDATE people SET registration_note = $2 WHERE id = $1")
                .bind(person_id)
                .bind(note.map(str::trim).filter(|n| !n.is_empty()))
                .execute(&mut **tx)
                .await?;
            LinkStatus::SchoolCode
        }
    };
    Ok((person_id, status))
}
