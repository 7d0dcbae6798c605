//! Starting a signed-in session in this browser: after a password, or after a mailed link
//! that proved the address (a confirmed registration, an accepted invitation).

use axum::http::HeaderMap;
use schoolplein_kernel::session::{SessionData, Sessions, describe_device, session_cookie};
use schoolplein_kernel::{AppError, AppState};

/// Starts a session for `account_id` in this browser and returns its cookie. A session the
/// browser already had ends: signing in always starts a new id.
pub async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    account_id: i64,
    keep: bool,
) -> Result<schoolplein_kernel::cookies::SetCookie, AppError> {
    let sessions = Sessions::from_state(state);
    if let Some(old) =
        schoolplein_kernel::cookies::cookie(headers, schoolplein_kernel::session::SESSION_COOKIE)
            .and_then(schoolplein_kernel::tokens::SecretToken::parse)
    {
        sessions.end(account_id, &old.hash()).await?;
    }
    let token = sessions
        .create(&SessionData {
            account_id,
            created_at: chrono::Utc::now().timestamp(),
            keep,
            device: describe_device(
                headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok()),
            ),
        })
        .await?;
    Ok(session_cookie(
        state,
        headers,
        token.expose().to_owned(),
        keep.then(|| sessions.lifetime(true)),
    ))
}
