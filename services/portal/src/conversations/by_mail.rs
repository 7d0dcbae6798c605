//! Answers by mail (C4, C5): a reply that came back to a person's reply address becomes a
//! message in the portal, from that person, to the one they answered, under the rules a
//! message written in the portal follows (nobody who left, nobody who blocked them).

use chrono::Utc;
use schoolplein_mailing::replies::{FoundReply, ReplyTarget};
use tenant_router::TenantTx;

use super::reach::Recipient;
use super::store::{self, NewMessage};

/// Why an answer was not taken; each is told to its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotTaken {
    /// The reply address is older than `mail.reply_address_days`.
    Expired,
    /// The mail named several conversations.
    Several,
    /// Sent from an address that is not the person's.
    WrongSender,
    /// The person is no longer a member of the school.
    Left,
    /// There is nobody left to answer: the conversation or its writer is gone, or blocks them.
    NobodyToAnswer,
}

impl NotTaken {
    /// The reason, in the words the sender reads in the bounce.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Expired => {
                "this reply address has expired; answer in the parent portal instead \
                 (Schoolplein: dit antwoordadres is verlopen; antwoord in het ouderportaal)"
            }
            Self::Several => {
                "this mail named several conversations; answer each in the parent portal \
                 (Schoolplein: deze mail noemde meerdere gesprekken; antwoord in het ouderportaal)"
            }
            Self::WrongSender => {
                "send your answer from the address this mail was sent to, or answer in the \
                 parent portal (Schoolplein: antwoord vanaf het adres waar deze mail naartoe \
                 ging, of in het ouderportaal)"
            }
            Self::Left | Self::NobodyToAnswer => {
                "this conversation takes no answers any more \
                 (Schoolplein: dit gesprek neemt geen antwoorden meer aan)"
            }
        }
    }
}

/// What an answer became: the message and its conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub conversation_id: i64,
    pub message_id: i64,
}

/// The most a message holds (as in the portal's form).
const MAX_BODY: usize = 20_000;

/// Takes the answer `text` from `from` to reply address `found` in the school of `tx`;
/// `files_left` files that came along are named in the message but not kept.
pub async fn take(
    tx: &mut TenantTx,
    found: FoundReply,
    from: &str,
    text: &str,
    files_left: usize,
) -> Result<Result<Taken, NotTaken>, sqlx::Error> {
    if found.expires_at < Utc::now() {
        return Ok(Err(NotTaken::Expired));
    }
    let writer: Option<(bool, bool, bool)> = sqlx::query_as(
        "SELECT pe.account_id IS NOT NULL AND pe.blocked_at IS NULL AND cardinality(pe.roles) > 0,
                lower(pe.email) = lower($2) OR lower(coalesce(a.email, '')) = lower($2),
                pe.roles && ARRAY['teacher', 'school_admin']
           FROM people pe LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pe.id = $1",
    )
    .bind(found.person_id)
    .bind(from)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((member, own_address, staff)) = writer else {
        return Ok(Err(NotTaken::Left));
    };
    if !member {
        return Ok(Err(NotTaken::Left));
    }
    if !own_address {
        return Ok(Err(NotTaken::WrongSender));
    }
    let (conversation_id, answered) = match found.target {
        ReplyTarget::Several => return Ok(Err(NotTaken::Several)),
        ReplyTarget::Conversation(conversation_id) => {
            // The last message the person received here answers to its writer (or the office).
            let last: Option<(i64, bool)> = sqlx::query_as(
                "SELECT m.author_id, m.for_office FROM messages m
                   JOIN message_recipients r ON r.message_id = m.id AND r.person_id = $2
                  WHERE m.conversation_id = $1 AND m.sent_at IS NOT NULL
                  ORDER BY m.id DESC LIMIT 1",
            )
            .bind(conversation_id)
            .bind(found.person_id)
            .fetch_optional(&mut **tx)
            .await?;
            let Some((author_id, for_office)) = last else {
                return Ok(Err(NotTaken::NobodyToAnswer));
            };
            (Some(conversation_id), (!for_office).then_some(author_id))
        }
        ReplyTarget::Post(post_id) => {
            // A new conversation with the post's writer, or the office when they are gone.
            let post: Option<(String, i64, bool)> = sqlx::query_as(
                "SELECT po.title, po.author_id,
                        pe.account_id IS NOT NULL AND pe.blocked_at IS NULL
                        AND pe.roles && ARRAY['teacher', 'school_admin']
                   FROM posts po JOIN people pe ON pe.id = po.author_id
                  WHERE po.id = $1",
            )
            .bind(post_id)
            .fetch_optional(&mut **tx)
            .await?;
            let Some((title, author_id, author_here)) = post else {
                return Ok(Err(NotTaken::NobodyToAnswer));
            };
            let subject: String = format!("Re: {title}").chars().take(200).collect();
            let conversation_id = store::start(tx, &subject, None).await?;
            (Some(conversation_id), author_here.then_some(author_id))
        }
    };
    let Some(conversation_id) = conversation_id else {
        return Ok(Err(NotTaken::NobodyToAnswer));
    };
    if let Some(person) = answered {
        let reachable: bool = sqlx::query_scalar(
            "SELECT EXISTS (
                 SELECT 1 FROM people pe
                  WHERE pe.id = $1 AND pe.account_id IS NOT NULL AND pe.blocked_at IS NULL
                    AND cardinality(pe.roles) > 0
                    AND ($3 OR NOT EXISTS (SELECT 1 FROM blocked_senders b
                                            WHERE b.person_id = pe.id AND b.sender_id = $2)))",
        )
        .bind(person)
        .bind(found.person_id)
        .bind(staff)
        .fetch_one(&mut **tx)
        .await?;
        if !reachable {
            return Ok(Err(NotTaken::NobodyToAnswer));
        }
    }
    let mut body: String = text.chars().take(MAX_BODY - 200).collect();
    if files_left > 0 {
        body.push_str(&format!(
            "\n\n[{files_left} bijlage(n) bij deze mail zijn niet bewaard: antwoorden per mail \
             zijn alleen tekst. / {files_left} attachment(s) not kept: answers by mail are \
             text only.]"
        ));
    }
    let message_id = store::send(
        tx,
        &NewMessage {
            conversation_id,
            author_id: found.person_id,
            for_office: false,
            body: &body,
            forwarded_from: None,
        },
        &[Recipient {
            person_id: answered,
            copy: false,
            hidden: false,
        }],
    )
    .await?;
    Ok(Ok(Taken {
        conversation_id,
        message_id,
    }))
}
