//! Special groups (P5): staff make them, parents sign up from their page, staff see and print
//! who joined. Joining takes the special group's row lock, so its maximum holds however many
//! parents press the button at once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, TokenOnly, anchors};
use schoolplein_kernel::{AppError, AppState, Lang, Member, Pages, Staff, Viewer, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use schoolplein_kernel::pdf::{Block, download};

use crate::db::groups;
use crate::db::special_groups::{self, NewSpecialGroup, SpecialRow};

#[derive(Debug, Serialize)]
struct SpecialPage<'a> {
    csrf: &'a str,
    staff: bool,
    special_groups: Vec<SpecialRow>,
    groups: Vec<groups::GroupChoice>,
    #[serde(flatten)]
    back: FormBack,
}

/// The id of the form for a new special group.
const NEW_FORM: &str = "new-special-group";

/// `GET /special-groups`: for staff every special group with a form for a new one; for a
/// parent the ones open to them or theirs already.
pub async fn show_special_groups(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
) -> Result<Response, AppError> {
    special_page(&state, &tenant, &pages, csrf, &viewer, FormBack::none()).await
}

/// The page, with the form for a new special group as sent when `back` holds it (400).
async fn special_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    back: FormBack,
) -> Result<Response, AppError> {
    let staff = viewer.is_staff();
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let special_groups = special_groups::listed(&mut tx, viewer.person_id, staff).await?;
    let groups = groups::all(&mut tx).await?;
    tx.commit().await?;
    let status = back.status();
    let page = SpecialPage {
        csrf: csrf.token(),
        staff,
        special_groups,
        groups,
        back,
    };
    pages.show_with(status, "portal/special_groups.html", &page)
}

/// `POST /special-groups` (staff): fields `name`, `description`, `main_group`, and for an
/// activity `activity=1`, `signup_until` (yyyy-mm-dd), `max_participants`, `groups` (repeated).
/// A mistake brings the page back with the form as sent; nothing is written.
pub async fn create_special_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match make_special_group(&state, &tenant, &viewer, &form).await {
        Err(error) => {
            let anchor = anchors(&[
                ("name", "special-name"),
                ("description", "special-description"),
                ("main_group", "special-main-group"),
                ("signup_until", "special-until"),
                ("max_participants", "special-max"),
                ("groups", "special-groups-allowed"),
            ]);
            let back = FormBack::of(&state, pages.language(), error, NEW_FORM, &form, anchor)?;
            special_page(&state, &tenant, &pages, csrf, &viewer, back).await
        }
        made => made,
    }
}

async fn make_special_group(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    form: &[(String, String)],
) -> Result<Response, AppError> {
    let get = |key: &str| {
        form.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or_default()
    };
    let name = get("name");
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request("name", "portal.special.bad_name"));
    }
    let description = get("description");
    if description.chars().count() > 2000 {
        return Err(AppError::bad_request(
            "description",
            "portal.special.too_long",
        ));
    }
    let has_activity = !get("activity").is_empty();
    let number = |key: &'static str| -> Result<Option<i64>, AppError> {
        match get(key) {
            "" => Ok(None),
            text => text
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::bad_request(key, "portal.special.bad_number")),
        }
    };
    let main_group = number("main_group")?;
    let (signup_until, max_participants, allowed) = if has_activity {
        let until =
            match get("signup_until") {
                "" => None,
                text => Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                    AppError::bad_request("signup_until", "portal.special.bad_date")
                })?),
            };
        let max = number("max_participants")?;
        if max.is_some_and(|m| !(1..=10_000).contains(&m)) {
            return Err(AppError::bad_request(
                "max_participants",
                "portal.special.bad_max",
            ));
        }
        let allowed = form
            .iter()
            .filter(|(k, _)| k == "groups")
            .map(|(_, v)| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::bad_request("groups", "portal.special.bad_number"))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        (until, max.map(|m| m as i32), allowed)
    } else {
        (None, None, Vec::new())
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let chosen: Vec<i64> = allowed.iter().copied().chain(main_group).collect();
    let known = groups::count_known(&mut tx, &chosen).await?;
    if known as usize != allowed.len() + usize::from(main_group.is_some()) {
        return Err(AppError::bad_request(
            "groups",
            "portal.special.unknown_group",
        ));
    }
    special_groups::create(
        &mut tx,
        &NewSpecialGroup {
            name,
            main_group: if has_activity { None } else { main_group },
            has_activity,
            description,
            signup_until,
            max_participants,
            created_by: viewer.person_id,
            allowed: &allowed,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/special-groups").into_response())
}

/// Why joining failed, for the page.
fn refuse(key: &'static str) -> AppError {
    AppError::bad_request("special_group", key)
}

/// `POST /special-groups/{id}/join`: the row lock makes the count and the insert one step
/// for each special group, so a full group turns the next parent away.
pub async fn join_special_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let row = special_groups::lock_for_joining(&mut tx, id, viewer.person_id).await?;
    let (may, closed, max) = row.ok_or(AppError::NotFound)?;
    if !may {
        return Err(refuse("portal.special.not_for_you"));
    }
    if closed {
        return Err(refuse("portal.special.closed"));
    }
    if let Some(max) = max {
        let members = special_groups::member_count(&mut tx, id).await?;
        let already = special_groups::is_member(&mut tx, id, viewer.person_id).await?;
        if !already && members >= i64::from(max) {
            return Err(refuse("portal.special.full"));
        }
    }
    special_groups::join(&mut tx, id, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/special-groups").into_response())
}

/// `POST /special-groups/{id}/leave`.
pub async fn leave_special_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    special_groups::leave(&mut tx, id, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/special-groups").into_response())
}

/// `GET /special-groups/{id}/list.pdf` (staff): who joined, with how to reach them.
pub async fn special_group_pdf(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    _: Staff,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let name = special_groups::name_of(&mut tx, id).await?;
    let name = name.ok_or(AppError::NotFound)?;
    let members = special_groups::members(&mut tx, id).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let top = if settings.pdf_header.is_empty() {
        tenant.entry().display_name.clone()
    } else {
        settings.pdf_header.clone()
    };
    let mut page = vec![
        Block::Note(top),
        Block::Heading(name.clone()),
        Block::Space(6.0),
    ];
    for (n, member) in members.iter().enumerate() {
        page.push(Block::Paragraph(format!("{}. {}", n + 1, member.name)));
        let mut reach = vec![member.email.clone()];
        reach.extend(member.phone_mobile.clone());
        reach.extend(member.children.clone());
        page.push(Block::Note(format!("    {}", reach.join(" · "))));
    }
    if members.is_empty() {
        page.push(Block::Paragraph(
            catalog
                .get(lang, "portal.special.nobody")
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    download(&state.fonts, vec![page], "speciale-groep", &name).await
}
