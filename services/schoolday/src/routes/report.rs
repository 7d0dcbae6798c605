//! The parents' sick-report page (D1): report one or more children absent, see what is
//! reported now and this school year, end a report when the child is better.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly, value, values};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role, Viewer, Writable};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::{Report, in_time_for_today, school_year, school_year_of};
use crate::db::absences::{self, AbsenceSettings, Child};
use crate::display::{AbsenceView, Shown};

/// The form as typed, to fill it in again.
#[derive(Debug, Default, Serialize)]
struct FormValues {
    children: Vec<i64>,
    when: String,
    first_day: String,
    last_day: String,
    reason: String,
    note: String,
}

impl FormValues {
    fn typed(form: &[(String, String)]) -> Self {
        Self {
            children: values(form, "children")
                .filter_map(|v| v.trim().parse().ok())
                .collect(),
            when: value(form, "when").to_owned(),
            first_day: value(form, "first_day").to_owned(),
            last_day: value(form, "last_day").to_owned(),
            reason: value(form, "reason").to_owned(),
            note: value(form, "note").to_owned(),
        }
    }
}

/// A child's reports this school year.
#[derive(Debug, Serialize)]
struct ChildYear {
    child: String,
    reports: usize,
    days: i64,
    absences: Vec<AbsenceView>,
}

#[derive(Debug, Serialize)]
struct ReportPage<'a> {
    csrf: &'a str,
    children: Vec<Child>,
    reasons: Vec<String>,
    values: FormValues,
    mistake: Option<Mistake>,
    /// "08:15": reports for today until then; `None`: all day.
    report_until: Option<String>,
    /// It is past that time now.
    late: bool,
    late_text: String,
    phone: String,
    /// Reports covering today or days to come.
    current: Vec<AbsenceView>,
    /// This school year's reports per child.
    history: Vec<ChildYear>,
    /// "2026–2027".
    school_year: String,
    /// How many children a report just made covers.
    reported: Option<usize>,
    ended: bool,
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    reported: Option<usize>,
    ended: Option<String>,
}

/// A parent of the school, or 403.
fn require_parent(viewer: &Viewer) -> Result<(), AppError> {
    if viewer.has(Role::Parent) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            reason: "absence.error.parents_only",
        })
    }
}

/// The page, with the form as stored (empty) or as sent with its mistake (400).
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    tx: &mut TenantTx,
    pages: &Pages,
    csrf: &Csrf,
    viewer: &Viewer,
    now: DateTime<Utc>,
    typed: Option<(FormValues, Mistake)>,
    query: Option<&ReportQuery>,
) -> Result<Response, AppError> {
    let settings = absences::settings(tx).await?;
    let children = absences::children_of(tx, viewer.person_id).await?;
    let today = zone::today(now);
    let year = school_year_of(today);
    let (first, last) = school_year(year);
    let ids: Vec<i64> = children.iter().map(|c| c.id).collect();
    let rows = absences::of_children(tx, &ids, first, last.max(today)).await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let shown = Shown {
        names: &names,
        templates: &state.templates,
        language: pages.language(),
        today,
    };
    let views: Vec<AbsenceView> = rows.iter().map(|row| shown.absence(row)).collect();
    let history = children
        .iter()
        .map(|child| {
            let absences: Vec<AbsenceView> = views
                .iter()
                .filter(|v| v.pupil_id == child.id)
                .cloned()
                .collect();
            ChildYear {
                child: child.name.clone(),
                reports: absences.len(),
                days: absences.iter().map(|a| a.days).sum(),
                absences,
            }
        })
        .collect();
    let late = !in_time_for_today(&settings.rules(), now);
    let (values, mistake, status) = match typed {
        Some((values, mistake)) => (values, Some(mistake), StatusCode::BAD_REQUEST),
        None => (
            FormValues {
                // One child: ticked already.
                children: if children.len() == 1 {
                    ids.clone()
                } else {
                    Vec::new()
                },
                when: if late { "tomorrow" } else { "today" }.to_owned(),
                reason: settings.reasons.first().cloned().unwrap_or_default(),
                ..FormValues::default()
            },
            None,
            StatusCode::OK,
        ),
    };
    let page = ReportPage {
        csrf: csrf.token(),
        reasons: settings.reasons.clone(),
        report_until: settings.report_until.map(|t| t.format("%H:%M").to_string()),
        late,
        late_text: settings.late_text.clone(),
        phone: settings.phone.clone(),
        current: views.iter().filter(|v| v.current).cloned().collect(),
        history,
        school_year: format!("{year}–{}", year + 1),
        children,
        values,
        mistake,
        reported: query.and_then(|q| q.reported),
        ended: query.is_some_and(|q| q.ended.is_some()),
    };
    pages.show_with(status, "schoolday/absence/report.html", &page)
}

/// `GET /absence`: the form, what is reported now, and this school year's reports.
pub async fn show_report(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<ReportQuery>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let page = render(
        &state,
        &mut tx,
        &pages,
        &csrf,
        &viewer,
        now,
        None,
        Some(&query),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

/// The id of the element holding a field, for the summary's links.
fn field_anchor(field: &str) -> String {
    match field {
        "children" => "children".to_owned(),
        "when" => "when".to_owned(),
        "reason" => "reason".to_owned(),
        other => other.replace('_', "-"),
    }
}

/// What the confirmation mail says.
#[derive(Debug, Serialize)]
struct ConfirmationMail<'a> {
    children: Vec<String>,
    reason: &'a str,
    from: String,
    until: Option<String>,
    one_day: bool,
    note: &'a str,
    link: String,
}

/// `POST /absence`: reports the ticked children absent (see [`Report::parse`]); one report per
/// child, and a confirmation mail to the parent, in one transaction. A mistake comes back at
/// its field with everything typed kept, and nothing written.
pub async fn create_report(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let settings = absences::settings(&mut tx).await?;
    let checked = match check(&state, &mut tx, &pages, &settings, &viewer, &form, now).await {
        Ok(checked) => checked,
        Err(Refusal::Mistake(mistake)) => {
            let typed = Some((FormValues::typed(&form), mistake));
            let page = render(&state, &mut tx, &pages, &csrf, &viewer, now, typed, None).await?;
            tx.rollback().await?;
            return Ok(page);
        }
        Err(Refusal::Error(error)) => return Err(error),
    };
    let (report, children) = checked;
    absences::insert(&mut tx, &report, viewer.person_id).await?;
    let names = Names::new(state.templates.catalog(), viewer.language);
    let letterhead = Letterhead::load(&mut tx).await?;
    let email = absences::email_of(&mut tx, viewer.person_id).await?;
    let context = ConfirmationMail {
        children: children.iter().map(|c| c.first_name.clone()).collect(),
        reason: report.reason.as_str(),
        from: names.day(report.span.first_day),
        until: report.span.last_day.map(|d| names.day(d)),
        one_day: report.span.last_day == Some(report.span.first_day),
        note: &report.note,
        link: state
            .config
            .tenancy
            .school_url(tenant.entry().slug.as_str(), "/absence"),
    };
    Outbox::new(state.templates.clone(), &state.config.mail)
        .enqueue(
            &mut tx,
            MailRequest {
                to: &email,
                template: "schoolday/absence_confirmed",
                language: viewer.language,
                urgent: false,
                context: &context,
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/absence?reported={}", children.len())).into_response())
}

/// Why a report was not taken.
enum Refusal {
    /// Something typed: the form again.
    Mistake(Mistake),
    Error(AppError),
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        Self::Error(error)
    }
}

/// The report, for children of this parent not reported for those days already (locked).
async fn check(
    state: &AppState,
    tx: &mut TenantTx,
    pages: &Pages,
    settings: &AbsenceSettings,
    viewer: &Viewer,
    form: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<(Report, Vec<Child>), Refusal> {
    let mistake = |field: &str, key: &str| {
        Refusal::Mistake(Mistake::at(
            &state.templates,
            pages.language(),
            field,
            key,
            &field_anchor(field),
        ))
    };
    let report = match Report::parse(form, &settings.rules(), now) {
        Ok(report) => report,
        Err(error) => {
            return Err(
                match Mistake::of(&error, &state.templates, pages.language(), field_anchor) {
                    Some(mistake) => Refusal::Mistake(mistake),
                    None => Refusal::Error(error),
                },
            );
        }
    };
    let children = absences::lock_children(tx, viewer.person_id, &report.children)
        .await
        .map_err(AppError::from)?;
    if children.len() != report.children.len() {
        return Err(mistake("children", "absence.error.not_your_child"));
    }
    if let Some((child, since)) = absences::overlapping(
        tx,
        &report.children,
        report.span.first_day,
        report.span.last_day,
    )
    .await
    .map_err(AppError::from)?
    {
        let names = Names::new(state.templates.catalog(), pages.language());
        let mut refused = Mistake::at(
            &state.templates,
            pages.language(),
            "children",
            "absence.error.already_reported",
            "children",
        );
        refused.message = refused
            .message
            .replace("{child}", &child)
            .replace("{day}", &names.day(since));
        return Err(Refusal::Mistake(refused));
    }
    Ok((report, children))
}

/// `POST /absence/{id}/end`: the child is better from tomorrow (a report that started ends
/// today); a report for days still to come is withdrawn. Only a parent of the child.
pub async fn end_report(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(absence_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    require_parent(&viewer)?;
    let today = zone::today(state.clock.now());
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let held = absences::hold(&mut tx, absence_id, viewer.person_id)
        .await?
        .filter(|held| held.is_parent)
        .ok_or(AppError::NotFound)?;
    if held.first_day > today {
        absences::withdraw(&mut tx, absence_id).await?;
    } else if held.last_day.is_none_or(|last| last > today) {
        absences::end(&mut tx, absence_id, today, viewer.person_id, None).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to("/absence?ended=1").into_response())
}
