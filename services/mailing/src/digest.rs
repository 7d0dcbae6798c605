//! The digest (N2): at the school's time on its weekdays (and at 07:30 for those who chose
//! twice a day), one mail per person listing the posts that reached them since their last
//! digest and how many they have not read; none when there is nothing new.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::notifications::MailFile;
use crate::{Letterhead, MailError, MailRequest, Outbox};

/// The morning digest's local time, for those who chose twice a day.
pub const MORNING: &str = "07:30";

/// The digest slots that have come by `now`: the latest at the school's own time, and the
/// latest of either (the morning one included), in the last week of the school's weekdays.
const SLOTS_SQL: &str = "
    SELECT max(slot) FILTER (WHERE NOT morning), max(slot)
      FROM (SELECT ((day::date + CASE WHEN morning THEN time '07:30' ELSE s.digest_time END)
                      AT TIME ZONE 'Europe/Amsterdam') AS slot, morning
              FROM school_settings s,
                   generate_series((($1::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date - 7)::timestamp,
                                   ($1::timestamptz AT TIME ZONE 'Europe/Amsterdam')::date::timestamp,
                                   interval '1 day') day,
                   (VALUES (false), (true)) m(morning)
             WHERE extract(isodow FROM day)::smallint = ANY (s.digest_days)) slots
     WHERE slot <= $1";

/// For each person, the new posts of the kinds they want in a digest: daily kinds published
/// since their last daily digest up to the school-time slot `$1`, twice-daily kinds since
/// their last digest up to the latest slot `$2`; not urgent (already mailed), not their own,
/// not read; the kinds the school has on (`$3`).
const ITEMS_SQL: &str = "
    WITH fresh AS (
        SELECT po.id, po.kind, po.title, po.published_at, po.author_id
          FROM posts po
         WHERE po.published_at <= $2 AND NOT po.urgent AND po.kind = ANY ($3)
           AND po.published_at > (SELECT least(min(digest_through), min(daily_digest_through))
                                    FROM people)),
    reached AS (
        SELECT f.*, a.person_id
          FROM fresh f, LATERAL (SELECT DISTINCT person_id FROM post_addressees(f.id)) a)
    SELECT r.person_id, r.id AS post_id, r.kind, r.title
      FROM reached r
      JOIN people pe ON pe.id = r.person_id AND pe.account_id IS NOT NULL
      LEFT JOIN notification_preferences np ON np.person_id = pe.id AND np.kind = r.kind
     WHERE r.author_id IS DISTINCT FROM pe.id
       AND CASE coalesce(np.delivery, 'daily')
             WHEN 'daily' THEN r.published_at > pe.daily_digest_through AND r.published_at <= $1
             WHEN 'twice_daily' THEN r.published_at > pe.digest_through
             ELSE false END
       AND NOT EXISTS (SELECT 1 FROM post_reads rd
                        WHERE rd.post_id = r.id AND rd.person_id = pe.id)
     ORDER BY r.person_id, r.published_at DESC, r.id DESC";

/// How many posts of the shown kinds (`$2`) each of `$1` has not read, by the same rules as
/// the timeline.
const UNREAD_SQL: &str = "
    SELECT pe.id,
           (SELECT count(*) FROM posts po
             WHERE po.kind = ANY ($2)
               AND NOT EXISTS (SELECT 1 FROM post_reads rd
                                WHERE rd.post_id = po.id AND rd.person_id = pe.id)
               AND (po.whole_school
                    OR EXISTS (SELECT 1 FROM post_groups pg
                                 JOIN pupils p ON p.group_id = pg.group_id AND p.left_at IS NULL
                                 JOIN guardians g ON g.pupil_id = p.id AND g.status = 'active'
                                WHERE pg.post_id = po.id AND g.person_id = pe.id)
                    OR EXISTS (SELECT 1 FROM post_special_groups ps
                                 JOIN special_group_members m
                                   ON m.special_group_id = ps.special_group_id
                                WHERE ps.post_id = po.id AND m.person_id = pe.id)
                    OR (po.by_list AND EXISTS (SELECT 1 FROM post_recipients r
                                                WHERE r.post_id = po.id
                                                  AND r.person_id = pe.id)))),
           (SELECT count(*) FROM message_recipients r
             WHERE r.read_at IS NULL
               AND (r.person_id = pe.id
                    OR (r.person_id IS NULL AND 'school_admin' = ANY (pe.roles))))
      FROM people pe WHERE pe.id = ANY ($1)";

#[derive(Debug, sqlx::FromRow)]
struct ItemRow {
    person_id: i64,
    post_id: i64,
    kind: String,
    title: String,
}

#[derive(Debug, Serialize)]
struct DigestItem {
    kind: String,
    title: String,
    link: String,
    /// The post's files, each with its download link.
    files: Vec<MailFile>,
}

#[derive(Debug, Serialize)]
struct DigestMail {
    items: Vec<DigestItem>,
    unread: i64,
    timeline: String,
    /// Messages waiting unread in the person's inbox (N3), when the school has messages on.
    unread_messages: i64,
    inbox: String,
}

/// What one school's digest run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DigestOutcome {
    /// Digests queued.
    pub mailed: usize,
    /// Items listed in them, together.
    pub items: usize,
}

/// Queues the digests due at `now` in the school of `tx`, and moves everyone's marks to the
/// slots covered — all in `tx`, so it happens once or not at all. Runs of the same school
/// wait for each other (the settings row is locked), and a second finds nothing new.
/// `kinds` are the kinds of post the school has on; `url` makes a full address of a path.
pub async fn run(
    tx: &mut TenantTx,
    outbox: &Outbox,
    now: DateTime<Utc>,
    kinds: &[&str],
    messages_on: bool,
    url: impl Fn(&str) -> String,
) -> Result<DigestOutcome, MailError> {
    sqlx::query("SELECT 1 FROM school_settings FOR UPDATE")
        .execute(&mut **tx)
        .await?;
    let (daily_slot, latest_slot): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as(SLOTS_SQL)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
    let (Some(daily_slot), Some(latest_slot)) = (daily_slot, latest_slot) else {
        return Ok(DigestOutcome::default());
    };
    let items: Vec<ItemRow> = sqlx::query_as(ITEMS_SQL)
        .bind(daily_slot)
        .bind(latest_slot)
        .bind(kinds)
        .fetch_all(&mut **tx)
        .await?;
    let mut outcome = DigestOutcome::default();
    if !items.is_empty() {
        let mut people: Vec<i64> = items.iter().map(|i| i.person_id).collect();
        people.dedup();
        let unread: Vec<(i64, i64, i64)> = sqlx::query_as(UNREAD_SQL)
            .bind(&people)
            .bind(kinds)
            .fetch_all(&mut **tx)
            .await?;
        let addresses: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT pe.id, pe.email, a.language
               FROM people pe LEFT JOIN platform.accounts a ON a.id = pe.account_id
              WHERE pe.id = ANY ($1) AND pe.blocked_at IS NULL",
        )
        .bind(&people)
        .fetch_all(&mut **tx)
        .await?;
        let mut posts: Vec<i64> = items.iter().map(|i| i.post_id).collect();
        posts.sort_unstable();
        posts.dedup();
        let mut files: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
        for (post_id, file_id, name) in crate::db::post_files::of_posts(tx, &posts).await? {
            files.entry(post_id).or_default().push((file_id, name));
        }
        let letterhead = Letterhead::load(tx).await?;
        let timeline = url("/timeline");
        let inbox = url("/messages");
        let unread: HashMap<i64, (i64, i64)> = unread
            .into_iter()
            .map(|(person, posts, messages)| (person, (posts, messages)))
            .collect();
        let addresses: HashMap<i64, (String, Option<String>)> = addresses
            .into_iter()
            .map(|(id, email, language)| (id, (email, language)))
            .collect();
        let mut batch = outbox.batch();
        // The items come ordered by person: one digest per run of the same person.
        for theirs in items.chunk_by(|a, b| a.person_id == b.person_id) {
            let Some(person_id) = theirs.first().map(|i| i.person_id) else {
                continue;
            };
            let Some((email, language)) = addresses.get(&person_id) else {
                continue; // blocked
            };
            let mail = DigestMail {
                items: theirs
                    .iter()
                    .map(|i| DigestItem {
                        kind: i.kind.clone(),
                        title: i.title.clone(),
                        link: url(&format!("/posts/{}", i.post_id)),
                        files: files
                            .get(&i.post_id)
                            .into_iter()
                            .flatten()
                            .map(|(file_id, name)| MailFile {
                                name: name.clone(),
                                link: url(&format!("/posts/{}/attachments/{file_id}", i.post_id)),
                            })
                            .collect(),
                    })
                    .collect(),
                unread: unread.get(&person_id).map_or(0, |u| u.0),
                timeline: timeline.clone(),
                unread_messages: if messages_on {
                    unread.get(&person_id).map_or(0, |u| u.1)
                } else {
                    0
                },
                inbox: inbox.clone(),
            };
            let unsubscribe = url(&crate::unsubscribe::link(
                tx,
                person_id,
                crate::unsubscribe::Unsubscribe::Digest,
            )
            .await?);
            batch
                .add_bulk(
                    tx,
                    MailRequest {
                        to: email,
                        template: "mailing/digest",
                        language: Language::of_account(language.as_deref()),
                        urgent: false,
                        context: &mail,
                        letterhead: Some(&letterhead),
                    },
                    Some(unsubscribe),
                )
                .await?;
            outcome.items += mail.items.len();
        }
        outcome.mailed = batch.finish(tx).await?;
    }
    sqlx::query(
        "UPDATE people SET daily_digest_through = greatest(daily_digest_through, $1),
                           digest_through = greatest(digest_through, $2)
          WHERE daily_digest_through < $1 OR digest_through < $2",
    )
    .bind(daily_slot)
    .bind(latest_slot)
    .execute(&mut **tx)
    .await?;
    Ok(outcome)
}
