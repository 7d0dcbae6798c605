//! Files attached to posts (C1) on the post's page: PDF, JPEG and PNG, recognised by their
//! first bytes, within `crate::attachments`' limits; they reach exactly who the post reaches
//! and are always served as downloads, never shown inline.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use schoolplein_kernel::csrf::{CsrfForm, CsrfToken};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{AppError, AppState, Member, Staff, Writable};
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::{changeable, reader};
use crate::attachments::{MAX_ATTACHMENTS, check, read_file, unreadable};
use crate::db::attachments;
use crate::files::disposition;

/// `POST /posts/{id}/attachments` (multipart: `csrf` first, then `file`), by the post's
/// author or a school admin.
pub async fn upload(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    csrf: CsrfToken,
    Path(post_id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut verified = false;
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable("file"))? {
        match field.name() {
            Some("csrf") => {
                csrf.verify(Some(&field.text().await.map_err(unreadable("file"))?))?;
                verified = true;
            }
            Some("file") if verified => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = read_file(&mut field, "file").await?;
                file = Some(check("file", &name, bytes)?);
            }
            Some("file") => return Err(AppError::FormExpired),
            _ => {}
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    let file = file.ok_or_else(|| AppError::bad_request("file", "portal.attachments.missing"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // Locks the post: two uploads at once count each other.
    changeable(&mut tx, &viewer, post_id).await?;
    let count = attachments::count(&mut tx, post_id).await?;
    if count >= MAX_ATTACHMENTS {
        return Err(AppError::bad_request("file", "portal.attachments.too_many"));
    }
    attachments::insert(&mut tx, post_id, &file.name, file.content_type, &file.bytes).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

/// `GET /posts/{id}/attachments/{file}`: to whoever the post reaches, as a download.
pub async fn download(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path((post_id, attachment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let file = attachments::file(&mut tx, &reader, post_id, attachment_id).await?;
    tx.commit().await?;
    let (name, content_type, bytes) = file.ok_or(AppError::NotFound)?;
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_DISPOSITION, disposition(&name)),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /posts/{id}/attachments/{file}/delete`, by the post's author or a school admin.
pub async fn delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path((post_id, attachment_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    if !attachments::delete(&mut tx, post_id, attachment_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}
