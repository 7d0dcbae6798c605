//! The school's pupils as admins keep them: consent to use their images, the letters with
//! their activation codes.

use serde::Serialize;
use tenant_router::TenantTx;

/// A pupil at school, with their consent.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ConsentRow {
    pub id: i64,
    pub name: String,
    pub group_name: Option<String>,
    pub image_consent: bool,
}

/// Every pupil at school with their consent, by group and name.
pub async fn image_consents(tx: &mut TenantTx) -> Result<Vec<ConsentRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS name, g.name AS group_name,
                p.image_consent
           FROM pupils p LEFT JOIN groups g ON g.id = p.group_id
          WHERE p.left_at IS NULL
          ORDER BY g.year NULLS LAST, g.name, p.first_name, p.last_name, p.id",
    )
    .fetch_all(&mut **tx)
    .await
}

/// How many of these pupils are at school.
pub async fn count_at_school(tx: &mut TenantTx, pupil_ids: &[i64]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM pupils WHERE id = ANY($1) AND left_at IS NULL")
        .bind(pupil_ids)
        .fetch_one(&mut **tx)
        .await
}

/// These pupils have consent, every other pupil at school has not.
pub async fn set_image_consents(tx: &mut TenantTx, consenting: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE pupils SET image_consent = (id = ANY($1)), updated_at = now()
          WHERE left_at IS NULL AND image_consent <> (id = ANY($1))",
    )
    .bind(consenting)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A pupil's letter: first and full name and activation code.
#[derive(Debug, sqlx::FromRow)]
pub struct LetterRow {
    pub first_name: String,
    pub full_name: String,
    pub code: String,
}

/// The letters of the group's pupils at school, by name.
pub async fn letters(tx: &mut TenantTx, group_id: i64) -> Result<Vec<LetterRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.first_name,
                p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS full_name,
                c.code
           FROM pupils p JOIN pupil_codes c ON c.pupil_id = p.id
          WHERE p.group_id = $1 AND p.left_at IS NULL
          ORDER BY p.last_name, p.first_name, p.id",
    )
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await
}
