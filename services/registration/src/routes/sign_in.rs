//! Signing in and out: one session for every school under the base domain.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::header::SET_COOKIE;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::limits::{ClientIp, Limiter, Subject, rules};
use schoolplein_kernel::session::{Sessions, session_cookie};

use crate::sessions::start_session;
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::{AppError, AppState, Pages, SignedIn};
use serde::{Deserialize, Serialize};

use crate::db::accounts;
use crate::domain::EmailAddress;
use crate::pages::mistakes::mistake;

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// What the sign-in page may say on arrival (`/sign-in?notice=…`); anything else is ignored,
/// so a link cannot put words on the page.
const SIGN_IN_NOTICES: [&str; 5] = [
    "joined",
    "password_reset",
    "email_changed",
    "registered",
    "registered_existing",
];

#[derive(Debug, Serialize)]
struct SignInPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    keep: bool,
    /// What kept the person out: the same words whether or not the address has an account.
    mistake: Option<Mistake>,
    notice: Option<&'a str>,
}

/// The sign-in page; 400 when it names what kept the person out.
fn render(pages: &Pages, page: &SignInPage<'_>) -> Result<Response, AppError> {
    let status = if page.mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages.show_with(status, "registration/sign_in.html", page)
}

pub async fn show_sign_in(
    pages: Pages,
    csrf: Csrf,
    Query(query): Query<SignInQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    let notice = query
        .notice
        .as_deref()
        .and_then(|n| SIGN_IN_NOTICES.into_iter().find(|known| *known == n));
    let page = SignInPage {
        csrf: csrf.token(),
        next: &next,
        email: "",
        keep: false,
        mistake: None,
        notice: notice.map(|n| match n {
            "joined" => "notice_joined",
            "password_reset" => "notice_password_reset",
            "registered" => "notice_registered",
            "registered_existing" => "notice_registered_existing",
            _ => "notice_email_changed",
        }),
    };
    render(&pages, &page)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    keep: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

/// Longest password we will even look at; longer is certainly not anyone's.
const MAX_PASSWORD_INPUT: usize = 1000;

pub async fn sign_in(
    State(state): State<AppState>,
    pages: Pages,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref());
    let config = &state.config.accounts;
    // The form again with what was typed (never the password) and the mistake at its field.
    let refused = |refusal: (&str, &str)| -> Result<Response, AppError> {
        let csrf = Csrf::from_headers(&headers, &state);
        let page = SignInPage {
            csrf: csrf.token(),
            next: &next,
            email: &form.email.chars().take(254).collect::<String>(),
            keep: form.keep.is_some(),
            mistake: Some(mistake(&state, pages.language(), refusal)),
            notice: None,
        };
        render(&pages, &page)
    };
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(e) => return refused(("email", e.key())),
    };
    if form.password.is_empty() {
        return refused(("password", "registration.password_empty"));
    }
    if form.password.len() > MAX_PASSWORD_INPUT {
        return refused(("password", "registration.password_too_long"));
    }
    // Counted before the password is checked, so that a burst of guesses sent at once meets
    // the limit like guesses sent one by one; a right password gives its count back.
    let attempt = Limiter::from_state(&state)
        .attempt(&[
            (rules::sign_in_per_ip(config), ip.subject()),
            (
                rules::password_per_account(config),
                Subject::address(&email.normalized()),
            ),
        ])
        .await?;
    let account = accounts::find_for_sign_in(&state.db, &email).await?;
    let stored = account
        .as_ref()
        .filter(|a| !a.disabled)
        .and_then(|a| a.password_hash.as_deref());
    let correct = state
        .passwords
        .verify(&form.password, stored)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let account = match account {
        Some(account) if correct => account,
        _ => {
            // The attempt stays counted. An unknown address and a wrong password get the
            // same words at the same field.
            drop(attempt);
            return refused(("password", "registration.sign_in_failed"));
        }
    };
    attempt.succeeded().await?;
    let keep = form.keep.is_some();
    let cookie = start_session(&state, &headers, account.id, keep).await?;
    tracing::info!(account.id = account.id, keep, "signed in");
    Ok(([(SET_COOKIE, cookie.header_value())], Redirect::to(&next)).into_response())
}

/// Ends this browser's session.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: Option<SignedIn>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    if let Some(signed_in) = &signed_in {
        Sessions::from_state(&state)
            .end(signed_in.account_id, &signed_in.session)
            .await?;
    }
    let cookie = session_cookie(&state, &headers, String::new(), None).removal();
    Ok((
        [(SET_COOKIE, cookie.header_value())],
        Redirect::to("/sign-in"),
    )
        .into_response())
}

/// Ends every session of this account, on every device.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed_in: SignedIn,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let ended = Sessions::from_state(&state)
        .end_all(signed_in.account_id, None)
        .await?;
    tracing::info!(
        account.id = signed_in.account_id,
        ended,
        "signed out everywhere"
    );
    let cookie = session_cookie(&state, &headers, String::new(), None).removal();
    Ok((
        [(SET_COOKIE, cookie.header_value())],
        Redirect::to("/sign-in"),
    )
        .into_response())
}

/// A safe place to go after signing in: a path on this host, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 1000 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_host() {
        assert_eq!(safe_next(Some("/account?x=1")), "/account?x=1");
        for bad in [
            None,
            Some("https://evil.example/"),
            Some("//evil.example/"),
            Some("/\\evil.example"),
            Some("/a\r\nSet-Cookie: x"),
            Some(""),
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
