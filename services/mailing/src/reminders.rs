//! Reminders of a questionnaire to those it asks who have not answered: by staff with one
//! click, and automatically the day before its deadline.

use chrono::{DateTime, Utc};
use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::{Letterhead, MailError, MailRequest, Outbox};

/// Why a reminder goes out: the mail says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderReason {
    /// A staff member asked for it.
    ByStaff,
    /// The deadline is less than a day away.
    DeadlineNear,
}

#[derive(Debug, Serialize)]
struct ReminderMail<'a> {
    title: &'a str,
    answers_until: Option<String>,
    reason: ReminderReason,
    link: &'a str,
}

/// Mails a reminder of post `post_id`'s questionnaire to every addressee who has not
/// answered all their sections (a partner in joint use answering counts), in `tx`; returns
/// how many were mailed.
pub async fn mail_unanswered(
    tx: &mut TenantTx,
    outbox: &Outbox,
    post_id: i64,
    link: &str,
    reason: ReminderReason,
) -> Result<usize, MailError> {
    let (title, answers_until): (String, Option<String>) = sqlx::query_as(
        "SELECT title,
                to_char(answers_until AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM-DD HH24:MI')
           FROM posts WHERE id = $1",
    )
    .bind(post_id)
    .fetch_one(&mut **tx)
    .await?;
    let unanswered: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT pe.email, a.language
           FROM (SELECT person_id FROM post_answered($1)
                  GROUP BY person_id HAVING bool_or(response_id IS NULL)) todo
           JOIN people pe ON pe.id = todo.person_id
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          ORDER BY pe.id",
    )
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await?;
    if unanswered.is_empty() {
        return Ok(0);
    }
    let letterhead = Letterhead::load(tx).await?;
    let mail = ReminderMail {
        title: &title,
        answers_until,
        reason,
        link,
    };
    let mut batch = outbox.batch();
    for (email, language) in &unanswered {
        batch
            .add(
                tx,
                MailRequest {
                    to: email,
                    template: "mailing/questionnaire_reminder",
                    language: Language::of_account(language.as_deref()),
                    urgent: false,
                    context: &mail,
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
    }
    batch.finish(tx).await?;
    Ok(unanswered.len())
}

/// Posts whose deadline is less than a day after `now` (and not passed) and whose automatic
/// reminder has not gone out: each is reminded once, marked in the same transaction.
/// Returns how many mails were queued.
pub async fn remind_near_deadlines(
    tx: &mut TenantTx,
    outbox: &Outbox,
    now: DateTime<Utc>,
    link_to: impl Fn(i64) -> String,
) -> Result<usize, MailError> {
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM posts
          WHERE answers_until > $1 AND answers_until <= $1 + interval '1 day'
            AND deadline_reminded_at IS NULL
            AND EXISTS (SELECT 1 FROM questions q WHERE q.post_id = posts.id)
          ORDER BY id FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let mut mailed = 0;
    for post_id in due {
        mailed += mail_unanswered(
            tx,
            outbox,
            post_id,
            &link_to(post_id),
            ReminderReason::DeadlineNear,
        )
        .await?;
        sqlx::query("UPDATE posts SET deadline_reminded_at = $2 WHERE id = $1")
            .bind(post_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(mailed)
}
