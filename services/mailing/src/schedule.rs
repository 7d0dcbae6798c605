//! The jobs that run by the clock: for every active school, the questionnaire reminders,
//! the reminders of parent invitations, the admins' mail about sign-ups and the digests due at a given instant. The server runs them every minute; the command
//! line runs them once at any instant (how tests set the clock).

use std::sync::Arc;

use chrono::{DateTime, Timelike, Utc};
use futures_util::StreamExt as _;
use schoolplein_kernel::audience::PostKind;
use schoolplein_kernel::config::Config;
use schoolplein_kernel::settings::{self, Module};
use schoolplein_kernel::templates::Templates;
use sqlx::PgPool;
use tenant_router::{SchoolPool, TenantId, TenantTx};

use crate::{MailError, Outbox, digest, invitations, message_notices, reminders, signups};

/// What one run did, over all schools.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleReport {
    pub schools: usize,
    pub digests: usize,
    pub digest_items: usize,
    pub reminders: usize,
    /// Reminders of parent invitations not yet accepted after a week.
    pub invitation_reminders: usize,
    /// Mails to admins about parents' sign-ups waiting for their approval.
    pub signup_mails: usize,
    /// Notices of messages waiting unread (N3).
    pub message_notices: usize,
    /// Schools whose jobs failed (logged; the others went on, and the next run tries again).
    pub failed: usize,
}

/// How many schools' jobs run at once (each on a connection of its own).
pub const SCHOOLS_AT_ONCE: usize = 4;

/// Runs the jobs due at `now` for every active school, one transaction per school.
pub async fn run_due(
    platform: &PgPool,
    schools: &impl SchoolPool,
    templates: Arc<Templates>,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<ScheduleReport, MailError> {
    let active: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, slug FROM platform.tenants WHERE status = 'active' ORDER BY id")
            .fetch_all(platform)
            .await?;
    let outbox = Outbox::new(templates, &config.mail);
    let mut report = ScheduleReport::default();
    // A few schools at a time: each run is mostly waiting on PostgreSQL (its queries, its
    // commit), so overlapping them uses the database's cores; more would only queue there.
    let mut runs = futures_util::stream::iter(active)
        .map(|(id, slug)| {
            let outbox = &outbox;
            async move {
                let result =
                    run_school(schools, TenantId::new(id), &slug, outbox, config, now).await;
                (id, result)
            }
        })
        .buffer_unordered(SCHOOLS_AT_ONCE);
    while let Some((id, result)) = runs.next().await {
        report.schools += 1;
        match result {
            Ok(SchoolRun {
                outcome,
                reminded,
                invitations,
                signup_mails,
                message_notices,
            }) => {
                report.signup_mails += signup_mails;
                report.message_notices += message_notices;
                report.digests += outcome.mailed;
                report.digest_items += outcome.items;
                report.reminders += reminded;
                report.invitation_reminders += invitations;
            }
            Err(error) => {
                report.failed += 1;
                tracing::error!(school.id = id, %error, "scheduled jobs failed for a school");
            }
        }
    }
    Ok(report)
}

async fn run_school(
    schools: &impl SchoolPool,
    tenant: TenantId,
    slug: &str,
    outbox: &Outbox,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<SchoolRun, MailError> {
    let url = |path: &str| config.tenancy.school_url(slug, path);
    let mut tx = TenantTx::begin(schools, tenant).await?;
    let reminded = reminders::remind_near_deadlines(&mut tx, outbox, now, |post_id| {
        url(&format!("/posts/{post_id}"))
    })
    .await?;
    let invitations = invitations::remind_invited(&mut tx, outbox, now, |token| {
        url(&format!("/invited/{}", token.expose()))
    })
    .await?;
    let signup_mails = signups::tell_admins(&mut tx, outbox, now, &url("/admin/parents")).await?;
    let school_settings = settings::read(&mut tx).await?;
    let message_notices = if school_settings.is_on(Module::Messages) {
        message_notices::send_due(&mut tx, outbox, now, url).await?
    } else {
        0
    };
    let kinds = PostKind::shown_by(&school_settings);
    let messages_on = school_settings.is_on(Module::Messages);
    let outcome = digest::run(&mut tx, outbox, now, &kinds, messages_on, url).await?;
    // Once a day, at night: what no mail can use any more.
    if now.hour() == FORGET_AT_HOUR && now.minute() == 0 {
        crate::replies::forget_old(&mut tx, now).await?;
    }
    tx.commit().await?;
    Ok(SchoolRun {
        outcome,
        reminded,
        invitations,
        signup_mails,
        message_notices,
    })
}

/// The hour (UTC) whose first minute forgets expired reply addresses and old unsubscribe
/// links: a quiet one in the Netherlands.
pub const FORGET_AT_HOUR: u32 = 2;

/// What the jobs did in one school.
struct SchoolRun {
    outcome: digest::DigestOutcome,
    reminded: usize,
    invitations: usize,
    signup_mails: usize,
    message_notices: usize,
}
