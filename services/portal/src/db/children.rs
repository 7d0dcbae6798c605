//! A parent's own page: their children, with what each privacy choice and medical note says,
//! the parent's extra contacts, and who is a child's primary contact.

use std::collections::HashMap;

use serde::Serialize;
use tenant_router::TenantTx;

/// A child of the parent, still at school.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ChildRow {
    pub pupil_id: i64,
    pub name: String,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub status: String,
    pub is_primary: bool,
    pub medical: Option<String>,
    pub allergies: Option<String>,
    #[sqlx(skip)]
    pub choices: HashMap<&'static str, &'static str>,
}

/// The parent's children still at school (links in effect or waiting), eldest first.
pub async fn of_parent(tx: &mut TenantTx, person_id: i64) -> Result<Vec<ChildRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id AS pupil_id,
                p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS name,
                gr.id AS group_id, gr.name AS group_name, g.status, g.is_primary,
                m.medical, m.allergies
           FROM guardians g JOIN pupils p ON p.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = p.group_id
           LEFT JOIN pupil_medical m ON m.pupil_id = p.id
          WHERE g.person_id = $1 AND p.left_at IS NULL
          ORDER BY p.date_of_birth, p.id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// The parent's privacy choices, `(pupil, field, audience)`.
pub async fn privacy_choices(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT pupil_id, field, audience FROM privacy_choices WHERE person_id = $1")
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await
}

/// An extra contact of the parent's.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ContactRow {
    pub label: String,
    pub name: String,
    pub phone: String,
}

pub async fn contacts(tx: &mut TenantTx, person_id: i64) -> Result<Vec<ContactRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT label, name, phone FROM person_contacts WHERE person_id = $1 ORDER BY id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the person is a parent of the child, in effect or waiting.
pub async fn is_guardian(
    tx: &mut TenantTx,
    pupil_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guardians WHERE pupil_id = $1 AND person_id = $2)",
    )
    .bind(pupil_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// The parent's choices for the child, in place of the ones they had: `fields[i]` shown to
/// `audiences[i]`.
pub async fn replace_privacy_choices(
    tx: &mut TenantTx,
    person_id: i64,
    pupil_id: i64,
    fields: &[&str],
    audiences: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM privacy_choices WHERE person_id = $1 AND pupil_id = $2")
        .bind(person_id)
        .bind(pupil_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO privacy_choices (person_id, pupil_id, field, audience)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[])",
    )
    .bind(person_id)
    .bind(pupil_id)
    .bind(fields)
    .bind(audiences)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The parent's extra contacts, `(label, name, phone)`, in place of the ones they had.
pub async fn replace_contacts(
    tx: &mut TenantTx,
    person_id: i64,
    rows: &[(String, String, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM person_contacts WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO person_contacts (person_id, label, name, phone)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])",
    )
    .bind(person_id)
    .bind(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2.as_str()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether this parent's link to the child is in effect.
pub async fn linked(tx: &mut TenantTx, pupil_id: i64, person_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guardians
                         WHERE pupil_id = $1 AND person_id = $2 AND status = 'active')",
    )
    .bind(pupil_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// What the school must know of the child's health, as the parent wrote it.
pub async fn save_medical(
    tx: &mut TenantTx,
    pupil_id: i64,
    medical: &str,
    allergies: &str,
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pupil_medical (pupil_id, medical, allergies, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pupil_id) DO UPDATE SET medical = EXCLUDED.medical,
                allergies = EXCLUDED.allergies, updated_by = EXCLUDED.updated_by, updated_at = now()",
    )
    .bind(pupil_id)
    .bind(medical)
    .bind(allergies)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The parent becomes the child's primary contact; the child's other parents no longer are.
pub async fn make_primary(
    tx: &mut TenantTx,
    pupil_id: i64,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guardians SET is_primary = false WHERE pupil_id = $1 AND is_primary")
        .bind(pupil_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE guardians SET is_primary = true WHERE pupil_id = $1 AND person_id = $2")
        .bind(pupil_id)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
