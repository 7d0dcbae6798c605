//! The admin's groups (P1, P4): make a group, give it its teachers, merge two groups or split
//! a combination group by year, and at the end of the school year move all pupils of one
//! group to another.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{AppError, AppState, Lang, Role, Viewer};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups::{self, AdminGroup, ArrangeRefused, MergeError, StaffMember};

#[derive(Debug, Serialize)]
struct GroupsAdminPage<'a> {
    csrf: &'a str,
    groups: Vec<AdminGroup>,
    staff: Vec<StaffMember>,
    moved: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct MovedQuery {
    moved: Option<i64>,
}

/// `GET /admin/groups`.
pub async fn show_groups_admin(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<MovedQuery>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let mut groups = groups::for_admin(&mut tx).await?;
    let teachers = groups::teachers(&mut tx).await?;
    let staff = groups::staff(&mut tx).await?;
    tx.commit().await?;
    for group in &mut groups {
        group.teachers = teachers
            .iter()
            .filter(|t| t.group_id == group.id)
            .cloned()
            .collect();
    }
    let page = GroupsAdminPage {
        csrf: csrf.token(),
        groups,
        staff,
        moved: query.moved,
    };
    let html = Html(
        state
            .templates
            .render("portal/groups_admin.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewGroupForm {
    name: String,
    #[serde(default)]
    year: String,
}

/// `POST /admin/groups`: a group made by hand.
pub async fn create_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<NewGroupForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request("name", "portal.groups.bad_name"));
    }
    let year = match form.year.trim() {
        "" => None,
        text => match text.parse::<i16>() {
            Ok(year) if (0..=8).contains(&year) => Some(year),
            _ => return Err(AppError::bad_request("year", "portal.groups.bad_year")),
        },
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let created = groups::create(&mut tx, name, year).await?;
    if created.is_none() {
        return Err(AppError::bad_request("name", "portal.groups.name_taken"));
    }
    tx.commit().await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

#[derive(Debug, Deserialize)]
pub struct TeacherForm {
    person_id: i64,
}

/// `POST /admin/groups/{id}/teachers`: gives the group a teacher (a member of staff).
pub async fn add_teacher(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(group_id): Path<i64>,
    CsrfForm(form): CsrfForm<TeacherForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let added = groups::add_teacher(&mut tx, group_id, form.person_id).await?;
    if !added {
        let known = groups::is_teacher(&mut tx, group_id, form.person_id).await?;
        if !known {
            return Err(AppError::bad_request(
                "person_id",
                "portal.groups.not_staff",
            ));
        }
    }
    tx.commit().await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

/// `POST /admin/groups/{id}/teachers/{person_id}/remove`.
pub async fn remove_teacher(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path((group_id, person_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !groups::remove_teacher(&mut tx, group_id, person_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    from: i64,
    to: i64,
}

/// `POST /admin/groups/move`: every pupil of one group (still at school) into another — the
/// end of the school year; their parents' links go with them.
pub async fn move_pupils(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    if form.from == form.to {
        return Err(AppError::bad_request("to", "portal.groups.same_group"));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let both = groups::count_pair(&mut tx, form.from, form.to).await?;
    if both != 2 {
        return Err(AppError::bad_request("to", "portal.groups.unknown_group"));
    }
    let moved = groups::move_pupils(&mut tx, form.from, form.to).await?;
    tx.commit().await?;
    tracing::info!(
        from = form.from,
        to = form.to,
        moved,
        "pupils moved to another group"
    );
    Ok(Redirect::to(&format!("/admin/groups?moved={moved}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    from: i64,
    into: i64,
}

fn refused(refusal: ArrangeRefused) -> AppError {
    match refusal {
        ArrangeRefused::UnknownGroup => {
            AppError::bad_request("into", "portal.groups.unknown_group")
        }
        ArrangeRefused::SameGroup => AppError::bad_request("into", "portal.groups.same_group"),
        ArrangeRefused::NotSplittable => {
            AppError::bad_request("key", "portal.groups.not_splittable")
        }
        ArrangeRefused::NameTaken => AppError::bad_request("name", "portal.groups.name_taken"),
    }
}

impl From<MergeError> for AppError {
    fn from(error: MergeError) -> Self {
        match error {
            MergeError::Refused(refusal) => refused(refusal),
            MergeError::Database(error) => error.into(),
        }
    }
}

#[derive(Debug, Serialize)]
struct MergePage<'a> {
    csrf: &'a str,
    from: groups::GroupHoldings,
    into: groups::GroupHoldings,
}

/// `GET /admin/groups/merge?from=&into=`: what merging would move, with the button that does
/// it — a merge is not undone by one click, so it is confirmed on its own page.
pub async fn confirm_merge(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Query(form): Query<MergeForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (from, into) = groups::merge_preview(&mut tx, form.from, form.into).await?;
    tx.commit().await?;
    let html = Html(state.templates.render(
        "portal/groups_merge.html",
        lang,
        &MergePage {
            csrf: csrf.token(),
            from,
            into,
        },
    )?);
    Ok((csrf, html).into_response())
}

/// `POST /admin/groups/merge`: group `from` becomes part of `into` — its pupils, teachers,
/// keys, posts, events, albums and folders with it. Imports keep them together from then on.
pub async fn merge_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<MergeForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    groups::merge(&mut tx, form.from, form.into).await?;
    tx.commit().await?;
    tracing::info!(from = form.from, into = form.into, "groups merged");
    Ok(Redirect::to("/admin/groups").into_response())
}

#[derive(Debug, Deserialize)]
pub struct SplitForm {
    key: String,
    name: String,
}

/// `POST /admin/groups/{id}/split`: one year group of a combination group (one of the
/// administration's keys) becomes a group of its own, with its pupils. Imports keep them apart.
pub async fn split_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(group_id): Path<i64>,
    CsrfForm(form): CsrfForm<SplitForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request("name", "portal.groups.bad_name"));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let created = groups::split(&mut tx, group_id, form.key.trim(), name).await?;
    tx.commit().await?;
    tracing::info!(from = group_id, created, "group split");
    Ok(Redirect::to("/admin/groups").into_response())
}
