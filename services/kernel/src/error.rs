//! One error type for every handler, and the one place that turns errors into pages.

use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde::Serialize;
use tenant_router::HostError;

use crate::i18n::{ChosenLanguage, Language, language_of};
use crate::state::AppState;
use crate::templates::{TemplateError, Templates};

/// Everything a handler can fail with. A 4xx tells the person what to change; a 5xx says
/// nothing of its cause, which is logged once with the request id.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {reason}")]
    BadRequest {
        field: Cow<'static, str>,
        reason: String,
    },
    /// Not signed in: answered with a redirect to the sign-in page, coming back to `next`.
    #[error("sign-in required")]
    SignInRequired { next: String },
    /// Signed in, but not allowed here; `reason` is a catalogue key.
    #[error("forbidden: {reason}")]
    Forbidden { reason: &'static str },
    /// A form without the right anti-forgery token (forged, or from an old page).
    #[error("form token missing or wrong")]
    FormExpired,
    /// Too many attempts: try again after `minutes`.
    #[error("too many attempts")]
    TooManyAttempts { minutes: u64 },
    #[error("bad host: {0}")]
    BadHost(#[from] HostError),
    #[error("not found")]
    NotFound,
    #[error("no school at this host")]
    SchoolNotFound,
    #[error("school is suspended")]
    SchoolSuspended { name: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// A server the request needs is known to be down (see `tenant_router::breaker`).
    #[error(transparent)]
    Unreachable(#[from] tenant_router::Unreachable),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// A 400 naming the field; `reason` is a text key from the catalogues (e.g.
    /// `platform.search_too_long`), so the page shows it in the person's language.
    pub fn bad_request(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self::BadRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::BadHost(_) => StatusCode::BAD_REQUEST,
            Self::NotFound | Self::SchoolNotFound => StatusCode::NOT_FOUND,
            Self::SignInRequired { .. } => StatusCode::SEE_OTHER,
            Self::Forbidden { .. } | Self::FormExpired => StatusCode::FORBIDDEN,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::SchoolSuspended { .. } => StatusCode::FORBIDDEN,
            Self::Database(sqlx::Error::PoolTimedOut) => StatusCode::SERVICE_UNAVAILABLE,
            _ if self.unreachable_server().is_some() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_)
            | Self::Redis(_)
            | Self::Unreachable(_)
            | Self::Template(_)
            | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The server this failure shows to be unreachable (`postgres`, `redis`), if it does.
    pub fn unreachable_server(&self) -> Option<&'static str> {
        match self {
            Self::Unreachable(unreachable) => Some(unreachable.0),
            Self::Database(error) if tenant_router::pools::lost_connection(error) => {
                Some("postgres")
            }
            Self::Redis(error) if lost_redis(error) => Some("redis"),
            _ => None,
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            Self::BadRequest { .. } => ErrorKind::BadRequest,
            Self::BadHost(_) => ErrorKind::BadHost,
            Self::NotFound => ErrorKind::NotFound,
            Self::SchoolNotFound => ErrorKind::SchoolNotFound,
            Self::SchoolSuspended { .. } => ErrorKind::SchoolSuspended,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::FormExpired => ErrorKind::FormExpired,
            Self::TooManyAttempts { .. } => ErrorKind::TooManyAttempts,
            Self::Database(sqlx::Error::PoolTimedOut) => ErrorKind::Unavailable,
            _ if self.unreachable_server().is_some() => ErrorKind::Unreachable,
            _ => ErrorKind::Internal,
        }
    }
}

/// Whether a Redis failure means the server cannot serve now: the connection was refused,
/// lost or timed out, or the server is still loading its data or failing over.
pub fn lost_redis(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error()
        || matches!(error.code(), Some("LOADING" | "MASTERDOWN" | "TRYAGAIN"))
}

/// How long to tell a client to wait when a server is unreachable: the probe knocks four
/// times a second, so most outages a person notices last longer than this.
const RETRY_UNREACHABLE_SECS: u64 = 5;

/// What kind of error page to show; carried from the handler to the page renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    BadRequest,
    BadHost,
    NotFound,
    SchoolNotFound,
    SchoolSuspended,
    Forbidden,
    FormExpired,
    TooManyAttempts,
    Timeout,
    TooLarge,
    /// Busy: no connection came free in time.
    Unavailable,
    /// PostgreSQL or Redis cannot be reached.
    Unreachable,
    Internal,
}

/// Attached to an error response so that `render_error_pages` can write the page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub kind: ErrorKind,
    pub field: Option<Cow<'static, str>>,
    pub reason: Option<String>,
    pub school_name: Option<String>,
    /// For "too many attempts": after how many minutes to try again.
    pub retry_minutes: Option<u64>,
    /// The server found unreachable, so that its breaker is tripped (see `render_error_pages`).
    pub unreachable: Option<&'static str>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::SignInRequired { next } = &self {
            let location = format!("/sign-in?next={}", encode_query_value(next));
            return (status, [(http::header::LOCATION, location)]).into_response();
        }
        let unreachable = self.unreachable_server();
        if let Some(server) = unreachable {
            // Once per request at most; the breaker logs the outage itself once.
            tracing::debug!(server, error = %self, "server unreachable");
        } else if status.is_server_error() {
            // Logged inside the request's span, which carries its id and school.
            tracing::error!(error = %self, "request failed");
        }
        let page = ErrorPage {
            kind: self.kind(),
            field: match &self {
                Self::BadRequest { field, .. } => Some(field.clone()),
                _ => None,
            },
            reason: match &self {
                Self::BadRequest { reason, .. } => Some(reason.clone()),
                Self::BadHost(error) => Some(error.to_string()),
                Self::Forbidden { reason } => Some((*reason).to_owned()),
                _ => None,
            },
            retry_minutes: match &self {
                Self::TooManyAttempts { minutes } => Some(*minutes),
                _ => None,
            },
            school_name: match self {
                Self::SchoolSuspended { name } => Some(name),
                _ => None,
            },
            unreachable,
        };
        let mut response = (status, status.canonical_reason().unwrap_or("error")).into_response();
        response.extensions_mut().insert(page);
        response
    }
}

#[derive(Serialize)]
struct ErrorPageView<'a> {
    title: &'a str,
    text: String,
    field: Option<&'a str>,
    request_id: Option<&'a str>,
    home: bool,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: ErrorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// Longest text of a framework rejection that is shown back to the person.
const MAX_REASON_LEN: usize = 300;

/// Middleware: every error response (ours, the framework's rejections, timeouts, size limits)
/// becomes a page in the request's language, or JSON under `/api`.
///
/// A failure that shows PostgreSQL or Redis unreachable trips that server's breaker here, so
/// the requests after it fail at once; every 503 and 429 says when to come back
/// (`Retry-After`).
pub async fn render_error_pages(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let templates = &state.templates;
    let (mut parts, body) = request.into_parts();
    let asked = language_of(&parts);
    let chosen = ChosenLanguage::default();
    parts.extensions.insert(chosen.clone());
    let wants_json = parts.uri.path().starts_with("/api/");
    // Shown only on a server error's page; a header value's clone shares its bytes.
    let request_id = parts.headers.get("x-request-id").cloned();
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let language = chosen.0.get().copied().unwrap_or(asked);
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None if has_own_body(&response) => return response,
        None => framework_error(status, response).await,
    };
    if let Some(server) = page.unreachable {
        for breaker in [state.db.breaker(), state.redis.breaker()] {
            if breaker.name() == server {
                breaker.trip(&"a request lost its connection");
            }
        }
    }
    let retry_after = match page.kind {
        ErrorKind::Unreachable | ErrorKind::Unavailable => Some(RETRY_UNREACHABLE_SECS),
        ErrorKind::TooManyAttempts => page.retry_minutes.map(|m| m.max(1) * 60),
        _ => None,
    };
    let request_id = request_id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .filter(|_| status.is_server_error());
    let mut rendered = if wants_json {
        let json = ErrorJson {
            error: page.kind,
            field: page.field.as_deref(),
            reason: page.reason.as_deref(),
            request_id,
        };
        axum::Json(json).into_response()
    } else {
        match error_html(templates, language, &page, request_id) {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot render the error page");
                status.canonical_reason().unwrap_or("error").into_response()
            }
        }
    };
    *rendered.status_mut() = status;
    if let Some(secs) = retry_after {
        rendered
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    rendered
}

/// A handler that wrote an HTML page or JSON on purpose keeps it.
fn has_own_body(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"))
}

/// An error response that did not come from `AppError`: keep the framework's short reason
/// for a 4xx (it names what was wrong with the input), never anything for a 5xx.
async fn framework_error(status: StatusCode, response: Response) -> ErrorPage {
    let kind = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => ErrorKind::NotFound,
        StatusCode::REQUEST_TIMEOUT => ErrorKind::Timeout,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::TooLarge,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => ErrorKind::Unavailable,
        s if s.is_client_error() => ErrorKind::BadRequest,
        _ => ErrorKind::Internal,
    };
    let reason = if kind == ErrorKind::BadRequest {
        let bytes = axum::body::to_bytes(response.into_body(), 4 * MAX_REASON_LEN)
            .await
            .unwrap_or_default();
        let text: String = String::from_utf8_lossy(&bytes)
            .chars()
            .take(MAX_REASON_LEN)
            .collect();
        Some(text).filter(|t| !t.trim().is_empty())
    } else {
        None
    };
    ErrorPage {
        kind,
        field: None,
        reason,
        school_name: None,
        retry_minutes: None,
        unreachable: None,
    }
}

fn error_html(
    templates: &Templates,
    language: Language,
    page: &ErrorPage,
    request_id: Option<&str>,
) -> Result<String, TemplateError> {
    let catalog = templates.catalog();
    let text = |key: &str| catalog.get(language, key).unwrap_or_default().to_owned();
    let (title, body) = match page.kind {
        ErrorKind::BadRequest => ("error.bad_request_title", None),
        ErrorKind::BadHost => ("error.bad_host_title", Some("error.bad_host_text")),
        ErrorKind::NotFound => ("error.not_found_title", Some("error.not_found_text")),
        ErrorKind::SchoolNotFound => (
            "error.school_not_found_title",
            Some("error.school_not_found_text"),
        ),
        ErrorKind::SchoolSuspended => (
            "error.school_suspended_title",
            Some("error.school_suspended_text"),
        ),
        ErrorKind::Forbidden => ("error.forbidden_title", None),
        ErrorKind::FormExpired => ("error.form_expired_title", Some("error.form_expired_text")),
        ErrorKind::TooManyAttempts => ("error.too_many_title", Some("error.too_many_text")),
        ErrorKind::Timeout => ("error.timeout_title", Some("error.timeout_text")),
        ErrorKind::TooLarge => ("error.too_large_title", Some("error.too_large_text")),
        ErrorKind::Unavailable => ("error.unavailable_title", Some("error.unavailable_text")),
        ErrorKind::Unreachable => ("error.unreachable_title", Some("error.unreachable_text")),
        ErrorKind::Internal => ("error.internal_title", Some("error.internal_text")),
    };
    // A reason is a catalogue key (shown in the person's language) or, from the framework's
    // rejections, literal text.
    let reason = page
        .reason
        .as_deref()
        .map(|r| catalog.get(language, r).unwrap_or(r).to_owned());
    let mut body = body.map(text).unwrap_or_else(|| reason.unwrap_or_default());
    if let Some(name) = &page.school_name {
        body = format!("{name}: {body}");
    }
    if let Some(minutes) = page.retry_minutes {
        body = body.replace("{minutes}", &minutes.max(1).to_string());
    }
    let title = text(title);
    let home = !matches!(
        page.kind,
        ErrorKind::BadHost | ErrorKind::SchoolNotFound | ErrorKind::SchoolSuspended
    );
    templates.render(
        "error.html",
        language,
        &ErrorPageView {
            title: &title,
            text: body,
            field: page.field.as_deref(),
            request_id,
            home,
        },
    )
}

/// Percent-encodes a value for a query string (everything but unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
