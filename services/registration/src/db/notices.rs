//! A person's notices in one school and how many are unread (the school switcher's counts).

use tenant_router::TenantTx;

/// What a notice says; stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// "Welcome to the school's portal", for a new member.
    Welcome,
    /// "<subject> accepted your invitation", for the person who invited them.
    InvitationAccepted,
    /// "<subject> asks to link as partners" (A8).
    PartnerRequest,
    /// "<subject> is now linked as your partner".
    PartnerLinked,
    /// "<subject> ended the partner link".
    PartnerEnded,
    /// "<subject>, your partner, changed your details" (joint use).
    PartnerChangedDetails,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::InvitationAccepted => "invitation_accepted",
            Self::PartnerRequest => "partner_request",
            Self::PartnerLinked => "partner_linked",
            Self::PartnerEnded => "partner_ended",
            Self::PartnerChangedDetails => "partner_changed_details",
        }
    }
}

/// A notice as listed.
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    /// The name of the person it is about, if any.
    pub subject_name: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub unread: bool,
}

pub async fn add(
    tx: &mut TenantTx,
    person_id: i64,
    kind: NoticeKind,
    subject_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO notices (person_id, kind, subject_id) VALUES ($1, $2, $3)")
        .bind(person_id)
        .bind(kind.as_str())
        .bind(subject_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn unread_count(tx: &mut TenantTx, person_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM notices WHERE person_id = $1 AND read_at IS NULL")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

/// The newest `limit` notices of a person.
pub async fn latest(
    tx: &mut TenantTx,
    person_id: i64,
    limit: i64,
) -> Result<Vec<Notice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT n.id, n.kind, s.name AS subject_name, n.created_at, n.read_at IS NULL AS unread
           FROM notices n LEFT JOIN people s ON s.id = n.subject_id
          WHERE n.person_id = $1
          ORDER BY n.created_at DESC, n.id DESC
          LIMIT $2",
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Marks every notice of the person read; returns how many were unread.
pub async fn mark_all_read(tx: &mut TenantTx, person_id: i64) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("UPDATE notices SET read_at = now() WHERE person_id = $1 AND read_at IS NULL")
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected())
}
