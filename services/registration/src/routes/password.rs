//! A forgotten password (A5): ask for a link by address — the same answer whether or not
//! an account has that address — then choose a new password with the single-use link, which
//! lasts an hour and ends every session of the account.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::limits::{ClientIp, Limiter, Subject, rules};
use schoolplein_kernel::session::Sessions;
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Pages};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::account_mail;
use crate::db::account_links::{self, LinkState};
use crate::db::accounts;
use crate::domain::{EmailAddress, NewPassword};
use crate::pages::ended_link::{EndedLink, ended_link_page};
use crate::pages::mistakes::mistake;

#[derive(Debug, Serialize)]
struct ForgotPage<'a> {
    csrf: &'a str,
    sent: bool,
    /// The address as typed, when it came back with a mistake.
    email: &'a str,
    mistake: Option<Mistake>,
}

/// The page asking for the address; 400 when it comes back with a mistake.
fn render_forgot(
    pages: &Pages,
    csrf: &Csrf,
    sent: bool,
    refused: Option<(&str, Mistake)>,
) -> Result<Response, AppError> {
    let (email, mistake, status) = match refused {
        Some((email, mistake)) => (email, Some(mistake), StatusCode::BAD_REQUEST),
        None => ("", None, StatusCode::OK),
    };
    pages.show_with(
        status,
        "registration/forgot_password.html",
        &ForgotPage {
            csrf: csrf.token(),
            sent,
            email,
            mistake,
        },
    )
}

/// `GET /password/forgot`.
pub async fn show_forgot_password(pages: Pages, csrf: Csrf) -> Result<Response, AppError> {
    render_forgot(&pages, &csrf, false, None)
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    email: String,
}

/// `POST /password/forgot`: asks for a link to be mailed if the address has an account.
/// The page says the same, in the same time, either way, and the limits count every
/// request, so nothing tells whether an account exists.
pub async fn request_password_reset(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    ip: ClientIp,
    headers: http::HeaderMap,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, AppError> {
    // Only the address's form is checked here, which says nothing about an account.
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            let csrf = Csrf::from_headers(&headers, &state);
            let typed = form.email.chars().take(254).collect::<String>();
            let refused = (
                typed.as_str(),
                mistake(&state, pages.language(), ("email", e.key())),
            );
            return render_forgot(&pages, &csrf, false, Some(refused));
        }
    };
    let config = &state.config.accounts;
    let _attempt = Limiter::from_state(&state)
        .attempt(&[
            (
                rules::reset_per_address(config),
                Subject::address(&email.normalized()),
            ),
            (rules::account_mails_per_ip(config), ip.subject()),
        ])
        .await?;

    // Whether the address has an account is decided later, off this request's path
    // (`account_mail`): this answer costs the same either way.
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    account_mail::request_password_reset(&mut tx, &email, pages.language()).await?;
    tx.commit().await?;
    let csrf = Csrf::from_headers(&headers, &state);
    render_forgot(&pages, &csrf, true, None)
}

#[derive(Debug, Serialize)]
struct ResetPage<'a> {
    csrf: &'a str,
    token: &'a str,
    mistake: Option<Mistake>,
}

/// The page for the new password; 400 when it comes back with a mistake.
fn render_reset(
    state: &AppState,
    pages: &Pages,
    csrf: &Csrf,
    token: &SecretToken,
    refusal: Option<(&str, &str)>,
) -> Result<Response, AppError> {
    let status = if refusal.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages.show_with(
        status,
        "registration/reset_password.html",
        &ResetPage {
            csrf: csrf.token(),
            token: token.expose(),
            mistake: refusal.map(|refusal| mistake(state, pages.language(), refusal)),
        },
    )
}

fn ended(state: LinkState) -> Option<EndedLink> {
    match state {
        LinkState::Open => None,
        LinkState::Used => Some(EndedLink::ResetUsed),
        LinkState::Expired => Some(EndedLink::ResetExpired),
    }
}

/// Whether the link still works, or the page that says why not.
async fn check_link(
    state: &AppState,
    token: &str,
) -> Result<Result<SecretToken, EndedLink>, AppError> {
    let Some(token) = SecretToken::parse(token) else {
        return Ok(Err(EndedLink::Invalid));
    };
    let mut conn = state.db.acquire().await?;
    let reset = account_links::find_password_reset(&mut conn, &token.hash(), false).await?;
    Ok(match reset {
        None => Err(EndedLink::Invalid),
        Some(reset) => match ended(reset.state(Utc::now())) {
            Some(why) => Err(why),
            None => Ok(token),
        },
    })
}

/// `GET /password/reset/{token}`.
pub async fn show_reset_password(
    State(state): State<AppState>,
    pages: Pages,
    csrf: Csrf,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match check_link(&state, &token).await? {
        Err(why) => ended_link_page(&pages, why),
        Ok(token) => render_reset(&state, &pages, &csrf, &token, None),
    }
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    new: String,
    repeat: String,
}

/// `POST /password/reset/{token}`: sets the new password, uses up every open reset link of
/// the account, and ends all its sessions.
pub async fn reset_password(
    State(state): State<AppState>,
    pages: Pages,
    headers: http::HeaderMap,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, AppError> {
    let token = match check_link(&state, &token).await? {
        Err(why) => return ended_link_page(&pages, why),
        Ok(token) => token,
    };
    let refused = |error: (&'static str, &'static str)| -> Result<Response, AppError> {
        let csrf = Csrf::from_headers(&headers, &state);
        render_reset(&state, &pages, &csrf, &token, Some(error))
    };
    let password = match NewPassword::typed_twice("new", &form.new, &form.repeat) {
        Ok(password) => password,
        Err(refusal) => return refused(refusal),
    };
    let hash = state
        .passwords
        .hash(password.expose())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = state.db.begin().await?;
    let Some(reset) = account_links::find_password_reset(&mut tx, &token.hash(), true).await?
    else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(reset.state(Utc::now())) {
        return ended_link_page(&pages, why);
    }
    accounts::set_password(&mut tx, reset.account_id, &hash).await?;
    account_links::close_password_resets(&mut tx, reset.account_id).await?;
    // Sessions end before the new password is kept: if Redis cannot end them, the password
    // stays as it was (and the link works again), never a new password beside live
    // sessions an intruder may hold.
    let ended = Sessions::from_state(&state)
        .end_all(reset.account_id, None)
        .await?;
    tx.commit().await?;
    tracing::info!(account.id = reset.account_id, ended, "password reset");
    Ok(Redirect::to("/sign-in?notice=password_reset").into_response())
}
