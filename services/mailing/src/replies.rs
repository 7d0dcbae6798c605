//! Reply addresses (C4, C5): a mail that invites an answer carries an address of its own for
//! its recipient, `reply+<school>-<token>@<inbound domain>`. An answer sent to it is matched
//! by the token's hash in that school's schema; a guessed, altered or expired address finds
//! nothing. Tokens are 128 random bits written as lowercase hex, so mail systems that fold an
//! address's case do not break them.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tenant_router::{TenantId, TenantTx};

use crate::Outbox;

/// What an answer to a reply address joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyTarget {
    /// A message in this conversation.
    Conversation(i64),
    /// A new conversation with the writer of this post (sent as a mailing).
    Post(i64),
    /// Nothing: the mail named several conversations. The answer is sent back with the advice
    /// to answer in the portal, so that it does not land in the wrong one.
    Several,
}

/// What [`Outbox::reply_addresses`] makes an address for: a person and what their answer
/// joins.
pub type ReplyFor = (i64, ReplyTarget);

/// A reply address as found again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundReply {
    pub person_id: i64,
    pub target: ReplyTarget,
    pub expires_at: DateTime<Utc>,
}

/// The parts of a reply address's local part: the school and the token.
pub fn parse_local(local: &str) -> Option<(TenantId, &str)> {
    let rest = strip_prefix_ignore_case(local, "reply+")?;
    let (school, token) = rest.split_once('-')?;
    let school: i64 = school.parse().ok()?;
    let token_ok = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    (token_ok && school > 0).then(|| (TenantId::new(school), token))
}

/// The parts of a bounce address's local part (`bounce+<mail id>-<token>`).
pub fn parse_bounce_local(local: &str) -> Option<(i64, String)> {
    let rest = strip_prefix_ignore_case(local, "bounce+")?;
    let (id, token) = rest.split_once('-')?;
    let id: i64 = id.parse().ok()?;
    let token_ok = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    (token_ok && id > 0).then(|| (id, token.to_ascii_lowercase()))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// What is kept of a token: its SHA-256, so a leaked table holds no usable address.
fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.to_ascii_lowercase().as_bytes()).to_vec()
}

impl Outbox {
    /// A new reply address for `person_id` in the school of `tx`, taking answers for
    /// `mail.reply_address_days`; `None` when the platform takes no mail back
    /// (`mail.inbound_domain` empty).
    pub async fn reply_address(
        &self,
        tx: &mut TenantTx,
        person_id: i64,
        target: ReplyTarget,
    ) -> Result<Option<String>, sqlx::Error> {
        let Some(domain) = self.inbound_domain() else {
            return Ok(None);
        };
        let token = uuid::Uuid::new_v4().simple().to_string();
        let (conversation_id, post_id) = match target {
            ReplyTarget::Conversation(id) => (Some(id), None),
            ReplyTarget::Post(id) => (None, Some(id)),
            ReplyTarget::Several => (None, None),
        };
        sqlx::query(
            "INSERT INTO reply_addresses (token_hash, person_id, conversation_id, post_id,
                                          expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))",
        )
        .bind(hash(&token))
        .bind(person_id)
        .bind(conversation_id)
        .bind(post_id)
        .bind(self.reply_address_days())
        .execute(&mut **tx)
        .await?;
        Ok(Some(format!(
            "reply+{}-{token}@{domain}",
            tx.tenant().get()
        )))
    }
}

/// A reply address's row: its person, conversation, post and end.
type ReplyRow = (i64, Option<i64>, Option<i64>, DateTime<Utc>);

impl Outbox {
    /// [`Outbox::reply_address`] for many people at once, in one statement (a mailing to a
    /// whole school writes thousands); the addresses in the same order, or `None`s when the
    /// platform takes no mail back.
    pub async fn reply_addresses(
        &self,
        tx: &mut TenantTx,
        wanted: &[ReplyFor],
    ) -> Result<Vec<Option<String>>, sqlx::Error> {
        let Some(domain) = self.inbound_domain() else {
            return Ok(vec![None; wanted.len()]);
        };
        let tokens: Vec<String> = wanted
            .iter()
            .map(|_| uuid::Uuid::new_v4().simple().to_string())
            .collect();
        let (conversations, posts): (Vec<Option<i64>>, Vec<Option<i64>>) = wanted
            .iter()
            .map(|(_, target)| match target {
                ReplyTarget::Conversation(id) => (Some(*id), None),
                ReplyTarget::Post(id) => (None, Some(*id)),
                ReplyTarget::Several => (None, None),
            })
            .unzip();
        sqlx::query(
            "INSERT INTO reply_addresses (token_hash, person_id, conversation_id, post_id,
                                          expires_at)
             SELECT t.hash, t.person, t.conversation, t.post,
                    now() + make_interval(days => $5)
               FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[])
                    AS t (hash, person, conversation, post)",
        )
        .bind(tokens.iter().map(|t| hash(t)).collect::<Vec<_>>())
        .bind(wanted.iter().map(|(person, _)| *person).collect::<Vec<_>>())
        .bind(conversations)
        .bind(posts)
        .bind(self.reply_address_days())
        .execute(&mut **tx)
        .await?;
        let school = tx.tenant().get();
        Ok(tokens
            .into_iter()
            .map(|token| Some(format!("reply+{school}-{token}@{domain}")))
            .collect())
    }
}

/// The reply address with `token` in the school of `tx`, expired or not.
pub async fn find(tx: &mut TenantTx, token: &str) -> Result<Option<FoundReply>, sqlx::Error> {
    let row: Option<ReplyRow> = sqlx::query_as(
        "SELECT person_id, conversation_id, post_id, expires_at FROM reply_addresses
          WHERE token_hash = $1",
    )
    .bind(hash(token))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(
        row.map(|(person_id, conversation, post, expires_at)| FoundReply {
            person_id,
            target: match (conversation, post) {
                (Some(id), _) => ReplyTarget::Conversation(id),
                (None, Some(id)) => ReplyTarget::Post(id),
                (None, None) => ReplyTarget::Several,
            },
            expires_at,
        }),
    )
}

/// How long an expired reply address is kept, so that an answer to it is told "expired"
/// rather than "no such address".
pub const KEEP_EXPIRED_DAYS: i32 = 30;

/// How long a one-click unsubscribe link works (a mail older than this is not acted on).
pub const KEEP_UNSUBSCRIBE_DAYS: i32 = 365;

/// Forgets, in the school of `tx`, reply addresses expired more than [`KEEP_EXPIRED_DAYS`]
/// before `now` and unsubscribe links older than [`KEEP_UNSUBSCRIBE_DAYS`]; how many rows.
/// The clock runs it once a day.
pub async fn forget_old(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let replies = sqlx::query(
        "DELETE FROM reply_addresses WHERE expires_at < $1 - make_interval(days => $2)",
    )
    .bind(now)
    .bind(KEEP_EXPIRED_DAYS)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let links = sqlx::query(
        "DELETE FROM unsubscribe_links WHERE created_at < $1 - make_interval(days => $2)",
    )
    .bind(now)
    .bind(KEEP_UNSUBSCRIBE_DAYS)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(replies + links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_and_bounce_addresses_are_read_back_and_nothing_else() {
        let token = "0123456789abcdef0123456789abcdef";
        let address = format!("reply+12-{token}");
        let (school, found) = parse_local(&address).unwrap();
        assert_eq!((school.get(), found), (12, token));
        // Mail systems may fold the case.
        assert!(parse_local(&format!("REPLY+12-{}", token.to_uppercase())).is_some());
        assert_eq!(hash(token), hash(&token.to_uppercase()));
        for bad in [
            "reply+12-0123",
            "reply+x-0123456789abcdef0123456789abcdef",
            "reply+0-0123456789abcdef0123456789abcdef",
            "reply12-0123456789abcdef0123456789abcdef",
            "reply+12-0123456789abcdef0123456789abcdeg",
            "noreply",
            "",
        ] {
            assert!(parse_local(bad).is_none(), "{bad}");
        }
        assert_eq!(
            parse_bounce_local(&format!("bounce+7-{token}")),
            Some((7, token.to_owned()))
        );
        assert!(parse_bounce_local("bounce+7").is_none());
        assert!(parse_bounce_local(&format!("reply+7-{token}")).is_none());
    }
}
