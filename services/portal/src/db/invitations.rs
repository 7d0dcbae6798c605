//! Where each contact of each pupil stands with the mailed parent invitations (A3).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

/// One contact of one pupil, with where their invitation stands: `linked`, `invited`,
/// `reminded`, `expired`, `bounced`, `not_invited` or `no_address`.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ContactStatus {
    pub pupil_id: i64,
    pub pupil: String,
    pub group_name: Option<String>,
    pub contact: String,
    pub email: Option<String>,
    pub status: String,
    pub invited_at: Option<DateTime<Utc>>,
}

/// Every contact of the pupils at school (of one group, or all), in group and name order.
/// A mail counts as bounced while the receiving server refuses it for good: the outbox keeps
/// trying, less and less often, and records the kind of refusal.
pub async fn contacts(
    tx: &mut TenantTx,
    tenant: TenantId,
    group: Option<i64>,
) -> Result<Vec<ContactStatus>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id AS pupil_id,
                concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS pupil,
                g.name AS group_name, coalesce(c->>'name', '') AS contact,
                nullif(lower(c->>'email'), '') AS email,
                CASE
                  WHEN nullif(c->>'email', '') IS NULL THEN 'no_address'
                  WHEN EXISTS (SELECT 1 FROM guardians gu JOIN people pe ON pe.id = gu.person_id
                                WHERE gu.pupil_id = p.id AND gu.status = 'active'
                                  AND lower(pe.email) = lower(c->>'email'))
                    OR inv.accepted_at IS NOT NULL THEN 'linked'
                  WHEN inv.id IS NULL THEN 'not_invited'
                  WHEN EXISTS (SELECT 1 FROM platform.outbox o
                                WHERE o.tenant_id = $2 AND o.sent_at IS NULL
                                  AND o.id IN (inv.mail_id, inv.reminder_mail_id)
                                  AND o.last_error LIKE '%permanent%') THEN 'bounced'
                  WHEN inv.expires_at <= now() THEN 'expired'
                  WHEN inv.reminded_at IS NOT NULL THEN 'reminded'
                  ELSE 'invited'
                END AS status,
                inv.created_at AS invited_at
           FROM pupils p
           LEFT JOIN groups g ON g.id = p.group_id
           CROSS JOIN LATERAL jsonb_array_elements(p.contacts) c
           LEFT JOIN LATERAL (
                SELECT i.* FROM parent_invitation_pupils ip
                  JOIN parent_invitations i ON i.id = ip.invitation_id
                 WHERE ip.pupil_id = p.id AND lower(i.email) = lower(c->>'email')
                 ORDER BY i.id DESC LIMIT 1) inv ON true
          WHERE p.left_at IS NULL AND ($1::bigint IS NULL OR p.group_id = $1)
          ORDER BY g.year NULLS LAST, g.name, p.last_name, p.first_name, p.id",
    )
    .bind(group)
    .bind(tenant.get())
    .fetch_all(&mut **tx)
    .await
}
