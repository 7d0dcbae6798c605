//! Mail about an account that anyone may ask for (a forgotten password, A5), answered in the
//! background: the page writes only the request, and this task decides whether the address
//! has an account and, if so, mails it the link. The page thus takes the same path and the
//! same time whatever the address, and tells nobody whether an account exists.

use std::time::Duration;

use chrono::Utc;
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Language};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

use crate::db::{account_links, accounts};
use crate::domain::EmailAddress;

/// The channel a new request is announced on, so it is answered at once.
const CHANNEL: &str = "schoolplein_account_mail";
/// How often pending requests are looked for without an announcement (one may be missed
/// while the listening connection reconnects).
const POLL_EVERY: Duration = Duration::from_secs(5);
/// How long a reset link works.
pub const RESET_LINK_LIFETIME: Duration = Duration::from_secs(3600);

/// Records a request for a password-reset link in the school's transaction `tx`; it is
/// answered after the commit.
pub async fn request_password_reset(
    tx: &mut TenantTx,
    email: &EmailAddress,
    language: Language,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO platform.account_mail_requests (kind, tenant_id, email, language)
         VALUES ('password_reset', $1, $2, $3)",
    )
    .bind(tx.tenant().get())
    .bind(email.as_str())
    .bind(language.tag())
    .execute(&mut **tx)
    .await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct Request {
    email: String,
    language: String,
}

#[derive(Debug, Serialize)]
struct PasswordResetMail<'a> {
    link: &'a str,
}

/// Answers every pending request; returns how many. Each is taken and answered in one
/// transaction of its school, so a crash midway loses none and answers none twice; several
/// processes may run this at once.
pub async fn answer_pending(state: &AppState) -> Result<usize, AppError> {
    let mut answered = 0;
    loop {
        let schools: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT tenant_id FROM platform.account_mail_requests LIMIT 100",
        )
        .fetch_all(state.db.pool())
        .await?;
        if schools.is_empty() {
            return Ok(answered);
        }
        let before = answered;
        for school in schools {
            while answer_one(state, TenantId::new(school)).await? {
                answered += 1;
            }
        }
        if answered == before {
            // What is left is being answered by another process.
            return Ok(answered);
        }
    }
}

/// Takes one pending request of `school` and answers it; false when there is none free.
async fn answer_one(state: &AppState, school: TenantId) -> Result<bool, AppError> {
    let Some(entry) = state.tenants.by_id(school) else {
        // A school that is gone (or not loaded yet): its requests wait or go with it.
        return Ok(false);
    };
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let request: Option<Request> = sqlx::query_as(
        "DELETE FROM platform.account_mail_requests
          WHERE id = (SELECT id FROM platform.account_mail_requests
                       WHERE tenant_id = $1 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
         RETURNING email, language",
    )
    .bind(school.get())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(request) = request else {
        return Ok(false);
    };
    let account = accounts::find_by_email(&mut tx, &request.email)
        .await?
        .filter(|a| !a.disabled);
    if let Some(account) = account {
        let token = SecretToken::generate();
        let lifetime = chrono::Duration::from_std(RESET_LINK_LIFETIME)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        account_links::create_password_reset(
            &mut tx,
            account.id,
            &token.hash(),
            Utc::now() + lifetime,
        )
        .await?;
        let letterhead = Letterhead::load(&mut tx).await?;
        let link = state.config.tenancy.school_url(
            entry.slug.as_str(),
            &format!("/password/reset/{}", token.expose()),
        );
        let language = Language::from_tag(&account.language)
            .or_else(|| Language::from_tag(&request.language))
            .unwrap_or(Language::Nl);
        Outbox::new(state.templates.clone(), &state.config.mail)
            .enqueue(
                &mut tx,
                MailRequest {
                    // The address as the account holds it: that is where it was confirmed.
                    to: &account.email,
                    template: "registration/password_reset",
                    language,
                    urgent: true,
                    context: &PasswordResetMail { link: &link },
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
        tracing::info!(account.id = account.id, "password reset link sent");
    }
    tx.commit().await?;
    Ok(true)
}

/// Answers requests as they come (announced) and every few seconds regardless, for as long
/// as the process runs.
pub fn spawn(state: &AppState) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let woken = wake.clone();
    schoolplein_kernel::school_cache::listen(&state.config.database, &[CHANNEL], move |_| {
        woken.notify_one();
    })?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        loop {
            if let Err(error) = answer_pending(&state).await
                && error.unreachable_server().is_none()
            {
                tracing::error!(%error, "account mail requests could not be answered");
            }
            let _ = tokio::time::timeout(POLL_EVERY, wake.notified()).await;
        }
    }))
}
