//! Importing the pupil administration's file (P2): the admin uploads CSV or EDEXML; the whole
//! file is checked first, and either every problem is listed (nothing imported) or it is
//! applied in one transaction and the page says what was added, changed, left alone and
//! marked as left. The teachers an EDEXML file lists are offered for invitation as staff of
//! their groups.

use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::FormBack;
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Role};
use schoolplein_registration::{EmailAddress, PersonName};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::imports::{self, ImportedTeacherRow, RecentImport};
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
    /// Teachers of the imported file not yet staff, offered for invitation.
    teachers: usize,
    recent: Vec<RecentImport>,
    #[serde(flatten)]
    back: FormBack,
}

/// The import page with `page` in it and the recent imports, answered with `status`.
async fn render(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    status: StatusCode,
    mut page: ImportPage<'_>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    page.recent = imports::recent(&mut tx, 5).await?;
    tx.commit().await?;
    pages.show_with(status, "portal/import.html", &page)
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
        teachers: 0,
        recent: Vec::new(),
        back: FormBack::none(),
    }
}

/// `GET /admin/import`.
pub async fn show_import(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
) -> Result<Response, AppError> {
    render(&state, &tenant, &pages, StatusCode::OK, empty_page(&csrf)).await
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
    pages: Pages,
    csrf: Csrf,
    csrf_check: CsrfToken,
    viewer: Admin,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = read_upload(&mut multipart, &csrf_check)
        .await
        .and_then(|upload| {
            upload
                .filter(|b| !b.is_empty())
                .ok_or_else(|| AppError::bad_request("file", "portal.import.no_file"))
        });
    let bytes = match upload {
        Ok(bytes) => bytes,
        Err(error) => {
            // The file field is all the form has, and a browser cannot be given it back.
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                "import-form",
                &[],
                str::to_owned,
            )?;
            let page = ImportPage {
                back,
                ..empty_page(&csrf)
            };
            return render(&state, &tenant, &pages, StatusCode::BAD_REQUEST, page).await;
        }
    };
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
            return render(
                &state,
                &tenant,
                &pages,
                StatusCode::UNPROCESSABLE_ENTITY,
                page,
            )
            .await;
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
        teachers: file.teachers.len(),
        format: Some(format.as_str()),
        encoding: file.encoding.map(|e| e.text_key()),
        ..empty_page(&csrf)
    };
    render(&state, &tenant, &pages, StatusCode::OK, page).await
}

#[derive(Debug, Serialize)]
struct TeachersPage<'a> {
    csrf: &'a str,
    teachers: Vec<ImportedTeacherRow>,
    invited: Option<i64>,
    #[serde(flatten)]
    back: FormBack,
}

#[derive(Debug, Deserialize)]
pub struct InvitedQuery {
    invited: Option<i64>,
}

/// `GET /admin/import/teachers`: the teachers the last file listed, for the admin to choose
/// whom to invite as staff of their groups.
pub async fn show_import_teachers(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Query(query): Query<InvitedQuery>,
) -> Result<Response, AppError> {
    teachers_page(
        &state,
        &tenant,
        &pages,
        csrf,
        query.invited,
        FormBack::none(),
    )
    .await
}

/// The teachers page, with the choice as sent when `back` holds it (400).
async fn teachers_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    invited: Option<i64>,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let teachers = imports::imported_teachers(&mut tx).await?;
    tx.commit().await?;
    let status = back.status();
    pages.show_with(
        status,
        "portal/import_teachers.html",
        &TeachersPage {
            csrf: csrf.token(),
            teachers,
            invited,
            back,
        },
    )
}

/// `POST /admin/import/teachers` (`teacher=<key>`, repeated): invites each chosen teacher who
/// has an address and is not staff yet, and makes them teacher of their groups.
pub async fn invite_import_teachers(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Admin,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let chosen: Vec<&str> = form
        .iter()
        .filter(|(name, _)| name == "teacher")
        .map(|(_, key)| key.as_str())
        .collect();
    if chosen.is_empty() {
        let error = AppError::bad_request("teacher", "portal.import.choose_teachers");
        let anchor = |_: &str| "teachers-choice".to_owned();
        let back = FormBack::of(
            &state,
            pages.language(),
            error,
            "import-teachers",
            &form,
            anchor,
        )?;
        return teachers_page(&state, &tenant, &pages, csrf, None, back).await;
    }
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let teachers = imports::imported_teachers(&mut tx).await?;
    tx.commit().await?;
    let outbox = schoolplein_mailing::Outbox::new(state.templates.clone(), &state.config.mail);
    let mut invited = 0;
    for teacher in teachers
        .iter()
        .filter(|t| chosen.contains(&t.key.as_str()) && !t.is_staff)
    {
        let Some(email) = teacher
            .email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok())
        else {
            continue;
        };
        let name = PersonName::parse(&teacher.name).ok();
        let done = schoolplein_registration::invitations::invite(
            &state.schools,
            &outbox,
            &state.config,
            tenant.entry(),
            &schoolplein_registration::invitations::Invitee {
                name: name.as_ref(),
                email: &email,
                role: Role::Teacher,
            },
            Some(viewer.person_id),
        )
        .await?;
        let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
        imports::give_teacher_their_groups(&mut tx, &teacher.key, done.person_id).await?;
        tx.commit().await?;
        invited += 1;
    }
    tracing::info!(invited, "teachers from the import invited");
    Ok(Redirect::to(&format!("/admin/import/teachers?invited={invited}")).into_response())
}
