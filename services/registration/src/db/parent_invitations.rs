//! The school's `parent_invitations` (A3), from the accepting side: the invitation behind a
//! mailed link, the children it names, and linking them to the parent who accepts.

use chrono::{DateTime, Utc};
use schoolplein_kernel::tokens::SecretToken;
use serde::Serialize;
use tenant_router::TenantTx;

/// An invitation mailed to one address.
#[derive(Debug, sqlx::FromRow)]
pub struct ParentInvitation {
    pub id: i64,
    pub email: String,
    pub invited_by: Option<i64>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// A child the invitation names, as the page shows them.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct InvitedChild {
    pub pupil_id: i64,
    pub name: String,
    pub group_name: Option<String>,
    /// How the administration's file names the invited contact.
    pub contact_name: String,
}

/// The invitation behind a link (the first mail's or the reminder's); locked for the rest of
/// `tx` when `lock`, so two presses accept it once.
pub async fn find(
    tx: &mut TenantTx,
    token: &SecretToken,
    lock: bool,
) -> Result<Option<ParentInvitation>, sqlx::Error> {
    let sql = if lock {
        "SELECT id, email, invited_by, expires_at, accepted_at FROM parent_invitations
          WHERE token_hash = $1 OR reminder_token_hash = $1 FOR UPDATE"
    } else {
        "SELECT id, email, invited_by, expires_at, accepted_at FROM parent_invitations
          WHERE token_hash = $1 OR reminder_token_hash = $1"
    };
    sqlx::query_as(sql)
        .bind(token.hash().as_bytes())
        .fetch_optional(&mut **tx)
        .await
}

/// The children still at school that the invitation names.
pub async fn children(
    tx: &mut TenantTx,
    invitation_id: i64,
) -> Result<Vec<InvitedChild>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id AS pupil_id,
                concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS name,
                g.name AS group_name, ip.contact_name
           FROM parent_invitation_pupils ip
           JOIN pupils p ON p.id = ip.pupil_id AND p.left_at IS NULL
           LEFT JOIN groups g ON g.id = p.group_id
          WHERE ip.invitation_id = $1
          ORDER BY p.first_name, p.id",
    )
    .bind(invitation_id)
    .fetch_all(&mut **tx)
    .await
}

/// Makes `person_id` an active guardian of every child the invitation names who is still at
/// school (approved by whoever invited), and marks the invitation used.
pub async fn link_children(
    tx: &mut TenantTx,
    invitation: &ParentInvitation,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guardians (pupil_id, person_id, status, approved_at, approved_by)
         SELECT ip.pupil_id, $2, 'active', now(), $3
           FROM parent_invitation_pupils ip JOIN pupils p ON p.id = ip.pupil_id
          WHERE ip.invitation_id = $1 AND p.left_at IS NULL
         ON CONFLICT (pupil_id, person_id) DO UPDATE
            SET status = 'active', approved_at = coalesce(guardians.approved_at, now()),
                approved_by = coalesce(guardians.approved_by, EXCLUDED.approved_by)",
    )
    .bind(invitation.id)
    .bind(person_id)
    .bind(invitation.invited_by)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE parent_invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1",
    )
    .bind(invitation.id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
