//! The outbox worker: claims due mail in short transactions, sends it outside any
//! transaction, and records each outcome at once. Any number of workers may run side by side.
//!
//! Delivery is at least once, and as close to exactly once as SMTP allows: a mail is
//! recorded as sent right after the server's `250` to the final dot, so only a crash (or a
//! lost database) in the moment between that reply and the `UPDATE` resends it — at most
//! `concurrency` mails per crashed worker — and the resent copy carries the same Message-ID.
//! A timeout waiting for that very reply is the other case (RFC 1047): the server may have
//! taken the mail, and it is retried. See docs/ARCHITECTURE.md.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use lettre::message::Mailbox;
use rand::Rng;
use schoolplein_kernel::config::MailConfig;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::db::outbox::{self, ClaimedMail};
use crate::error::MailError;
use crate::outbox::NOTIFY_CHANNEL;
use crate::transport::{SendFailure, Transport, sender};

/// After this many failed attempts a mail is reported at error level on every further one.
const LOUD_AFTER_ATTEMPTS: i32 = 10;

/// What a worker did before it stopped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStats {
    pub sent: u64,
    pub failed: u64,
    /// Claimed, then given back unsent (the worker was stopping or its lease ran short).
    pub released: u64,
}

enum Outcome {
    Sent,
    Failed,
    NotStarted(Box<ClaimedMail>),
}

/// One outbox worker.
#[derive(Debug)]
pub struct Worker {
    pool: PgPool,
    transport: Transport,
    from: Mailbox,
    batch_size: u32,
    concurrency: usize,
    lease: Duration,
    poll_interval: Duration,
    retry_base: Duration,
    retry_max: Duration,
    give_up_after: chrono::Duration,
}

impl Worker {
    /// A worker on `pool`, which needs `mail.concurrency + 2` connections to spare (one
    /// listens for wake-ups).
    pub fn new(pool: PgPool, config: &MailConfig) -> Result<Self, MailError> {
        Ok(Self {
            pool,
            transport: Transport::from_config(config)?,
            from: sender(config)?,
            batch_size: config.batch_size,
            concurrency: config.concurrency as usize,
            lease: Duration::from_secs(config.lease_secs),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            retry_base: Duration::from_millis(config.retry_base_ms),
            retry_max: Duration::from_millis(config.retry_max_ms),
            give_up_after: chrono::Duration::hours(
                i64::try_from(config.give_up_after_hours).unwrap_or(i64::MAX / 3_600_000),
            ),
        })
    }

    /// Delivers mail until `shutdown` completes; then finishes the sends under way, gives
    /// back what it claimed but did not start, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> WorkerStats {
        let (stop_tx, mut stop) = watch::channel(false);
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let mut listener = None;
        let mut stats = WorkerStats::default();
        tracing::info!(
            batch_size = self.batch_size,
            concurrency = self.concurrency,
            "mail worker started"
        );
        while !*stop.borrow() {
            self.drain(&stop, &mut stats).await;
            if *stop.borrow() {
                break;
            }
            if listener.is_none() {
                listener = self.listen().await;
            }
            tokio::select! {
                _ = stop.changed() => {}
                woken = wake_up(&mut listener) => {
                    if !woken {
                        // The listener failed; the poll below keeps mail moving meanwhile.
                        listener = None;
                        tokio::time::sleep(self.poll_interval).await;
                    }
                }
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        signal.abort();
        self.transport.close().await;
        tracing::info!(
            sent = stats.sent,
            failed = stats.failed,
            released = stats.released,
            "mail worker stopped"
        );
        stats
    }

    /// Claims and delivers batches until nothing is due (or the worker is stopping).
    async fn drain(&self, stop: &watch::Receiver<bool>, stats: &mut WorkerStats) {
        while !*stop.borrow() {
            let batch = match outbox::claim(&self.pool, self.batch_size, self.lease).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "cannot claim mail; trying again after the poll interval");
                    return;
                }
            };
            let full = batch.len() == self.batch_size as usize;
            if batch.is_empty() {
                return;
            }
            self.deliver(batch, stop, stats).await;
            if !full {
                return;
            }
        }
    }

    async fn deliver(
        &self,
        batch: Vec<ClaimedMail>,
        stop: &watch::Receiver<bool>,
        stats: &mut WorkerStats,
    ) {
        // A send starts in the first half of the lease and may take at most the other half,
        // so no other worker can take a mail over while this one may still be sending it.
        let claimed_at = Instant::now();
        let half_lease = self.lease / 2;
        let outcomes: Vec<Outcome> = futures_util::stream::iter(batch)
            .map(|mail| async move {
                if *stop.borrow() || claimed_at.elapsed() >= half_lease {
                    return Outcome::NotStarted(Box::new(mail));
                }
                // Its address does not take mail (N4): failed without trying, until its owner
                // says it works again.
                if mail.undeliverable {
                    self.record_failure(
                        &mail,
                        &SendFailure {
                            permanent: true,
                            summary: "address undeliverable".into(),
                        },
                    )
                    .await;
                    return Outcome::Failed;
                }
                let sent = tokio::time::timeout(half_lease, self.transport.send(&self.from, &mail))
                    .await
                    .unwrap_or_else(|_| {
                        Err(SendFailure {
                            permanent: false,
                            summary: "send took longer than half the lease".into(),
                        })
                    });
                match sent {
                    Ok(()) => {
                        self.record_sent(&mail, claimed_at).await;
                        Outcome::Sent
                    }
                    Err(failure) => {
                        self.record_failure(&mail, &failure).await;
                        Outcome::Failed
                    }
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut not_started = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Sent => stats.sent += 1,
                Outcome::Failed => stats.failed += 1,
                Outcome::NotStarted(mail) => not_started.push(*mail),
            }
        }
        stats.released += not_started.len() as u64;
        if let Err(error) = outbox::release(&self.pool, &not_started).await {
            // Harmless: their lease ends and they fall due again.
            tracing::warn!(%error, count = not_started.len(), "cannot give back claimed mail");
        }
    }

    /// Records the server's acceptance, retrying while the database is away: every moment
    /// the record is missing is a moment in which a crash would send the mail again.
    async fn record_sent(&self, mail: &ClaimedMail, claimed_at: Instant) {
        let mut pause = Duration::from_millis(50);
        loop {
            match outbox::mark_sent(&self.pool, mail.id).await {
                Ok(()) => {
                    tracing::debug!(mail.id = mail.id, tenant.id = ?mail.tenant_id, attempts = mail.attempts, "mail sent");
                    return;
                }
                Err(error) if claimed_at.elapsed() < self.lease => {
                    tracing::warn!(mail.id = mail.id, %error, "mail sent but not yet recorded; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(error) => {
                    tracing::error!(
                        mail.id = mail.id,
                        %error,
                        "mail sent but could not be recorded; it will be sent again"
                    );
                    return;
                }
            }
        }
    }

    async fn record_failure(&self, mail: &ClaimedMail, failure: &SendFailure) {
        // A refusal for good, or one for now that has lasted too long, ends the mail's tries
        // and marks its address (N4); anything else backs off and tries again.
        let gave_up =
            !failure.permanent && chrono::Utc::now() - mail.created_at > self.give_up_after;
        if failure.permanent || gave_up {
            let summary = if gave_up {
                format!("gave up: {}", failure.summary)
            } else {
                failure.summary.clone()
            };
            tracing::warn!(mail.id = mail.id, tenant.id = ?mail.tenant_id, attempts = mail.attempts, error = %summary, "mail failed for good; its address is marked undeliverable");
            if let Err(error) = outbox::mark_failed_for_good(&self.pool, mail, &summary).await {
                // The lease ends by itself and the mail falls due again.
                tracing::warn!(mail.id = mail.id, %error, "cannot record a failed mail");
            }
            return;
        }
        let retry_in = backoff(
            self.retry_base,
            self.retry_max,
            mail.attempts,
            failure.permanent,
        );
        let retry_in_ms = retry_in.as_millis() as u64;
        if mail.attempts >= LOUD_AFTER_ATTEMPTS {
            tracing::error!(mail.id = mail.id, tenant.id = ?mail.tenant_id, attempts = mail.attempts, error = %failure.summary, retry_in_ms, "mail still undelivered");
        } else {
            tracing::warn!(mail.id = mail.id, tenant.id = ?mail.tenant_id, attempts = mail.attempts, error = %failure.summary, retry_in_ms, "mail not delivered; will retry");
        }
        if let Err(error) = outbox::mark_failed(&self.pool, mail, retry_in, &failure.summary).await
        {
            // The lease ends by itself and the mail falls due again.
            tracing::warn!(mail.id = mail.id, %error, "cannot record a failed attempt");
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let connected = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match connected.await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for new mail; polling only");
                None
            }
        }
    }
}

/// Exponential back-off with jitter: between half and all of `base × 2^(attempts−1)`,
/// capped at `max`. A permanent refusal waits the longest; nothing is ever dropped.
fn backoff(base: Duration, max: Duration, attempts: i32, permanent: bool) -> Duration {
    let ceiling = if permanent {
        max
    } else {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        base.saturating_mul(1 << doublings).min(max)
    };
    let ceiling_ms = ceiling.as_millis() as u64;
    let jittered = rand::rng().random_range(ceiling_ms / 2..=ceiling_ms);
    Duration::from_millis(jittered)
}

/// Waits for a notification; true when one came, false when the listener failed (or there
/// is none: then it waits forever and the poll decides).
async fn wake_up(listener: &mut Option<PgListener>) -> bool {
    let Some(active) = listener else {
        return std::future::pending().await;
    };
    match active.recv().await {
        Ok(_) => {
            // One claim serves every mail committed so far.
            while active.next_buffered().is_some() {}
            true
        }
        Err(error) => {
            tracing::warn!(%error, "lost the mail notification listener");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stays_capped() {
        let (base, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for attempts in 1..=12 {
            let expected = Duration::from_millis((1000u64 << (attempts - 1)).min(60_000));
            for _ in 0..50 {
                let delay = backoff(base, max, attempts, false);
                assert!(
                    delay <= expected && delay >= expected / 2,
                    "{attempts}: {delay:?}"
                );
            }
        }
        assert!(backoff(base, max, i32::MAX, false) <= max);
        assert!(backoff(base, max, 0, false) <= base);
        assert!(backoff(base, max, 1, true) >= max / 2);
    }
}
