//! Activation codes in the school's schema: one per pupil, and the school's own; what a code
//! opens; and the settings that decide whether a new link waits for an admin.

use serde::Serialize;
use tenant_router::TenantTx;

use crate::domain::ActivationCode;

/// What a typed code opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Claim {
    /// A pupil's code: links the parent to this child.
    Pupil {
        pupil_id: i64,
        first_name: String,
        group_name: Option<String>,
    },
    /// The school's code: makes the parent a member, waiting for an admin to link children.
    School,
}

impl Claim {
    pub fn pupil_id(&self) -> Option<i64> {
        match self {
            Self::Pupil { pupil_id, .. } => Some(*pupil_id),
            Self::School => None,
        }
    }
}

/// Gives every pupil who is still at school and has no code one; returns how many.
pub async fn ensure_codes(tx: &mut TenantTx) -> Result<u64, sqlx::Error> {
    let missing: Vec<i64> = sqlx::query_scalar(
        "SELECT p.id FROM pupils p
          WHERE p.left_at IS NULL AND NOT EXISTS (SELECT 1 FROM pupil_codes c WHERE c.pupil_id = p.id)",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut made = 0;
    let mut remaining = missing;
    // Two random codes colliding (1 in 2^60) only means another round for that pupil.
    while !remaining.is_empty() {
        let codes: Vec<String> = remaining
            .iter()
            .map(|_| ActivationCode::generate().as_str().to_owned())
            .collect();
        let inserted: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO pupil_codes (pupil_id, code)
             SELECT * FROM unnest($1::int8[], $2::text[])
             ON CONFLICT DO NOTHING RETURNING pupil_id",
        )
        .bind(&remaining)
        .bind(&codes)
        .fetch_all(&mut **tx)
        .await?;
        made += inserted.len() as u64;
        remaining.retain(|id| !inserted.contains(id));
    }
    Ok(made)
}

/// A new code for a pupil (`None`: no such pupil); the old one stops working at commit.
pub async fn regenerate(
    tx: &mut TenantTx,
    pupil_id: i64,
) -> Result<Option<ActivationCode>, sqlx::Error> {
    let code = ActivationCode::generate();
    // Another pupil holding the same code (1 in 2^60) fails the transaction: nothing changes
    // and the admin tries again.
    let done = sqlx::query(
        "INSERT INTO pupil_codes (pupil_id, code) SELECT id, $2 FROM pupils WHERE id = $1
         ON CONFLICT (pupil_id) DO UPDATE SET code = EXCLUDED.code, created_at = now()",
    )
    .bind(pupil_id)
    .bind(code.as_str())
    .execute(&mut **tx)
    .await?;
    Ok((done.rows_affected() == 1).then_some(code))
}

/// What a code opens, if anything: a pupil's (still at school) or the school's own.
pub async fn find_claim(
    tx: &mut TenantTx,
    code: &ActivationCode,
) -> Result<Option<Claim>, sqlx::Error> {
    let pupil: Option<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT p.id, p.first_name, g.name
           FROM pupil_codes c JOIN pupils p ON p.id = c.pupil_id
           LEFT JOIN groups g ON g.id = p.group_id
          WHERE c.code = $1 AND p.left_at IS NULL",
    )
    .bind(code.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((pupil_id, first_name, group_name)) = pupil {
        return Ok(Some(Claim::Pupil {
            pupil_id,
            first_name,
            group_name,
        }));
    }
    let school: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM school_settings WHERE school_code = $1)")
            .bind(code.as_str())
            .fetch_one(&mut **tx)
            .await?;
    Ok(school.then_some(Claim::School))
}

/// The claim of a pupil by id (a pending registration names its pupil), if still at school.
pub async fn pupil_claim(tx: &mut TenantTx, pupil_id: i64) -> Result<Option<Claim>, sqlx::Error> {
    let pupil: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT p.first_name, g.name FROM pupils p LEFT JOIN groups g ON g.id = p.group_id
          WHERE p.id = $1 AND p.left_at IS NULL",
    )
    .bind(pupil_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(pupil.map(|(first_name, group_name)| Claim::Pupil {
        pupil_id,
        first_name,
        group_name,
    }))
}

/// The settings registration needs.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RegistrationSettings {
    pub activate_parents_at_once: bool,
    pub school_code: Option<String>,
}

pub async fn settings(tx: &mut TenantTx) -> Result<RegistrationSettings, sqlx::Error> {
    sqlx::query_as("SELECT activate_parents_at_once, school_code FROM school_settings")
        .fetch_one(&mut **tx)
        .await
}

pub async fn set_activate_at_once(tx: &mut TenantTx, at_once: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE school_settings SET activate_parents_at_once = $1, updated_at = now()")
        .bind(at_once)
        .execute(&mut **tx)
        .await?;
    schoolplein_kernel::settings::announce_change(tx).await
}

/// Sets a new school code (or none); the old one stops working at commit.
pub async fn set_school_code(
    tx: &mut TenantTx,
    code: Option<&ActivationCode>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE school_settings SET school_code = $1, updated_at = now()")
        .bind(code.map(ActivationCode::as_str))
        .execute(&mut **tx)
        .await?;
    schoolplein_kernel::settings::announce_change(tx).await
}

/// How many parents' links to a child wait for an admin's approval.
pub async fn pending_links(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM guardians WHERE status = 'pending'")
        .fetch_one(&mut **tx)
        .await
}
