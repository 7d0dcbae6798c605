//! The PDF overview of a conference round (K5) for its teachers and the school's admins: per
//! day every slot's time with the child and their parents, free slots and breaks shown.

use axum::extract::{Path, State};
use axum::response::Response;
use schoolplein_kernel::pdf::{Block, download};
use schoolplein_kernel::{AppError, AppState, Lang, Language, Staff};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups;
use crate::display::Names;
use crate::rounds::{self, BookingMode, SlotRow, managed_round};
use crate::times;

fn text(state: &AppState, language: Language, key: &str) -> String {
    state
        .templates
        .catalog()
        .get(language, key)
        .unwrap_or_default()
        .to_owned()
}

/// Who a booked slot is with: the child, and the parent whose talk it is (`per_parent`) or
/// every parent of the child (`shared`). Names only, as on the class list: phone numbers
/// fall under each parent's privacy choices, which a printed sheet cannot keep.
fn who(slot: &SlotRow, mode: BookingMode, parents: &[(i64, String)]) -> Option<String> {
    let child = slot.child.as_deref()?;
    let names: Vec<&str> = match (mode, &slot.parent) {
        (BookingMode::PerParent, Some(parent)) => vec![parent.as_str()],
        _ => parents
            .iter()
            .filter(|(pupil, _)| Some(*pupil) == slot.pupil_id)
            .map(|(_, name)| name.as_str())
            .collect(),
    };
    Some(if names.is_empty() {
        child.to_owned()
    } else {
        format!("{child} — {}", names.join(", "))
    })
}

/// `GET /conference-rounds/{id}/overview.pdf`: one page per day of the round.
pub async fn round_overview(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    viewer: Staff,
    Path(round_id): Path<i64>,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let round = managed_round(&mut tx, &viewer, round_id, false).await?;
    let slots = rounds::slots_of(&mut tx, round.id).await?;
    let parents = groups::parent_names(&mut tx, round.group_id).await?;
    let teachers = groups::teacher_names(&mut tx, round.group_id).await?;
    tx.commit().await?;

    let names = Names::new(state.templates.catalog(), lang);
    let top = if settings.pdf_header.is_empty() {
        tenant.entry().display_name.clone()
    } else {
        settings.pdf_header.clone()
    };
    let title = format!(
        "{}: {} — {}",
        text(&state, lang, "rounds.overview.title"),
        round.title,
        round.group_name
    );
    let booked = slots.iter().filter(|s| s.booking_id.is_some()).count();
    let summary = format!(
        "{}{booked} / {} {}",
        if teachers.is_empty() {
            String::new()
        } else {
            format!(
                "{}: {} · ",
                text(&state, lang, "rounds.overview.teachers"),
                teachers.join(", ")
            )
        },
        slots.len(),
        text(&state, lang, "rounds.booked"),
    );
    let (free, pause) = (
        text(&state, lang, "rounds.free"),
        text(&state, lang, "rounds.overview.break"),
    );
    let mut pages: Vec<Vec<Block>> = Vec::new();
    let mut previous: Option<&SlotRow> = None;
    for slot in &slots {
        let date = times::local_date(slot.starts_at);
        let same_day = previous.is_some_and(|p| times::local_date(p.starts_at) == date);
        if !same_day {
            pages.push(vec![
                Block::Note(top.clone()),
                Block::Heading(title.clone()),
                Block::Paragraph(summary.clone()),
                Block::Space(6.0),
                Block::Heading(names.day(date)),
            ]);
        }
        let Some(page) = pages.last_mut() else {
            continue;
        };
        // A gap between two talks of a day is a break; it shows so the sheet reads as the day.
        if let Some(before) = previous.filter(|p| same_day && p.ends_at < slot.starts_at) {
            page.push(Block::Note(format!(
                "{}   {pause}",
                times::span(before.ends_at, slot.starts_at)
            )));
        }
        let time = times::span(slot.starts_at, slot.ends_at);
        page.push(Block::Paragraph(match who(slot, round.mode(), &parents) {
            Some(who) => format!("{time}   {who}"),
            None => format!("{time}   ({free})"),
        }));
        previous = Some(slot);
    }
    if pages.is_empty() {
        pages.push(vec![
            Block::Note(top),
            Block::Heading(title),
            Block::Paragraph(text(&state, lang, "rounds.overview.no_slots")),
        ]);
    }
    download(&state.fonts, pages, "gesprekken", &round.group_name).await
}
