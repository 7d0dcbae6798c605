//! The person's own account page, shown by the account's forms and the address change.

use axum::response::Html;
use chrono::{TimeZone, Utc};
use schoolplein_kernel::csrf::Csrf;
use schoolplein_kernel::session::Sessions;
use schoolplein_kernel::{AppError, AppState, Language, SignedIn};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct SessionRow {
    device: String,
    started: String,
    kept: bool,
    current: bool,
}

#[derive(Debug, Serialize)]
struct AccountPage<'a> {
    csrf: &'a str,
    name: &'a str,
    email: &'a str,
    language: &'a str,
    sessions: Vec<SessionRow>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    error_field: Option<&'a str>,
}

/// The account page, with a notice or a mistake (its field and text) if there is one.
pub async fn render(
    state: &AppState,
    lang: Language,
    signed_in: &SignedIn,
    csrf: &Csrf,
    notice: Option<&str>,
    error: Option<(&str, &str)>,
) -> Result<Html<String>, AppError> {
    let sessions = Sessions::from_state(state)
        .list(signed_in.account_id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            device: s.data.device,
            started: Utc
                .timestamp_opt(s.data.created_at, 0)
                .single()
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
            kept: s.data.keep,
            current: s.id == signed_in.session,
        })
        .collect();
    let page = AccountPage {
        csrf: csrf.token(),
        name: &signed_in.name,
        email: &signed_in.email,
        language: signed_in.language.tag(),
        sessions,
        notice: notice.map(text_name),
        error: error.map(|(_, key)| text_name(key)),
        error_field: error.map(|(field, _)| field),
    };
    Ok(Html(state.templates.render(
        "registration/account.html",
        lang,
        &page,
    )?))
}

/// The name of a `registration.*` text, as the template looks it up.
fn text_name(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}
