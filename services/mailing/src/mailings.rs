//! Mailings (C5): a post or a message that staff send by mail at once to everyone it reaches
//! (whatever their digest settings), with its whole text and files, the school as sender, and
//! a copy to the writer. An answer by mail goes to the recipient's own reply address and
//! becomes a message to the writer in the portal; without an inbound domain it goes to the
//! writer's own address. Where the school sends group mail to primary contacts only (A8),
//! only they get the mail of a group; everyone still reads it in the portal.

use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::notifications::MailFile;
use crate::outbox::MailExtras;
use crate::replies::ReplyTarget;
use crate::unsubscribe::{self, Unsubscribe};
use crate::{Letterhead, MailError, MailRequest, Outbox};

/// What is sent as a mailing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    Post(i64),
    Message { id: i64, conversation_id: i64 },
}

impl About {
    fn key(self) -> String {
        match self {
            Self::Post(id) => format!("post:{id}"),
            Self::Message { id, .. } => format!("message:{id}"),
        }
    }

    fn reply_target(self) -> ReplyTarget {
        match self {
            Self::Post(id) => ReplyTarget::Post(id),
            Self::Message {
                conversation_id, ..
            } => ReplyTarget::Conversation(conversation_id),
        }
    }
}

/// A mailing as its mails show it.
#[derive(Debug)]
pub struct Mailing<'a> {
    pub about: About,
    pub subject: &'a str,
    pub paragraphs: Vec<String>,
    /// The writer: their name, person and own address (the copy goes there).
    pub author: &'a str,
    pub author_id: i64,
    pub files: Vec<MailFile>,
    /// The item in the portal.
    pub link: String,
    /// The school's address, for the unsubscribe links.
    pub school_url: String,
}

#[derive(Debug, Serialize)]
struct MailingMail<'a> {
    subject: &'a str,
    paragraphs: &'a [String],
    author: &'a str,
    files: &'a [MailFile],
    link: &'a str,
    /// `reply` (into the portal), `writer` (to the writer's own address) or `none`.
    answer: &'a str,
    copy: bool,
    count: usize,
}

/// Who a mailing goes to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Addressee {
    pub person_id: i64,
    pub email: String,
    pub language: Option<String>,
}

/// The people post `post_id` reaches who get mailings (not its writer, who gets a copy), the
/// group's primary contacts only where the school chose so.
pub async fn post_addressees(
    tx: &mut TenantTx,
    post_id: i64,
    author_id: i64,
) -> Result<Vec<Addressee>, sqlx::Error> {
    sqlx::query_as(
        "WITH post AS (
             SELECT po.whole_school,
                    CASE WHEN po.whole_school THEN NULL
                         ELSE ARRAY(SELECT group_id FROM post_groups WHERE post_id = po.id)
                    END AS groups
               FROM posts po WHERE po.id = $1),
              settings AS (SELECT group_mail_primary_only AS primary_only FROM school_settings)
         SELECT pe.id AS person_id, pe.email, a.language
           FROM (SELECT DISTINCT person_id FROM post_addressees($1)) reached
           JOIN people pe ON pe.id = reached.person_id
           JOIN platform.accounts a ON a.id = pe.account_id
           CROSS JOIN post CROSS JOIN settings
          WHERE pe.mailings AND pe.id <> $2
            AND (NOT settings.primary_only
                 OR (NOT post.whole_school AND cardinality(post.groups) = 0)
                 OR gets_group_mail(pe.id, post.groups))
          ORDER BY pe.id",
    )
    .bind(post_id)
    .bind(author_id)
    .fetch_all(&mut **tx)
    .await
}

/// The recipients of message `message_id` who get mailings; those reached through one of
/// `groups` only when they are a primary contact there, where the school chose so.
pub async fn message_addressees(
    tx: &mut TenantTx,
    message_id: i64,
    groups: &[i64],
) -> Result<Vec<Addressee>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.id AS person_id, pe.email, a.language
           FROM message_recipients r
           JOIN people pe ON pe.id = r.person_id
           JOIN platform.accounts a ON a.id = pe.account_id
          WHERE r.message_id = $1 AND pe.mailings AND pe.blocked_at IS NULL
            AND (NOT r.hidden OR cardinality($2::bigint[]) = 0
                 OR NOT (SELECT group_mail_primary_only FROM school_settings)
                 OR gets_group_mail(pe.id, $2))
          ORDER BY pe.id",
    )
    .bind(message_id)
    .bind(groups)
    .fetch_all(&mut **tx)
    .await
}

/// The writer as the copy reaches them.
pub async fn author(tx: &mut TenantTx, author_id: i64) -> Result<Option<Addressee>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.id AS person_id, pe.email, a.language
           FROM people pe LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pe.id = $1",
    )
    .bind(author_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Queues the mailing to each of `addressees` and the copy to its writer, in `tx`; a message's
/// recipients who get it need no notice (N3) any more. How many mails, the copy included.
pub async fn send(
    tx: &mut TenantTx,
    outbox: &Outbox,
    mailing: &Mailing<'_>,
    addressees: &[Addressee],
) -> Result<usize, MailError> {
    let letterhead = Letterhead::load(tx).await?;
    let writer = author(tx, mailing.author_id).await?;
    let about = mailing.about.key();
    let answer = match (outbox.inbound_domain(), &writer) {
        (Some(_), _) => "reply",
        (None, Some(_)) => "writer",
        (None, None) => "none",
    };
    // Each recipient's reply address and unsubscribe link, all in two statements.
    let people: Vec<i64> = addressees.iter().map(|a| a.person_id).collect();
    let wanted: Vec<(i64, ReplyTarget)> = people
        .iter()
        .map(|person| (*person, mailing.about.reply_target()))
        .collect();
    let replies = outbox.reply_addresses(tx, &wanted).await?;
    let unsubscribes = unsubscribe::links(tx, &people, Unsubscribe::Mailings).await?;
    let mut batch = outbox.batch();
    for ((addressee, reply), unsubscribe) in addressees.iter().zip(replies).zip(unsubscribes) {
        let reply_to = reply.or_else(|| writer.as_ref().map(|w| w.email.clone()));
        let mail = MailingMail {
            subject: mailing.subject,
            paragraphs: &mailing.paragraphs,
            author: mailing.author,
            files: &mailing.files,
            link: &mailing.link,
            answer,
            copy: false,
            count: 0,
        };
        batch
            .add_with(
                tx,
                request(
                    &addressee.email,
                    addressee.language.as_deref(),
                    &mail,
                    &letterhead,
                ),
                MailExtras {
                    list_unsubscribe: Some(format!("{}{unsubscribe}", mailing.school_url)),
                    reply_to,
                    person_id: Some(addressee.person_id),
                    about: Some(about.clone()),
                },
            )
            .await?;
    }
    let mut copies = 0;
    if let Some(writer) = &writer {
        let copy = MailingMail {
            subject: mailing.subject,
            paragraphs: &mailing.paragraphs,
            author: mailing.author,
            files: &mailing.files,
            link: &mailing.link,
            answer: "none",
            copy: true,
            count: addressees.len(),
        };
        batch
            .add(
                tx,
                request(
                    &writer.email,
                    writer.language.as_deref(),
                    &copy,
                    &letterhead,
                ),
            )
            .await?;
        copies = 1;
    }
    batch.finish(tx).await?;
    if let About::Message { id, .. } = mailing.about {
        sqlx::query(
            "UPDATE message_recipients SET noticed_at = now()
              WHERE message_id = $1 AND person_id = ANY ($2) AND noticed_at IS NULL",
        )
        .bind(id)
        .bind(people)
        .execute(&mut **tx)
        .await?;
    }
    Ok(addressees.len() + copies)
}

fn request<'a>(
    to: &'a str,
    language: Option<&str>,
    mail: &'a MailingMail<'a>,
    letterhead: &'a Letterhead,
) -> MailRequest<'a, MailingMail<'a>> {
    MailRequest {
        to,
        template: "mailing/mailing",
        language: Language::of_account(language),
        urgent: false,
        context: mail,
        letterhead: Some(letterhead),
    }
}
