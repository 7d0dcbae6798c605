//! `POST /posts/{id}/remind`: the urgent mail again, to those who have not read the post.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::CsrfForm;
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::{AppError, AppState, Role, Staff, Writable};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::posts::{self, RemindedPost};
use crate::posts::urgent::{UrgentMail, mail_urgent};
use crate::rich_text;

/// Minutes between two reminders of one urgent post.
const REMIND_EVERY_MINUTES: i32 = 15;

/// `POST /posts/{id}/remind`: mails the urgent post again to those who have not read it (its
/// author or a school admin), at most once every `REMIND_EVERY_MINUTES`.
pub async fn remind(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(post_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let post = posts::for_reminder(&mut tx, post_id, REMIND_EVERY_MINUTES).await?;
    let RemindedPost {
        author_id: author,
        urgent,
        title,
        body,
        body_html,
        recently,
    } = post.ok_or(AppError::NotFound)?;
    if !viewer.has(Role::SchoolAdmin) && author != Some(viewer.person_id) {
        return Err(AppError::Forbidden {
            reason: "portal.posts.not_yours",
        });
    }
    if !urgent {
        return Err(AppError::bad_request("remind", "portal.posts.not_urgent"));
    }
    if recently {
        return Err(AppError::bad_request(
            "remind",
            "portal.posts.reminded_recently",
        ));
    }
    let unread = posts::unread_recipients(&mut tx, post_id).await?;
    let mail = UrgentMail::new(
        &title,
        // The mail's text from what the portal shows (old plain posts escaped first).
        rich_text::text_paragraphs(&body_html.unwrap_or_else(|| rich_text::plain_to_html(&body))),
        &viewer.name,
    );
    mail_urgent(&state, &tenant, &mut tx, post_id, mail, &unread).await?;
    posts::mark_reminded(&mut tx, post_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}?reminded={}", unread.len())).into_response())
}
