//! What documents and photo albums share: who an item for one group or for the whole school
//! reaches, who may manage it, and reading uploaded files.

use axum::extract::Multipart;
use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::csrf::CsrfToken;
use schoolplein_kernel::{AppError, Role, Viewer};
use tenant_router::TenantTx;

/// The condition on `alias` (a row with a `group_id`, NULL for the whole school) for the
/// person in `$1`, admin in `$2`, with the groups in `$3`: admins see everything, everyone in
/// the school sees what is for the whole school, and a group's items reach the parents of its
/// pupils and its teachers — the same rule as posts for groups.
pub fn sees_group_item(alias: &str) -> String {
    format!("($2 OR {alias}.group_id IS NULL OR {alias}.group_id = ANY($3))")
}

/// Who the viewer is to what groups share: their children's groups and the groups they teach.
pub async fn member(tx: &mut TenantTx, viewer: &Viewer) -> Result<PostReader, sqlx::Error> {
    PostReader::load(
        tx,
        viewer.person_id,
        viewer.has(Role::SchoolAdmin),
        viewer.has(Role::Teacher),
    )
    .await
}

/// Whether the member may add to and remove from an item for `group` (`None`: the whole
/// school): admins anywhere, teachers for the groups they teach.
pub fn may_manage(member: &PostReader, group: Option<i64>) -> bool {
    member.admin || group.is_some_and(|g| member.taught.contains(&g))
}

pub use crate::db::groups::{GroupChoice, manageable as manageable_groups};

/// The `group_id` of a form: empty for the whole school, otherwise a group of this school
/// the member may manage; a refusal names `field`.
pub async fn chosen_group(
    tx: &mut TenantTx,
    member: &PostReader,
    field: &'static str,
    raw: &str,
) -> Result<Option<i64>, AppError> {
    let group = match raw.trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::bad_request(field, "portal.sharing.bad_group"))?,
        ),
    };
    if let Some(id) = group {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        if !known {
            return Err(AppError::bad_request(field, "portal.sharing.bad_group"));
        }
    }
    if !may_manage(member, group) {
        return Err(AppError::bad_request(
            field,
            "portal.sharing.not_your_group",
        ));
    }
    Ok(group)
}

/// Limits on the files of one upload form; refusals name `field` and use the catalogue keys
/// `<messages>.unreadable`, `.too_large`, `.too_many` and `.missing`.
#[derive(Debug, Clone, Copy)]
pub struct FileLimits {
    pub field: &'static str,
    pub max_bytes: usize,
    pub max_files: usize,
    pub messages: &'static str,
}

/// A form with files: its text fields and its files (name as cleaned, bytes).
#[derive(Debug, Default)]
pub struct UploadForm {
    pub fields: Vec<(String, String)>,
    pub files: Vec<(String, Vec<u8>)>,
}

/// Longest text field read from an upload form.
const MAX_TEXT_FIELD: usize = 1000;

/// Reads a multipart form whose `csrf` field comes first (as the pages write it), then
/// files in `limits.field` and short text fields. Nothing is kept of a forged form, and a
/// file over the limit is refused while it arrives, not after.
pub async fn read_upload(
    mut multipart: Multipart,
    csrf: &CsrfToken,
    limits: FileLimits,
) -> Result<UploadForm, AppError> {
    let key = |what: &str| format!("{}.{what}", limits.messages);
    let unreadable = |_| AppError::bad_request(limits.field, key("unreadable"));
    let mut verified = false;
    let mut form = UploadForm::default();
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "csrf" {
            csrf.verify(Some(&field.text().await.map_err(unreadable)?))?;
            verified = true;
        } else if !verified {
            return Err(AppError::FormExpired);
        } else if name == limits.field {
            let file_name = crate::files::clean_file_name(field.file_name().unwrap_or_default());
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                if bytes.len() + chunk.len() > limits.max_bytes {
                    return Err(AppError::bad_request(limits.field, key("too_large")));
                }
                bytes.extend_from_slice(&chunk);
            }
            // A browser sends an empty part for a file input left empty.
            if bytes.is_empty() {
                continue;
            }
            if form.files.len() == limits.max_files {
                return Err(AppError::bad_request(limits.field, key("too_many")));
            }
            form.files.push((file_name, bytes));
        } else {
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                if text.len() + chunk.len() > MAX_TEXT_FIELD {
                    return Err(AppError::bad_request(name, "portal.details.too_long"));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text).map_err(|_| {
                AppError::bad_request(name.clone(), "portal.details.control_character")
            })?;
            form.fields.push((name, text));
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    if form.files.is_empty() {
        return Err(AppError::bad_request(limits.field, key("missing")));
    }
    Ok(form)
}

/// Response headers for a file sent to a browser: the type the bytes were found to be, a
/// `Content-Disposition` with a safe name, and no caching outside the person's browser.
/// (`X-Content-Type-Options: nosniff` is on every response of the app.)
pub fn file_headers(content_type: &str, disposition: String) -> [(http::HeaderName, String); 3] {
    [
        (http::header::CONTENT_TYPE, content_type.to_owned()),
        (http::header::CONTENT_DISPOSITION, disposition),
        (http::header::CACHE_CONTROL, "private, no-store".to_owned()),
    ]
}
