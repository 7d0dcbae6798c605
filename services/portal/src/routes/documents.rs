//! Documents (C7), the school's "digital bookcase": folders for the whole school or for one
//! group, where staff put newsletters and letters and parents download them, newest first.
//! A folder one may not see does not exist for them (404), and files are always downloads.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::confirm::{ConfirmKeys, Confirmation};
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{FormBack, TokenOnly, anchors, value};
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppError, AppState, Member, Pages, Staff, Viewer, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::documents::{self, DocumentRow, FolderRow};
use crate::fields::optional_text;
use crate::files::{disposition, sniff_attachment};
use crate::sharing::{
    self, FileLimits, GroupChoice, file_headers, manageable_groups, may_manage, member, read_upload,
};

/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

/// The type of a document by its bytes: PDF, JPEG, PNG, or a Word, Excel or PowerPoint file
/// (Office Open XML). What the file's name or the browser claims counts for nothing.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    sniff_attachment(bytes).or_else(|| office_type(bytes))
}

/// An Office Open XML file is a zip archive whose parts list is `[Content_Types].xml` and
/// whose main part names the program: `word/document.xml`, `xl/workbook.xml` or
/// `ppt/presentation.xml`. Entry names are stored uncompressed, so they are found in the bytes.
/// Any other zip is refused. The file is only ever offered as a download (never opened by the
/// browser), so a zip that merely contains these names is harmless.
fn office_type(bytes: &[u8]) -> Option<&'static str> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return None;
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if !contains(b"[Content_Types].xml") {
        return None;
    }
    [
        (&b"word/document.xml"[..], DOCX),
        (b"xl/workbook.xml", XLSX),
        (b"ppt/presentation.xml", PPTX),
    ]
    .into_iter()
    .find(|(part, _)| contains(part))
    .map(|(_, content_type)| content_type)
}

#[derive(Debug, Serialize)]
struct FolderView {
    #[serde(flatten)]
    row: FolderRow,
    may_manage: bool,
}

#[derive(Debug, Serialize)]
struct DocumentsPage<'a> {
    csrf: &'a str,
    folders: Vec<FolderView>,
    /// Where the viewer may make folders; empty for parents.
    groups: Vec<GroupChoice>,
    may_create: bool,
    admin: bool,
    /// The school's own name for the module, if it chose one.
    label: Option<String>,
    #[serde(flatten)]
    back: FormBack,
}

/// The ids of the forms that come back with their mistakes: a new folder, and files for one.
const NEW_FOLDER_FORM: &str = "new-folder";
const UPLOAD_FORM: &str = "upload-documents";

/// `GET /documents`: the folders the viewer sees, school folders first.
pub async fn list_folders(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
) -> Result<Response, AppError> {
    folders_page(&state, &tenant, &pages, csrf, &viewer, FormBack::none()).await
}

/// The folders page, with the form for a new folder as sent when `back` holds it (400).
async fn folders_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    back: FormBack,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, viewer).await?;
    let folders = documents::visible_folders(&mut tx, &reader, None).await?;
    let groups = if reader.may_post() {
        manageable_groups(&mut tx, &reader).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let status = back.status();
    let page = DocumentsPage {
        csrf: csrf.token(),
        folders: folders
            .into_iter()
            .map(|row| FolderView {
                may_manage: may_manage(&reader, row.group_id),
                row,
            })
            .collect(),
        groups,
        may_create: reader.may_post(),
        admin: reader.admin,
        label: settings.module(Module::Documents).name,
        back,
    };
    pages.show_with(status, "portal/documents.html", &page)
}

/// `POST /documents`: a new folder, fields `name` and `group_id` (empty: the whole school,
/// admins only; teachers for the groups they teach). A mistake brings the page back with the
/// form as sent; nothing is written.
pub async fn create_folder(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let made = async {
        let name = optional_text("name", value(&form, "name"), 100, false)?
            .ok_or_else(|| AppError::bad_request("name", "portal.documents.name_required"))?;
        let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
        let reader = member(&mut tx, &viewer).await?;
        let group =
            sharing::chosen_group(&mut tx, &reader, "group_id", value(&form, "group_id")).await?;
        let folder_id = documents::create_folder(&mut tx, &name, group, viewer.person_id).await?;
        tx.commit().await?;
        Ok::<_, AppError>(folder_id)
    };
    match made.await {
        Ok(folder_id) => Ok(Redirect::to(&format!("/documents/{folder_id}")).into_response()),
        Err(error) => {
            let anchor = anchors(&[("name", "folder-name"), ("group_id", "folder-group")]);
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                NEW_FOLDER_FORM,
                &form,
                anchor,
            )?;
            folders_page(&state, &tenant, &pages, csrf, &viewer, back).await
        }
    }
}

#[derive(Debug, Serialize)]
struct FolderPage<'a> {
    csrf: &'a str,
    folder: FolderView,
    documents: Vec<DocumentRow>,
    #[serde(flatten)]
    back: FormBack,
}

/// One folder, if the viewer sees it; 404 otherwise.
async fn visible_folder(
    tx: &mut TenantTx,
    reader: &schoolplein_kernel::audience::PostReader,
    folder_id: i64,
) -> Result<FolderView, AppError> {
    let row = documents::visible_folders(tx, reader, Some(folder_id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(FolderView {
        may_manage: may_manage(reader, row.group_id),
        row,
    })
}

/// `GET /documents/{folder}`: its documents, newest first.
pub async fn show_folder(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(folder_id): Path<i64>,
) -> Result<Response, AppError> {
    folder_page(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        folder_id,
        FormBack::none(),
    )
    .await
}

/// A folder's page, with the upload form's mistake when `back` holds it (400).
async fn folder_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    folder_id: i64,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, viewer).await?;
    let folder = visible_folder(&mut tx, &reader, folder_id).await?;
    let documents = documents::in_folder(&mut tx, folder_id).await?;
    tx.commit().await?;
    let status = back.status();
    let page = FolderPage {
        csrf: csrf.token(),
        folder,
        documents,
        back,
    };
    pages.show_with(status, "portal/document_folder.html", &page)
}

/// Files one upload form may carry (each within the request's size limit).
const MAX_FILES_PER_UPLOAD: usize = 10;

/// `POST /documents/{folder}/files` (multipart: `csrf` first, then one or more `file`), by
/// staff who may manage the folder. All files are kept, or none; a file refused (its type,
/// its size) brings the folder's page back with the reason at the file field.
pub async fn upload_documents(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    (csrf, csrf_check): (Csrf, CsrfToken),
    viewer: Writable<Staff>,
    Path(folder_id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    match store_documents(&state, &tenant, &viewer, &csrf_check, folder_id, multipart).await {
        Ok(()) => Ok(Redirect::to(&format!("/documents/{folder_id}")).into_response()),
        Err(error) => {
            // A browser cannot be given a chosen file back; the form holds nothing else.
            let anchor = |_: &str| "file".to_owned();
            let back = FormBack::of(&state, pages.language(), error, UPLOAD_FORM, &[], anchor)?;
            folder_page(&state, &tenant, &pages, csrf, &viewer, folder_id, back).await
        }
    }
}

async fn store_documents(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    csrf: &CsrfToken,
    folder_id: i64,
    multipart: Multipart,
) -> Result<(), AppError> {
    let form = read_upload(
        multipart,
        csrf,
        FileLimits {
            field: "file",
            max_bytes: MAX_DOCUMENT_BYTES,
            max_files: MAX_FILES_PER_UPLOAD,
            messages: "portal.documents",
        },
    )
    .await?;
    let mut typed = Vec::with_capacity(form.files.len());
    for (name, bytes) in form.files {
        let content_type = sniff(&bytes)
            .ok_or_else(|| AppError::bad_request("file", "portal.documents.not_allowed"))?;
        typed.push((name, content_type, bytes));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, viewer).await?;
    let folder = visible_folder(&mut tx, &reader, folder_id).await?;
    if !folder.may_manage {
        return Err(AppError::Forbidden {
            reason: "portal.sharing.not_yours",
        });
    }
    for (name, content_type, bytes) in &typed {
        documents::insert(
            &mut tx,
            folder_id,
            name,
            content_type,
            bytes,
            viewer.person_id,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `GET /documents/{folder}/files/{document}`: to whoever sees the folder, as a download.
pub async fn download_document(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path((folder_id, document_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, &viewer).await?;
    let file = documents::file(&mut tx, &reader, folder_id, document_id).await?;
    tx.commit().await?;
    let (name, content_type, bytes) = file.ok_or(AppError::NotFound)?;
    Ok((file_headers(&content_type, disposition(&name)), bytes).into_response())
}

/// `POST /documents/{folder}/files/{document}/delete`, by staff who may manage the folder.
pub async fn delete_document(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path((folder_id, document_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, &viewer).await?;
    let folder = visible_folder(&mut tx, &reader, folder_id).await?;
    if !folder.may_manage {
        return Err(AppError::Forbidden {
            reason: "portal.sharing.not_yours",
        });
    }
    if !documents::delete(&mut tx, folder_id, document_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/documents/{folder_id}")).into_response())
}

/// `GET /documents/{folder}/delete`: asks first, naming how many documents go with it.
pub async fn confirm_delete_folder(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(folder_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, &viewer).await?;
    let folder = visible_folder(&mut tx, &reader, folder_id).await?;
    tx.commit().await?;
    if !folder.may_manage {
        return Err(AppError::Forbidden {
            reason: "portal.sharing.not_yours",
        });
    }
    Confirmation::new(
        &state,
        pages.language(),
        "delete-folder",
        ConfirmKeys {
            title: "portal.documents.delete_title",
            button: "portal.documents.delete_folder",
            note: None,
        },
        folder.row.name,
        format!("/documents/{folder_id}/delete"),
        format!("/documents/{folder_id}"),
    )
    .loses_count(&state, folder.row.documents, "portal.documents.count")
    .respond(&state, csrf)
}

/// `POST /documents/{folder}/delete`: the folder with its documents, by staff who may manage
/// it.
pub async fn delete_folder(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(folder_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, &viewer).await?;
    let folder = visible_folder(&mut tx, &reader, folder_id).await?;
    if !folder.may_manage {
        return Err(AppError::Forbidden {
            reason: "portal.sharing.not_yours",
        });
    }
    documents::delete_folder(&mut tx, folder_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/documents").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip archive as Office writes it, reduced to the names that matter.
    fn ooxml(main_part: &str) -> Vec<u8> {
        let mut bytes = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
        bytes.extend_from_slice(&[0; 18]);
        bytes.extend_from_slice(&19u16.to_le_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(b"[Content_Types].xml<Types/>PK\x03\x04");
        bytes.extend_from_slice(main_part.as_bytes());
        bytes
    }

    #[test]
    fn office_files_are_known_by_their_parts_and_other_zips_are_refused() {
        assert_eq!(sniff(&ooxml("word/document.xml")), Some(DOCX));
        assert_eq!(sniff(&ooxml("xl/workbook.xml")), Some(XLSX));
        assert_eq!(sniff(&ooxml("ppt/presentation.xml")), Some(PPTX));
        assert_eq!(
            sniff(&ooxml("content.xml")),
            None,
            "a zip of something else"
        );
        assert_eq!(sniff(b"PK\x03\x04word/document.xml"), None, "no parts list");
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        for lie in [
            &b"<html><script>alert(1)</script>"[..],
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"MZ\x90\x00",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            b"",
        ] {
            assert_eq!(sniff(lie), None);
        }
    }
}
