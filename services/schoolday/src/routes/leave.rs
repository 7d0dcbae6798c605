//! The parents' leave page (D2): ask leave for one or more children (with the employer's
//! statement for holiday leave), see the family's requests and their decisions, withdraw one
//! still waiting, and download a decision letter.

use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{Mistake, TokenOnly, value, values};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role, Viewer, Writable};
use schoolplein_mailing::Letterhead;
use schoolplein_portal::attachments::{check as check_file, read_file, unreadable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::school_year_of;
use crate::db::absences::{self, Child};
use crate::db::leave::{self as db, Statement};
use crate::display::{RequestView, view};
use crate::leave::{self, LeaveDraft, LeaveKind, LeaveState, Situation};
use crate::letter;

#[derive(Debug, Default, Serialize)]
struct FormValues {
    children: Vec<i64>,
    kind: String,
    first_day: String,
    last_day: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct LeavePage<'a> {
    csrf: &'a str,
    children: Vec<Child>,
    kinds: Vec<&'static str>,
    values: FormValues,
    mistake: Option<Mistake>,
    requests: Vec<RequestView>,
    sent: Option<String>,
    withdrawn: bool,
}

#[derive(Debug, Deserialize)]
pub struct LeaveQuery {
    sent: Option<String>,
    withdrawn: Option<String>,
}

fn require_parent(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.has(Role::Parent) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            reason: "leave.error.parents_only",
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    tx: &mut TenantTx,
    pages: &Pages,
    csrf: &str,
    viewer: &Viewer,
    typed: Option<(FormValues, Mistake)>,
    query: Option<&LeaveQuery>,
) -> Result<Response, AppError> {
    let children = absences::children_of(tx, viewer.person_id).await?;
    let rows = db::of_family(tx, viewer.person_id).await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let (values, mistake, status) = match typed {
        Some((values, mistake)) => (values, Some(mistake), StatusCode::BAD_REQUEST),
        None => (
            FormValues {
                children: if children.len() == 1 {
                    vec![children[0].id]
                } else {
                    Vec::new()
                },
                ..FormValues::default()
            },
            None,
            StatusCode::OK,
        ),
    };
    let page = LeavePage {
        csrf,
        children,
        kinds: LeaveKind::ALL.iter().map(|k| k.as_str()).collect(),
        values,
        mistake,
        requests: rows
            .iter()
            .map(|r| view(r, &names, state, pages.language()))
            .collect(),
        sent: query.and_then(|q| q.sent.clone()),
        withdrawn: query.is_some_and(|q| q.withdrawn.is_some()),
    };
    pages.show_with(status, "schoolday/leave/parent.html", &page)
}

/// `GET /leave`.
pub async fn show_leave(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<LeaveQuery>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let page = render(
        &state,
        &mut tx,
        &pages,
        csrf.token(),
        &viewer,
        None,
        Some(&query),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

/// The form's fields and its file, once its token is verified.
async fn read_form(
    csrf: &CsrfToken,
    multipart: &mut Multipart,
) -> Result<(Vec<(String, String)>, Option<(String, Option<Vec<u8>>)>), AppError> {
    let mut verified = false;
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(unreadable("statement"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf" => {
                csrf.verify(Some(&field.text().await.map_err(unreadable("statement"))?))?;
                verified = true;
            }
            _ if !verified => return Err(AppError::FormExpired),
            "statement" => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let bytes = read_file(&mut field, "statement").await?;
                // A file input left empty still sends its part, without a name or bytes.
                if !file_name.is_empty() || bytes.as_ref().is_none_or(|b| !b.is_empty()) {
                    file = Some((file_name, bytes));
                }
            }
            _ => {
                let text = field.text().await.map_err(unreadable("statement"))?;
                fields.push((name, text));
            }
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    Ok((fields, file))
}

/// `POST /leave` (multipart: `csrf` first, then the fields and, for holiday leave, the file
/// `statement`). The rules of [`leave::check`] refuse at their field, naming the rule; the
/// form comes back with everything typed (the file must be chosen again).
pub async fn create_request(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    page_csrf: Csrf,
    viewer: Writable<Member>,
    csrf: CsrfToken,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let (form, file) = read_form(&csrf, &mut multipart).await?;
    let token = page_csrf.token().to_owned();
    let now = state.clock.now();
    let today = zone::today(now);
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let refusal = |error: AppError| {
        Mistake::of(&error, &state.templates, pages.language(), |f| {
            f.replace('_', "-")
        })
        .ok_or(error)
    };
    let checked = async {
        let draft = LeaveDraft::parse(&form)?;
        let statement = match file.clone() {
            Some((name, bytes)) => {
                let upload = check_file("statement", &name, bytes)?;
                Some(Statement {
                    name: upload.name,
                    content_type: upload.content_type,
                    bytes: upload.bytes,
                })
            }
            None => None,
        };
        let children = absences::lock_children(&mut tx, viewer.person_id, &draft.children).await?;
        if children.len() != draft.children.len() {
            return Err(AppError::bad_request(
                "children",
                "leave.error.not_your_child",
            ));
        }
        let year = school_year_of(draft.first_day);
        let holidays =
            db::holidays_between(&mut tx, draft.first_day - Duration::days(1), draft.last_day)
                .await?;
        let at = Situation {
            today,
            holidays: &holidays,
            summer_ended: db::summer_ended_before(&mut tx, draft.first_day).await?,
            holiday_leave_this_year: draft.kind == LeaveKind::Holiday
                && db::holiday_leave_in_year(&mut tx, &draft.children, year).await?,
            has_statement: statement.is_some(),
        };
        let checked = leave::check(&draft, &at)?;
        Ok::<_, AppError>((draft, statement, year, checked))
    }
    .await;
    let (draft, statement, year, checked) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let mistake = refusal(error)?;
            let typed = FormValues {
                children: values(&form, "children")
                    .filter_map(|v| v.trim().parse().ok())
                    .collect(),
                kind: value(&form, "kind").to_owned(),
                first_day: value(&form, "first_day").to_owned(),
                last_day: value(&form, "last_day").to_owned(),
                reason: value(&form, "reason").to_owned(),
            };
            let page = render(
                &state,
                &mut tx,
                &pages,
                &token,
                &viewer,
                Some((typed, mistake)),
                None,
            )
            .await?;
            tx.rollback().await?;
            return Ok(page);
        }
    };
    db::insert(
        &mut tx,
        &draft,
        checked.school_days,
        year,
        checked.state,
        viewer.person_id,
        statement.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/leave?sent={}", checked.state.as_str())).into_response())
}

/// `POST /leave/{id}/withdraw`: a parent of the children takes back a request still waiting.
pub async fn withdraw_request(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(request_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let request = db::request(&mut tx, request_id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if !db::is_family(&mut tx, request_id, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    if !LeaveState::parse(&request.state).is_some_and(LeaveState::open) {
        return Err(AppError::bad_request(
            "request",
            "leave.error.decided_already",
        ));
    }
    db::withdraw(&mut tx, request_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/leave?withdrawn=1").into_response())
}

/// `GET /leave/{id}/decision.pdf`: the decision letter, for a parent of the children or an
/// admin; 404 before there is a decision.
pub async fn decision_pdf(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Member,
    Path(request_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let allowed = viewer.has(Role::SchoolAdmin)
        || db::is_family(&mut tx, request_id, viewer.person_id).await?;
    let request = match db::request(&mut tx, request_id, false).await? {
        Some(request) if allowed => request,
        _ => return Err(AppError::NotFound),
    };
    let decided_at = request.decided_at.ok_or(AppError::NotFound)?;
    let letterhead = Letterhead::load(&mut tx).await?;
    tx.commit().await?;
    let pages_of = letter::decision_letter(
        state.templates.catalog(),
        pages.language(),
        &letterhead,
        &request,
        decided_at,
    );
    schoolplein_kernel::pdf::download(
        &state.fonts,
        pages_of,
        "besluit-verlof",
        &request_id.to_string(),
    )
    .await
}
