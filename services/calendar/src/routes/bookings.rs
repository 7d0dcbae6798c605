//! The parents' conference page (K4, K6): every open round of their children on one page,
//! the same day side by side, slots next to a sibling's talk offered first; booking, changing
//! and cancelling, each one short transaction.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::{AppError, AppState, Language, Member, Pages, Viewer, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::booking::{self, Availability, Booker, Placed, SiblingTalk};
use crate::db::bookings::{self, SlotState};
use crate::pages::text_with;
use crate::rounds::{BookingMode, Form};
use crate::times;

/// A slot in a child's column.
#[derive(Debug, Clone, Serialize)]
struct SlotView {
    id: i64,
    time: String,
    double: bool,
    /// `free`, `mine` (this child's talk) or `taken`.
    state: &'static str,
    next_to: Option<String>,
    clash: Option<String>,
}

#[derive(Debug, Serialize)]
struct Column {
    round_id: i64,
    child_id: i64,
    title: String,
    child: String,
    may_book: bool,
    slots: Vec<SlotView>,
}

#[derive(Debug, Serialize)]
struct Day {
    label: String,
    columns: Vec<Column>,
}

#[derive(Debug, Serialize)]
struct MyTalk {
    booking_id: i64,
    when: String,
    booked_by: Option<String>,
    assigned: bool,
}

/// One round for one child: its state, the child's talk, and suggestions.
#[derive(Debug, Serialize)]
struct RoundCard {
    round_id: i64,
    child_id: i64,
    title: String,
    group: String,
    child: String,
    per_parent: bool,
    message: String,
    availability: Availability,
    /// Why booking is not possible now, in words; `None` while it is open.
    status_text: Option<String>,
    cutoff: Option<String>,
    may_book: bool,
    my_talk: Option<MyTalk>,
    /// Free slots next to a sibling's talk, first.
    suggestions: Vec<SlotView>,
}

#[derive(Debug, Serialize)]
struct ConferencesPage<'a> {
    csrf: &'a str,
    /// Why the last request did not go through (a slot taken meanwhile).
    problem: Option<String>,
    /// A booking or cancellation the round's rules refused, named at the round's card.
    mistake: Option<Mistake>,
    booked: bool,
    cancelled: bool,
    rounds: Vec<RoundCard>,
    days: Vec<Day>,
}

/// Whether a booking in `mode` is this parent's for this child.
fn is_mine(mode: BookingMode, slot: &SlotState, child: i64, person_id: i64) -> bool {
    slot.pupil_id == Some(child)
        && match mode {
            BookingMode::Shared => true,
            BookingMode::PerParent => slot.parent_id == Some(person_id),
        }
}

/// The page, with `problem` saying why the last request did not go through, or the
/// `mistake` the round's rules found in it, answered with `status`.
#[allow(clippy::too_many_arguments)]
async fn render_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    status: StatusCode,
    csrf: &Csrf,
    viewer: &Viewer,
    problem: Option<String>,
    mistake: Option<Mistake>,
    query: &[(String, String)],
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let children = bookings::children_of(&mut tx, viewer.person_id).await?;
    let groups: Vec<i64> = children.iter().map(|c| c.group_id).collect();
    let rounds = bookings::published_rounds(&mut tx, &groups).await?;
    let round_ids: Vec<i64> = rounds.iter().map(|r| r.id).collect();
    let slots = bookings::slots_of_rounds(&mut tx, &round_ids).await?;
    let now = bookings::now(&mut tx).await?;
    tx.commit().await?;

    let several = children.len() >= 2;
    let round_of = |id: i64| rounds.iter().find(|r| r.id == id);
    // Every talk of the family: the siblings' talks a slot may lie next to.
    let talks: Vec<SiblingTalk> = slots
        .iter()
        .filter_map(|slot| {
            let round = round_of(slot.round_id)?;
            let child = children
                .iter()
                .find(|c| is_mine(round.mode(), slot, c.id, viewer.person_id))?;
            Some(SiblingTalk {
                pupil_id: child.id,
                child: child.name.clone(),
                starts_at: slot.starts_at,
                ends_at: slot.ends_at,
            })
        })
        .collect();
    let mut cards = Vec::new();
    let mut days: BTreeMap<NaiveDate, Vec<Column>> = BTreeMap::new();
    for round in &rounds {
        for child in children.iter().filter(|c| c.group_id == round.group_id) {
            let availability = Availability::of(round, now, several);
            let may_book = availability == Availability::Open;
            let mode = round.mode();
            let mut my_talk = None;
            let mut suggestions = Vec::new();
            let mut columns: BTreeMap<NaiveDate, Vec<SlotView>> = BTreeMap::new();
            for slot in slots.iter().filter(|s| s.round_id == round.id) {
                let mine = is_mine(mode, slot, child.id, viewer.person_id);
                let status = match (mine, slot.booking_id) {
                    (true, _) => "mine",
                    (false, Some(_)) => "taken",
                    (false, None) => "free",
                };
                let relation = if status == "free" {
                    booking::next_to(slot.starts_at, slot.ends_at, child.id, &talks)
                } else {
                    Default::default()
                };
                let view = SlotView {
                    id: slot.id,
                    time: times::span(slot.starts_at, slot.ends_at),
                    double: slot.ends_at - slot.starts_at > round.talk_length(),
                    state: status,
                    next_to: relation.sibling,
                    clash: relation.clash,
                };
                if let (true, Some(booking_id)) = (mine, slot.booking_id) {
                    my_talk = Some(MyTalk {
                        booking_id,
                        when: format!(
                            "{} {}",
                            times::day_label(
                                &state.templates,
                                pages.language(),
                                times::local_date(slot.starts_at)
                            ),
                            view.time
                        ),
                        booked_by: slot.booked_by.clone(),
                        assigned: slot.assigned.unwrap_or(false),
                    });
                }
                if view.next_to.is_some() {
                    suggestions.push(view.clone());
                }
                columns
                    .entry(times::local_date(slot.starts_at))
                    .or_default()
                    .push(view);
            }
            for (date, slots) in columns {
                days.entry(date).or_default().push(Column {
                    round_id: round.id,
                    child_id: child.id,
                    title: round.title.clone(),
                    child: child.name.clone(),
                    may_book,
                    slots,
                });
            }
            let status_text = match availability {
                Availability::Open => None,
                Availability::NotYet { at } => Some(text_with(
                    state,
                    pages.language(),
                    "bookings.opens_at",
                    &[("at", &times::moment(&state.templates, pages.language(), at))],
                )),
                Availability::PastCutoff { .. } => Some(text_with(
                    state,
                    pages.language(),
                    "bookings.past_cutoff",
                    &[],
                )),
                Availability::Closed | Availability::Draft => {
                    Some(text_with(state, pages.language(), "bookings.closed", &[]))
                }
            };
            cards.push(RoundCard {
                round_id: round.id,
                child_id: child.id,
                title: round.title.clone(),
                group: round.group_name.clone(),
                child: child.name.clone(),
                per_parent: mode == BookingMode::PerParent,
                message: round.message.clone(),
                availability,
                status_text,
                cutoff: round
                    .cutoff()
                    .filter(|_| availability == Availability::Open)
                    .map(|at| times::moment(&state.templates, pages.language(), at)),
                may_book,
                my_talk,
                suggestions: if may_book { suggestions } else { Vec::new() },
            });
        }
    }
    let page = ConferencesPage {
        csrf: csrf.token(),
        problem,
        mistake,
        booked: query.iter().any(|(k, _)| k == "booked"),
        cancelled: query.iter().any(|(k, _)| k == "cancelled"),
        rounds: cards,
        days: days
            .into_iter()
            .map(|(date, columns)| Day {
                label: times::day_label(&state.templates, pages.language(), date),
                columns,
            })
            .collect(),
    };
    pages.show_with(status, "calendar/conferences.html", &page)
}

/// `GET /conferences`: the parent's page.
pub async fn show_conferences(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    render_page(
        &state,
        &tenant,
        &pages,
        StatusCode::OK,
        &csrf,
        &viewer,
        None,
        None,
        &query,
    )
    .await
}

/// The page again with a problem stated, as a 409: the request was fine, the world moved.
async fn conflict(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    key: &str,
) -> Result<Response, AppError> {
    let problem = text_with(state, pages.language(), key, &[]);
    render_page(
        state,
        tenant,
        pages,
        StatusCode::CONFLICT,
        &csrf,
        viewer,
        Some(problem),
        None,
        &[],
    )
    .await
}

/// The page again (400) with a refusal by the round's rules named at the card of the round
/// and child it concerns (`round-<round>-<child>`). Nothing was written.
async fn refused(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    refusal: AppError,
    card: String,
) -> Result<Response, AppError> {
    let Some(mistake) = Mistake::of(&refusal, &state.templates, pages.language(), |_| {
        card.clone()
    }) else {
        return Err(refusal);
    };
    render_page(
        state,
        tenant,
        pages,
        StatusCode::BAD_REQUEST,
        &csrf,
        viewer,
        None,
        Some(mistake),
        &[],
    )
    .await
}

/// A refusal by the round's rules: 400 naming `slot`, in words with the moment.
fn refuse(state: &AppState, lang: Language, availability: Availability) -> Option<AppError> {
    let key = availability.refusal()?;
    let at = match availability {
        Availability::NotYet { at } | Availability::PastCutoff { since: at } => {
            times::moment(&state.templates, lang, at)
        }
        _ => String::new(),
    };
    Some(AppError::bad_request(
        "slot",
        text_with(state, lang, key, &[("at", &at)]),
    ))
}

/// `POST /conferences/book`: fields `slot` and `child`. Books the slot for the child (or, in
/// `per_parent` mode, the viewer's own talk about the child), moving the earlier booking in
/// that round if there was one. A slot someone else has is a 409 with the page saying so.
pub async fn book_slot(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Form(&form);
    let slot_id = form.id("slot")?;
    let pupil_id = form.id("child")?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let round = bookings::round_of_slot(&mut tx, slot_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (mine, children, now) =
        bookings::family_check(&mut tx, viewer.person_id, pupil_id, round.group_id).await?;
    if !mine {
        return Err(AppError::Forbidden {
            reason: "bookings.error.not_your_child",
        });
    }
    let availability = Availability::of(&round, now, children >= 2);
    if availability == Availability::Draft {
        return Err(AppError::NotFound);
    }
    if let Some(refusal) = refuse(&state, pages.language(), availability) {
        tx.rollback().await?;
        let card = format!("round-{}-{pupil_id}", round.id);
        return refused(&state, &tenant, &pages, csrf, &viewer, refusal, card).await;
    }
    let who = Booker::parent(round.mode(), pupil_id, viewer.person_id);
    match booking::place(&mut tx, &round, slot_id, &who).await? {
        Placed::Booked | Placed::AlreadyTheirs => {
            tx.commit().await?;
            Ok(Redirect::to(&format!(
                "/conferences?booked={slot_id}#round-{}-{pupil_id}",
                round.id
            ))
            .into_response())
        }
        Placed::Taken => {
            tx.rollback().await?;
            conflict(&state, &tenant, &pages, csrf, &viewer, "bookings.taken").await
        }
        Placed::ChangedMeanwhile => {
            tx.rollback().await?;
            conflict(
                &state,
                &tenant,
                &pages,
                csrf,
                &viewer,
                "bookings.changed_meanwhile",
            )
            .await
        }
    }
}

/// `POST /conferences/cancel`: field `booking`. Frees the viewer's talk (in `shared` mode any
/// parent of the child may; in `per_parent` mode only their own). One already gone is no error.
pub async fn cancel_booking(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let booking_id = Form(&form).id("booking")?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let found = bookings::booking(&mut tx, booking_id).await?;
    let Some((slot_id, pupil_id, parent_id)) = found else {
        return Ok(Redirect::to("/conferences?cancelled=1").into_response());
    };
    let round = bookings::round_of_slot(&mut tx, slot_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (mine, children, now) =
        bookings::family_check(&mut tx, viewer.person_id, pupil_id, round.group_id).await?;
    let own = match round.mode() {
        BookingMode::Shared => mine,
        BookingMode::PerParent => mine && parent_id == Some(viewer.person_id),
    };
    if !own {
        return Err(AppError::Forbidden {
            reason: "bookings.error.not_yours",
        });
    }
    if let Some(refusal) = refuse(
        &state,
        pages.language(),
        Availability::of(&round, now, children >= 2),
    ) {
        tx.rollback().await?;
        let card = format!("round-{}-{pupil_id}", round.id);
        return refused(&state, &tenant, &pages, csrf, &viewer, refusal, card).await;
    }
    booking::remove(&mut tx, booking_id, slot_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/conferences?cancelled=1").into_response())
}
