//! Telling about parents' sign-ups (A2, T5): the school's admins hear of links waiting for
//! their approval in one mail per batch, at most once per [`BATCH_EVERY`]; a parent hears
//! when an admin approves or declines their link.

use chrono::{DateTime, Duration, Utc};
use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::db::signups::{self, WaitingLink};
use crate::{Letterhead, MailError, MailRequest, Outbox};

/// The least time between two batches of one school: the evening the letters go home brings
/// dozens of sign-ups, and an admin wants one mail about them, not one each.
pub const BATCH_EVERY: Duration = Duration::hours(1);

#[derive(Debug, Serialize)]
struct WaitingMail<'a> {
    name: &'a str,
    links: &'a [WaitingLink],
    /// Also those told before and still waiting.
    waiting: i64,
    link: &'a str,
}

/// Mails every admin of the school, once, about the links that started waiting since the
/// last batch, if the last batch is at least [`BATCH_EVERY`] old; marks them told. Returns
/// how many mails were queued.
pub async fn tell_admins(
    tx: &mut TenantTx,
    outbox: &Outbox,
    now: DateTime<Utc>,
    link: &str,
) -> Result<usize, MailError> {
    // Most minutes nothing waits: then nothing is locked or written.
    if !signups::any_untold(tx, now).await? {
        return Ok(0);
    }
    // One batch per school at a time: the row lock orders two clocks that run together, and
    // the second finds the first's batch too recent (or nothing left untold).
    let last = signups::lock_last_batch(tx).await?;
    if last.is_some_and(|at| now - at < BATCH_EVERY) {
        return Ok(0);
    }
    let links = signups::untold(tx, now).await?;
    if links.is_empty() {
        return Ok(0);
    }
    let admins = signups::admins(tx).await?;
    let waiting = signups::waiting(tx).await?;
    let letterhead = Letterhead::load(tx).await?;
    for admin in &admins {
        outbox
            .enqueue(
                tx,
                MailRequest {
                    to: &admin.email,
                    template: "mailing/signups_waiting",
                    language: Language::of_account(admin.language.as_deref()),
                    urgent: false,
                    context: &WaitingMail {
                        name: &admin.name,
                        links: &links,
                        waiting,
                        link,
                    },
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
    }
    signups::mark_told(tx, now).await?;
    Ok(admins.len())
}

#[derive(Debug, Serialize)]
struct DecidedMail<'a> {
    name: &'a str,
    child: &'a str,
    approved: bool,
    link: &'a str,
}

/// Tells the parent that an admin approved (or declined) their link with `pupil_id`, in the
/// caller's transaction — the mail exists exactly when the decision does.
pub async fn tell_parent(
    tx: &mut TenantTx,
    outbox: &Outbox,
    pupil_id: i64,
    person_id: i64,
    approved: bool,
    link: &str,
) -> Result<bool, MailError> {
    let Some(parent) = signups::parent_of_link(tx, pupil_id, person_id).await? else {
        return Ok(false);
    };
    let letterhead = Letterhead::load(tx).await?;
    outbox
        .enqueue(
            tx,
            MailRequest {
                to: &parent.email,
                template: "mailing/signup_decided",
                language: Language::of_account(parent.language.as_deref()),
                urgent: false,
                context: &DecidedMail {
                    name: &parent.name,
                    child: &parent.child,
                    approved,
                    link,
                },
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    Ok(true)
}
