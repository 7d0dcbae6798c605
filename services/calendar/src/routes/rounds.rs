//! The teacher's pages for conference rounds (K3): plan a round for a group, edit its slots,
//! assign families, publish it with the invitation mail, and close it; the school's default
//! invitation text for admins.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use http::StatusCode;
use schoolplein_kernel::confirm::{ConfirmKeys, Confirmation};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::{
    Admin, AppError, AppState, Language, Pages, Role, Staff, Viewer, Writable,
};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::booking::{self, Booker, Placed};
use crate::closing;
use crate::db;
use crate::db::groups::{self, GroupChoice};
use crate::rounds::{
    self, Form, NewRound, Round, RoundSettings, RoundStatus, SlotRow, managed_round,
};
use crate::slots::{self, SlotError};
use crate::times;

/// A slot error as a 400 naming its field, its reason in the person's language.
pub(crate) fn slot_error(state: &AppState, language: Language, error: SlotError) -> AppError {
    let text = state
        .templates
        .catalog()
        .get(language, error.key())
        .unwrap_or(error.key());
    AppError::bad_request(error.field(), error.describe(text))
}

#[derive(Debug, Serialize)]
struct RoundListItem {
    id: i64,
    title: String,
    group_name: String,
    status: String,
    days: Vec<String>,
    slots: i64,
    booked: i64,
}

#[derive(Debug, Serialize)]
struct RoundsPage<'a> {
    csrf: &'a str,
    admin: bool,
    groups: Vec<GroupChoice>,
    rounds: Vec<RoundListItem>,
    invitation_text: String,
    invitation_text_en: String,
    saved: bool,
    /// The new-round form as sent, when it came back with a mistake (else empty).
    typed: Typed,
    mistake: Option<Mistake>,
    /// The invitation text's form's mistake: that form's summary and field only.
    invitation_mistake: Option<Mistake>,
}

/// The rounds page's forms that come back with a mistake.
enum RoundsForm {
    NewRound,
    InvitationText,
}

/// `GET /conference-rounds`: the rounds of the groups the viewer plans for (admins: all), the
/// form for a new one, and for admins the school's invitation text.
pub async fn list_rounds(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let saved = query.iter().any(|(k, _)| k == "saved");
    rounds_page(&state, &tenant, &pages, csrf, &viewer, saved, None).await
}

/// The rounds page; with `refused`, one of its forms as sent, with its mistake (400).
async fn rounds_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    saved: bool,
    refused: Option<(RoundsForm, Typed, Mistake)>,
) -> Result<Response, AppError> {
    let admin = viewer.has(Role::SchoolAdmin);
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let groups = groups::planned_by(&mut tx, admin, viewer.person_id).await?;
    let rows = db::rounds::listed(&mut tx, admin, viewer.person_id).await?;
    let (nl, en) = rounds::invitation_texts(&mut tx).await?;
    tx.commit().await?;
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (mut nl, mut en) = (nl.unwrap_or_default(), en.unwrap_or_default());
    let (typed, mistake, invitation_mistake) = match refused {
        Some((RoundsForm::NewRound, typed, mistake)) => (typed, Some(mistake), None),
        Some((RoundsForm::InvitationText, typed, mistake)) => {
            let one = |name: &str| typed.one.get(name).cloned().unwrap_or_default();
            (nl, en) = (one("invitation_text"), one("invitation_text_en"));
            (Typed::default(), None, Some(mistake))
        }
        None => (Typed::default(), None, None),
    };
    let page = RoundsPage {
        csrf: csrf.token(),
        admin,
        groups,
        rounds: rows
            .into_iter()
            .map(|r| RoundListItem {
                days: r
                    .days
                    .iter()
                    .map(|d| times::day_label(&state.templates, pages.language(), *d))
                    .collect(),
                id: r.id,
                title: r.title,
                group_name: r.group_name,
                status: r.status,
                slots: r.slots,
                booked: r.booked,
            })
            .collect(),
        invitation_text: nl,
        invitation_text_en: en,
        saved,
        typed,
        mistake,
        invitation_mistake,
    };
    pages.show_with(status, "calendar/rounds.html", &page)
}

/// The id of the new-round form's element that holds a field.
fn round_field_anchor(field: &str) -> String {
    match field {
        "talks_before_break" => "round-before-break".to_owned(),
        "change_until_days" => "round-change-until".to_owned(),
        "extra_day" | "extra_days" => "round-extra-days".to_owned(),
        "booking_mode" => "round-booking-mode".to_owned(),
        other => format!("round-{}", other.replace('_', "-")),
    }
}

/// `POST /conference-rounds`: a new round for a group the viewer teaches (admins: any), its
/// slots generated from the form; see [`NewRound::parse`] for the fields.
pub async fn create_round(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match new_round(&state, &tenant, pages.language(), &viewer, &form).await {
        Ok(id) => Ok(Redirect::to(&format!("/conference-rounds/{id}")).into_response()),
        Err(error) => {
            // A mistake in what was typed brings the form back with everything kept.
            let Some(mistake) = Mistake::of(
                &error,
                &state.templates,
                pages.language(),
                round_field_anchor,
            ) else {
                return Err(error);
            };
            let typed = Typed::of(&form);
            rounds_page(
                &state,
                &tenant,
                &pages,
                csrf,
                &viewer,
                false,
                Some((RoundsForm::NewRound, typed, mistake)),
            )
            .await
        }
    }
}

/// Checks the form and writes the round with its slots; the new round's id.
async fn new_round(
    state: &AppState,
    tenant: &CurrentTenant,
    lang: Language,
    viewer: &Viewer,
    form: &[(String, String)],
) -> Result<i64, AppError> {
    let new = NewRound::parse(&Form(form))?;
    let talks = rounds::instants(&new.plan).map_err(|e| slot_error(state, lang, e))?;
    if talks.first().is_some_and(|(start, _)| *start <= Utc::now()) {
        return Err(AppError::bad_request(
            "start_date",
            "rounds.error.in_the_past",
        ));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let known = groups::exists(&mut tx, new.group_id).await?;
    if !known {
        return Err(AppError::bad_request("group", "rounds.error.unknown_group"));
    }
    if !rounds::manages_group(&mut tx, viewer, new.group_id).await? {
        return Err(AppError::Forbidden {
            reason: "rounds.error.not_your_group",
        });
    }
    let id = rounds::insert_round(&mut tx, &new, &talks, viewer.person_id).await?;
    tx.commit().await?;
    Ok(id)
}

/// A slot on the teacher's page.
#[derive(Debug, Serialize)]
struct TeacherSlot {
    id: i64,
    time: String,
    double: bool,
    booking_id: Option<i64>,
    child: Option<String>,
    parent: Option<String>,
    booked_by: Option<String>,
    assigned: bool,
}

#[derive(Debug, Serialize)]
struct TeacherDay {
    label: String,
    date: String,
    slots: Vec<TeacherSlot>,
}

#[derive(Debug, Serialize)]
struct FamilyOption {
    key: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct RoundPage<'a> {
    csrf: &'a str,
    round: &'a Round,
    status: RoundStatus,
    days: Vec<TeacherDay>,
    day_labels: Vec<String>,
    slot_count: usize,
    booked_count: usize,
    families: Vec<FamilyOption>,
    day_start: String,
    day_end: String,
    opens_at: String,
    siblings_open_at: String,
    opens_label: Option<String>,
    siblings_label: Option<String>,
    cutoff_label: Option<String>,
    invitation: String,
    invitation_en: String,
    first_day: String,
    /// The families without a talk (per parent in `per_parent` mode).
    without: Vec<String>,
    closed_label: Option<String>,
    /// The forms' values: the round's, or as sent when the form came back with a mistake.
    slot_form: SlotValues,
    settings_form: SettingsValues,
    publish_form: PublishValues,
    /// The form that came back with a mistake (`add-slot`, `round-settings`, `publish`,
    /// `close`, `slots` for a slot's buttons), and where its summary goes: above that form,
    /// or `top` when the mistake is about the round itself or the form is not drawn.
    failed: Option<&'static str>,
    summary_at: Option<&'static str>,
    /// The family chosen for the slot whose assignment came back, as sent.
    assigned_family: String,
    mistake: Option<Mistake>,
}

/// The add-slot form's fields.
#[derive(Debug, Default, Serialize)]
struct SlotValues {
    date: String,
    start: String,
    double: bool,
}

/// The settings form's fields.
#[derive(Debug, Serialize)]
struct SettingsValues {
    booking_mode: String,
    change_until_days: String,
    opens_at: String,
    siblings_open_at: String,
    message: String,
}

/// The publish form's fields.
#[derive(Debug, Serialize)]
struct PublishValues {
    mail: bool,
    invitation: String,
    invitation_en: String,
}

/// A form of the round's page sent back with its mistake.
struct Refused {
    form: &'static str,
    typed: Typed,
    mistake: Mistake,
}

impl Refused {
    fn one(&self, name: &str) -> String {
        self.typed.one.get(name).cloned().unwrap_or_default()
    }

    fn ticked(&self, name: &str) -> bool {
        self.typed.one.contains_key(name)
    }
}

/// The anchor of mistakes about the round itself (closed, no slots): its status line.
const ROUND_STATUS: &str = "round-status";

/// Whether the round's page draws the form at all in this state.
fn drawn(form: &str, status: RoundStatus) -> bool {
    match form {
        "publish" => status == RoundStatus::Draft,
        "close" => status == RoundStatus::Published,
        _ => status != RoundStatus::Closed,
    }
}

/// How the teacher's page names a family.
fn family_label(family: &rounds::Family) -> String {
    match &family.parent {
        Some(parent) => format!("{} — {parent}", family.child),
        None => family.child.clone(),
    }
}

/// Days with their slots, in local time.
fn teacher_days(
    state: &AppState,
    lang: Language,
    round: &Round,
    slots: Vec<SlotRow>,
) -> Vec<TeacherDay> {
    let mut days: Vec<TeacherDay> = Vec::new();
    for slot in slots {
        let date = times::local_date(slot.starts_at);
        let view = TeacherSlot {
            id: slot.id,
            time: times::span(slot.starts_at, slot.ends_at),
            double: slot.ends_at - slot.starts_at > round.talk_length(),
            booking_id: slot.booking_id,
            child: slot.child,
            parent: slot.parent,
            booked_by: slot.booked_by,
            assigned: slot.assigned.unwrap_or(false),
        };
        match days.last_mut() {
            Some(day) if day.date == date.to_string() => day.slots.push(view),
            _ => days.push(TeacherDay {
                label: times::day_label(&state.templates, lang, date),
                date: date.to_string(),
                slots: vec![view],
            }),
        }
    }
    days
}

/// `GET /conference-rounds/{id}`: the round's slots by day with their bookings, and the forms
/// to change them, the settings, publishing and closing.
pub async fn show_round(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    Path(round_id): Path<i64>,
) -> Result<Response, AppError> {
    round_page(&state, &tenant, &pages, csrf, &viewer, round_id, None).await
}

/// The round's page; with `refused`, one of its forms as sent with its mistake (400).
async fn round_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Staff,
    round_id: i64,
    refused: Option<Refused>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let round = managed_round(&mut tx, viewer, round_id, false).await?;
    let slots = rounds::slots_of(&mut tx, round.id).await?;
    let families = rounds::families(&mut tx, &round).await?;
    let (school_nl, school_en) = rounds::invitation_texts(&mut tx).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let built_in = |language| {
        catalog
            .get(language, "rounds.default_invitation")
            .unwrap_or_default()
            .to_owned()
    };
    let slot_count = slots.len();
    let booked_count = slots.iter().filter(|s| s.booking_id.is_some()).count();
    let without = families
        .iter()
        .filter(|f| {
            !slots.iter().any(|s| {
                s.booking_id.is_some()
                    && s.pupil_id == Some(f.pupil_id)
                    && s.parent_id == f.parent_id
            })
        })
        .map(family_label)
        .collect();
    let days = teacher_days(state, pages.language(), &round, slots);
    let moment = |at: Option<DateTime<Utc>>| {
        at.map(|at| times::moment(&state.templates, pages.language(), at))
    };
    let status = round.state();
    let failed = refused.as_ref().map(|r| r.form);
    let summary_at = refused.as_ref().map(|r| {
        if r.mistake.anchor == ROUND_STATUS || !drawn(r.form, status) {
            "top"
        } else {
            r.form
        }
    });
    let sent = |form: &str| refused.as_ref().filter(|r| r.form == form);
    let first_day = round
        .days
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let opens_at = round.opens_at.map(times::input_value).unwrap_or_default();
    let siblings_open_at = round
        .siblings_open_at
        .map(times::input_value)
        .unwrap_or_default();
    let invitation = school_nl.unwrap_or_else(|| built_in(Language::Nl));
    let invitation_en = school_en.unwrap_or_else(|| built_in(Language::En));
    let slot_form = match sent("add-slot") {
        Some(r) => SlotValues {
            date: r.one("date"),
            start: r.one("start"),
            double: r.ticked("double"),
        },
        None => SlotValues {
            date: first_day.clone(),
            ..SlotValues::default()
        },
    };
    let settings_form = match sent("round-settings") {
        Some(r) => SettingsValues {
            booking_mode: r.one("booking_mode"),
            change_until_days: r.one("change_until_days"),
            opens_at: r.one("opens_at"),
            siblings_open_at: r.one("siblings_open_at"),
            message: r.one("message"),
        },
        None => SettingsValues {
            booking_mode: round.booking_mode.clone(),
            change_until_days: round
                .change_until_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            opens_at: opens_at.clone(),
            siblings_open_at: siblings_open_at.clone(),
            message: round.message.clone(),
        },
    };
    let publish_form = match sent("publish") {
        Some(r) => PublishValues {
            mail: r.ticked("mail"),
            invitation: r.one("invitation"),
            invitation_en: r.one("invitation_en"),
        },
        None => PublishValues {
            mail: true,
            invitation: invitation.clone(),
            invitation_en: invitation_en.clone(),
        },
    };
    let assigned_family = sent("slots").map(|r| r.one("family")).unwrap_or_default();
    let page = RoundPage {
        slot_form,
        settings_form,
        publish_form,
        failed,
        summary_at,
        assigned_family,
        mistake: refused.map(|r| r.mistake),
        csrf: csrf.token(),
        status: round.state(),
        day_labels: round
            .days
            .iter()
            .map(|d| times::day_label(&state.templates, pages.language(), *d))
            .collect(),
        slot_count,
        booked_count,
        families: families
            .iter()
            .map(|f| FamilyOption {
                key: f.key(),
                label: family_label(f),
            })
            .collect(),
        day_start: round.day_start.format("%H:%M").to_string(),
        day_end: round.day_end.format("%H:%M").to_string(),
        opens_at,
        siblings_open_at,
        opens_label: moment(round.opens_at),
        siblings_label: moment(round.siblings_open_at),
        cutoff_label: moment(round.cutoff()),
        closed_label: moment(round.closed_at),
        without,
        invitation,
        invitation_en,
        first_day,
        days,
        round: &round,
    };
    let code = if page.mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages.show_with(code, "calendar/round.html", &page)
}

/// What a change to the round came to: back to the page, or, for a mistake in what was sent,
/// the page again (400) with `form` as sent and the mistake at its field (`anchor` maps a
/// field to its element's id). Nothing was written: the change's transaction was dropped.
#[allow(clippy::too_many_arguments)]
async fn settle(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Staff,
    round_id: i64,
    outcome: Result<(), AppError>,
    form: &'static str,
    sent: &[(String, String)],
    anchor: impl Fn(&str) -> String,
) -> Result<Response, AppError> {
    let error = match outcome {
        Ok(()) => return Ok(back_to(round_id)),
        Err(error) => error,
    };
    // A mistake about the round itself, whichever form sent it, is named at its status.
    let anchor = |field: &str| match field {
        "round" => ROUND_STATUS.to_owned(),
        other => anchor(other),
    };
    let Some(mistake) = Mistake::of(&error, &state.templates, pages.language(), anchor) else {
        return Err(error);
    };
    let refused = Refused {
        form,
        typed: Typed::of(sent),
        mistake,
    };
    round_page(state, tenant, pages, csrf, viewer, round_id, Some(refused)).await
}

/// The ids of the add-slot form's fields.
fn slot_field_anchor(field: &str) -> String {
    match field {
        "date" => "slot-date".to_owned(),
        _ => "slot-start".to_owned(),
    }
}

/// The ids of a slot's row and its family choice, for mistakes of the slot's buttons.
fn slot_anchor(slot_id: i64) -> impl Fn(&str) -> String {
    move |field| match field {
        "family" => format!("family-{slot_id}"),
        _ => format!("slot-{slot_id}"),
    }
}

/// The ids of the publish form's fields.
fn publish_field_anchor(field: &str) -> String {
    match field {
        "invitation_en" => "publish-invitation-en".to_owned(),
        _ => "publish-invitation".to_owned(),
    }
}

/// Where to go back to after a change to a round.
fn back_to(round_id: i64) -> Response {
    Redirect::to(&format!("/conference-rounds/{round_id}")).into_response()
}

/// Opens a transaction with the round locked for a change by the viewer; a closed round
/// takes no more changes.
async fn change_round(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Writable<Staff>,
    round_id: i64,
) -> Result<(TenantTx, Round), AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let round = managed_round(&mut tx, viewer, round_id, true).await?;
    if round.state() == RoundStatus::Closed {
        return Err(AppError::bad_request("round", "rounds.error.closed"));
    }
    Ok((tx, round))
}

/// `POST /conference-rounds/{id}/settings`: the booking mode, cut-off, opening moments and
/// the teacher's message (see [`RoundSettings::parse`]).
pub async fn save_round_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(round_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let outcome = async {
        let settings = RoundSettings::parse(&Form(&form))?;
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        rounds::save_settings(&mut tx, &round, &settings).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    let form_id = "round-settings";
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        form_id,
        &form,
        round_field_anchor,
    )
    .await
}

/// A slot of the round, locked; 404 when it is not the round's.
async fn slot_of_round(
    tx: &mut TenantTx,
    round: &Round,
    slot_id: i64,
) -> Result<(DateTime<Utc>, DateTime<Utc>, Option<i64>), AppError> {
    rounds::lock_slots(tx, &[slot_id]).await?;
    let slot = db::rounds::slot(tx, round.id, slot_id).await?;
    slot.ok_or(AppError::NotFound)
}

/// Inserts a slot; an overlap with another is a 400 on `field`.
async fn insert_slot(
    tx: &mut TenantTx,
    round_id: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    field: &'static str,
) -> Result<(), AppError> {
    match db::rounds::insert_slot(tx, round_id, starts_at, ends_at).await {
        Ok(_) => Ok(()),
        Err(error) if rounds::is_overlap(&error) => {
            Err(AppError::bad_request(field, "rounds.error.overlap"))
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /conference-rounds/{id}/slots`: one more slot, fields `date`, `start` and `double`
/// (a talk of twice the round's length).
pub async fn add_slot(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(round_id): Path<i64>,
    CsrfForm(sent): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let outcome = async {
        let form = Form(&sent);
        let date = form
            .date("date")?
            .ok_or_else(|| AppError::bad_request("date", "rounds.error.required"))?;
        let start = form.time("start")?;
        let starts_at =
            slots::to_utc(date, start).map_err(|e| slot_error(&state, pages.language(), e))?;
        if starts_at <= Utc::now() {
            return Err(AppError::bad_request("date", "rounds.error.in_the_past"));
        }
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        let times = if form.get("double").is_empty() { 1 } else { 2 };
        let ends_at = starts_at + round.talk_length() * times;
        insert_slot(&mut tx, round.id, starts_at, ends_at, "start").await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    let form_id = "add-slot";
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        form_id,
        &sent,
        slot_field_anchor,
    )
    .await
}

/// `POST /conference-rounds/{id}/slots/{slot}/delete`: removes a free slot.
pub async fn delete_slot(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path((round_id, slot_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let outcome = async {
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        let (_, _, booking) = slot_of_round(&mut tx, &round, slot_id).await?;
        if booking.is_some() {
            return Err(AppError::bad_request("slot", "rounds.error.slot_booked"));
        }
        db::rounds::delete_slot(&mut tx, slot_id).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "slots",
        &[],
        slot_anchor(slot_id),
    )
    .await
}

/// `POST /conference-rounds/{id}/slots/{slot}/double`: the talk takes twice the round's
/// length; the free slots in the time it grows into go. A booked one there, or the day's end,
/// stops it.
pub async fn double_slot(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path((round_id, slot_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let outcome = async {
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        let (starts_at, ends_at, _) = slot_of_round(&mut tx, &round, slot_id).await?;
        if ends_at - starts_at > round.talk_length() {
            return Err(AppError::bad_request("slot", "rounds.error.already_double"));
        }
        let new_end = starts_at + round.talk_length() * 2;
        if crate::zone::local(new_end).time() > round.day_end
            || times::local_date(new_end) != times::local_date(starts_at)
        {
            return Err(AppError::bad_request("slot", "rounds.error.past_day_end"));
        }
        let in_the_way =
            db::rounds::slots_between(&mut tx, round.id, slot_id, ends_at, new_end).await?;
        // The round's row, held for this change, keeps bookings out of the round meanwhile
        // (they hold it shared), so what this read saw stays true until the commit.
        if in_the_way.iter().any(|(_, booking)| booking.is_some()) {
            return Err(AppError::bad_request("slot", "rounds.error.next_booked"));
        }
        let ids: Vec<i64> = in_the_way.iter().map(|(id, _)| *id).collect();
        db::rounds::delete_slots(&mut tx, &ids).await?;
        db::rounds::set_slot_end(&mut tx, slot_id, new_end)
            .await
            .map_err(|e| {
                if rounds::is_overlap(&e) {
                    AppError::bad_request("slot", "rounds.error.overlap")
                } else {
                    e.into()
                }
            })?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "slots",
        &[],
        slot_anchor(slot_id),
    )
    .await
}

/// `POST /conference-rounds/{id}/slots/{slot}/single`: a double talk back to the round's
/// length; the time it gave up becomes free slots again.
pub async fn single_slot(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path((round_id, slot_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let outcome = async {
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        let (starts_at, ends_at, _) = slot_of_round(&mut tx, &round, slot_id).await?;
        let length = round.talk_length();
        if ends_at - starts_at <= length {
            return Err(AppError::bad_request("slot", "rounds.error.not_double"));
        }
        db::rounds::set_slot_end(&mut tx, slot_id, starts_at + length).await?;
        let mut start = starts_at + length;
        while start + length <= ends_at {
            insert_slot(&mut tx, round.id, start, start + length, "slot").await?;
            start += length;
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "slots",
        &[],
        slot_anchor(slot_id),
    )
    .await
}

/// `POST /conference-rounds/{id}/slots/{slot}/assign`: the teacher books the slot for a family
/// (field `family`: a pupil of the group, and in `per_parent` mode one of their parents),
/// moving the family's earlier booking in the round if there was one.
pub async fn assign_slot(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path((round_id, slot_id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let outcome = async {
        let (pupil_id, parent_id) = rounds::parse_family(Form(&form).get("family"))?;
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        let belongs = rounds::families(&mut tx, &round)
            .await?
            .iter()
            .any(|f| f.pupil_id == pupil_id && f.parent_id == parent_id);
        if !belongs {
            return Err(AppError::bad_request("family", "rounds.error.bad_family"));
        }
        let slot_exists = db::rounds::slot_exists(&mut tx, round.id, slot_id).await?;
        if !slot_exists {
            return Err(AppError::NotFound);
        }
        let who = Booker {
            pupil_id,
            parent_id,
            by: viewer.person_id,
            assigned: true,
        };
        match booking::place(&mut tx, &round, slot_id, &who).await? {
            Placed::Booked | Placed::AlreadyTheirs => {
                tx.commit().await?;
                Ok(())
            }
            Placed::Taken | Placed::ChangedMeanwhile => {
                Err(AppError::bad_request("slot", "rounds.error.slot_booked"))
            }
        }
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "slots",
        &form,
        slot_anchor(slot_id),
    )
    .await
}

/// `POST /conference-rounds/{id}/bookings/{booking}/remove`: the teacher frees a slot.
pub async fn remove_booking(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path((round_id, booking_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let outcome = async {
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        let slot = db::rounds::slot_of_booking(&mut tx, round.id, booking_id).await?;
        let slot = slot.ok_or(AppError::NotFound)?;
        booking::remove(&mut tx, booking_id, slot).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "slots",
        &[],
        |_: &str| ROUND_STATUS.to_owned(),
    )
    .await
}

#[derive(Debug, Serialize)]
struct InvitationMail<'a> {
    title: &'a str,
    group: &'a str,
    paragraphs: Vec<&'a str>,
    message: &'a str,
    days: Vec<String>,
    opens: Option<String>,
    link: &'a str,
}

/// `POST /conference-rounds/{id}/publish`: parents see the round from now on. With `mail`,
/// every parent of the group gets the invitation (`invitation`, and `invitation_en` for those
/// who read English, when given) through the outbox, in the same transaction.
pub async fn publish_round(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(round_id): Path<i64>,
    CsrfForm(sent): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let outcome = async {
        let form = Form(&sent);
        let mail = !form.get("mail").is_empty();
        let invitation = rounds::text("invitation", form.get("invitation"), 4000, true)?;
        let invitation_en = rounds::text("invitation_en", form.get("invitation_en"), 4000, true)?;
        if mail && invitation.is_empty() {
            return Err(AppError::bad_request(
                "invitation",
                "rounds.error.invitation_required",
            ));
        }
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        if round.state() != RoundStatus::Draft {
            return Err(AppError::bad_request(
                "round",
                "rounds.error.already_published",
            ));
        }
        let slots = rounds::slot_count(&mut tx, round.id).await?;
        if slots == 0 {
            return Err(AppError::bad_request("round", "rounds.error.no_slots"));
        }
        db::rounds::publish(
            &mut tx,
            round.id,
            mail.then_some(invitation.as_str()),
            (mail && !invitation_en.is_empty()).then_some(invitation_en.as_str()),
        )
        .await?;
        if mail {
            mail_invitations(
                &state,
                &tenant,
                &mut tx,
                &round,
                &invitation,
                &invitation_en,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "publish",
        &sent,
        publish_field_anchor,
    )
    .await
}

/// Queues the invitation to every parent of the round's group (links in effect, not blocked).
async fn mail_invitations(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    round: &Round,
    invitation: &str,
    invitation_en: &str,
) -> Result<usize, AppError> {
    let parents = groups::parent_addresses(tx, round.group_id).await?;
    if parents.is_empty() {
        return Ok(0);
    }
    let letterhead = Letterhead::load(tx).await?;
    let link = state
        .config
        .tenancy
        .school_url(tenant.entry().slug.as_str(), "/conferences");
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    for (email, language) in &parents {
        let language = Language::of_account(language.as_deref());
        let text = match language {
            Language::En if !invitation_en.is_empty() => invitation_en,
            _ => invitation,
        };
        let context = InvitationMail {
            title: &round.title,
            group: &round.group_name,
            paragraphs: text
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect(),
            message: &round.message,
            days: round
                .days
                .iter()
                .map(|d| times::day_label(&state.templates, language, *d))
                .collect(),
            opens: round
                .opens_at
                .map(|at| times::moment(&state.templates, language, at)),
            link: &link,
        };
        outbox
            .enqueue(
                tx,
                MailRequest {
                    to: email,
                    template: "calendar/round_invitation",
                    language,
                    urgent: false,
                    context: &context,
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
    }
    Ok(parents.len())
}

/// `POST /conference-rounds/{id}/close`: the planning is final; parents can no longer book,
/// change or cancel, and every parent of the group is mailed their final times (or that a
/// child has none), in the same transaction. Waits for bookings under way (they hold the
/// round's row shared), so the mails hold the bookings as they stand at the close. A closed
/// round is refused by [`change_round`], so closing twice mails nobody again.
pub async fn close_round(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(round_id): Path<i64>,
    CsrfForm(form): CsrfForm<CloseForm>,
) -> Result<Response, AppError> {
    let outcome = async {
        // Closing mails every parent of the group and cannot be undone: asked for in so many words.
        if form.confirm.as_deref() != Some("yes") {
            return Err(AppError::bad_request(
                "confirm",
                "rounds.error.confirm_close",
            ));
        }
        let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
        if round.state() != RoundStatus::Published {
            return Err(AppError::bad_request("round", "rounds.error.not_published"));
        }
        db::rounds::close(&mut tx, round.id).await?;
        closing::mail_final_times(&state, &tenant, &mut tx, &round).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    settle(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        round_id,
        outcome,
        "close",
        &[],
        |_: &str| "confirm-close".to_owned(),
    )
    .await
}

/// `GET /conference-rounds/{id}/delete`: asks first, naming how many slots go with the round.
pub async fn confirm_delete_round(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(round_id): Path<i64>,
) -> Result<Response, AppError> {
    let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
    if round.state() != RoundStatus::Draft {
        return Err(AppError::bad_request(
            "round",
            "rounds.error.already_published",
        ));
    }
    let slots = rounds::slot_count(&mut tx, round.id).await?;
    tx.rollback().await?;
    Confirmation::new(
        &state,
        pages.language(),
        "delete-round",
        ConfirmKeys {
            title: "rounds.delete_round_title",
            button: "rounds.delete_round",
            note: None,
        },
        format!("{} · {}", round.title, round.group_name),
        format!("/conference-rounds/{round_id}/delete"),
        format!("/conference-rounds/{round_id}"),
    )
    .loses_count(&state, slots, "rounds.slots_count")
    .respond(&state, csrf)
}

/// `POST /conference-rounds/{id}/delete`: a round not yet published goes, with its slots.
pub async fn delete_round(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(round_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let (mut tx, round) = change_round(&state, &tenant, &viewer, round_id).await?;
    if round.state() != RoundStatus::Draft {
        return Err(AppError::bad_request(
            "round",
            "rounds.error.already_published",
        ));
    }
    db::rounds::delete(&mut tx, round.id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/conference-rounds").into_response())
}

/// `POST /conference-rounds/invitation` (admins): the school's invitation text, `invitation_text`
/// and `invitation_text_en`; empty: the built-in text.
pub async fn save_invitation_text(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Admin>,
    CsrfForm(sent): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Form(&sent);
    let checked = rounds::text("invitation_text", form.get("invitation_text"), 4000, true)
        .and_then(|nl| {
            let en = rounds::text(
                "invitation_text_en",
                form.get("invitation_text_en"),
                4000,
                true,
            )?;
            Ok((nl, en))
        });
    let (nl, en) = match checked {
        Ok(texts) => texts,
        Err(error) => {
            let anchor = |field: &str| match field {
                "invitation_text_en" => "invitation-en".to_owned(),
                _ => "invitation-nl".to_owned(),
            };
            let Some(mistake) = Mistake::of(&error, &state.templates, pages.language(), anchor)
            else {
                return Err(error);
            };
            let refused = (RoundsForm::InvitationText, Typed::of(&sent), mistake);
            return rounds_page(&state, &tenant, &pages, csrf, &viewer, false, Some(refused)).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    db::rounds::save_invitation_texts(
        &mut tx,
        (!nl.is_empty()).then_some(nl.as_str()),
        (!en.is_empty()).then_some(en.as_str()),
        viewer.person_id,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/conference-rounds?saved=1").into_response())
}

/// The close button's form: the box saying the teacher knows every parent is mailed.
#[derive(Debug, serde::Deserialize)]
pub struct CloseForm {
    confirm: Option<String>,
}
