//! The person's own account page, shown by the account's forms and the address change.

use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use http::StatusCode;
use schoolplein_kernel::csrf::Csrf;
use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::session::Sessions;
use schoolplein_kernel::{AppError, AppState, Language, Pages, SignedIn};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct SessionRow {
    device: String,
    /// Shown in Dutch time by the page (`when`).
    started: Option<DateTime<Utc>>,
    kept: bool,
    current: bool,
}

/// The account page's forms that can come back with a mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountForm {
    Profile,
    Email,
    Password,
}

/// One of the account page's forms as sent, with its mistake.
#[derive(Debug)]
pub struct Refused {
    pub form: AccountForm,
    pub mistake: Mistake,
    /// What was typed, passwords left out.
    pub typed: Typed,
}

impl Refused {
    /// The refusal `(field, key)` of `form`, with what was typed.
    pub fn new(
        state: &AppState,
        lang: Language,
        form: AccountForm,
        refusal: (&str, &str),
        typed: Typed,
    ) -> Self {
        // The address form's password field has an id of its own: the page has three.
        let anchor = match (form, refusal.0) {
            (AccountForm::Email, "password") => "email_password",
            (_, field) => field,
        };
        Self {
            form,
            mistake: Mistake::at(&state.templates, lang, refusal.0, refusal.1, anchor),
            typed,
        }
    }
}

#[derive(Debug, Serialize)]
struct AccountPage<'a> {
    csrf: &'a str,
    name: &'a str,
    email: &'a str,
    language: &'a str,
    sessions: Vec<SessionRow>,
    /// Mail to the address does not arrive (N4).
    mail_undeliverable: bool,
    notice: Option<&'a str>,
    /// The form that came back with a mistake; its summary is drawn above it alone.
    failed: Option<AccountForm>,
    mistake: Option<Mistake>,
    typed: Typed,
}

/// The account page, with a notice or a form sent back with its mistake (400).
pub async fn render(
    state: &AppState,
    pages: &Pages,
    signed_in: &SignedIn,
    csrf: &Csrf,
    notice: Option<&str>,
    refused: Option<Refused>,
) -> Result<Response, AppError> {
    let sessions = Sessions::from_state(state)
        .list(signed_in.account_id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            device: s.data.device,
            started: Utc.timestamp_opt(s.data.created_at, 0).single(),
            kept: s.data.keep,
            current: s.id == signed_in.session,
        })
        .collect();
    let (failed, mistake, typed, status) = match refused {
        Some(refused) => (
            Some(refused.form),
            Some(refused.mistake),
            refused.typed,
            StatusCode::BAD_REQUEST,
        ),
        None => (None, None, Typed::default(), StatusCode::OK),
    };
    let page = AccountPage {
        csrf: csrf.token(),
        name: &signed_in.name,
        email: &signed_in.email,
        language: signed_in.language.tag(),
        sessions,
        mail_undeliverable: signed_in.mail_undeliverable,
        notice: notice.map(text_name),
        failed,
        mistake,
        typed,
    };
    pages.show_with(status, "registration/account.html", &page)
}

/// The name of a `registration.*` text, as the template looks it up.
fn text_name(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}
