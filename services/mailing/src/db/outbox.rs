//! `platform.outbox`: writing mails, claiming them for delivery, and recording the outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::MailId;

/// A rendered mail, ready to be written.
#[derive(Debug)]
pub struct NewMail<'a> {
    pub tenant_id: Option<i64>,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub message_id: &'a str,
    pub urgent: bool,
    /// The sender's name when not the platform's ("De Klimop via Schoolplein").
    pub sender_name: Option<&'a str>,
    /// Where answers go, when not to the sender.
    pub reply_to: Option<&'a str>,
    /// The one-click unsubscribe address of a bulk mail (RFC 8058).
    pub list_unsubscribe: Option<&'a str>,
    /// For the delivery figures (N7): the person it went to and `post:<id>` or `message:<id>`.
    pub person_id: Option<i64>,
    pub about: Option<&'a str>,
}

/// Writes the mail and wakes the workers when the caller's transaction commits.
pub async fn insert(
    conn: &mut PgConnection,
    mail: &NewMail<'_>,
    notify_channel: &str,
) -> Result<MailId, sqlx::Error> {
    // One round trip: the row, and a notification PostgreSQL delivers only at commit (and
    // never, if the transaction rolls back).
    let id: i64 = sqlx::query_scalar(
        "WITH inserted AS (
             INSERT INTO platform.outbox
                 (tenant_id, recipient, subject, body_text, body_html, message_id, urgent,
                  sender_name, reply_to, list_unsubscribe, person_id, about)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10, $11, $12, $13)
             RETURNING id)
         SELECT id FROM inserted, pg_notify($8, '')",
    )
    .bind(mail.tenant_id)
    .bind(mail.recipient)
    .bind(mail.subject)
    .bind(mail.body_text)
    .bind(mail.body_html)
    .bind(mail.message_id)
    .bind(mail.urgent)
    .bind(notify_channel)
    .bind(mail.sender_name)
    .bind(mail.reply_to)
    .bind(mail.list_unsubscribe)
    .bind(mail.person_id)
    .bind(mail.about)
    .fetch_one(conn)
    .await?;
    Ok(MailId::new(id))
}

/// Writes a mail's files, in order, and counts them on the mail.
pub async fn insert_attachments(
    conn: &mut PgConnection,
    mail_id: i64,
    files: &[crate::domain::MailAttachment],
) -> Result<(), sqlx::Error> {
    if files.is_empty() {
        return Ok(());
    }
    let positions: Vec<i16> = (0..files.len())
        .map(|i| i16::try_from(i).unwrap_or(i16::MAX))
        .collect();
    sqlx::query(
        "WITH files AS (
             INSERT INTO platform.outbox_attachments (mail_id, position, file_name, content_type, bytes)
             SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::text[], $5::bytea[])
             RETURNING 1)
         UPDATE platform.outbox SET attachments = (SELECT count(*) FROM files) WHERE id = $1",
    )
    .bind(mail_id)
    .bind(&positions)
    .bind(files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>())
    .bind(files.iter().map(|f| f.content_type).collect::<Vec<_>>())
    .bind(files.iter().map(|f| f.bytes.as_slice()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A file a claimed mail carries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachedFile {
    pub mail_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Writes the mails in one statement and wakes the workers (once) when the caller's
/// transaction commits.
pub async fn insert_many<'a>(
    conn: &mut PgConnection,
    mails: &[NewMail<'a>],
    notify_channel: &str,
) -> Result<(), sqlx::Error> {
    let column = |field: fn(&NewMail<'a>) -> &'a str| mails.iter().map(field).collect::<Vec<_>>();
    sqlx::query(
        "WITH inserted AS (
             INSERT INTO platform.outbox
                 (tenant_id, recipient, subject, body_text, body_html, message_id, urgent,
                  sender_name, reply_to, list_unsubscribe, person_id, about)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::text[], $7::boolean[], $9::text[], $10::text[],
                                  $11::text[], $12::bigint[], $13::text[])
             RETURNING 1)
         SELECT count(*) FROM inserted, pg_notify($8, '')",
    )
    .bind(mails.iter().map(|m| m.tenant_id).collect::<Vec<_>>())
    .bind(column(|m| m.recipient))
    .bind(column(|m| m.subject))
    .bind(column(|m| m.body_text))
    .bind(column(|m| m.body_html))
    .bind(column(|m| m.message_id))
    .bind(mails.iter().map(|m| m.urgent).collect::<Vec<_>>())
    .bind(notify_channel)
    .bind(mails.iter().map(|m| m.sender_name).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.reply_to).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.list_unsubscribe).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.person_id).collect::<Vec<_>>())
    .bind(mails.iter().map(|m| m.about).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A mail claimed by one worker until its lease ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedMail {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub urgent: bool,
    pub sender_name: Option<String>,
    pub reply_to: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Including this one.
    pub attempts: i32,
    /// The end of this worker's lease; it also identifies the claim, so that a worker whose
    /// lease ran out never touches the claim of the worker that took the mail over.
    pub claimed_until: DateTime<Utc>,
    /// Its address is marked undeliverable (N4): it is failed without being sent.
    pub undeliverable: bool,
    /// Its one-click unsubscribe address (RFC 8058), for a bulk mail.
    pub list_unsubscribe: Option<String>,
    /// The secret in its envelope sender, `bounce+<id>-<token>@…` (NULL for mail queued
    /// before there was one).
    pub return_token: Option<String>,
    /// How many files it carries.
    pub attachments: i16,
    /// Those files, read with the claim.
    #[sqlx(skip)]
    pub files: Vec<AttachedFile>,
}

/// Claims up to `limit` mails that are due, urgent first, then oldest, in one short
/// transaction. `SKIP LOCKED` lets several workers claim side by side without waiting on each
/// other. The lease moves `next_attempt_at` forward too, so a claim that a dead worker never
/// finishes simply falls due again when the lease ends — no sweeper needed.
pub async fn claim(
    pool: &PgPool,
    limit: u32,
    lease: Duration,
) -> Result<Vec<ClaimedMail>, sqlx::Error> {
    let mut claimed: Vec<ClaimedMail> = sqlx::query_as(
        "WITH due AS (
             SELECT id FROM platform.outbox
              WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
              ORDER BY urgent DESC, next_attempt_at, id
              LIMIT $1
              FOR UPDATE SKIP LOCKED)
         UPDATE platform.outbox o
            SET claimed_until = now() + make_interval(secs => $2),
                next_attempt_at = now() + make_interval(secs => $2),
                attempts = o.attempts + 1
           FROM due
          WHERE o.id = due.id
         RETURNING o.id, o.tenant_id, o.recipient, o.subject, o.body_text, o.body_html,
                   o.message_id, o.urgent, o.sender_name, o.reply_to, o.created_at,
                   o.attempts, o.claimed_until, o.list_unsubscribe, o.return_token,
                   o.attachments,
                   EXISTS (SELECT 1 FROM platform.undeliverable_addresses u
                            WHERE u.address = lower(o.recipient)) AS undeliverable",
    )
    .bind(i64::from(limit))
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await?;
    // Files only for the mail that has some: one more query, and only then.
    let with_files: Vec<i64> = claimed
        .iter()
        .filter(|m| m.attachments > 0)
        .map(|m| m.id)
        .collect();
    if !with_files.is_empty() {
        let files: Vec<AttachedFile> = sqlx::query_as(
            "SELECT mail_id, file_name, content_type, bytes FROM platform.outbox_attachments
              WHERE mail_id = ANY($1) ORDER BY mail_id, position",
        )
        .bind(&with_files)
        .fetch_all(pool)
        .await?;
        for file in files {
            if let Some(mail) = claimed.iter_mut().find(|m| m.id == file.mail_id) {
                mail.files.push(file);
            }
        }
    }
    // RETURNING keeps no order.
    claimed.sort_by_key(|mail| (!mail.urgent, mail.id));
    Ok(claimed)
}

/// Records that the SMTP server accepted the mail. Runs right after its reply, one mail at a
/// time, to keep the window in which a crash would resend as short as possible.
pub async fn mark_sent(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE platform.outbox SET sent_at = now(), claimed_until = NULL, last_error = NULL
          WHERE id = $1 AND sent_at IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a failed attempt and when to try again. `error` carries no personal data.
pub async fn mark_failed(
    pool: &PgPool,
    mail: &ClaimedMail,
    retry_in: Duration,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE platform.outbox
            SET next_attempt_at = now() + make_interval(secs => $3), claimed_until = NULL,
                last_error = $4
          WHERE id = $1 AND claimed_until = $2 AND sent_at IS NULL",
    )
    .bind(mail.id)
    .bind(mail.claimed_until)
    .bind(retry_in.as_secs_f64())
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Fails a mail for good (N4): it is not tried again, and its address is marked
/// undeliverable until its owner says they fixed it. `error` carries no personal data.
pub async fn mark_failed_for_good(
    pool: &PgPool,
    mail: &ClaimedMail,
    error: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let failed = sqlx::query(
        "UPDATE platform.outbox
            SET failed_at = now(), claimed_until = NULL, last_error = $3
          WHERE id = $1 AND claimed_until = $2 AND sent_at IS NULL",
    )
    .bind(mail.id)
    .bind(mail.claimed_until)
    .bind(error)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if failed > 0 {
        sqlx::query(
            "INSERT INTO platform.undeliverable_addresses (address, reason)
             VALUES (lower($1), $2) ON CONFLICT (address) DO NOTHING",
        )
        .bind(&mail.recipient)
        .bind(error)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Whether mail to `address` is marked undeliverable.
pub async fn is_undeliverable(pool: &PgPool, address: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM platform.undeliverable_addresses
                         WHERE address = lower($1))",
    )
    .bind(address)
    .fetch_one(pool)
    .await
}

/// The mails to an address older than this are not sent again when its owner says it works.
pub const TRY_AGAIN_WITHIN: &str = "7 days";

/// Its owner says mail to `address` works again: the mark goes, and the mail that failed for
/// it in the last [`TRY_AGAIN_WITHIN`] is due again; how many mails. Run it in a transaction
/// (`tx`), so that both happen or neither.
pub async fn try_again(tx: &mut sqlx::PgConnection, address: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM platform.undeliverable_addresses WHERE address = lower($1)")
        .bind(address)
        .execute(&mut *tx)
        .await?;
    let again = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE platform.outbox
            SET failed_at = NULL, next_attempt_at = now(), attempts = 0, last_error = NULL
          WHERE lower(recipient) = lower($1) AND failed_at IS NOT NULL
            AND created_at > now() - interval '{TRY_AGAIN_WITHIN}'"
    )))
    .bind(address)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(again)
}

/// Gives back claimed mails this worker will not send (it is stopping, or their lease ran
/// short), so another worker can take them at once. The attempt it never made is not counted.
pub async fn release(pool: &PgPool, mails: &[ClaimedMail]) -> Result<(), sqlx::Error> {
    if mails.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = mails.iter().map(|m| m.id).collect();
    let claims: Vec<DateTime<Utc>> = mails.iter().map(|m| m.claimed_until).collect();
    sqlx::query(
        "UPDATE platform.outbox o
            SET next_attempt_at = now(), claimed_until = NULL, attempts = o.attempts - 1
           FROM unnest($1::bigint[], $2::timestamptz[]) AS ours (id, claimed_until)
          WHERE o.id = ours.id AND o.claimed_until = ours.claimed_until AND o.sent_at IS NULL",
    )
    .bind(&ids)
    .bind(&claims)
    .execute(pool)
    .await?;
    Ok(())
}

/// A delivery report says mail could not be delivered (N4): fails the mail it names for good
/// — by its bounce address (`mail` = id and token), or else by Message-ID and recipient — and
/// marks its address undeliverable, in one transaction. `reason` carries no personal data.
/// How many mails it failed: 0 for a report about no mail of ours (or a forged one).
pub async fn fail_by_report(
    pool: &PgPool,
    mail: Option<(i64, &str)>,
    message_ids: &[String],
    recipients: &[String],
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let failed: Vec<String> = match mail {
        Some((id, token)) => {
            sqlx::query_scalar(
                "UPDATE platform.outbox
                    SET failed_at = coalesce(failed_at, now()), claimed_until = NULL,
                        last_error = $3
                  WHERE id = $1 AND return_token = $2
                 RETURNING recipient",
            )
            .bind(id)
            .bind(token)
            .bind(reason)
            .fetch_all(&mut *tx)
            .await?
        }
        None if !message_ids.is_empty() && !recipients.is_empty() => {
            sqlx::query_scalar(
                "UPDATE platform.outbox
                    SET failed_at = coalesce(failed_at, now()), claimed_until = NULL,
                        last_error = $3
                  WHERE message_id = ANY ($1) AND lower(recipient) = ANY ($2)
                 RETURNING recipient",
            )
            .bind(message_ids)
            .bind(recipients)
            .bind(reason)
            .fetch_all(&mut *tx)
            .await?
        }
        None => Vec::new(),
    };
    if !failed.is_empty() {
        sqlx::query(
            "INSERT INTO platform.undeliverable_addresses (address, reason)
             SELECT DISTINCT lower(a), $2 FROM unnest($1::text[]) a
             ON CONFLICT (address) DO NOTHING",
        )
        .bind(&failed)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(failed.len() as u64)
}
