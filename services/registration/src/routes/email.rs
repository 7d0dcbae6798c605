//! Changing the sign-in address (A5): the person asks with their password, a link goes to
//! the new address and a notice to the old one; the change happens when the link is used.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::limits::{Limiter, Subject, rules};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Pages, SignedIn};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::account_links::{self, LinkState};
use crate::db::accounts::{self, EmailChangeOutcome};
use crate::domain::EmailAddress;
use crate::pages::account::{AccountForm, Refused, render};
use crate::pages::ended_link::{EndedLink, ended_link_page};
use crate::pages::mistakes::typed;

#[derive(Debug, Deserialize)]
pub struct EmailChangeForm {
    new_email: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct ConfirmMail<'a> {
    link: &'a str,
    hours: u64,
}

#[derive(Debug, Serialize)]
struct NoticeMail<'a> {
    new_email: &'a str,
}

/// `POST /account/email`.
pub async fn request_email_change(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    signed_in: SignedIn,
    headers: http::HeaderMap,
    CsrfForm(form): CsrfForm<EmailChangeForm>,
) -> Result<Response, AppError> {
    let csrf = Csrf::from_headers(&headers, &state);
    let refuse = |field: &'static str, key: &'static str| (field, key);
    let checked = async {
        let new_email = match EmailAddress::parse(&form.new_email) {
            Ok(email) => email,
            Err(e) => return Ok(Err(refuse("new_email", e.key()))),
        };
        if new_email.normalized() == signed_in.email.to_ascii_lowercase() {
            return Ok(Err(refuse("new_email", "registration.email_unchanged")));
        }
        // The current password is a guess at the account's password like a sign-in's, and
        // counted with those, before it is checked.
        let guess = Limiter::from_state(&state)
            .attempt(&[(
                rules::password_per_account(&state.config.accounts),
                Subject::address(&signed_in.email.to_ascii_lowercase()),
            )])
            .await?;
        let stored = accounts::password_hash(&state.db, signed_in.account_id).await?;
        let correct = form.password.len() <= 1000
            && state
                .passwords
                .verify(&form.password, stored.as_deref())
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
        if !correct {
            drop(guess);
            return Ok(Err(refuse(
                "password",
                "registration.current_password_wrong",
            )));
        }
        guess.succeeded().await?;
        Ok::<_, AppError>(Ok(new_email))
    }
    .await?;
    let new_email = match checked {
        Ok(email) => email,
        Err(refusal) => {
            let sent = typed(&[("new_email", &form.new_email)]);
            let refused = Refused::new(&state, pages.language(), AccountForm::Email, refusal, sent);
            return render(&state, &pages, &signed_in, &csrf, None, Some(refused)).await;
        }
    };
    // Each request mails both addresses.
    let _attempt = Limiter::from_state(&state)
        .attempt(&[(
            rules::EMAIL_CHANGE_PER_ACCOUNT,
            Subject::account(signed_in.account_id),
        )])
        .await?;

    let token = SecretToken::generate();
    let lifetime = chrono::Duration::from_std(state.config.accounts.email_change_lifetime())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    account_links::create_email_change(
        &mut tx,
        signed_in.account_id,
        new_email.as_str(),
        &token.hash(),
        Utc::now() + lifetime,
    )
    .await?;
    let letterhead = Letterhead::load(&mut tx).await?;
    let link = state.config.tenancy.school_url(
        tenant.entry().slug.as_str(),
        &format!("/account/email/{}", token.expose()),
    );
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    outbox
        .enqueue(
            &mut tx,
            MailRequest {
                to: new_email.as_str(),
                template: "registration/email_change_confirm",
                language: signed_in.language,
                urgent: true,
                context: &ConfirmMail {
                    link: &link,
                    hours: state.config.accounts.email_change_hours,
                },
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    outbox
        .enqueue(
            &mut tx,
            MailRequest {
                to: &signed_in.email,
                template: "registration/email_change_notice",
                language: signed_in.language,
                urgent: true,
                context: &NoticeMail {
                    new_email: new_email.as_str(),
                },
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    tx.commit().await?;
    tracing::info!(
        account.id = signed_in.account_id,
        "sign-in address change requested"
    );
    render(
        &state,
        &pages,
        &signed_in,
        &csrf,
        Some("registration.email_change_sent"),
        None,
    )
    .await
}

#[derive(Debug, Serialize)]
struct ConfirmPage<'a> {
    csrf: &'a str,
    token: &'a str,
    new_email: &'a str,
}

fn ended(state: LinkState) -> Option<EndedLink> {
    match state {
        LinkState::Open => None,
        LinkState::Used => Some(EndedLink::EmailChangeUsed),
        LinkState::Expired => Some(EndedLink::EmailChangeExpired),
    }
}

/// `GET /account/email/{token}`: a button to confirm. The change waits for the button, not
/// the opening of the link: mail scanners open links too.
pub async fn show_email_change(
    State(state): State<AppState>,
    pages: Pages,
    csrf: Csrf,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let mut conn = state.db.acquire().await?;
    let Some(change) = account_links::find_email_change(&mut conn, &token.hash(), false).await?
    else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    drop(conn);
    if let Some(why) = ended(change.state(Utc::now())) {
        return ended_link_page(&pages, why);
    }
    pages.show(
        "registration/confirm_email.html",
        &ConfirmPage {
            csrf: csrf.token(),
            token: token.expose(),
            new_email: &change.new_email,
        },
    )
}

/// `POST /account/email/{token}`: makes the new address the sign-in address.
pub async fn confirm_email_change(
    State(state): State<AppState>,
    pages: Pages,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let mut tx = state.db.begin().await?;
    let Some(change) = account_links::find_email_change(&mut tx, &token.hash(), true).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(change.state(Utc::now())) {
        return ended_link_page(&pages, why);
    }
    match accounts::change_email(&mut tx, change.account_id, &change.new_email).await? {
        EmailChangeOutcome::Taken => {
            // The transaction may have seen a failed statement: nothing of it is kept.
            drop(tx);
            Err(AppError::bad_request(
                "new_email",
                "registration.email_taken",
            ))
        }
        EmailChangeOutcome::Changed => {
            account_links::mark_email_change_used(&mut tx, &token.hash()).await?;
            tx.commit().await?;
            tracing::info!(account.id = change.account_id, "sign-in address changed");
            Ok(Redirect::to("/sign-in?notice=email_changed").into_response())
        }
    }
}
