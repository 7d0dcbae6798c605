//! The person's own account: name, language, password, and the sessions on their devices.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::limits::{Limiter, Subject, rules};
use schoolplein_kernel::session::Sessions;
use schoolplein_kernel::{AppError, AppState, Lang, Language, SignedIn};
use serde::Deserialize;

use crate::db::accounts;
use crate::domain::{NewPassword, PersonName};
use crate::pages::account::render;

pub async fn show_account(
    State(state): State<AppState>,
    Lang(lang): Lang,
    csrf: Csrf,
    signed_in: SignedIn,
) -> Result<Response, AppError> {
    let html = render(&state, lang, &signed_in, &csrf, None, None).await?;
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    name: String,
    language: String,
}

pub async fn update_profile(
    State(state): State<AppState>,
    signed_in: SignedIn,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, AppError> {
    let name = PersonName::parse(&form.name).map_err(|e| AppError::bad_request("name", e.key()))?;
    let language = Language::from_tag(&form.language)
        .ok_or_else(|| AppError::bad_request("language", "registration.language_unknown"))?;
    accounts::update_profile(
        &state.db,
        signed_in.account_id,
        name.as_str(),
        language.tag(),
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
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
    Lang(lang): Lang,
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
            let html = render(
                &state,
                lang,
                &signed_in,
                &csrf,
                Some("registration.password_changed"),
                None,
            )
            .await?;
            Ok((csrf, html).into_response())
        }
        Err(error) => {
            let html = render(&state, lang, &signed_in, &csrf, None, Some(error)).await?;
            Ok((StatusCode::BAD_REQUEST, csrf, html).into_response())
        }
    }
}
