//! Files attached to posts as they arrive, for the upload on a post's page and for the post
//! form alike: the limits, reading a file field to its end, and what a file is by its first
//! bytes (PDF, JPEG and PNG only; what it claims to be counts for nothing).

use axum::extract::multipart::Field;
use schoolplein_kernel::AppError;

use crate::files::{clean_file_name, sniff_attachment};

/// The largest file accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Files per post.
pub const MAX_ATTACHMENTS: i64 = 5;

/// A file as received and checked: its cleaned name, its type by its bytes, and the bytes.
#[derive(Debug)]
pub struct Upload {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// A multipart body that could not be read, at the form's file field `field`.
pub fn unreadable(
    field: &'static str,
) -> impl Fn(axum::extract::multipart::MultipartError) -> AppError {
    move |_| AppError::bad_request(field, "portal.attachments.unreadable")
}

/// Reads a file field to its end: its bytes, or `None` when it is larger than
/// `MAX_ATTACHMENT_BYTES`. The rest of a file too large is read and dropped, so that the
/// form's fields after it still arrive; the body limit bounds what is read.
pub async fn read_file(
    field: &mut Field<'_>,
    form_field: &'static str,
) -> Result<Option<Vec<u8>>, AppError> {
    let mut bytes = Vec::new();
    let mut too_large = false;
    while let Some(chunk) = field.chunk().await.map_err(unreadable(form_field))? {
        if too_large || bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
            too_large = true;
            bytes = Vec::new();
            continue;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((!too_large).then_some(bytes))
}

/// A file read from the form's field `form_field`, checked: 400 at that field when it is too
/// large (`None`), empty, or not a PDF, JPEG or PNG by its bytes.
pub fn check(
    form_field: &'static str,
    raw_name: &str,
    bytes: Option<Vec<u8>>,
) -> Result<Upload, AppError> {
    let bytes =
        bytes.ok_or_else(|| AppError::bad_request(form_field, "portal.attachments.too_large"))?;
    if bytes.is_empty() {
        return Err(AppError::bad_request(
            form_field,
            "portal.attachments.missing",
        ));
    }
    let content_type = sniff_attachment(&bytes)
        .ok_or_else(|| AppError::bad_request(form_field, "portal.attachments.not_allowed"))?;
    Ok(Upload {
        name: clean_file_name(raw_name),
        content_type,
        bytes,
    })
}
