//! The school's side of leave requests (D2): the list of requests by state, one request with
//! the employer's statement, and the decision — the headmaster's up to ten school days, the
//! attendance officer's (recorded by the school) beyond — written with its reason and mailed
//! to the parent with the decision letter attached.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, value};
use schoolplein_kernel::{Admin, AppError, AppState, Language, Pages, Writable};
use schoolplein_mailing::{Letterhead, MailAttachment, MailRequest, Outbox};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::leave as db;
use crate::display::{RequestView, view};
use crate::leave::LeaveState;
use crate::letter;

/// A part of the list: `waiting`, `officer` or `decided`.
#[derive(Debug, Serialize)]
struct ListSection {
    name: &'static str,
    items: Vec<RequestView>,
}

#[derive(Debug, Serialize)]
struct ListPage {
    sections: Vec<ListSection>,
}

/// `GET /leave/requests`: what waits for the headmaster, what waits for the attendance
/// officer, and what was decided or noted.
pub async fn list_requests(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    _admin: Admin,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let rows = db::of_school(&mut tx, &[]).await?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let views: Vec<RequestView> = rows
        .iter()
        .filter(|r| r.state != "withdrawn")
        .map(|r| view(r, &names, &state, pages.language()))
        .collect();
    let of = |state: &str| -> Vec<RequestView> {
        views.iter().filter(|v| v.state == state).cloned().collect()
    };
    let page = ListPage {
        sections: vec![
            ListSection {
                name: "waiting",
                items: of("pending"),
            },
            ListSection {
                name: "officer",
                items: of("officer"),
            },
            ListSection {
                name: "decided",
                items: views.iter().filter(|v| !v.open).cloned().collect(),
            },
        ],
    };
    pages.show("schoolday/leave/list.html", &page)
}

#[derive(Debug, Serialize)]
struct RequestPage<'a> {
    csrf: &'a str,
    request: RequestView,
    decision: String,
    reason: String,
    officer_name: String,
    mistake: Option<Mistake>,
    decided: bool,
}

#[derive(Debug, Deserialize)]
pub struct DecidedQuery {
    decided: Option<String>,
}

/// `GET /leave/requests/{id}`.
pub async fn show_request(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _admin: Admin,
    Path(request_id): Path<i64>,
    Query(query): Query<DecidedQuery>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let request = db::request(&mut tx, request_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let page = RequestPage {
        csrf: csrf.token(),
        officer_name: request.officer_name.clone().unwrap_or_default(),
        request: view(&request, &names, &state, pages.language()),
        decision: String::new(),
        reason: String::new(),
        mistake: None,
        decided: query.decided.is_some(),
    };
    pages.show("schoolday/leave/request.html", &page)
}

/// What the decision mail says; the letter itself is attached.
#[derive(Debug, Serialize)]
struct DecisionMail<'a> {
    approved: bool,
    children: &'a str,
    period: &'a str,
    link: String,
}

/// `POST /leave/requests/{id}/decide`: fields `decision` (`approved` or `refused`), `reason`
/// (required: every decision is reasoned) and, for a request of the attendance officer,
/// `officer_name`. The decision, the mail and its letter are one transaction.
pub async fn decide_request(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    admin: Writable<Admin>,
    Path(request_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let request = db::request(&mut tx, request_id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    let decision = value(&form, "decision").trim();
    let reason = value(&form, "reason").trim().replace("\r\n", "\n");
    let officer_name = value(&form, "officer_name").trim().to_owned();
    let refused = if !LeaveState::parse(&request.state).is_some_and(LeaveState::open) {
        Some(("decision", "leave.error.decided_already"))
    } else if !matches!(decision, "approved" | "refused") {
        Some(("decision", "leave.error.no_decision"))
    } else if reason.chars().count() < 3 {
        Some(("reason", "leave.error.no_grounds"))
    } else if reason.chars().count() > 4000 {
        Some(("reason", "leave.error.grounds_too_long"))
    } else if request.for_officer && officer_name.is_empty() {
        Some(("officer_name", "leave.error.no_officer"))
    } else if officer_name.chars().count() > 100 {
        Some(("officer_name", "leave.error.officer_too_long"))
    } else {
        None
    };
    if let Some((field, key)) = refused {
        let names = Names::new(state.templates.catalog(), pages.language());
        let page = RequestPage {
            csrf: csrf.token(),
            request: view(&request, &names, &state, pages.language()),
            decision: decision.to_owned(),
            reason: reason.clone(),
            officer_name,
            mistake: Some(Mistake::at(
                &state.templates,
                pages.language(),
                field,
                key,
                &field.replace('_', "-"),
            )),
            decided: false,
        };
        tx.rollback().await?;
        return pages.show_with(
            StatusCode::BAD_REQUEST,
            "schoolday/leave/request.html",
            &page,
        );
    }
    let state_now = if decision == "approved" {
        LeaveState::Approved
    } else {
        LeaveState::Refused
    };
    let officer = request.for_officer.then_some(officer_name.as_str());
    db::decide(
        &mut tx,
        request_id,
        state_now,
        &reason,
        admin.person_id,
        officer,
    )
    .await?;
    // The request as decided, for the letter.
    let decided = db::request(&mut tx, request_id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    let decided_at = decided
        .decided_at
        .ok_or_else(|| AppError::Internal("a decision without its moment".to_owned()))?;
    if let Some(email) = decided.requester_email.clone() {
        let language = Language::of_account(decided.requester_language.as_deref());
        let letterhead = Letterhead::load(&mut tx).await?;
        let pages_of = letter::decision_letter(
            state.templates.catalog(),
            language,
            &letterhead,
            &decided,
            decided_at,
        );
        let fonts = state.fonts.clone();
        let pdf =
            tokio::task::spawn_blocking(move || schoolplein_kernel::pdf::render(&fonts, &pages_of))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .map_err(|e| AppError::Internal(e.to_string()))?;
        let names = Names::new(state.templates.catalog(), language);
        let period = view(&decided, &names, &state, language).period;
        let context = DecisionMail {
            approved: state_now == LeaveState::Approved,
            children: &decided.children.join(", "),
            period: &period,
            link: state
                .config
                .tenancy
                .school_url(tenant.entry().slug.as_str(), "/leave"),
        };
        let attachment = MailAttachment {
            file_name: format!("besluit-verlof-{request_id}.pdf"),
            content_type: "application/pdf",
            bytes: pdf,
        };
        Outbox::new(state.templates.clone(), &state.config.mail)
            .enqueue_with_attachments(
                &mut tx,
                MailRequest {
                    to: &email,
                    template: "schoolday/leave_decided",
                    language,
                    urgent: false,
                    context: &context,
                    letterhead: Some(&letterhead),
                },
                &[attachment],
            )
            .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/leave/requests/{request_id}?decided=1")).into_response())
}

/// `GET /leave/requests/{id}/statement`: the employer's statement, as a download.
pub async fn download_statement(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _admin: Admin,
    Path(request_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (name, content_type, bytes) = db::statement(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((
        [
            (http::header::CONTENT_TYPE, content_type),
            (
                http::header::CONTENT_DISPOSITION,
                schoolplein_portal::files::disposition(&name),
            ),
            (http::header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
