//! One-click unsubscribe links (RFC 8058) for the mails a person gets in bulk: each digest,
//! mail per item and message notice carries a link of its own, kept by its hash in the
//! school's schema. Posting to it without a session turns off that kind of mail for that
//! person, once: a forged link finds nothing, and a link used before does nothing again
//! (someone who turned the mail back on is not turned off by an old mail).

use schoolplein_kernel::tokens::SecretToken;
use tenant_router::TenantTx;

/// What a link turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribe {
    /// The daily or twice-daily digest: every kind that comes in it.
    Digest,
    /// A mail per item of this kind of post (`news`, `agenda`, `board`).
    Each(&'static str),
    /// Notices of new messages (N3).
    MessageNotices,
    /// Mailings by staff (C5).
    Mailings,
}

impl Unsubscribe {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digest => "digest",
            Self::Each("news") => "each:news",
            Self::Each("agenda") => "each:agenda",
            Self::Each(_) => "each:board",
            Self::MessageNotices => "message_notices",
            Self::Mailings => "mailings",
        }
    }

    /// The post kind of `each:<kind>`, as the kinds are named.
    pub fn each_of(kind: &str) -> Option<Self> {
        ["news", "agenda", "board"]
            .into_iter()
            .find(|k| *k == kind)
            .map(Self::Each)
    }
}

/// Makes a link for `person_id` and `kind` in `tx` (the transaction that queues the mail);
/// the path to post to, `/unsubscribe/<token>`.
pub async fn link(
    tx: &mut TenantTx,
    person_id: i64,
    kind: Unsubscribe,
) -> Result<String, sqlx::Error> {
    let token = SecretToken::generate();
    sqlx::query("INSERT INTO unsubscribe_links (token_hash, person_id, kind) VALUES ($1, $2, $3)")
        .bind(token.hash().as_bytes().to_vec())
        .bind(person_id)
        .bind(kind.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(format!("/unsubscribe/{}", token.expose()))
}

/// [`link`] for each of `people` at once, in one statement; the paths in the same order.
pub async fn links(
    tx: &mut TenantTx,
    people: &[i64],
    kind: Unsubscribe,
) -> Result<Vec<String>, sqlx::Error> {
    let tokens: Vec<SecretToken> = people.iter().map(|_| SecretToken::generate()).collect();
    sqlx::query(
        "INSERT INTO unsubscribe_links (token_hash, person_id, kind)
         SELECT t.hash, t.person, $3 FROM unnest($1::bytea[], $2::bigint[]) AS t (hash, person)",
    )
    .bind(
        tokens
            .iter()
            .map(|t| t.hash().as_bytes().to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(people)
    .bind(kind.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(tokens
        .iter()
        .map(|t| format!("/unsubscribe/{}", t.expose()))
        .collect())
}
