//! People's profile photos, and what decides who may see one.

use tenant_router::TenantTx;

/// Stores the person's photo, in place of the one they had.
pub async fn save(
    tx: &mut TenantTx,
    person_id: i64,
    content_type: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO person_photos (person_id, content_type, bytes) VALUES ($1, $2, $3)
         ON CONFLICT (person_id) DO UPDATE SET content_type = EXCLUDED.content_type,
                bytes = EXCLUDED.bytes, updated_at = now()",
    )
    .bind(person_id)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn remove(tx: &mut TenantTx, person_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM person_photos WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A photo with what the privacy rules need to say whether the viewer may see it.
#[derive(Debug, sqlx::FromRow)]
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The groups of the viewer's children at school.
    pub viewer_groups: Vec<i64>,
    pub viewer_has_child: bool,
    /// The photo's owner's choices for "photo", `<audience>:<child's group>`.
    pub choices: Vec<String>,
}

/// The person's photo, if they have one, as seen by `viewer_id`.
pub async fn with_choices(
    tx: &mut TenantTx,
    person_id: i64,
    viewer_id: i64,
) -> Result<Option<Photo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ph.content_type, ph.bytes,
                ARRAY(SELECT DISTINCT p.group_id FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                       WHERE g.person_id = $2 AND g.status = 'active' AND p.left_at IS NULL
                         AND p.group_id IS NOT NULL) AS viewer_groups,
                EXISTS (SELECT 1 FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                         WHERE g.person_id = $2 AND g.status = 'active' AND p.left_at IS NULL) AS viewer_has_child,
                ARRAY(SELECT c.audience || ':' || coalesce(cp.group_id::text, '')
                        FROM privacy_choices c
                        JOIN pupils cp ON cp.id = c.pupil_id AND cp.left_at IS NULL
                        JOIN guardians cg ON cg.pupil_id = c.pupil_id AND cg.person_id = c.person_id
                                         AND cg.status = 'active'
                       WHERE c.person_id = ph.person_id AND c.field = 'photo') AS choices
           FROM person_photos ph WHERE ph.person_id = $1",
    )
    .bind(person_id)
    .bind(viewer_id)
    .fetch_optional(&mut **tx)
    .await
}
