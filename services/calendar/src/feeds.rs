//! The iCalendar feeds (K2): each person's secret links (a personal feed and one per group),
//! kept only as hashes, who a link belongs to, and the entries a feed holds.

use chrono::{DateTime, Utc};
use schoolplein_kernel::Role;
use schoolplein_kernel::config::TenancyConfig;
use schoolplein_kernel::i18n::Language;
use schoolplein_kernel::tokens::SecretToken;
use serde::Serialize;
use tenant_router::{TenantEntry, TenantTx};

use crate::events::EventRow;
use crate::ical::{FeedEvent, FeedTime};

/// A feed link's place in the address: `/feeds/<secret>.ics`.
pub const FEED_SUFFIX: &str = ".ics";

/// Makes a new secret for the person's feed of `group` (`None`: their personal feed),
/// replacing the old one, which stops working when this commits. Returns the secret: it is
/// shown once and never stored.
pub async fn renew(
    tx: &mut TenantTx,
    person_id: i64,
    group: Option<i64>,
) -> Result<SecretToken, sqlx::Error> {
    let token = SecretToken::generate();
    sqlx::query(
        "INSERT INTO calendar_feeds (person_id, group_id, token_hash) VALUES ($1, $2, $3)
         ON CONFLICT (person_id, group_id)
         DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()",
    )
    .bind(person_id)
    .bind(group)
    .bind(token.hash().as_bytes())
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// Ends the person's link for `group`; true when there was one.
pub async fn revoke(
    tx: &mut TenantTx,
    person_id: i64,
    group: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query(
        "DELETE FROM calendar_feeds WHERE person_id = $1 AND group_id IS NOT DISTINCT FROM $2",
    )
    .bind(person_id)
    .bind(group)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(removed > 0)
}

/// One of a person's links as their page lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct FeedLink {
    pub group_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub async fn links(tx: &mut TenantTx, person_id: i64) -> Result<Vec<FeedLink>, sqlx::Error> {
    sqlx::query_as("SELECT group_id, created_at FROM calendar_feeds WHERE person_id = $1")
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await
}

/// Whose feed a secret opens, as that person is in the school now.
#[derive(Debug)]
pub struct FeedOwner {
    pub person_id: i64,
    pub group_id: Option<i64>,
    pub roles: Vec<Role>,
    pub language: Language,
}

/// The owner of the feed whose secret this is, while they are a member of the school who is
/// neither blocked nor disabled; `None` otherwise.
pub async fn owner_of(
    tx: &mut TenantTx,
    tenant: &TenantEntry,
    token: &SecretToken,
) -> Result<Option<FeedOwner>, sqlx::Error> {
    let row: Option<(i64, Option<i64>, Vec<String>, String)> = sqlx::query_as(
        "SELECT f.person_id, f.group_id, m.roles, a.language
           FROM calendar_feeds f
           JOIN platform.memberships m ON m.person_id = f.person_id AND m.tenant_id = $2
           JOIN platform.accounts a ON a.id = m.account_id
          WHERE f.token_hash = $1 AND m.blocked_at IS NULL AND NOT a.disabled",
    )
    .bind(token.hash().as_bytes())
    .bind(tenant.id.get())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(person_id, group_id, roles, language)| FeedOwner {
        person_id,
        group_id,
        roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
        language: Language::of_account(Some(&language)),
    }))
}

/// The feed's address for a secret, on the school's own host.
pub fn feed_url(tenancy: &TenancyConfig, tenant: &TenantEntry, token: &SecretToken) -> String {
    tenancy.school_url(
        tenant.slug.as_str(),
        &format!("/feeds/{}{FEED_SUFFIX}", token.expose()),
    )
}

/// Feed entries of the school's events. UIDs carry the school's immutable id rather than its
/// host, so they stay the same when the school's address changes.
pub fn event_entries(
    rows: &[EventRow],
    tenancy: &TenancyConfig,
    tenant: &TenantEntry,
) -> Vec<FeedEvent> {
    rows.iter()
        .map(|event| FeedEvent {
            uid: format!(
                "event-{}-{}@{}",
                event.id,
                tenant.id.get(),
                tenancy.base_domain
            ),
            when: match event.all_day() {
                Some((first, last)) => FeedTime::Days { first, last },
                None => FeedTime::At {
                    starts: event.starts_at,
                    ends: event.ends_at,
                },
            },
            summary: event.title.clone(),
            location: Some(event.place.clone()),
            description: Some(event.description.clone()),
            url: Some(tenancy.school_url(
                tenant.slug.as_str(),
                &format!("/calendar/events/{}", event.id),
            )),
            changed: event.updated_at,
        })
        .collect()
}

/// A conference talk of a parent's, for their personal feed.
#[derive(Debug, sqlx::FromRow)]
pub struct TalkRow {
    pub booking_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub round_title: String,
    pub child: String,
    pub group_name: String,
    pub booked_at: DateTime<Utc>,
}

/// The talks booked for `person_id` as a parent: their children's shared talks and their own
/// in rounds where each parent books apart, in published and closed rounds, ending after
/// `since`. Only children they are still an active guardian of.
pub async fn talks_of(
    tx: &mut TenantTx,
    person_id: i64,
    since: DateTime<Utc>,
) -> Result<Vec<TalkRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT b.id AS booking_id, s.starts_at, s.ends_at, r.title AS round_title,
                p.first_name AS child, g.name AS group_name, b.booked_at
           FROM conference_bookings b
           JOIN conference_slots s ON s.id = b.slot_id
           JOIN conference_rounds r ON r.id = b.round_id
           JOIN pupils p ON p.id = b.pupil_id AND p.left_at IS NULL
           JOIN groups g ON g.id = r.group_id
           JOIN guardians gu ON gu.pupil_id = b.pupil_id AND gu.person_id = $1
                            AND gu.status = 'active'
          WHERE r.status IN ('published', 'closed') AND s.ends_at > $2
            AND (b.parent_id IS NULL OR b.parent_id = $1)
          ORDER BY s.starts_at, b.id",
    )
    .bind(person_id)
    .bind(since)
    .fetch_all(&mut **tx)
    .await
}

/// Feed entries of a parent's talks. A changed talk keeps its booking and so its UID: the
/// calendar app moves the entry instead of showing both times.
pub fn talk_entries(
    rows: &[TalkRow],
    label: &str,
    tenancy: &TenancyConfig,
    tenant: &TenantEntry,
) -> Vec<FeedEvent> {
    rows.iter()
        .map(|talk| FeedEvent {
            uid: format!(
                "conference-{}-{}@{}",
                talk.booking_id,
                tenant.id.get(),
                tenancy.base_domain
            ),
            when: FeedTime::At {
                starts: talk.starts_at,
                ends: talk.ends_at,
            },
            summary: format!("{label}: {} ({})", talk.child, talk.group_name),
            location: None,
            description: Some(talk.round_title.clone()),
            url: Some(tenancy.school_url(tenant.slug.as_str(), "/conferences")),
            changed: talk.booked_at,
        })
        .collect()
}
