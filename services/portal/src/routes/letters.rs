//! The letters to parents (A2): per group one page per pupil with the pupil's activation code
//! and how to register, as a PDF the school prints and hands out.

use axum::extract::{Path, State};
use axum::response::Response;
use schoolplein_kernel::{Admin, AppError, AppState, Lang, Language, dutch_time};
use schoolplein_registration::ActivationCode;
use tenant_router::{CurrentTenant, TenantTx};

use schoolplein_kernel::pdf::{Block, download};

use crate::db::groups;
use crate::db::pupils::{self, LetterRow};
use crate::db::school_profile::{self, Contact};

/// What every letter of one printing shares.
struct LetterHead<'a> {
    school_name: &'a str,
    group_name: &'a str,
    register_url: &'a str,
    /// "3 december 2026": the day it was printed, so a parent can tell an old letter.
    date: String,
    contact: &'a Contact,
}

/// The pages, one per pupil, in the admin's language.
fn letter_pages(
    state: &AppState,
    language: Language,
    head: &LetterHead<'_>,
    rows: &[LetterRow],
) -> Vec<Vec<Block>> {
    let LetterHead {
        school_name,
        group_name,
        register_url,
        ..
    } = head;
    let catalog = state.templates.catalog();
    let text = |key: &str| {
        catalog
            .get(language, &format!("portal.letter.{key}"))
            .unwrap_or_default()
            .to_owned()
    };
    rows.iter()
        .map(|row| {
            let code = ActivationCode::from_stored(row.code.clone()).printed();
            let mut contact: Vec<String> = head
                .contact
                .address
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if !head.contact.phone.is_empty() {
                contact.push(format!("{} {}", text("phone"), head.contact.phone));
            }
            if !head.contact.contact_email.is_empty() {
                contact.push(head.contact.contact_email.clone());
            }
            let mut page = vec![Block::Heading((*school_name).to_owned())];
            page.extend(contact.into_iter().map(Block::Note));
            page.push(Block::Note(head.date.clone()));
            page.extend([
                Block::Paragraph(format!(
                    "{} {} ({group_name})",
                    text("to_parents_of"),
                    row.full_name
                )),
                Block::Space(8.0),
                Block::Paragraph(text("intro")),
                Block::Paragraph(format!("1. {} {register_url}", text("step_open"))),
                Block::Paragraph(format!("2. {}", text("step_code"))),
                Block::Emphasis(code),
                Block::Paragraph(format!("3. {}", text("step_account"))),
                Block::Paragraph(format!("4. {}", text("step_more"))),
                Block::Space(12.0),
                Block::Note(format!("{} {}.", text("note_child"), row.first_name)),
                Block::Note(text("note_keep")),
            ]);
            if !head.contact.contact_email.is_empty() || !head.contact.phone.is_empty() {
                page.push(Block::Note(text("questions")));
            }
            page
        })
        .collect()
}

/// `GET /admin/groups/{id}/letters.pdf`.
pub async fn group_letters(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    _: Admin,
    Path(group_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let group_name = groups::name_of(&mut tx, group_id).await?;
    let group_name = group_name.ok_or(AppError::NotFound)?;
    // Pupils added by hand since the last import may have no code yet.
    schoolplein_registration::db::codes::ensure_codes(&mut tx).await?;
    let rows = pupils::letters(&mut tx, group_id).await?;
    let contact = school_profile::contact(&mut tx).await?;
    tx.commit().await?;
    if rows.is_empty() {
        return Err(AppError::bad_request("group", "portal.letter.no_pupils"));
    }
    let register_url = state
        .config
        .tenancy
        .school_url(tenant.entry().slug.as_str(), "/register");
    let pages = letter_pages(
        &state,
        lang,
        &LetterHead {
            school_name: &tenant.entry().display_name,
            group_name: &group_name,
            register_url: &register_url,
            date: dutch_time::letter_date(chrono::Utc::now(), lang),
            contact: &contact,
        },
        &rows,
    );
    tracing::info!(group.id = group_id, letters = rows.len(), "letters printed");
    download(&state.fonts, pages, "koppelcodes", &group_name).await
}
