//! PDF lists per group (P6), with the school's PDF header: the class list for staff, and the
//! address list — for staff in full, and for the group's parents when the school allows it,
//! holding only what each parent shows (the group page's own view, so no list shows more).

use axum::extract::{Path, State};
use axum::response::Response;
use schoolplein_kernel::{AppError, AppState, Lang, Language, Member};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::people;

use crate::group_view::{GroupView, group_view};
use schoolplein_kernel::pdf::{Block, download};

fn text(state: &AppState, language: Language, key: &str) -> String {
    state
        .templates
        .catalog()
        .get(language, &format!("portal.lists.{key}"))
        .unwrap_or_default()
        .to_owned()
}

/// The header every list starts with: the school's PDF header (or its name), and the title.
fn header(pdf_header: &str, school: &str, title: String) -> Vec<Block> {
    let top = if pdf_header.is_empty() {
        school
    } else {
        pdf_header
    };
    vec![
        Block::Note(top.to_owned()),
        Block::Heading(title),
        Block::Space(6.0),
    ]
}

/// The lines of the address list: a child, then each parent with what may be shown.
fn address_lines(view: &GroupView) -> Vec<Block> {
    let mut blocks = Vec::new();
    for family in &view.families {
        blocks.push(Block::Paragraph(family.child.clone()));
        for parent in &family.parents {
            let mut parts = vec![parent.name.clone()];
            parts.extend(
                [
                    &parent.phone_mobile,
                    &parent.phone_other,
                    &parent.email,
                    &parent.address,
                ]
                .into_iter()
                .flatten()
                .cloned(),
            );
            blocks.push(Block::Note(format!("    {}", parts.join(" · "))));
        }
    }
    blocks
}

/// `GET /groups/{id}/address-list.pdf`.
pub async fn address_list(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    viewer: Member,
    Path(group_id): Path<i64>,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    if !viewer.is_staff() && !settings.parents_download_address_list {
        return Err(AppError::Forbidden {
            reason: "portal.lists.parents_may_not",
        });
    }
    let view = group_view(&state, &tenant, &viewer, group_id).await?;
    let mut page = header(
        &settings.pdf_header,
        &tenant.entry().display_name,
        format!("{} {}", text(&state, lang, "address_list"), view.name),
    );
    page.extend(address_lines(&view));
    if view.families.is_empty() {
        page.push(Block::Paragraph(text(&state, lang, "nobody_shown")));
    }
    download(&state.fonts, vec![page], "adreslijst", &view.name).await
}

/// `GET /groups/{id}/class-list.pdf` — staff only: every pupil with birth date and parents.
pub async fn class_list(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    viewer: Member,
    Path(group_id): Path<i64>,
) -> Result<Response, AppError> {
    if !viewer.is_staff() {
        return Err(AppError::Forbidden {
            reason: "error.forbidden_role",
        });
    }
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    // The view checks that this member of staff may see the group at all.
    let view = group_view(&state, &tenant, &viewer, group_id).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let births = people::birth_dates(&mut tx, group_id).await?;
    tx.commit().await?;
    let mut page = header(
        &settings.pdf_header,
        &tenant.entry().display_name,
        format!("{} {}", text(&state, lang, "class_list"), view.name),
    );
    if !view.teachers.is_empty() {
        page.push(Block::Paragraph(format!(
            "{}: {}",
            text(&state, lang, "teachers"),
            view.teachers.join(", ")
        )));
    }
    for (n, family) in view.families.iter().enumerate() {
        let born = births
            .iter()
            .find(|(name, _)| *name == family.child)
            .map(|(_, date)| date.format("%d-%m-%Y").to_string())
            .unwrap_or_default();
        let parents: Vec<&str> = family.parents.iter().map(|p| p.name.as_str()).collect();
        page.push(Block::Paragraph(format!(
            "{}. {} ({born})",
            n + 1,
            family.child
        )));
        if !parents.is_empty() {
            page.push(Block::Note(format!("    {}", parents.join(", "))));
        }
    }
    download(&state.fonts, vec![page], "klassenlijst", &view.name).await
}
