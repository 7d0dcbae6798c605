//! `/unsubscribe/{token}`: the one-click unsubscribe of a bulk mail (RFC 8058). A mailbox
//! provider posts to it without a session when the reader presses "unsubscribe"; the page
//! (for a browser following the link) asks before it does anything, since link checkers open
//! every link in a mail. The link turns off that kind of mail for that person once; a forged
//! link is not found, and one used before changes nothing again.

use axum::extract::{Path, State};
use axum::response::Response;
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Pages};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::unsubscribe;

#[derive(Debug, Serialize)]
struct UnsubscribePage<'a> {
    token: &'a str,
    kind: String,
    /// Done now, or done before with this link.
    done: bool,
    before: bool,
}

/// `GET /unsubscribe/{token}`: what the link turns off, and a button to do it.
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let token = SecretToken::parse(&token).ok_or(AppError::NotFound)?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (kind, used) = unsubscribe::find(&mut tx, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    pages.show(
        "portal/unsubscribe.html",
        &UnsubscribePage {
            token: token.expose(),
            kind: kind.replace(':', "_"),
            done: used,
            before: used,
        },
    )
}

/// `POST /unsubscribe/{token}` (body `List-Unsubscribe=One-Click`, no session or form token:
/// the link itself is the secret): turns that kind of mail off for the link's person, once.
pub async fn unsubscribe(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let token = SecretToken::parse(&token).ok_or(AppError::NotFound)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let used = unsubscribe::use_link(&mut tx, &token).await?;
    let (kind, before) = match used {
        Some((person_id, kind)) => {
            unsubscribe::turn_off(&mut tx, person_id, &kind).await?;
            tracing::info!(person.id = person_id, kind = %kind, "unsubscribed by link");
            (kind, false)
        }
        None => {
            let (kind, _) = unsubscribe::find(&mut tx, &token)
                .await?
                .ok_or(AppError::NotFound)?;
            (kind, true)
        }
    };
    tx.commit().await?;
    pages.show(
        "portal/unsubscribe.html",
        &UnsubscribePage {
            token: token.expose(),
            kind: kind.replace(':', "_"),
            done: true,
            before,
        },
    )
}
