//! The files of the post form: read from its multipart body with its other fields, checked as
//! the upload on a post's page checks them, and — when the form comes back with a mistake —
//! kept for this person and this form under an unguessable token, so they need not be sent
//! again.

use axum::extract::Multipart;
use schoolplein_kernel::csrf::{CSRF_FIELD, CsrfToken};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Viewer};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::attachments::{MAX_ATTACHMENTS, Upload, check, read_file, unreadable};
use crate::db::attachments::{self, PendingFile};

/// The form's file field.
pub const FILES_FIELD: &str = "files";
/// The hidden field with the form's own token, under which its kept files are found.
const TOKEN_FIELD: &str = "files_token";
/// A ticked box under a kept file: leave it off the post.
const REMOVE_FIELD: &str = "remove_files";

/// The files a post form carries: its token, the kept files ticked for removal, and the
/// files sent with it this time.
#[derive(Debug)]
pub struct FormFiles {
    pub token: SecretToken,
    pub remove: Vec<i64>,
    pub uploads: Vec<Upload>,
}

impl FormFiles {
    /// The token and ticks among the form's text fields (a fresh token when there is none,
    /// as from a form without files), with `uploads`.
    fn of(fields: &[(String, String)], uploads: Vec<Upload>) -> Self {
        let token = fields
            .iter()
            .find(|(name, _)| name == TOKEN_FIELD)
            .and_then(|(_, value)| SecretToken::parse(value.trim()))
            .unwrap_or_else(SecretToken::generate);
        let remove = fields
            .iter()
            .filter(|(name, _)| name == REMOVE_FIELD)
            .filter_map(|(_, value)| value.trim().parse().ok())
            .collect();
        Self {
            token,
            remove,
            uploads,
        }
    }

    pub(crate) fn hash(&self) -> Vec<u8> {
        self.token.hash().as_bytes().to_vec()
    }
}

/// A post form as sent: its text fields, its files, and the refusal of a file that was not
/// accepted (too large, empty, of another type, one too many), if any.
#[derive(Debug)]
pub struct SentPost {
    pub fields: Vec<(String, String)>,
    pub files: FormFiles,
    pub refused: Option<AppError>,
}

impl SentPost {
    /// A form sent url-encoded: text fields only.
    pub fn fields_only(fields: Vec<(String, String)>) -> Self {
        let files = FormFiles::of(&fields, Vec::new());
        Self {
            fields,
            files,
            refused: None,
        }
    }

    /// Reads a post form sent as `multipart/form-data`: the token first (a form without it,
    /// or with anything before it, has expired), then every field to the end, so that a file
    /// refused leaves the rest of the form to be shown again.
    pub async fn read(csrf: &CsrfToken, mut multipart: Multipart) -> Result<Self, AppError> {
        let mut verified = false;
        let mut fields = Vec::new();
        let mut uploads = Vec::new();
        let mut refused = None;
        while let Some(mut field) = multipart
            .next_field()
            .await
            .map_err(unreadable(FILES_FIELD))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            if name == CSRF_FIELD {
                csrf.verify(Some(&field.text().await.map_err(unreadable(FILES_FIELD))?))?;
                verified = true;
                continue;
            }
            if !verified {
                return Err(AppError::FormExpired);
            }
            if name != FILES_FIELD {
                fields.push((name, field.text().await.map_err(unreadable(FILES_FIELD))?));
                continue;
            }
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = read_file(&mut field, FILES_FIELD).await?;
            // A file field left empty still sends a part, without a name or bytes.
            if file_name.is_empty() && bytes.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            match check(FILES_FIELD, &file_name, bytes) {
                Ok(upload) => uploads.push(upload),
                Err(refusal) => {
                    refused.get_or_insert(refusal);
                }
            }
        }
        if !verified {
            return Err(AppError::FormExpired);
        }
        if refused.is_none() && uploads.len() as i64 > MAX_ATTACHMENTS {
            refused = Some(too_many());
        }
        let files = FormFiles::of(&fields, uploads);
        Ok(Self {
            fields,
            files,
            refused,
        })
    }
}

fn too_many() -> AppError {
    AppError::bad_request(FILES_FIELD, "portal.attachments.too_many")
}

/// Whether a refusal is about the form's files: then nothing of what was sent is kept.
pub fn about_files(error: &AppError) -> bool {
    matches!(error, AppError::BadRequest { field, .. } if field == FILES_FIELD)
}

/// 400 at the file field when the kept files not ticked for removal and the new ones are
/// more than a post may have.
pub(crate) async fn check_count(
    tx: &mut TenantTx,
    files: &FormFiles,
    person_id: i64,
) -> Result<(), AppError> {
    let kept = attachments::pending(tx, &files.hash(), person_id).await?;
    let kept = kept
        .iter()
        .filter(|f| !files.remove.contains(&f.id))
        .count();
    if (kept + files.uploads.len()) as i64 > MAX_ATTACHMENTS {
        return Err(too_many());
    }
    Ok(())
}

/// Puts the form's files on post `post_id`, in the publishing transaction `tx`: the kept ones
/// not ticked for removal, then the new ones; 400 at the file field when they are too many.
pub async fn attach(
    tx: &mut TenantTx,
    files: &FormFiles,
    person_id: i64,
    post_id: i64,
) -> Result<(), AppError> {
    check_count(tx, files, person_id).await?;
    attachments::adopt_pending(tx, &files.hash(), person_id, &files.remove, post_id).await?;
    for upload in &files.uploads {
        attachments::insert(
            tx,
            post_id,
            &upload.name,
            upload.content_type,
            &upload.bytes,
        )
        .await?;
    }
    Ok(())
}

/// The files a post form shows again: its token and the files kept under it.
#[derive(Debug, Serialize)]
pub struct KeptFiles {
    pub token: String,
    pub pending: Vec<PendingFile>,
}

impl KeptFiles {
    /// A new form's: a fresh token, nothing kept.
    pub fn fresh() -> Self {
        Self {
            token: SecretToken::generate().expose().to_owned(),
            pending: Vec::new(),
        }
    }
}

/// For a form that comes back with a mistake not about its files: drops the kept files ticked
/// for removal, keeps the new ones for this person and form (or refuses them, at the file
/// field, when they would be too many), and lists what is kept.
pub async fn keep(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    files: &FormFiles,
) -> Result<KeptFiles, AppError> {
    let hash = files.hash();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    attachments::drop_pending(&mut tx, &hash, viewer.person_id, &files.remove).await?;
    check_count(&mut tx, files, viewer.person_id).await?;
    for upload in &files.uploads {
        attachments::insert_pending(
            &mut tx,
            &hash,
            viewer.person_id,
            &upload.name,
            upload.content_type,
            &upload.bytes,
        )
        .await?;
    }
    let pending = attachments::pending(&mut tx, &hash, viewer.person_id).await?;
    tx.commit().await?;
    Ok(KeptFiles {
        token: files.token.expose().to_owned(),
        pending,
    })
}

/// For a form that comes back because of its files: what was kept before, unchanged.
pub async fn kept(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    files: &FormFiles,
) -> Result<KeptFiles, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let pending = attachments::pending(&mut tx, &files.hash(), viewer.person_id).await?;
    tx.commit().await?;
    Ok(KeptFiles {
        token: files.token.expose().to_owned(),
        pending,
    })
}
