//! Files attached to posts (C1): PDF, JPEG and PNG, recognised by their first bytes, at most
//! `MAX_ATTACHMENT_BYTES` each and `MAX_ATTACHMENTS` per post; they reach exactly who the post
//! reaches and are always served as downloads, never shown inline.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use schoolplein_kernel::audience::SEES_POST;
use schoolplein_kernel::csrf::{CsrfForm, CsrfToken};
use schoolplein_kernel::{AppError, AppState, Role, Viewer};
use schoolplein_registration::routes::sign_in::EmptyForm;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::{CurrentTenant, TenantTx};

use crate::routes::children::open_to;
use crate::routes::posts::{changeable, reader};

/// The largest file accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Files per post.
pub const MAX_ATTACHMENTS: i64 = 5;

/// The type of a file by its first bytes: only PDF, JPEG and PNG are accepted.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        crate::routes::photos::sniff(bytes)
    }
}

/// A file name as shown and offered for download: no directories, no control characters,
/// trimmed, at most 200 characters; "bijlage" when nothing is left.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "bijlage".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// `Content-Disposition` for a download named `name` (RFC 6266 with RFC 5987's encoding, and
/// an ASCII-only fallback).
pub(crate) fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"._-".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A file as the post's page lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AttachmentLink {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i32,
}

/// The files of a post, oldest first.
pub async fn of_post(tx: &mut TenantTx, post_id: i64) -> Result<Vec<AttachmentLink>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, file_name, content_type, length(bytes) AS size
           FROM post_attachments WHERE post_id = $1 ORDER BY id",
    )
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await
}

/// `POST /posts/{id}/attachments` (multipart: `csrf` first, then `file`), by the post's
/// author or a school admin.
pub async fn upload(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    csrf: CsrfToken,
    Path(post_id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let unreadable = |_| AppError::bad_request("file", "portal.attachments.unreadable");
    let mut verified = false;
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => {
                csrf.verify(Some(&field.text().await.map_err(unreadable)?))?;
                verified = true;
            }
            Some("file") if verified => {
                let name = clean_file_name(field.file_name().unwrap_or_default());
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
                        return Err(AppError::bad_request(
                            "file",
                            "portal.attachments.too_large",
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, bytes));
            }
            Some("file") => return Err(AppError::FormExpired),
            _ => {}
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    let (name, bytes) = file
        .filter(|(_, bytes)| !bytes.is_empty())
        .ok_or_else(|| AppError::bad_request("file", "portal.attachments.missing"))?;
    let content_type = sniff(&bytes)
        .ok_or_else(|| AppError::bad_request("file", "portal.attachments.not_allowed"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // Locks the post: two uploads at once count each other.
    changeable(&mut tx, &viewer, post_id).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM post_attachments WHERE post_id = $1")
        .bind(post_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_ATTACHMENTS {
        return Err(AppError::bad_request("file", "portal.attachments.too_many"));
    }
    sqlx::query(
        "INSERT INTO post_attachments (post_id, file_name, content_type, bytes)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(post_id)
    .bind(&name)
    .bind(content_type)
    .bind(&bytes)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

/// `GET /posts/{id}/attachments/{file}`: to whoever the post reaches, as a download.
pub async fn download(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path((post_id, attachment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let sql = format!(
        "SELECT a.file_name, a.content_type, a.bytes
           FROM post_attachments a JOIN posts po ON po.id = a.post_id
          WHERE a.id = $5 AND po.id = $4 AND {SEES_POST}"
    );
    let file: Option<(String, String, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(&reader.groups)
        .bind(post_id)
        .bind(attachment_id)
        .fetch_optional(&mut *tx)
        .await?;
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
    viewer: Viewer,
    Path((post_id, attachment_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    let removed = sqlx::query("DELETE FROM post_attachments WHERE id = $1 AND post_id = $2")
        .bind(attachment_id)
        .bind(post_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_what_their_bytes_say() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        for lie in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<!doctype html><script>alert(1)</script>",
            b"PK\x03\x04",
            b"GIF89a",
            b" %PDF-1.7",
        ] {
            assert_eq!(sniff(lie), None);
        }
    }

    #[test]
    fn file_names_lose_directories_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\juf\\Brief.pdf"), "Brief.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\r\n.pdf"), "ab.pdf");
        assert_eq!(clean_file_name("  "), "bijlage");
        assert_eq!(clean_file_name(".."), "bijlage");
        assert_eq!(clean_file_name(&"x".repeat(300)).len(), 200);
    }

    #[test]
    fn a_download_header_carries_no_quote_or_line_break_of_the_name() {
        let header = disposition("Brief \"ouders\"\r\nSet-Cookie: x.pdf");
        assert!(!header.contains('\r') && !header.contains('\n'));
        assert!(header.starts_with("attachment; filename=\"Brief _ouders___Set-Cookie_ x.pdf\";"));
        assert!(
            header.ends_with("filename*=UTF-8''Brief%20%22ouders%22%0D%0ASet-Cookie%3A%20x.pdf")
        );
    }
}
