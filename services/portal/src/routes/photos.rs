//! Profile photos (P8): a parent uploads one (JPEG or PNG, recognised by its first bytes —
//! what a file claims to be counts for nothing), and others see it only where the parent's
//! privacy choice for "photo" lets them (P7). Everyone else gets a 404, as if there were none.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use schoolplein_kernel::csrf::{CsrfForm, CsrfToken};
use schoolplein_kernel::{AppError, AppState, Viewer};
use tenant_router::{CurrentTenant, TenantTx};

use crate::privacy::{Audience, Choice, Field, Looker, visible_fields};
use crate::routes::children::open_to;

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The type of an image by its first bytes: only JPEG and PNG are photos here.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// `POST /children/photo` (multipart: `csrf` first, then `photo`).
pub async fn upload_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    csrf: CsrfToken,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let unreadable = |_| AppError::bad_request("photo", "portal.photo.unreadable");
    let mut verified = false;
    let mut photo = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => {
                csrf.verify(Some(&field.text().await.map_err(unreadable)?))?;
                verified = true;
            }
            Some("photo") if verified => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_PHOTO_BYTES {
                        return Err(AppError::bad_request("photo", "portal.photo.too_large"));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                photo = Some(bytes);
            }
            Some("photo") => return Err(AppError::FormExpired),
            _ => {}
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    let bytes = photo
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AppError::bad_request("photo", "portal.photo.missing"))?;
    let content_type =
        sniff(&bytes).ok_or_else(|| AppError::bad_request("photo", "portal.photo.not_an_image"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    sqlx::query(
        "INSERT INTO person_photos (person_id, content_type, bytes) VALUES ($1, $2, $3)
         ON CONFLICT (person_id) DO UPDATE SET content_type = EXCLUDED.content_type,
                bytes = EXCLUDED.bytes, updated_at = now()",
    )
    .bind(viewer.person_id)
    .bind(content_type)
    .bind(&bytes)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// `POST /children/photo/remove`.
pub async fn remove_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<schoolplein_registration::routes::sign_in::EmptyForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    sqlx::query("DELETE FROM person_photos WHERE person_id = $1")
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// `GET /people/{id}/photo`: the photo, to the person, to staff, and to parents the person's
/// choice lets see it.
pub async fn show_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(person_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    #[derive(sqlx::FromRow)]
    struct Photo {
        content_type: String,
        bytes: Vec<u8>,
        viewer_groups: Vec<i64>,
        viewer_has_child: bool,
        choices: Vec<String>,
    }
    let photo: Option<Photo> = sqlx::query_as(
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
    .bind(viewer.person_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let photo = photo.ok_or(AppError::NotFound)?;
    let looker = Looker {
        person_id: viewer.person_id,
        is_staff: viewer.is_staff(),
        child_groups: photo.viewer_groups.iter().copied().collect(),
        has_child: photo.viewer_has_child,
    };
    let choices: Vec<Choice> = photo
        .choices
        .iter()
        .filter_map(|entry| {
            let (audience, group) = entry.split_once(':')?;
            Some(Choice {
                field: Field::Photo,
                audience: Audience::parse(audience)?,
                child_group: group.parse().ok(),
            })
        })
        .collect();
    if !visible_fields(&looker, person_id, &choices).contains(&Field::Photo) {
        return Err(AppError::NotFound);
    }
    Ok((
        [
            (CONTENT_TYPE, photo.content_type),
            (CONTENT_DISPOSITION, "inline".to_owned()),
            (CACHE_CONTROL, "private, max-age=300".to_owned()),
        ],
        photo.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn only_real_jpeg_and_png_are_photos() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(
            sniff(b"\\x89PNG\\r\\n\\x1a\\n...."),
            None,
            "escaped text is not a PNG"
        );
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        for lie in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<html><script>",
            b"GIF89a",
            b"%PDF-1.7",
            b"",
        ] {
            assert_eq!(sniff(lie), None);
        }
    }
}
