//! The conversations' tables: writing a message with its recipients, the folders a person
//! sees, one conversation's messages as its reader may see them, read marks and blocks.
//!
//! A person sees a sent message they wrote or received; an admin also sees what the office
//! received or wrote. Nobody else does, admins included: a conversation without a message the
//! reader sees does not exist for them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

use super::reach::Recipient;

/// The reader of conversations: `$1` the person, `$2` whether they read for the office.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub person_id: i64,
    pub admin: bool,
}

/// Whether the reader sees sent message `m` (for one conversation's messages; a folder reads
/// the reader's `conversation_folders` rows instead). The subquery names `m.sent_at` besides
/// `m.id` on purpose: PostgreSQL may then not turn it into a hashed `IN`, which under a
/// generic plan hashes every message the reader has for each page.
const SEES: &str = "(m.sent_at IS NOT NULL
    AND (m.author_id = $1 OR ($2 AND m.for_office)
         OR EXISTS (SELECT 1 FROM message_recipients r
                     WHERE r.message_id = m.id AND m.sent_at IS NOT NULL
                       AND (r.person_id = $1 OR ($2 AND r.person_id IS NULL)))))";

/// Whether `m` is the reader's own (they wrote it, or the office did and they read for it).
const OWN: &str = "(m.author_id = $1 OR ($2 AND m.for_office))";

/// The folders of a person's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    Inbox,
    Sent,
    Drafts,
    Archive,
}

impl Folder {
    pub const ALL: [Folder; 4] = [Folder::Inbox, Folder::Sent, Folder::Drafts, Folder::Archive];

    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Sent => "sent",
            Folder::Drafts => "drafts",
            Folder::Archive => "archive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// A conversation as a folder lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub subject: String,
    /// When its newest message the reader sees was sent (a draft: last saved).
    pub last_at: DateTime<Utc>,
    /// Who wrote that message (`None`: the office).
    pub last_author: Option<String>,
    pub unread: i64,
    pub messages: i64,
    /// For a draft: the draft message itself.
    pub draft_id: Option<i64>,
}

/// Conversations per folder page.
pub const PAGE_SIZE: i64 = 50;

/// One page (from 0) of a folder, newest first.
pub async fn folder(
    tx: &mut TenantTx,
    reader: Reader,
    folder: Folder,
    page: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    if folder == Folder::Drafts {
        return sqlx::query_as(
            "SELECT c.id, c.subject, m.updated_at AS last_at, NULL::text AS last_author,
                    0::bigint AS unread, 0::bigint AS messages, m.id AS draft_id
               FROM messages m JOIN conversations c ON c.id = m.conversation_id
              WHERE m.author_id = $1 AND m.sent_at IS NULL
              ORDER BY m.updated_at DESC, m.id DESC
              LIMIT $2 OFFSET $3",
        )
        .bind(reader.person_id)
        .bind(PAGE_SIZE)
        .bind(page * PAGE_SIZE)
        .fetch_all(&mut **tx)
        .await;
    }
    // Inbox: a message received since the reader archived the conversation (or ever);
    // archive: nothing received since; sent: something of the reader's own.
    let condition = match folder {
        Folder::Inbox => {
            "f.received_at IS NOT NULL
                          AND (a.archived_at IS NULL OR f.received_at > a.archived_at)"
        }
        Folder::Archive => {
            "a.archived_at IS NOT NULL
                            AND (f.received_at IS NULL OR f.received_at <= a.archived_at)"
        }
        _ => "f.own",
    };
    // The reader's rows of `conversation_folders`, kept by triggers as messages are sent and
    // read: a person's own, one index range; an admin's merged with the office's.
    let rows = if reader.admin {
        "(SELECT f.conversation_id, max(f.last_at) AS last_at,
                 (array_agg(f.last_message_id ORDER BY f.last_at DESC, f.last_message_id DESC))[1]
                     AS last_message_id,
                 max(f.received_at) AS received_at, bool_or(f.own) AS own,
                 sum(f.messages)::bigint AS messages, sum(f.unread)::bigint AS unread
            FROM conversation_folders f WHERE f.reader_id IN ($1, 0)
           GROUP BY f.conversation_id)"
    } else {
        "(SELECT f.conversation_id, f.last_at, f.last_message_id, f.received_at, f.own,
                 f.messages::bigint AS messages, f.unread::bigint AS unread
            FROM conversation_folders f WHERE f.reader_id = $1)"
    };
    let sql = format!(
        "SELECT c.id, c.subject, f.last_at,
                CASE WHEN lm.for_office THEN NULL ELSE pe.name END AS last_author,
                f.unread, f.messages, NULL::bigint AS draft_id
           FROM {rows} f
           JOIN conversations c ON c.id = f.conversation_id
           JOIN messages lm ON lm.id = f.last_message_id
           JOIN people pe ON pe.id = lm.author_id
           LEFT JOIN conversation_archive a
                  ON a.conversation_id = f.conversation_id AND a.person_id = $1
          WHERE {condition}
          ORDER BY f.last_at DESC, f.conversation_id DESC
          LIMIT $2 OFFSET $3"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(PAGE_SIZE)
        .bind(page * PAGE_SIZE)
        .fetch_all(&mut **tx)
        .await
}

/// Messages waiting unread for the reader (the office's too, for an admin).
pub async fn unread_count(tx: &mut TenantTx, reader: Reader) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients r
          WHERE r.read_at IS NULL AND (r.person_id = $1 OR ($2 AND r.person_id IS NULL))",
    )
    .bind(reader.person_id)
    .bind(reader.admin)
    .fetch_one(&mut **tx)
    .await
}

/// A conversation's own fields.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub subject: String,
    pub about_pupil_id: Option<i64>,
    pub about: Option<String>,
}

/// A conversation the reader sees a message of.
pub async fn conversation(
    tx: &mut TenantTx,
    reader: Reader,
    conversation_id: i64,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    // Its folder row says whether the reader sees a message of it: one look at a primary key,
    // where asking the messages made a generic plan hash every message the reader has.
    sqlx::query_as(
        "SELECT c.id, c.subject, c.about_pupil_id,
                (SELECT p.first_name FROM pupils p WHERE p.id = c.about_pupil_id) AS about
           FROM conversations c
          WHERE c.id = $3
            AND EXISTS (SELECT 1 FROM conversation_folders f
                         WHERE f.conversation_id = c.id
                           AND f.reader_id = ANY (ARRAY[$1, CASE WHEN $2 THEN 0 ELSE $1 END]))",
    )
    .bind(reader.person_id)
    .bind(reader.admin)
    .bind(conversation_id)
    .fetch_optional(&mut **tx)
    .await
}

/// A message as its conversation shows it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub author_id: i64,
    pub author: String,
    /// The author is staff (who cannot be blocked).
    pub author_staff: bool,
    pub for_office: bool,
    pub own: bool,
    pub unread: bool,
    pub body: String,
    pub sent_at: DateTime<Utc>,
    /// The named recipients: `(person id or 0 for the office, name, in cc)`.
    #[sqlx(json)]
    pub recipients: Vec<(i64, String, bool)>,
    /// Recipients reached through a group or list, which only the author sees counted.
    pub hidden: i64,
}

/// The messages of a conversation the reader sees, oldest first.
pub async fn messages(
    tx: &mut TenantTx,
    reader: Reader,
    conversation_id: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    // What the reader received of each message, joined per message rather than asked in an
    // OR'd EXISTS, which a generic plan answers by hashing every message the reader has.
    let sql = format!(
        "SELECT m.id, m.author_id, pe.name AS author,
                pe.roles && ARRAY['school_admin', 'teacher'] AS author_staff,
                m.for_office, {OWN} AS own,
                coalesce(mine.unread, false) AS unread, m.body, m.sent_at,
                coalesce((SELECT json_agg(json_build_array(coalesce(r.person_id, 0),
                                                           coalesce(rp.name, ''), r.copy)
                                          ORDER BY r.copy, rp.name NULLS FIRST)
                            FROM message_recipients r
                            LEFT JOIN people rp ON rp.id = r.person_id
                           WHERE r.message_id = m.id AND NOT r.hidden), '[]') AS recipients,
                CASE WHEN {OWN}
                     THEN (SELECT count(*) FROM message_recipients r
                            WHERE r.message_id = m.id AND r.hidden)
                     ELSE 0 END AS hidden
           FROM messages m
           JOIN people pe ON pe.id = m.author_id
           LEFT JOIN LATERAL (
               SELECT bool_or(r.read_at IS NULL) AS unread, count(*) > 0 AS received
                 FROM message_recipients r
                WHERE r.message_id = m.id
                  AND (r.person_id = $1 OR ($2 AND r.person_id IS NULL))) mine ON true
          WHERE m.conversation_id = $3 AND m.sent_at IS NOT NULL
            AND ({OWN} OR mine.received)
          ORDER BY m.sent_at, m.id"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(conversation_id)
        .fetch_all(&mut **tx)
        .await
}

/// Marks what waits unread for the reader in a conversation as read; how many.
pub async fn mark_read(
    tx: &mut TenantTx,
    reader: Reader,
    conversation_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE message_recipients r SET read_at = now()
          WHERE r.read_at IS NULL AND (r.person_id = $1 OR ($2 AND r.person_id IS NULL))
            AND r.message_id IN (SELECT id FROM messages WHERE conversation_id = $3)",
    )
    .bind(reader.person_id)
    .bind(reader.admin)
    .bind(conversation_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(done)
}

/// A file of a message, as its conversation lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct FileRow {
    pub id: i64,
    pub message_id: i64,
    pub file_name: String,
    pub size: i32,
}

/// The files of the messages in a conversation the reader sees.
pub async fn files(
    tx: &mut TenantTx,
    reader: Reader,
    conversation_id: i64,
) -> Result<Vec<FileRow>, sqlx::Error> {
    let sql = format!(
        "SELECT a.id, a.message_id, a.file_name, length(a.bytes) AS size
           FROM message_attachments a JOIN messages m ON m.id = a.message_id
          WHERE m.conversation_id = $3 AND {SEES}
          ORDER BY a.message_id, a.id"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(conversation_id)
        .fetch_all(&mut **tx)
        .await
}

/// One file of a message the reader sees: `(file name, content type, bytes)`.
pub async fn file(
    tx: &mut TenantTx,
    reader: Reader,
    conversation_id: i64,
    file_id: i64,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    let sql = format!(
        "SELECT a.file_name, a.content_type, a.bytes
           FROM message_attachments a JOIN messages m ON m.id = a.message_id
          WHERE a.id = $4 AND m.conversation_id = $3 AND {SEES}"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(conversation_id)
        .bind(file_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Starts a conversation; its id.
pub async fn start(
    tx: &mut TenantTx,
    subject: &str,
    about_pupil_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO conversations (subject, about_pupil_id) VALUES ($1, $2) RETURNING id",
    )
    .bind(subject)
    .bind(about_pupil_id)
    .fetch_one(&mut **tx)
    .await
}

/// A message to write.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub conversation_id: i64,
    pub author_id: i64,
    pub for_office: bool,
    pub body: &'a str,
    pub forwarded_from: Option<i64>,
}

/// Writes a sent message with its recipients; its id. The conversation comes back into the
/// inbox of whoever had archived it.
pub async fn send(
    tx: &mut TenantTx,
    message: &NewMessage<'_>,
    recipients: &[Recipient],
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, author_id, for_office, body, forwarded_from,
                               sent_at)
         VALUES ($1, $2, $3, $4, $5, now()) RETURNING id",
    )
    .bind(message.conversation_id)
    .bind(message.author_id)
    .bind(message.for_office)
    .bind(message.body)
    .bind(message.forwarded_from)
    .fetch_one(&mut **tx)
    .await?;
    insert_recipients(tx, id, recipients).await?;
    Ok(id)
}

/// Attaches a file to a message.
pub async fn attach(
    tx: &mut TenantTx,
    message_id: i64,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO message_attachments (message_id, file_name, content_type, bytes)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(message_id)
    .bind(file_name)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Copies the files of message `from` onto message `to` (a forward carries them along).
pub async fn copy_files(tx: &mut TenantTx, from: i64, to: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO message_attachments (message_id, file_name, content_type, bytes)
         SELECT $2, file_name, content_type, bytes FROM message_attachments
          WHERE message_id = $1 ORDER BY id",
    )
    .bind(from)
    .bind(to)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Moves a conversation into or out of the reader's archive.
pub async fn archive(
    tx: &mut TenantTx,
    reader: Reader,
    conversation_id: i64,
    archived: bool,
) -> Result<(), sqlx::Error> {
    if archived {
        sqlx::query(
            "INSERT INTO conversation_archive (person_id, conversation_id) VALUES ($1, $2)
             ON CONFLICT (person_id, conversation_id) DO UPDATE SET archived_at = now()",
        )
    } else {
        sqlx::query(
            "DELETE FROM conversation_archive WHERE person_id = $1 AND conversation_id = $2",
        )
    }
    .bind(reader.person_id)
    .bind(conversation_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A sender someone blocked, as their settings list them.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct BlockedRow {
    pub id: i64,
    pub name: String,
    pub blocked_at: DateTime<Utc>,
}

pub async fn blocked(tx: &mut TenantTx, person_id: i64) -> Result<Vec<BlockedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.id, pe.name, b.blocked_at FROM blocked_senders b
           JOIN people pe ON pe.id = b.sender_id
          WHERE b.person_id = $1 ORDER BY lower(pe.name), pe.id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Blocks `sender_id` for `person_id`, unless the sender is staff; whether it is blocked now.
pub async fn block(tx: &mut TenantTx, person_id: i64, sender_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO blocked_senders (person_id, sender_id)
         SELECT $1, id FROM people
          WHERE id = $2 AND id <> $1 AND NOT (roles && ARRAY['school_admin', 'teacher'])
         ON CONFLICT DO NOTHING",
    )
    .bind(person_id)
    .bind(sender_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done > 0 {
        return Ok(true);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM blocked_senders WHERE person_id = $1 AND sender_id = $2)",
    )
    .bind(person_id)
    .bind(sender_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn unblock(tx: &mut TenantTx, person_id: i64, sender_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM blocked_senders WHERE person_id = $1 AND sender_id = $2")
        .bind(person_id)
        .bind(sender_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A draft as its form shows it again.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct DraftRow {
    pub id: i64,
    pub conversation_id: i64,
    pub subject: String,
    pub about_pupil_id: Option<i64>,
    pub body: String,
    pub draft_to: Vec<String>,
    pub draft_cc: Vec<String>,
    /// Whether its conversation has sent messages (the draft is a reply in it).
    pub replying: bool,
}

/// One of the person's own drafts.
pub async fn draft(
    tx: &mut TenantTx,
    person_id: i64,
    draft_id: i64,
) -> Result<Option<DraftRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.id, m.conversation_id, c.subject, c.about_pupil_id, m.body, m.draft_to,
                m.draft_cc,
                EXISTS (SELECT 1 FROM messages s
                         WHERE s.conversation_id = c.id AND s.sent_at IS NOT NULL) AS replying
           FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.id = $2 AND m.author_id = $1 AND m.sent_at IS NULL",
    )
    .bind(person_id)
    .bind(draft_id)
    .fetch_optional(&mut **tx)
    .await
}

/// A draft to keep: in a new conversation (`conversation_id` None) or one going on.
#[derive(Debug)]
pub struct DraftToKeep<'a> {
    pub draft_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub subject: &'a str,
    pub about_pupil_id: Option<i64>,
    pub author_id: i64,
    pub for_office: bool,
    pub body: &'a str,
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

/// Keeps a draft (a new one, or the person's own `draft_id` changed); its id, or `None` when
/// `draft_id` is not a draft of theirs (sent meanwhile, or someone else's).
pub async fn keep_draft(
    tx: &mut TenantTx,
    draft: &DraftToKeep<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    if let Some(draft_id) = draft.draft_id {
        let conversation: Option<(i64, bool)> = sqlx::query_as(
            "UPDATE messages m SET body = $3, draft_to = $4, draft_cc = $5, updated_at = now()
              WHERE m.id = $2 AND m.author_id = $1 AND m.sent_at IS NULL
             RETURNING m.conversation_id,
                       EXISTS (SELECT 1 FROM messages s
                                WHERE s.conversation_id = m.conversation_id
                                  AND s.sent_at IS NOT NULL)",
        )
        .bind(draft.author_id)
        .bind(draft_id)
        .bind(draft.body)
        .bind(&draft.to)
        .bind(&draft.cc)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((conversation_id, replying)) = conversation else {
            return Ok(None);
        };
        // A new conversation's subject is the draft's own to change.
        if !replying {
            sqlx::query("UPDATE conversations SET subject = $2, about_pupil_id = $3 WHERE id = $1")
                .bind(conversation_id)
                .bind(draft.subject)
                .bind(draft.about_pupil_id)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(Some(draft_id));
    }
    let conversation_id = match draft.conversation_id {
        Some(id) => id,
        None => start(tx, draft.subject, draft.about_pupil_id).await?,
    };
    let id = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, author_id, for_office, body, draft_to, draft_cc)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(conversation_id)
    .bind(draft.author_id)
    .bind(draft.for_office)
    .bind(draft.body)
    .bind(&draft.to)
    .bind(&draft.cc)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Some(id))
}

/// Sends the person's draft: it becomes a sent message with `recipients`. `false` when it is
/// not a draft of theirs any more (sent from another tab meanwhile).
pub async fn send_draft(
    tx: &mut TenantTx,
    person_id: i64,
    draft_id: i64,
    body: &str,
    recipients: &[Recipient],
) -> Result<bool, sqlx::Error> {
    let sent = sqlx::query(
        "UPDATE messages SET sent_at = now(), body = $3, draft_to = '{}', draft_cc = '{}',
                updated_at = now()
          WHERE id = $2 AND author_id = $1 AND sent_at IS NULL",
    )
    .bind(person_id)
    .bind(draft_id)
    .bind(body)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if sent == 0 {
        return Ok(false);
    }
    insert_recipients(tx, draft_id, recipients).await?;
    Ok(true)
}

async fn insert_recipients(
    tx: &mut TenantTx,
    message_id: i64,
    recipients: &[Recipient],
) -> Result<(), sqlx::Error> {
    let people: Vec<Option<i64>> = recipients.iter().map(|r| r.person_id).collect();
    let copies: Vec<bool> = recipients.iter().map(|r| r.copy).collect();
    let hidden: Vec<bool> = recipients.iter().map(|r| r.hidden).collect();
    sqlx::query(
        "INSERT INTO message_recipients (message_id, person_id, copy, hidden)
         SELECT $1, * FROM unnest($2::bigint[], $3::boolean[], $4::boolean[])",
    )
    .bind(message_id)
    .bind(people)
    .bind(copies)
    .bind(hidden)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the person's draft (and its conversation when nothing else is in it).
pub async fn delete_draft(
    tx: &mut TenantTx,
    person_id: i64,
    draft_id: i64,
) -> Result<bool, sqlx::Error> {
    let conversation: Option<i64> = sqlx::query_scalar(
        "DELETE FROM messages WHERE id = $2 AND author_id = $1 AND sent_at IS NULL
         RETURNING conversation_id",
    )
    .bind(person_id)
    .bind(draft_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(conversation) = conversation else {
        return Ok(false);
    };
    sqlx::query(
        "DELETE FROM conversations c WHERE c.id = $1
            AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)",
    )
    .bind(conversation)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Moves the files kept for `person_id`'s form `form_hash` (kept less than a day, not in
/// `except`) onto message `message_id`; how many it moved.
pub async fn adopt_pending(
    tx: &mut TenantTx,
    form_hash: &[u8],
    person_id: i64,
    except: &[i64],
    message_id: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "WITH taken AS (
             DELETE FROM pending_attachments
              WHERE form_hash = $1 AND person_id = $2 AND id <> ALL ($3)
                AND created_at > now() - interval '1 day'
             RETURNING id, file_name, content_type, bytes)
         INSERT INTO message_attachments (message_id, file_name, content_type, bytes)
         SELECT $4, file_name, content_type, bytes FROM taken ORDER BY id",
    )
    .bind(form_hash)
    .bind(person_id)
    .bind(except)
    .bind(message_id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// What a parent's partner shares with them (A8): both chose joint use and to share their
/// conversations, and these are the children they both are parents of.
#[derive(Debug, Clone)]
pub struct Sharing {
    pub partner_id: i64,
    pub partner_name: String,
    pub pupils: Vec<i64>,
}

/// The partner's conversations `person_id` may read: about a child of both, when both chose
/// to share them (and joint use).
pub async fn partner_sharing(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Option<Sharing>, sqlx::Error> {
    let row: Option<(i64, String, Vec<i64>)> = sqlx::query_as(
        "SELECT q.id, q.name,
                ARRAY(SELECT g1.pupil_id FROM guardians g1
                        JOIN guardians g2 ON g2.pupil_id = g1.pupil_id AND g2.person_id = q.id
                                         AND g2.status = 'active'
                       WHERE g1.person_id = me.id AND g1.status = 'active'
                       ORDER BY 1)
           FROM people me JOIN people q ON q.id = me.partner_id AND q.partner_id = me.id
          WHERE me.id = $1 AND me.joint_use AND q.joint_use
            AND me.share_conversations AND q.share_conversations",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row
        .filter(|(_, _, pupils)| !pupils.is_empty())
        .map(|(partner_id, partner_name, pupils)| Sharing {
            partner_id,
            partner_name,
            pupils,
        }))
}

/// The partner's conversations about the shared children, newest first (one page).
pub async fn shared_folder(
    tx: &mut TenantTx,
    sharing: &Sharing,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as(
        "WITH seen AS (
             SELECT m.id, m.conversation_id, m.sent_at, m.author_id, m.for_office
               FROM messages m JOIN conversations c ON c.id = m.conversation_id
              WHERE c.about_pupil_id = ANY ($2) AND m.sent_at IS NOT NULL
                AND (m.author_id = $1
                     OR EXISTS (SELECT 1 FROM message_recipients r
                                 WHERE r.message_id = m.id AND r.person_id = $1)))
         SELECT c.id, c.subject, max(m.sent_at) AS last_at,
                (SELECT CASE WHEN l.for_office THEN NULL ELSE pe.name END
                   FROM seen l JOIN people pe ON pe.id = l.author_id
                  WHERE l.conversation_id = c.id ORDER BY l.sent_at DESC, l.id DESC LIMIT 1)
                    AS last_author,
                0::bigint AS unread, count(*) AS messages, NULL::bigint AS draft_id
           FROM seen m JOIN conversations c ON c.id = m.conversation_id
          GROUP BY c.id
          ORDER BY max(m.sent_at) DESC, c.id DESC
          LIMIT $3",
    )
    .bind(sharing.partner_id)
    .bind(&sharing.pupils)
    .bind(PAGE_SIZE)
    .fetch_all(&mut **tx)
    .await
}

/// Whether a conversation is about one of `pupils`.
pub async fn is_about(
    tx: &mut TenantTx,
    conversation_id: i64,
    pupils: &[i64],
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND about_pupil_id = ANY ($2))",
    )
    .bind(conversation_id)
    .bind(pupils)
    .fetch_one(&mut **tx)
    .await
}

/// Sets whether the person shares their conversations about their children with their
/// partner (it counts only when the partner chose so too).
pub async fn set_sharing(tx: &mut TenantTx, person_id: i64, on: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE people SET share_conversations = $2 WHERE id = $1")
        .bind(person_id)
        .bind(on)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One recipient of a message, as its author sees whether it arrived (N7).
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    pub message_id: i64,
    /// `None`: the office.
    pub name: Option<String>,
    pub read_at: Option<DateTime<Utc>>,
    /// When the notice mail named it (N3).
    pub noticed_at: Option<DateTime<Utc>>,
    /// For a mailing: `queued`, `sent` or `bounced` (C5).
    pub mail: Option<String>,
    /// Mail to the recipient does not arrive (N4).
    pub undeliverable: bool,
}

/// Per recipient of `message_ids`, whether they read it, when a notice named it and where its
/// mailing is, by name.
pub async fn delivery(
    tx: &mut TenantTx,
    message_ids: &[i64],
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let tenant = tx.tenant().get();
    sqlx::query_as(
        "SELECT r.message_id, pe.name, r.read_at, r.noticed_at,
                (SELECT CASE WHEN o.failed_at IS NOT NULL THEN 'bounced'
                             WHEN o.sent_at IS NOT NULL THEN 'sent' ELSE 'queued' END
                   FROM platform.outbox o
                  WHERE o.tenant_id = $2 AND o.about = 'message:' || r.message_id
                    AND o.person_id = r.person_id
                  ORDER BY o.id DESC LIMIT 1) AS mail,
                EXISTS (SELECT 1 FROM platform.undeliverable_addresses u
                         WHERE u.address = lower(pe.email)) AS undeliverable
           FROM message_recipients r LEFT JOIN people pe ON pe.id = r.person_id
          WHERE r.message_id = ANY ($1)
          ORDER BY r.message_id, r.read_at IS NOT NULL, lower(pe.name) NULLS FIRST",
    )
    .bind(message_ids)
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the person archived the conversation.
pub async fn is_archived(
    tx: &mut TenantTx,
    person_id: i64,
    conversation_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversation_archive
                         WHERE person_id = $1 AND conversation_id = $2)",
    )
    .bind(person_id)
    .bind(conversation_id)
    .fetch_one(&mut **tx)
    .await
}

/// The conversation a message is in.
pub async fn conversation_of(
    tx: &mut TenantTx,
    message_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
        .bind(message_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Whether the person is a named or hidden recipient of the message themselves.
pub async fn is_recipient(
    tx: &mut TenantTx,
    message_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM message_recipients WHERE message_id = $1 AND person_id = $2)",
    )
    .bind(message_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// The groups of `ids`, by year and name (what the form offers a writer as crowds).
pub async fn groups_named(
    tx: &mut TenantTx,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM groups WHERE id = ANY ($1) ORDER BY year NULLS LAST, name")
        .bind(ids)
        .fetch_all(&mut **tx)
        .await
}

/// The person's children at school, by first name (what a message may be about).
pub async fn children_of(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.first_name FROM guardians g JOIN pupils p ON p.id = g.pupil_id
          WHERE g.person_id = $1 AND g.status = 'active' AND p.left_at IS NULL
          ORDER BY p.first_name, p.id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the pupil is a child of the person at school.
pub async fn is_own_child(
    tx: &mut TenantTx,
    person_id: i64,
    pupil_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                         WHERE g.person_id = $1 AND g.pupil_id = $2
                           AND g.status = 'active' AND p.left_at IS NULL)",
    )
    .bind(person_id)
    .bind(pupil_id)
    .fetch_one(&mut **tx)
    .await
}

/// A person's name and whether they are staff.
pub async fn person_named(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Option<(String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, roles && ARRAY['school_admin', 'teacher'] FROM people WHERE id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The name of a group (`groups`), special group (`special_groups`) or list
/// (`recipient_lists`).
pub async fn crowd_named(
    tx: &mut TenantTx,
    table: Crowds,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = match table {
        Crowds::Groups => "SELECT name FROM groups WHERE id = $1",
        Crowds::SpecialGroups => "SELECT name FROM special_groups WHERE id = $1",
        Crowds::Lists => "SELECT name FROM recipient_lists WHERE id = $1",
    };
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// The tables crowds are named in.
#[derive(Debug, Clone, Copy)]
pub enum Crowds {
    Groups,
    SpecialGroups,
    Lists,
}

/// Sets a conversation's subject and child (a draft's own, not yet sent).
pub async fn set_subject(
    tx: &mut TenantTx,
    conversation_id: i64,
    subject: &str,
    about_pupil_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE conversations SET subject = $2, about_pupil_id = $3 WHERE id = $1")
        .bind(conversation_id)
        .bind(subject)
        .bind(about_pupil_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether `sender_id` wrote a message that `person_id` received (not as the office).
pub async fn wrote_to(
    tx: &mut TenantTx,
    person_id: i64,
    sender_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM messages m JOIN message_recipients r ON r.message_id = m.id
                         WHERE m.author_id = $2 AND r.person_id = $1 AND NOT m.for_office)",
    )
    .bind(person_id)
    .bind(sender_id)
    .fetch_one(&mut **tx)
    .await
}

/// Marks a message as sent as a mailing too (C5).
pub async fn mark_mailing(tx: &mut TenantTx, message_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE messages SET mailing = true WHERE id = $1")
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
