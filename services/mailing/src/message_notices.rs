//! Notices of new messages (N3): once a message has waited unread for [`NOTICE_AFTER`], one
//! mail per person per school names who wrote and the subject, with a link to the
//! conversation, never the text. Messages that came meanwhile are folded into that one mail;
//! a message read before its turn is left out, and a person with nothing left unread gets no
//! mail. An admin's notice includes what waits for the office. The school's clock runs this
//! every minute, so a notice goes within `NOTICE_AFTER` plus a minute of the first message.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::replies::{ReplyFor, ReplyTarget};
use crate::{Letterhead, MailError, MailExtras, MailRequest, Outbox};

/// How long a message waits unread before its notice goes: long enough for someone who is in
/// the portal to read it without a mail, short enough to stay within ten minutes.
pub const NOTICE_AFTER: Duration = Duration::minutes(5);

/// One conversation in a notice.
#[derive(Debug, Serialize)]
struct Noticed {
    subject: String,
    /// Who wrote (the last of them); `None`: the office.
    author: Option<String>,
    messages: i64,
    link: String,
}

/// One person's notice, before its links are made.
struct Notice<'a> {
    person_id: i64,
    name: &'a str,
    email: &'a str,
    language: Option<&'a str>,
    messages: i64,
    conversations: Vec<Noticed>,
    target: ReplyTarget,
}

#[derive(Debug, Serialize)]
struct NoticeMail<'a> {
    name: &'a str,
    conversations: &'a [Noticed],
    messages: i64,
    inbox: &'a str,
    /// An answer to this mail joins the one conversation it names.
    answer_by_mail: bool,
}

/// The messages waiting for a notice, per person (the office's for every admin), of the
/// people whose oldest such message is due at `$1`; each row locked, so that two clocks
/// running together notice each message once.
const DUE_SQL: &str = "
    WITH pending AS (
        SELECT r.message_id, r.person_id, m.sent_at
          FROM message_recipients r JOIN messages m ON m.id = r.message_id
         WHERE r.read_at IS NULL AND r.noticed_at IS NULL AND m.sent_at IS NOT NULL
           FOR UPDATE OF r SKIP LOCKED),
    per_person AS (
        SELECT p.person_id, p.message_id, p.sent_at FROM pending p WHERE p.person_id IS NOT NULL
        UNION ALL
        SELECT a.id, p.message_id, p.sent_at FROM pending p
          JOIN people a ON 'school_admin' = ANY (a.roles) AND a.blocked_at IS NULL
                       AND a.account_id IS NOT NULL
         WHERE p.person_id IS NULL)
    SELECT person_id, array_agg(message_id ORDER BY message_id)
      FROM per_person
     GROUP BY person_id
    HAVING min(sent_at) <= $1
     ORDER BY person_id";

/// Queues the notices due at `now` in the school of `tx` and marks what they name as
/// noticed; how many mails. `url` makes a full address of a path.
pub async fn send_due(
    tx: &mut TenantTx,
    outbox: &Outbox,
    now: DateTime<Utc>,
    url: impl Fn(&str) -> String,
) -> Result<usize, MailError> {
    // Most minutes nothing waits: one look at a small index, nothing locked.
    let waiting: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM message_recipients WHERE read_at IS NULL
                                                          AND noticed_at IS NULL)",
    )
    .fetch_one(&mut **tx)
    .await?;
    if !waiting {
        return Ok(0);
    }
    let due: Vec<(i64, Vec<i64>)> = sqlx::query_as(DUE_SQL)
        .bind(now - NOTICE_AFTER)
        .fetch_all(&mut **tx)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let people: Vec<i64> = due.iter().map(|(person, _)| *person).collect();
    let addressees: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT pe.id, pe.name, pe.email, a.language
           FROM people pe LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pe.id = ANY ($1) AND pe.blocked_at IS NULL AND pe.account_id IS NOT NULL
            AND pe.message_notices",
    )
    .bind(&people)
    .fetch_all(&mut **tx)
    .await?;
    let mut messages: Vec<i64> = due
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    messages.sort_unstable();
    messages.dedup();
    // Per message: its conversation, subject and author.
    let about: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT m.id, c.id, c.subject, CASE WHEN m.for_office THEN NULL ELSE pe.name END
           FROM messages m
           JOIN conversations c ON c.id = m.conversation_id
           JOIN people pe ON pe.id = m.author_id
          WHERE m.id = ANY ($1)
          ORDER BY m.id",
    )
    .bind(&messages)
    .fetch_all(&mut **tx)
    .await?;
    let about: BTreeMap<i64, (i64, String, Option<String>)> = about
        .into_iter()
        .map(|(message, conversation, subject, author)| (message, (conversation, subject, author)))
        .collect();
    let letterhead = Letterhead::load(tx).await?;
    let inbox = url("/messages");
    // First what each notice names; then every unsubscribe link and reply address in one
    // statement each, not two per person.
    let mut notices: Vec<Notice<'_>> = Vec::new();
    for (person_id, ids) in &due {
        let Some((_, name, email, language)) = addressees.iter().find(|a| a.0 == *person_id) else {
            continue;
        };
        // One line per conversation, in the order its first waiting message came.
        let mut conversations: Vec<(i64, Noticed)> = Vec::new();
        for id in ids {
            let Some((conversation, subject, author)) = about.get(id) else {
                continue;
            };
            match conversations.iter_mut().find(|(c, _)| c == conversation) {
                Some((_, noticed)) => {
                    noticed.messages += 1;
                    noticed.author = author.clone();
                }
                None => conversations.push((
                    *conversation,
                    Noticed {
                        subject: subject.clone(),
                        author: author.clone(),
                        messages: 1,
                        link: url(&format!("/messages/{conversation}")),
                    },
                )),
            }
        }
        // An answer by mail joins the conversation, when the notice names just one.
        let target = match conversations.as_slice() {
            [(one, _)] => ReplyTarget::Conversation(*one),
            _ => ReplyTarget::Several,
        };
        notices.push(Notice {
            person_id: *person_id,
            name,
            email,
            language: language.as_deref(),
            messages: ids.len() as i64,
            conversations: conversations.into_iter().map(|(_, n)| n).collect(),
            target,
        });
    }
    let noticed_people: Vec<i64> = notices.iter().map(|n| n.person_id).collect();
    let unsubscribes = crate::unsubscribe::links(
        tx,
        &noticed_people,
        crate::unsubscribe::Unsubscribe::MessageNotices,
    )
    .await?;
    let wanted: Vec<ReplyFor> = notices.iter().map(|n| (n.person_id, n.target)).collect();
    let replies = outbox.reply_addresses(tx, &wanted).await?;
    let mut mailed = 0;
    let mut batch = outbox.batch();
    for ((notice, unsubscribe), reply_to) in notices.iter().zip(unsubscribes).zip(replies) {
        let answer_by_mail =
            reply_to.is_some() && matches!(notice.target, ReplyTarget::Conversation(_));
        batch
            .add_with(
                tx,
                MailRequest {
                    to: notice.email,
                    template: "mailing/message_notice",
                    language: Language::of_account(notice.language),
                    urgent: false,
                    context: &NoticeMail {
                        name: notice.name,
                        conversations: &notice.conversations,
                        messages: notice.messages,
                        inbox: &inbox,
                        answer_by_mail,
                    },
                    letterhead: Some(&letterhead),
                },
                MailExtras {
                    list_unsubscribe: Some(url(&unsubscribe)),
                    reply_to,
                    ..MailExtras::default()
                },
            )
            .await?;
        mailed += 1;
    }
    batch.finish(tx).await?;
    // Everything the notices named (the office's rows once for all admins).
    sqlx::query(
        "UPDATE message_recipients SET noticed_at = $3
          WHERE message_id = ANY ($1) AND read_at IS NULL AND noticed_at IS NULL
            AND (person_id = ANY ($2) OR person_id IS NULL)",
    )
    .bind(&messages)
    .bind(&people)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(mailed)
}
