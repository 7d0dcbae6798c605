//! The admin's groups (P1, P4): make a group, give it its teachers, merge two groups or split
//! a combination group by year, and at the end of the school year move all pupils of one
//! group to another.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, TokenOnly, anchors, value};
use schoolplein_kernel::{Admin, AppError, AppState, Pages};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups::{self, AdminGroup, ArrangeRefused, MergeError, StaffMember};

#[derive(Debug, Serialize)]
struct GroupsAdminPage<'a> {
    csrf: &'a str,
    groups: Vec<AdminGroup>,
    staff: Vec<StaffMember>,
    moved: Option<i64>,
    #[serde(flatten)]
    back: FormBack,
}

#[derive(Debug, Deserialize)]
pub struct MovedQuery {
    moved: Option<i64>,
}

/// The ids of the page's forms: a new group, moving pupils, choosing two groups to merge,
/// and per group splitting it and adding a teacher.
const NEW_GROUP_FORM: &str = "new-group";
const MOVE_FORM: &str = "move-pupils";
const MERGE_FORM: &str = "merge-groups";

fn split_form(group_id: i64) -> String {
    format!("split-{group_id}")
}

fn teacher_form(group_id: i64) -> String {
    format!("add-teacher-{group_id}")
}

/// `GET /admin/groups`.
pub async fn show_groups_admin(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    axum::extract::Query(query): axum::extract::Query<MovedQuery>,
) -> Result<Response, AppError> {
    groups_page(&state, &tenant, &pages, csrf, query.moved, FormBack::none()).await
}

/// The page, with one of its forms as sent when `back` holds one (400).
async fn groups_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    moved: Option<i64>,
    back: FormBack,
) -> Result<Response, AppError> {
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
    let status = back.status();
    let page = GroupsAdminPage {
        csrf: csrf.token(),
        groups,
        staff,
        moved,
        back,
    };
    pages.show_with(status, "portal/groups_admin.html", &page)
}

/// A group's id from a form field, or a 400 naming it.
fn group_field(form: &[(String, String)], field: &'static str) -> Result<i64, AppError> {
    value(form, field)
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request(field, "portal.groups.unknown_group"))
}

/// A group's name as typed: 1–100 characters, no control characters.
fn group_name(raw: &str) -> Result<&str, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request("name", "portal.groups.bad_name"));
    }
    Ok(name)
}

/// `POST /admin/groups`: a group made by hand, fields `name` and `year` (0–8, or empty).
pub async fn create_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match make_group(&state, &tenant, &form).await {
        Err(error) => {
            let anchor = anchors(&[("name", "group-name"), ("year", "group-year")]);
            let form_id = NEW_GROUP_FORM.to_owned();
            let back = FormBack::of(&state, pages.language(), error, form_id, &form, anchor)?;
            groups_page(&state, &tenant, &pages, csrf, None, back).await
        }
        Ok(()) => Ok(Redirect::to("/admin/groups").into_response()),
    }
}

async fn make_group(
    state: &AppState,
    tenant: &CurrentTenant,
    form: &[(String, String)],
) -> Result<(), AppError> {
    let name = group_name(value(form, "name"))?;
    let year = match value(form, "year").trim() {
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
    Ok(())
}

/// `POST /admin/groups/{id}/teachers`: gives the group a teacher (`person_id`, a member of
/// staff).
pub async fn add_teacher(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Path(group_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match give_teacher(&state, &tenant, group_id, &form).await {
        Err(error) => {
            let anchor = |_: &str| format!("add-teacher-person-{group_id}");
            let form_id = teacher_form(group_id);
            let back = FormBack::of(&state, pages.language(), error, form_id, &form, anchor)?;
            groups_page(&state, &tenant, &pages, csrf, None, back).await
        }
        Ok(()) => Ok(Redirect::to("/admin/groups").into_response()),
    }
}

async fn give_teacher(
    state: &AppState,
    tenant: &CurrentTenant,
    group_id: i64,
    form: &[(String, String)],
) -> Result<(), AppError> {
    let person_id: i64 = value(form, "person_id")
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request("person_id", "portal.groups.not_staff"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let added = groups::add_teacher(&mut tx, group_id, person_id).await?;
    if !added {
        let known = groups::is_teacher(&mut tx, group_id, person_id).await?;
        if !known {
            return Err(AppError::bad_request(
                "person_id",
                "portal.groups.not_staff",
            ));
        }
    }
    tx.commit().await?;
    Ok(())
}

/// `POST /admin/groups/{id}/teachers/{person_id}/remove`.
pub async fn remove_teacher(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _: Admin,
    Path((group_id, person_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !groups::remove_teacher(&mut tx, group_id, person_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

/// `POST /admin/groups/move`: every pupil of one group (`from`, still at school) into another
/// (`to`) — the end of the school year; their parents' links go with them.
pub async fn move_pupils(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match move_all(&state, &tenant, &form).await {
        Err(error) => {
            let anchor = anchors(&[("from", "move-from"), ("to", "move-to")]);
            let form_id = MOVE_FORM.to_owned();
            let back = FormBack::of(&state, pages.language(), error, form_id, &form, anchor)?;
            groups_page(&state, &tenant, &pages, csrf, None, back).await
        }
        Ok(moved) => Ok(Redirect::to(&format!("/admin/groups?moved={moved}")).into_response()),
    }
}

/// Moves the pupils; how many moved.
async fn move_all(
    state: &AppState,
    tenant: &CurrentTenant,
    form: &[(String, String)],
) -> Result<u64, AppError> {
    let from = group_field(form, "from")?;
    let to = group_field(form, "to")?;
    if from == to {
        return Err(AppError::bad_request("to", "portal.groups.same_group"));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let both = groups::count_pair(&mut tx, from, to).await?;
    if both != 2 {
        return Err(AppError::bad_request("to", "portal.groups.unknown_group"));
    }
    let moved = groups::move_pupils(&mut tx, from, to).await?;
    tx.commit().await?;
    tracing::info!(from, to, moved, "pupils moved to another group");
    Ok(moved)
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
/// it — a merge is not undone by one click, so it is confirmed on its own page. Two groups
/// that cannot be merged bring the groups page back with the choice kept (400).
pub async fn confirm_merge(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Query(form): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let preview = async {
        let from = group_field(&form, "from")?;
        let into = group_field(&form, "into")?;
        let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
        let holdings = groups::merge_preview(&mut tx, from, into).await?;
        tx.commit().await?;
        Ok::<_, AppError>(holdings)
    };
    let (from, into) = match preview.await {
        Ok(holdings) => holdings,
        Err(error) => {
            let anchor = anchors(&[("from", "merge-from"), ("into", "merge-into")]);
            let form_id = MERGE_FORM.to_owned();
            let back = FormBack::of(&state, pages.language(), error, form_id, &form, anchor)?;
            return groups_page(&state, &tenant, &pages, csrf, None, back).await;
        }
    };
    pages.show(
        "portal/groups_merge.html",
        &MergePage {
            csrf: csrf.token(),
            from,
            into,
        },
    )
}

/// `POST /admin/groups/merge`: group `from` becomes part of `into` — its pupils, teachers,
/// keys, posts, events, albums and folders with it. Imports keep them together from then on.
pub async fn merge_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    _: Admin,
    CsrfForm(form): CsrfForm<MergeForm>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    groups::merge(&mut tx, form.from, form.into).await?;
    tx.commit().await?;
    tracing::info!(from = form.from, into = form.into, "groups merged");
    Ok(Redirect::to("/admin/groups").into_response())
}

/// `POST /admin/groups/{id}/split`: one year group of a combination group (`key`, one of the
/// administration's keys) becomes a group of its own (`name`), with its pupils. Imports keep
/// them apart.
pub async fn split_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Path(group_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let split = async {
        let name = group_name(value(&form, "name"))?;
        let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
        let created = groups::split(&mut tx, group_id, value(&form, "key").trim(), name).await?;
        tx.commit().await?;
        Ok::<_, AppError>(created)
    };
    match split.await {
        Ok(created) => {
            tracing::info!(from = group_id, created, "group split");
            Ok(Redirect::to("/admin/groups").into_response())
        }
        Err(error) => {
            let anchor = |field: &str| match field {
                "name" => format!("split-name-{group_id}"),
                _ => format!("split-key-{group_id}"),
            };
            let form_id = split_form(group_id);
            let back = FormBack::of(&state, pages.language(), error, form_id, &form, anchor)?;
            groups_page(&state, &tenant, &pages, csrf, None, back).await
        }
    }
}
