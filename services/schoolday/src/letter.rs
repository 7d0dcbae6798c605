//! The written decision on a leave request (D2): a letter with the decision, its reasons, the
//! article it rests on, and how to object (bezwaar, Algemene wet bestuursrecht), as the
//! parent gets it attached to the decision mail and downloads it from the leave page.

use chrono::{DateTime, Utc};
use schoolplein_calendar::display::Names;
use schoolplein_kernel::Language;
use schoolplein_kernel::dutch_time;
use schoolplein_kernel::i18n::Catalog;
use schoolplein_kernel::pdf::Block;
use schoolplein_mailing::Letterhead;

use crate::db::leave::RequestRow;

/// The article of the Leerplichtwet 1969 a kind of leave rests on.
pub fn article(kind: &str) -> &'static str {
    match kind {
        "holiday" => "13a",
        "religious" => "11 onder f",
        _ => "11 onder g",
    }
}

/// The letter's pages for `request`, decided at `decided_at`, in `language`.
pub fn decision_letter(
    catalog: &Catalog,
    language: Language,
    letterhead: &Letterhead,
    request: &RequestRow,
    decided_at: DateTime<Utc>,
) -> Vec<Vec<Block>> {
    let text = |key: &str| {
        catalog
            .get(language, &format!("leave.letter.{key}"))
            .unwrap_or(key)
            .to_owned()
    };
    let names = Names::new(catalog, language);
    let approved = request.state == "approved";
    let by_officer = request.for_officer;
    let kind = catalog
        .get(language, &format!("leave.kind.{}", request.kind))
        .unwrap_or(&request.kind)
        .to_owned();
    let mut blocks = vec![Block::Heading(letterhead.school_name.clone())];
    for line in letterhead.address.lines().filter(|l| !l.trim().is_empty()) {
        blocks.push(Block::Note(line.trim().to_owned()));
    }
    let contact: Vec<&str> = [letterhead.phone.as_str(), letterhead.contact_email.as_str()]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    if !contact.is_empty() {
        blocks.push(Block::Note(contact.join(" · ")));
    }
    blocks.push(Block::Space(18.0));
    blocks.push(Block::Paragraph(format!(
        "{}: {}",
        text("date"),
        dutch_time::letter_date(decided_at, language)
    )));
    if let Some(parent) = &request.requested_by {
        blocks.push(Block::Paragraph(format!("{}: {parent}", text("to"))));
    }
    blocks.push(Block::Paragraph(format!(
        "{}: {} {} ({} {})",
        text("subject"),
        text("request_for"),
        request.children.join(", "),
        text("asked_on"),
        dutch_time::letter_date(request.requested_at, language)
    )));
    blocks.push(Block::Space(12.0));
    blocks.push(Block::Emphasis(if approved {
        text("approved")
    } else {
        text("refused")
    }));
    let period = if request.first_day == request.last_day {
        names.day(request.first_day)
    } else {
        format!(
            "{} {} {}",
            names.day(request.first_day),
            text("through"),
            names.day(request.last_day)
        )
    };
    blocks.push(Block::Paragraph(format!(
        "{}: {kind} ({} {})",
        text("kind"),
        text("article"),
        article(&request.kind)
    )));
    blocks.push(Block::Paragraph(format!(
        "{}: {period} ({} {})",
        text("period"),
        request.school_days,
        text("school_days")
    )));
    blocks.push(Block::Paragraph(format!(
        "{}: {}",
        text("your_reason"),
        request.reason
    )));
    blocks.push(Block::Paragraph(format!(
        "{}: {}",
        text("grounds"),
        request.decision_reason
    )));
    blocks.push(Block::Paragraph(if by_officer {
        format!(
            "{} {}",
            text("decided_by_officer"),
            request.officer_name.as_deref().unwrap_or_default()
        )
        .trim_end()
        .to_owned()
    } else {
        format!(
            "{} {}",
            text("decided_by_headmaster"),
            request.decided_by.as_deref().unwrap_or_default()
        )
        .trim_end()
        .to_owned()
    }));
    if !approved {
        blocks.push(Block::Paragraph(text("without_leave")));
    }
    blocks.push(Block::Space(12.0));
    blocks.push(Block::Heading(text("objection_heading")));
    blocks.push(Block::Paragraph(if by_officer {
        text("objection_officer")
    } else {
        text("objection_headmaster")
    }));
    blocks.push(Block::Paragraph(text("objection_contents")));
    blocks.push(Block::Paragraph(text("objection_court")));
    vec![blocks]
}
