//! Importing the pupil administration's file (P2): the admin uploads CSV or EDEXML; the whole
//! file is checked first, and either every problem is listed (nothing imported) or it is
//! applied in one transaction and the page says what was added, changed, left alone and
//! marked as left.

use axum::extract::{Multipart, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfToken};
use schoolplein_kernel::{AppError, AppState, Lang, Language, Role, Viewer};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::roster::{ImportReport, apply_import};
use crate::roster::{self, MAX_FILE_BYTES, Problem};

/// The form field that carries the file.
const FILE_FIELD: &str = "file";

#[derive(Debug, Serialize)]
struct ImportPage<'a> {
    csrf: &'a str,
    max_mb: usize,
    report: Option<ImportReport>,
    format: Option<&'static str>,
    /// How a CSV file's characters were read: a text key (`encoding_windows1252`).
    encoding: Option<&'static str>,
    problems: Vec<Problem>,
    more_problems: usize,
    recent: Vec<RecentImport>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct RecentImport {
    format: String,
    added: i32,
    changed: i32,
    unchanged: i32,
    marked_left: i32,
    created_at: chrono::DateTime<Utc>,
}

async fn render(
    state: &AppState,
    tenant: &CurrentTenant,
    lang: Language,
    mut page: ImportPage<'_>,
) -> Result<Html<String>, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    page.recent = sqlx::query_as(
        "SELECT format, added, changed, unchanged, marked_left, created_at
           FROM roster_imports ORDER BY id DESC LIMIT 5",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Html(state.templates.render(
        "portal/import.html",
        lang,
        &page,
    )?))
}

fn empty_page(csrf: &Csrf) -> ImportPage<'_> {
    ImportPage {
        csrf: csrf.token(),
        max_mb: MAX_FILE_BYTES / (1024 * 1024),
        report: None,
        format: None,
        encoding: None,
        problems: Vec::new(),
        more_problems: 0,
        recent: Vec::new(),
    }
}

/// `GET /admin/import`.
pub async fn show_import(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let html = render(&state, &tenant, lang, empty_page(&csrf)).await?;
    Ok((csrf, html).into_response())
}

/// Reads the form: its token first (the page's form sends it before the file; a file before a
/// valid token is not read), then the file's bytes, at most `MAX_FILE_BYTES`.
async fn read_upload(
    multipart: &mut Multipart,
    csrf: &CsrfToken,
) -> Result<Option<Vec<u8>>, AppError> {
    let unreadable = |_| AppError::bad_request("file", "portal.import.upload_unreadable");
    let mut verified = false;
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => {
                let sent = field.text().await.map_err(unreadable)?;
                csrf.verify(Some(&sent))?;
                verified = true;
            }
            Some(FILE_FIELD) => {
                if !verified {
                    return Err(AppError::FormExpired);
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        return Err(AppError::bad_request("file", "portal.import.too_large"));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            _ => {}
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    Ok(file)
}

/// `POST /admin/import` (multipart: `csrf`, `file`).
pub async fn import_roster(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    csrf_check: CsrfToken,
    viewer: Viewer,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let upload = read_upload(&mut multipart, &csrf_check).await?;
    let bytes = upload
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AppError::bad_request("file", "portal.import.no_file"))?;
    let today = Utc::now().date_naive();
    // Reading 10 MB of XML is work for a blocking thread, not the request's.
    let parsed = tokio::task::spawn_blocking(move || roster::parse(&bytes, today))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let (format, file) = match parsed {
        Ok(parsed) => parsed,
        Err(refused) => {
            let page = ImportPage {
                format: Some(refused.format.as_str()),
                problems: refused.problems,
                more_problems: refused.more,
                ..empty_page(&csrf)
            };
            let html = render(&state, &tenant, lang, page).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, html).into_response());
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let report = apply_import(&mut tx, &file, format, Some(viewer.person_id)).await?;
    tx.commit().await?;
    tracing::info!(
        format = format.as_str(),
        added = report.added,
        changed = report.changed,
        unchanged = report.unchanged,
        marked_left = report.marked_left,
        "roster imported"
    );
    let page = ImportPage {
        report: Some(report),
        format: Some(format.as_str()),
        encoding: file.encoding.map(|e| e.text_key()),
        ..empty_page(&csrf)
    };
    let html = render(&state, &tenant, lang, page).await?;
    Ok((csrf, html).into_response())
}
