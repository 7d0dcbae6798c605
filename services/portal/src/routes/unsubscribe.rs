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

#[derive(Debug, Serialize)]
struct UnsubscribePage<'a> {
    token: &'a str,
    kind: String,
    /// Done now, or done before with this link.
    done: bool,
    before: bool,
}

/// The link's kind and whether it was used, if it exists.
async fn find(
    tx: &mut TenantTx,
    token: &SecretToken,
) -> Result<Option<(String, bool)>, sqlx::Error> {
    sqlx::query_as("SELECT kind, used_at IS NOT NULL FROM unsubscribe_links WHERE token_hash = $1")
        .bind(token.hash().as_bytes().to_vec())
        .fetch_optional(&mut **tx)
        .await
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
    let (kind, used) = find(&mut tx, &token).await?.ok_or(AppError::NotFound)?;
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
    let used: Option<(i64, String)> = sqlx::query_as(
        "UPDATE unsubscribe_links SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL
         RETURNING person_id, kind",
    )
    .bind(token.hash().as_bytes().to_vec())
    .fetch_optional(&mut *tx)
    .await?;
    let (kind, before) = match used {
        Some((person_id, kind)) => {
            turn_off(&mut tx, person_id, &kind).await?;
            tracing::info!(person.id = person_id, kind = %kind, "unsubscribed by link");
            (kind, false)
        }
        None => {
            let (kind, _) = find(&mut tx, &token).await?.ok_or(AppError::NotFound)?;
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

/// Turns off `kind` (`digest`, `each:<post kind>`, `message_notices`) for the person.
async fn turn_off(tx: &mut TenantTx, person_id: i64, kind: &str) -> Result<(), sqlx::Error> {
    match kind {
        // Every kind that came in the digest: those not mailed one by one (a missing choice
        // is the daily digest).
        "digest" => {
            sqlx::query(
                "INSERT INTO notification_preferences (person_id, kind, delivery)
                 SELECT $1, k, 'none' FROM unnest(ARRAY['news', 'agenda', 'board']) AS k
                  WHERE NOT EXISTS (SELECT 1 FROM notification_preferences p
                                     WHERE p.person_id = $1 AND p.kind = k
                                       AND p.delivery IN ('each', 'none'))
                 ON CONFLICT (person_id, kind) DO UPDATE SET delivery = 'none'",
            )
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
        }
        "message_notices" => {
            sqlx::query("UPDATE people SET message_notices = false WHERE id = $1")
                .bind(person_id)
                .execute(&mut **tx)
                .await?;
        }
        each => {
            let Some(post_kind) = each.strip_prefix("each:") else {
                return Ok(());
            };
            sqlx::query(
                "INSERT INTO notification_preferences (person_id, kind, delivery)
                 VALUES ($1, $2, 'none')
                 ON CONFLICT (person_id, kind) DO UPDATE SET delivery = 'none'",
            )
            .bind(person_id)
            .bind(post_kind)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
