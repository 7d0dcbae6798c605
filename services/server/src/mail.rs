//! The mail commands: `schoolplein worker`, `schoolplein mail check`, and the outbox worker
//! that runs inside `serve`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use schoolplein_kernel::{AppState, Config, Language, db};
use schoolplein_mailing::schedule::{self, ScheduleReport};
use schoolplein_mailing::{DeliveryCheckMail, Outbox, Worker, WorkerStats};
use tenant_router::{TenantId, TenantSlug};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app;
use crate::cli::CliError;
use crate::serve;

/// `schoolplein worker`: delivers mail until SIGTERM or Ctrl-C.
pub async fn run_worker(config: Config) -> Result<(), CliError> {
    let mut database = config.database.clone();
    // Each concurrent send records its outcome, and one connection listens for wake-ups.
    database.max_connections = config.mail.concurrency + 2;
    database.min_connections = 0;
    let pool = db::postgres_pool(&database)?;
    let worker = Worker::new(pool, &config.mail).map_err(|e| CliError::Usage(e.to_string()))?;
    worker.run(serve::shutdown_signal()).await;
    Ok(())
}

/// Runs the outbox worker beside the web server unless `mail.worker_in_serve = false`. It
/// stops when `stop` turns true.
pub fn spawn_worker_in_serve(
    state: &AppState,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<JoinHandle<WorkerStats>>, CliError> {
    if !state.config.mail.worker_in_serve {
        return Ok(None);
    }
    let worker = Worker::new(state.db.pool().clone(), &state.config.mail)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Some(tokio::spawn(worker.run(async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
    }))))
}

/// Waits (at most `grace`) for the worker inside `serve` to finish its sends under way.
pub async fn finish_worker_in_serve(worker: Option<JoinHandle<WorkerStats>>, grace: Duration) {
    if let Some(worker) = worker
        && tokio::time::timeout(grace, worker).await.is_err()
    {
        tracing::warn!("mail worker still sending after the grace period; stopping anyway");
    }
}

/// `schoolplein mail check <slug> <address>`: queues the delivery check in the school's name.
pub async fn run_mail_check(
    config: &Config,
    slug: &TenantSlug,
    address: &str,
    language: Language,
) -> Result<(), CliError> {
    let mut database = config.database.clone();
    database.max_connections = 1;
    database.min_connections = 0;
    let pool = db::postgres_pool(&database)?;
    let tenant: i64 = sqlx::query_scalar("SELECT id FROM platform.tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&pool)
        .await?
        .ok_or_else(|| CliError::Usage(format!("no school has slug {:?}", slug.as_str())))?;
    let outbox = Outbox::new(Arc::new(app::templates().build()?), &config.mail);
    let id = DeliveryCheckMail::enqueue(&pool, &outbox, TenantId::new(tenant), address, language)
        .await
        .map_err(|e| {
            if e.is_bad_request() {
                CliError::Usage(e.to_string())
            } else {
                CliError::Failed(e.into())
            }
        })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "queued mail {id} for {slug}; a worker sends it (`schoolplein worker`, or inside `serve`)"
    )?;
    Ok(())
}

/// `nl` or `en`.
pub fn parse_language(raw: &str) -> Result<Language, String> {
    Language::ALL
        .into_iter()
        .find(|language| language.tag() == raw)
        .ok_or_else(|| format!("{raw:?} is not a language we write in (nl or en)"))
}

/// How often `serve` looks for jobs due.
const JOBS_EVERY: Duration = Duration::from_secs(60);

/// `schoolplein jobs run [--at …]`: the clock's jobs due at `at`, once, for every school.
pub async fn run_jobs(config: &Config, at: chrono::DateTime<chrono::Utc>) -> Result<(), CliError> {
    let mut database = config.database.clone();
    database.max_connections = schedule::SCHOOLS_AT_ONCE as u32 + 1;
    database.min_connections = 0;
    let pool = db::postgres_pool(&database)?;
    let templates = Arc::new(app::templates().build()?);
    let report = schedule::run_due(&pool, &pool, templates, config, at)
        .await
        .map_err(|e| CliError::Failed(e.into()))?;
    let ScheduleReport {
        schools,
        digests,
        digest_items,
        reminders,
        invitation_reminders,
        signup_mails,
        message_notices,
        failed,
    } = report;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{schools} schools at {at}: {digests} digests ({digest_items} items), \
         {reminders} questionnaire reminders, {invitation_reminders} invitation reminders, \
         {signup_mails} sign-up mails to admins, {message_notices} message notices, \
         {failed} schools failed"
    )?;
    if failed > 0 {
        return Err(CliError::Failed(anyhow::anyhow!("{failed} schools failed")));
    }
    Ok(())
}

/// Runs the clock's jobs every minute beside the web server, where the outbox worker runs
/// (`mail.worker_in_serve`); until `stop` turns true. Several servers may: a school's run
/// waits for another's and then finds nothing due.
pub fn spawn_jobs_in_serve(
    state: &AppState,
    mut stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    if !state.config.mail.worker_in_serve {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(JOBS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            let now = chrono::Utc::now();
            match schedule::run_due(
                state.db.pool(),
                &state.schools,
                state.templates.clone(),
                &state.config,
                now,
            )
            .await
            {
                Ok(report)
                    if report.digests
                        + report.reminders
                        + report.invitation_reminders
                        + report.signup_mails
                        > 0
                        || report.failed > 0 =>
                {
                    tracing::info!(?report, "scheduled jobs ran");
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "scheduled jobs could not run"),
            }
        }
    }))
}
