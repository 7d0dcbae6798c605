//! Questionnaires in posts (C3): the answers parents give (one per family or one per child,
//! shared by partners in joint use) and the reminder to those who have not answered. The
//! questions, their checks and the tally are in [`crate::questionnaires`].

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::CsrfForm;
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{AppError, AppState, Member, Role, Staff, Writable};
use schoolplein_mailing::Outbox;
use schoolplein_mailing::reminders::{self, ReminderReason};
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::{reader, visible_post};
use crate::db::{posts, questionnaires};
use crate::questionnaires::parse_section;

/// `POST /posts/{id}/responses`: the viewer's answers, every section of theirs at once; a
/// partner in joint use changes the same answer.
pub async fn respond(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(post_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    visible_post(&mut tx, &reader, post_id).await?;
    // Partners in joint use answer into one response: lock both, in id order, so two
    // answering at once find each other's.
    let partner = questionnaires::joint_partner(&mut tx, viewer.person_id).await?;
    questionnaires::lock_people(&mut tx, viewer.person_id, partner).await?;
    let questions = questionnaires::questions(&mut tx, post_id).await?;
    if questions.is_empty() {
        return Err(AppError::bad_request(
            "post",
            "portal.questionnaires.no_questions_here",
        ));
    }
    let open = questionnaires::is_open(&mut tx, post_id).await?;
    if !open {
        return Err(AppError::bad_request(
            "answers_until",
            "portal.questionnaires.closed",
        ));
    }
    let sections = questionnaires::answer_sections(&mut tx, post_id, viewer.person_id).await?;
    if sections.is_empty() {
        return Err(AppError::Forbidden {
            reason: "portal.questionnaires.not_asked",
        });
    }
    // Check every section before writing any.
    let parsed = sections
        .iter()
        .map(|(pupil_id, _)| parse_section(&form, pupil_id.unwrap_or(0), &questions))
        .collect::<Result<Vec<_>, _>>()?;
    for ((_, existing), section) in sections.iter().zip(parsed) {
        let response_id: i64 = match existing {
            Some(id) => {
                questionnaires::clear_response(&mut tx, *id, viewer.person_id).await?;
                *id
            }
            None => {
                questionnaires::new_response(&mut tx, post_id, viewer.person_id, section.pupil_id)
                    .await?
            }
        };
        for (question_id, answer) in &section.answers {
            questionnaires::insert_answer(
                &mut tx,
                response_id,
                *question_id,
                answer.yes,
                (answer.yes.is_none() && answer.text.is_none()).then_some(&answer.choices[..]),
                answer.text.as_deref(),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}?answered=1")).into_response())
}

/// `POST /posts/{id}/remind-unanswered`: mails everyone the questionnaire asks who has not
/// answered yet (its author or a school admin), at most once every 15 minutes.
pub async fn remind_unanswered(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(post_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let row = questionnaires::reminder_state(&mut tx, post_id).await?;
    let (author, has_questions, recently) = row.ok_or(AppError::NotFound)?;
    if !viewer.has(Role::SchoolAdmin) && author != Some(viewer.person_id) {
        return Err(AppError::Forbidden {
            reason: "portal.posts.not_yours",
        });
    }
    if !has_questions {
        return Err(AppError::bad_request(
            "remind",
            "portal.questionnaires.no_questions_here",
        ));
    }
    if recently {
        return Err(AppError::bad_request(
            "remind",
            "portal.posts.reminded_recently",
        ));
    }
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let link = state
        .config
        .tenancy
        .school_url(tenant.entry().slug.as_str(), &format!("/posts/{post_id}"));
    let sent =
        reminders::mail_unanswered(&mut tx, &outbox, post_id, &link, ReminderReason::ByStaff)
            .await?;
    posts::mark_reminded(&mut tx, post_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}?reminded={sent}")).into_response())
}
