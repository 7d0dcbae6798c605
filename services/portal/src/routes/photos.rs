//! Profile photos (P8): a parent uploads one (JPEG or PNG, recognised by its first bytes —
//! what a file claims to be counts for nothing), and others see it only where the parent's
//! privacy choice for "photo" lets them (P7). Everyone else gets a 404, as if there were none.

use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{FormBack, TokenOnly};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Viewer, Writable};
use tenant_router::{CurrentTenant, TenantTx};

use crate::children_page::{PHOTO_FORM, children_page};
use crate::db::photos;
use crate::files::sniff_image;
use crate::privacy::{Audience, Choice, Field, Looker, visible_fields};

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// `POST /children/photo` (multipart: `csrf` first, then `photo`). A refused file (too
/// large, not a JPEG or PNG, none chosen) brings the children page back with the reason at the
/// file field (400); nothing is stored.
pub async fn upload_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    (csrf, csrf_check): (Csrf, CsrfToken),
    viewer: Writable<Member>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    match store_photo(&state, &tenant, &viewer, &csrf_check, multipart).await {
        Ok(()) => Ok(Redirect::to("/children?saved=1").into_response()),
        Err(error) => {
            // A browser cannot be given a chosen file back, and the form holds nothing else.
            let anchor = |_: &str| "photo".to_owned();
            let back = FormBack::of(&state, pages.language(), error, PHOTO_FORM, &[], anchor)?;
            children_page(&state, &tenant, &pages, csrf, &viewer, false, back).await
        }
    }
}

/// Reads the form, checks the photo and stores it as the viewer's; a refusal names `photo`.
async fn store_photo(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    csrf: &CsrfToken,
    mut multipart: Multipart,
) -> Result<(), AppError> {
    let unreadable = |error: MultipartError| {
        // A body over the route's limit is a photo too large, not one that came in broken.
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::bad_request("photo", "portal.photo.too_large")
        } else {
            AppError::bad_request("photo", "portal.photo.unreadable")
        }
    };
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
    let content_type = sniff_image(&bytes)
        .ok_or_else(|| AppError::bad_request("photo", "portal.photo.not_an_image"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    photos::save(&mut tx, viewer.person_id, content_type, &bytes).await?;
    tx.commit().await?;
    Ok(())
}

/// `POST /children/photo/remove`.
pub async fn remove_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    photos::remove(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/children?saved=1").into_response())
}

/// `GET /people/{id}/photo`: the photo, to the person, to staff, and to parents the person's
/// choice lets see it.
pub async fn show_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path(person_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let photo = photos::with_choices(&mut tx, person_id, viewer.person_id).await?;
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
