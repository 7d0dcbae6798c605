//! The person's own account: name, language, password, and the sessions on their devices.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::limits::{Limiter, Subject, rules};
use schoolplein_kernel::session::Sessions;
use schoolplein_kernel::{AppError, AppState, Language, Pages, SignedIn};
use serde::Deserialize;

use crate::db::accounts;
use crate::domain::{NewPassword, PersonName};
use crate::pages::account::{AccountForm, Refused, render};
use crate::pages::mistakes::typed;

pub async fn show_account(
    State(state): State<AppState>,
    pages: Pages,
    csrf: Csrf,
    signed_in: SignedIn,
) -> Result<Response, AppError> {
    render(&state, &pages, &signed_in, &csrf, None, None).await
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    name: String,
    language: String,
}

/// `POST /account/profile`: the name and language; a mistake brings the form back as typed.
pub async fn update_profile(
    State(state): State<AppState>,
    pages: Pages,
    signed_in: SignedIn,
    headers: http::HeaderMap,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, AppError> {
    let checked = PersonName::parse(&form.name)
        .map_err(|e| ("name", e.key()))
        .and_then(|name| {
            Language::from_tag(&form.language)
                .map(|language| (name, language))
                .ok_or(("language", "registration.language_unknown"))
        });
    let (name, language) = match checked {
        Ok(fields) => fields,
        Err(refusal) => {
            let csrf = Csrf::from_headers(&headers, &state);
            let sent = typed(&[("name", &form.name), ("language", &form.language)]);
            let refused = Refused::new(
                &state,
                pages.language(),
                AccountForm::Profile,
                refusal,
                sent,
            );
            return render(&state, &pages, &signed_in, &csrf, None, Some(refused)).await;
        }
    };
    accounts::update_profile(
        &state.db,
        signed_in.account_id,
        name.as_str(),
        language.tag(),
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}

/// `POST /account/mail-works` (N4): the person says mail to their address works again (a full
/// mailbox emptied, a typo corrected at their provider): the mark goes, and what failed for it
/// in the last days is sent again. Back to the page it came from on this host.
pub async fn mail_works(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: http::HeaderMap,
    CsrfForm(_): CsrfForm<schoolplein_kernel::forms::TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = state.db.begin().await?;
    let again = schoolplein_mailing::db::outbox::try_again(&mut tx, &signed_in.email).await?;
    tx.commit().await?;
    tracing::info!(
        account.id = signed_in.account_id,
        mails = again,
        "mail address said to work again"
    );
    // Only a path on this host: the form's own page, or the account page.
    let back = headers
        .get(http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|at| &rest[at..]))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or("/account");
    Ok(Redirect::to(back).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    repeat: String,
}

/// Changes the password, then ends every other session of the account (A7).
pub async fn change_password(
    State(state): State<AppState>,
    pages: Pages,
    signed_in: SignedIn,
    headers: http::HeaderMap,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let csrf = Csrf::from_headers(&headers, &state);
    let refuse = |field: &'static str, key: &'static str| (field, key);
    let outcome = async {
        // The current password is a guess at the account's password like a sign-in's, and
        // counted with those, before it is checked.
        let guess = Limiter::from_state(&state)
            .attempt(&[(
                rules::password_per_account(&state.config.accounts),
                Subject::address(&signed_in.email.to_ascii_lowercase()),
            )])
            .await?;
        let stored = accounts::password_hash(&state.db, signed_in.account_id).await?;
        if form.current.len() > 1000
            || !state
                .passwords
                .verify(&form.current, stored.as_deref())
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
        {
            drop(guess);
            return Ok(Err(refuse(
                "current",
                "registration.current_password_wrong",
            )));
        }
        guess.succeeded().await?;
        let new = match NewPassword::typed_twice("new", &form.new, &form.repeat) {
            Ok(new) => new,
            Err((field, key)) => return Ok(Err(refuse(field, key))),
        };
        let hash = state
            .passwords
            .hash(new.expose())
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        // The other sessions end before the new password is kept: if Redis cannot end
        // them, the password stays as it was.
        let mut tx = state.db.begin().await?;
        accounts::set_password(&mut tx, signed_in.account_id, &hash).await?;
        let ended = Sessions::from_state(&state)
            .end_all(signed_in.account_id, Some(&signed_in.session))
            .await?;
        tx.commit().await?;
        Ok::<_, AppError>(Ok(ended))
    }
    .await?;
    match outcome {
        Ok(ended) => {
            tracing::info!(account.id = signed_in.account_id, ended, "password changed");
            render(
                &state,
                &pages,
                &signed_in,
                &csrf,
                Some("registration.password_changed"),
                None,
            )
            .await
        }
        Err(refusal) => {
            // Passwords are never sent back: the form comes back empty, the mistake named.
            let refused = Refused::new(
                &state,
                pages.language(),
                AccountForm::Password,
                refusal,
                typed(&[]),
            );
            render(&state, &pages, &signed_in, &csrf, None, Some(refused)).await
        }
    }
}
