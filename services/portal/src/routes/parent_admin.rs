//! A parent as the school sees them (P3, A6): all their details, their children, the
//! school's extra fields; editable by admins, and by teachers where the school allows (T5);
//! admins make a parent read-only or remove them from the school. Every change is recorded.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, TokenOnly, value};
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Role, Staff, Viewer, Writable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::children::{self, ContactRow};
use crate::db::parents::{self, ParentChild, ParentDetails, ParentRow};
use crate::db::people;
use crate::fields::{optional_phone, optional_text};

#[derive(Debug, Serialize)]
struct ExtraField {
    label: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct ParentPage<'a> {
    csrf: &'a str,
    parent: ParentRow,
    children: Vec<ParentChild>,
    contacts: Vec<ContactRow>,
    extra: Vec<ExtraField>,
    can_edit: bool,
    is_admin: bool,
    /// The groups of the parent's children, and whether they are its class parent (A9).
    class_groups: Vec<parents::ClassGroup>,
    #[serde(flatten)]
    back: FormBack,
}

#[derive(Debug, Deserialize)]
pub struct ClassParentForm {
    group: i64,
    granted: bool,
}

/// `POST /admin/parents/{person_id}/class-parent` (`group`, `granted`): makes the parent the
/// class parent of a group of their children, who may then write to its parents (A9, C4),
/// or ends it. 400 for a group where the parent has no child.
pub async fn class_parent(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Admin>,
    Path(person_id): Path<i64>,
    CsrfForm(form): CsrfForm<ClassParentForm>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    parents::find(&mut tx, person_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if form.granted {
        if !parents::grant_class_parent(&mut tx, form.group, person_id, viewer.person_id).await? {
            return Err(AppError::bad_request("group", "portal.parent.not_in_group"));
        }
    } else {
        parents::end_class_parent(&mut tx, form.group, person_id).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/parents/{person_id}#class-parent")).into_response())
}

/// The id of the form with the parent's details.
const DETAILS_FORM: &str = "parent-details";

/// What the viewer may do with this parent: `None` when they may not even look.
async fn rights(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Option<bool>, AppError> {
    if viewer.has(Role::SchoolAdmin) {
        return Ok(Some(true));
    }
    if !viewer.has(Role::Teacher) {
        return Ok(None);
    }
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let looker = people::looker(tx, viewer).await?;
    let access = people::group_access(tx, viewer, &looker, &settings).await?;
    let groups = parents::child_groups(tx, person_id).await?;
    let sees = groups.into_iter().flatten().any(|g| access.allows(g));
    Ok(sees.then_some(settings.teachers_manage_parents))
}

/// `GET /admin/parents/{person_id}` — for admins and the teachers of the parent's children.
pub async fn show_parent(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    Path(person_id): Path<i64>,
) -> Result<Response, AppError> {
    parent_page(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        person_id,
        FormBack::none(),
    )
    .await
}

/// The parent's page, with the details form as sent when `back` holds it (400).
async fn parent_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    person_id: i64,
    back: FormBack,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let parent = parents::find(&mut tx, person_id).await?;
    let parent = parent.ok_or(AppError::NotFound)?;
    let can_edit = rights(state, tenant, viewer, &mut tx, person_id)
        .await?
        .ok_or(AppError::Forbidden {
            reason: "portal.parent.not_yours",
        })?;
    let children = parents::children(&mut tx, person_id).await?;
    let contacts = children::contacts(&mut tx, person_id).await?;
    let class_groups = parents::class_groups(&mut tx, person_id).await?;
    tx.commit().await?;
    let stored: HashMap<String, String> = serde_json::from_str(&parent.extra).unwrap_or_default();
    let sent_back = back.sent_form == DETAILS_FORM;
    let extra = settings
        .extra_fields
        .iter()
        .enumerate()
        .map(|(i, label)| ExtraField {
            value: if sent_back {
                back.typed.one.get(&format!("extra_{i}")).cloned()
            } else {
                stored.get(label).cloned()
            }
            .unwrap_or_default(),
            label: label.clone(),
        })
        .collect();
    let status = back.status();
    let page = ParentPage {
        csrf: csrf.token(),
        parent,
        children,
        contacts,
        extra,
        can_edit,
        is_admin: viewer.has(Role::SchoolAdmin),
        class_groups,
        back,
    };
    pages.show_with(status, "portal/parent.html", &page)
}

/// `POST /admin/parents/{person_id}/details`. A mistake brings the page back with the form
/// as sent; nothing is saved.
pub async fn save_parent(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    Path(person_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match change_details(&state, &tenant, &viewer, person_id, &form).await {
        Err(error) => {
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                DETAILS_FORM,
                &form,
                str::to_owned,
            )?;
            parent_page(&state, &tenant, &pages, csrf, &viewer, person_id, back).await
        }
        changed => changed,
    }
}

/// Checks who may change the parent's details, then what was sent, then saves it.
async fn change_details(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    person_id: i64,
    form: &[(String, String)],
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let may_edit = rights(state, tenant, viewer, &mut tx, person_id)
        .await?
        .ok_or(AppError::Forbidden {
            reason: "portal.parent.not_yours",
        })?;
    if !may_edit {
        return Err(AppError::Forbidden {
            reason: "portal.parent.teachers_may_not_edit",
        });
    }
    let name = optional_text("name", value(form, "name"), 100, false)?
        .ok_or_else(|| AppError::bad_request("name", "registration.name_empty"))?;
    let address = optional_text("address", value(form, "address"), 200, false)?;
    let phone_mobile = optional_phone("phone_mobile", value(form, "phone_mobile"))?;
    let phone_other = optional_phone("phone_other", value(form, "phone_other"))?;
    let mut extra: BTreeMap<String, String> = BTreeMap::new();
    for (i, label) in settings.extra_fields.iter().enumerate() {
        let key = format!("extra_{i}");
        if let Some(text) = optional_text(&key, value(form, &key), 200, false)? {
            extra.insert(label.clone(), text);
        }
    }
    let extra = serde_json::to_string(&extra).map_err(|e| AppError::Internal(e.to_string()))?;
    let updated = parents::save_details(
        &mut tx,
        person_id,
        &ParentDetails {
            name: &name,
            address: address.as_deref(),
            phone_mobile: phone_mobile.as_deref(),
            phone_other: phone_other.as_deref(),
            extra: &extra,
        },
    )
    .await?;
    if !updated {
        return Err(AppError::NotFound);
    }
    parents::record(&mut tx, person_id, "details", viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/parents/{person_id}")).into_response())
}

/// What an admin does to a parent's place in the school.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParentAction {
    ReadOnly,
    Writable,
    Remove,
}

/// `POST /admin/parents/{person_id}/{read-only|writable|remove}` — admins only. Removing
/// ends the parent's links to children and membership here; their account stays, and a code
/// brings them back.
pub async fn change_parent(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Admin,
    Path((person_id, action)): Path<(i64, ParentAction)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let account = parents::account_of(&mut tx, person_id).await?;
    let account = account.ok_or(AppError::NotFound)?;
    let tenant_id = tenant.id().get();
    match action {
        ParentAction::ReadOnly | ParentAction::Writable => {
            let read_only = matches!(action, ParentAction::ReadOnly);
            parents::set_read_only(&mut tx, person_id, account, tenant_id, read_only).await?;
            parents::record(
                &mut tx,
                person_id,
                if read_only { "read_only" } else { "writable" },
                viewer.person_id,
            )
            .await?;
        }
        ParentAction::Remove => {
            parents::remove_from_school(&mut tx, person_id, account, tenant_id).await?;
            parents::record(&mut tx, person_id, "remove", viewer.person_id).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(person.id = person_id, action = ?action, "parent changed by admin");
    let back = match action {
        ParentAction::Remove => "/admin/people".to_owned(),
        _ => format!("/admin/parents/{person_id}"),
    };
    Ok(Redirect::to(&back).into_response())
}
