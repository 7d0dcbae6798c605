//! `schoolplein mail receive`: one message that came back to the platform, read from standard
//! input as a mail server's delivery command (Postfix's `pipe`, Exim's `pipe` transport) hands
//! it over. An answer becomes a message in its conversation, a delivery report fails the mail
//! it names, an automatic answer is dropped; anything else is refused with a sysexits code
//! and a reason the mail server returns to its sender. Nothing is written half: each outcome
//! is one transaction, and a refusal writes nothing.

use std::io::Read;

use schoolplein_kernel::{Config, db};
use schoolplein_mailing::db::outbox;
use schoolplein_mailing::inbound::{self, Bounce, Inbound, Refusal, Reply};
use schoolplein_mailing::replies;
use schoolplein_portal::conversations::by_mail::{self, NotTaken};
use sqlx::PgPool;
use tenant_router::TenantTx;

use crate::cli::CliError;

/// sysexits(3): the mail server keeps the message and tries again later.
const EX_TEMPFAIL: u8 = 75;
/// sysexits(3): refused for who sent it (an address that is not theirs).
const EX_NOPERM: u8 = 77;
/// sysexits(3): no such address.
const EX_NOUSER: u8 = 67;

fn refused(code: u8, reason: impl Into<String>) -> CliError {
    CliError::Refused {
        code,
        reason: reason.into(),
    }
}

/// Something on our side failed: the mail server keeps the message and tries again.
fn try_later(error: impl std::fmt::Display) -> CliError {
    tracing::error!(%error, "mail receive failed; the mail server will try again");
    refused(
        EX_TEMPFAIL,
        "temporary failure at Schoolplein; please try again later",
    )
}

/// Reads the message on standard input and does what it asks.
pub async fn run_mail_receive(config: &Config, recipient: Option<&str>) -> Result<(), CliError> {
    let limit = config.mail.inbound_max_bytes;
    // One byte past the limit tells a message that is too large from one that just fits.
    let bytes = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    })
    .await
    .map_err(try_later)?
    .map_err(try_later)?;
    let domain = config.mail.inbound_domain.trim();
    if domain.is_empty() {
        return Err(refused(
            EX_TEMPFAIL,
            "mail.inbound_domain is not set: Schoolplein takes no mail back",
        ));
    }
    let inbound = inbound::read(&bytes, recipient, domain, limit)
        .map_err(|refusal: Refusal| refused(refusal.exit_code(), refusal.explain()))?;
    let mut database = config.database.clone();
    database.max_connections = 1;
    database.min_connections = 0;
    let pool = db::postgres_pool(&database).map_err(try_later)?;
    match inbound {
        Inbound::Reply(reply) => take_reply(&pool, reply).await,
        Inbound::Bounce(bounce) => fail_bounced(&pool, &bounce).await,
        Inbound::Delayed => {
            tracing::info!("delivery report without a failure: nothing to do");
            Ok(())
        }
        Inbound::Automatic => {
            tracing::info!("automatic answer dropped");
            Ok(())
        }
    }
}

async fn take_reply(pool: &PgPool, reply: Reply) -> Result<(), CliError> {
    let status = crate::db::tenant_status(pool, reply.school)
        .await
        .map_err(try_later)?;
    match status.as_deref() {
        None => return Err(refused(EX_NOUSER, Refusal::NoSuchAddress.explain())),
        // A school that is paused takes its answers when it is back.
        Some("suspended") => {
            return Err(refused(
                EX_TEMPFAIL,
                "this school is not available right now; please try again later",
            ));
        }
        Some(_) => {}
    }
    let mut tx = TenantTx::begin(pool, reply.school)
        .await
        .map_err(try_later)?;
    let Some(found) = replies::find(&mut tx, &reply.token)
        .await
        .map_err(try_later)?
    else {
        return Err(refused(EX_NOUSER, Refusal::NoSuchAddress.explain()));
    };
    let outcome = by_mail::take(&mut tx, found, &reply.from, &reply.text, reply.files_left)
        .await
        .map_err(try_later)?;
    match outcome {
        Ok(taken) => {
            tx.commit().await.map_err(try_later)?;
            tracing::info!(
                tenant.id = reply.school.get(),
                conversation.id = taken.conversation_id,
                message.id = taken.message_id,
                "answer by mail taken"
            );
            Ok(())
        }
        Err(not_taken) => {
            tx.rollback().await.map_err(try_later)?;
            let code = match not_taken {
                NotTaken::WrongSender => EX_NOPERM,
                _ => EX_NOUSER,
            };
            Err(refused(code, not_taken.explain()))
        }
    }
}

async fn fail_bounced(pool: &PgPool, bounce: &Bounce) -> Result<(), CliError> {
    // The status is the report's; only its digits and dots go into our records.
    let status: String = bounce
        .status
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .take(9)
        .collect();
    let reason = format!("delivery report {status}");
    let failed = outbox::fail_by_report(
        pool,
        bounce
            .mail
            .as_ref()
            .map(|(id, token)| (*id, token.as_str())),
        &bounce.message_ids,
        &bounce.failed,
        &reason,
    )
    .await
    .map_err(try_later)?;
    // A report about no mail of ours is dropped, never returned: that would only make more.
    tracing::info!(mails = failed, %reason, "delivery report taken");
    Ok(())
}
