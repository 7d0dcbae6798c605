//! Posts as their readers see them (the timeline's pages, one post), and what a post holds
//! besides its text, for the page that asks before deleting it.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use schoolplein_kernel::audience::{PostReader, SEES_POST};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// What goes with a post when it is deleted.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PostHoldings {
    pub title: String,
    /// Answers to a notice-board item.
    pub answers: i64,
    /// Filled-in questionnaires.
    pub responses: i64,
    pub attachments: i64,
}

/// The post's title and what would be lost with it, or `None` when there is no such post.
pub async fn holdings(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<Option<PostHoldings>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.title,
                (SELECT count(*) FROM post_answers a WHERE a.post_id = p.id) AS answers,
                (SELECT count(*) FROM responses r WHERE r.post_id = p.id) AS responses,
                (SELECT count(*) FROM post_attachments f WHERE f.post_id = p.id) AS attachments
           FROM posts p WHERE p.id = $1",
    )
    .bind(post_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Of the posts `ids`, those where `person_id` still has a section to answer.
pub async fn unanswered_by(
    tx: &mut TenantTx,
    person_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.id FROM unnest($2::bigint[]) AS p(id)
          WHERE EXISTS (SELECT 1 FROM post_answered(p.id) a
                         WHERE a.person_id = $1 AND a.response_id IS NULL)",
    )
    .bind(person_id)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

/// A post as its reader sees it, with its groups' names and whether the reader opened it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PostRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub body_html: Option<String>,
    pub happens_on: Option<NaiveDate>,
    pub author: Option<String>,
    pub author_id: Option<i64>,
    pub whole_school: bool,
    pub groups: Vec<String>,
    pub published_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub unread: bool,
    pub urgent: bool,
    /// Sent as a mailing (C5).
    pub mailing: bool,
    /// How many files go with it.
    pub attachments: i64,
    /// It asks questions (a questionnaire).
    pub has_questions: bool,
    pub answers_until: Option<DateTime<Utc>>,
}

/// Posts the reader sees that meet `condition`, with their groups' names and whether the
/// reader has opened them.
fn select_posts(condition: &str, tail: &str) -> String {
    format!(
        "SELECT po.id, po.kind, po.title, po.body, po.body_html, po.happens_on, a.name AS author, po.author_id,
                po.whole_school,
                ARRAY(SELECT g.name FROM post_groups pg JOIN groups g ON g.id = pg.group_id
                       WHERE pg.post_id = po.id ORDER BY g.year NULLS LAST, g.name)
                || ARRAY(SELECT s.name FROM post_special_groups ps
                           JOIN special_groups s ON s.id = ps.special_group_id
                          WHERE ps.post_id = po.id ORDER BY s.name) AS groups,
                po.published_at, po.edited_at, po.urgent, po.mailing,
                (SELECT count(*) FROM post_attachments pa WHERE pa.post_id = po.id) AS attachments,
                EXISTS (SELECT 1 FROM questions q WHERE q.post_id = po.id) AS has_questions,
                po.answers_until,
                NOT EXISTS (SELECT 1 FROM post_reads r
                             WHERE r.post_id = po.id AND r.person_id = $1) AS unread
           FROM posts po LEFT JOIN people a ON a.id = po.author_id
          WHERE {SEES_POST} AND {condition}
          {tail}"
    )
}

/// A timeline page: `$4` the kinds shown, `$5`/`$6` the publication time and id of the last
/// post of the previous page, `$7` how many.
static TIMELINE_SQL: LazyLock<String> = LazyLock::new(|| {
    select_posts(
        "po.kind = ANY($4)
         AND ($5::timestamptz IS NULL OR (po.published_at, po.id) < ($5, $6))",
        "ORDER BY po.published_at DESC, po.id DESC LIMIT $7",
    )
});

/// One post, `$4`.
static ONE_POST_SQL: LazyLock<String> = LazyLock::new(|| select_posts("po.id = $4", ""));

/// A timeline page of the posts the reader sees of these kinds: below `before` (the
/// publication time and id of the previous page's last post), at most `limit`, newest first.
pub async fn timeline_page(
    tx: &mut TenantTx,
    reader: &PostReader,
    kinds: &[&str],
    before: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<PostRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(TIMELINE_SQL.as_str()))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(&reader.groups)
        .bind(kinds)
        .bind(before.map(|(published_at, _)| published_at))
        .bind(before.map(|(_, id)| id))
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// One post, if the reader sees it.
pub async fn visible(
    tx: &mut TenantTx,
    reader: &PostReader,
    post_id: i64,
) -> Result<Option<PostRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(ONE_POST_SQL.as_str()))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(&reader.groups)
        .bind(post_id)
        .fetch_optional(&mut **tx)
        .await
}

/// A post's author and kind, the post locked for the rest of the transaction.
pub async fn author_and_kind_for_update(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<Option<(Option<i64>, String)>, sqlx::Error> {
    sqlx::query_as("SELECT author_id, kind FROM posts WHERE id = $1 FOR UPDATE")
        .bind(post_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Notes that the post's readers were just reminded.
pub async fn mark_reminded(tx: &mut TenantTx, post_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE posts SET reminded_at = now() WHERE id = $1")
        .bind(post_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks the post read by the person (once).
pub async fn mark_read(tx: &mut TenantTx, post_id: i64, person_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO post_reads (post_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(post_id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks a new post read by its author.
pub async fn add_read(tx: &mut TenantTx, post_id: i64, person_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO post_reads (post_id, person_id) VALUES ($1, $2)")
        .bind(post_id)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An answer to a bulletin-board item.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Answer {
    pub name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// The answers to a bulletin-board item: all of them when `all`, else the person's own.
pub async fn answers(
    tx: &mut TenantTx,
    post_id: i64,
    all: bool,
    person_id: i64,
) -> Result<Vec<Answer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.name, an.body, an.created_at
           FROM post_answers an JOIN people pe ON pe.id = an.person_id
          WHERE an.post_id = $1 AND ($2 OR an.person_id = $3)
          ORDER BY an.id",
    )
    .bind(post_id)
    .bind(all)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn add_answer(
    tx: &mut TenantTx,
    post_id: i64,
    person_id: i64,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO post_answers (post_id, person_id, body) VALUES ($1, $2, $3)")
        .bind(post_id)
        .bind(person_id)
        .bind(body)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A new post as it is stored.
#[derive(Debug)]
pub struct PostInsert<'a> {
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub happens_on: Option<NaiveDate>,
    pub author_id: i64,
    pub whole_school: bool,
    pub urgent: bool,
    /// Sent to the people on a recipient list.
    pub by_list: bool,
    pub body_html: &'a str,
    /// Sent as a mailing (C5).
    pub mailing: bool,
}

/// Stores a new post, published now (clock time); its id.
pub async fn insert(tx: &mut TenantTx, post: &PostInsert<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO posts (kind, title, body, happens_on, author_id, whole_school, urgent,
                            by_list, published_at, body_html, mailing)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp(), $9, $10) RETURNING id",
    )
    .bind(post.kind)
    .bind(post.title)
    .bind(post.body)
    .bind(post.happens_on)
    .bind(post.author_id)
    .bind(post.whole_school)
    .bind(post.urgent)
    .bind(post.by_list)
    .bind(post.body_html)
    .bind(post.mailing)
    .fetch_one(&mut **tx)
    .await
}

/// The people a post by list was sent to.
pub async fn add_recipients(
    tx: &mut TenantTx,
    post_id: i64,
    people: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO post_recipients (post_id, person_id) SELECT $1, unnest($2::bigint[])")
        .bind(post_id)
        .bind(people)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The people an urgent post was mailed to, besides those it has.
pub async fn add_recipients_once(
    tx: &mut TenantTx,
    post_id: i64,
    people: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO post_recipients (post_id, person_id) SELECT $1, unnest($2::bigint[])
         ON CONFLICT DO NOTHING",
    )
    .bind(post_id)
    .bind(people)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn add_groups(
    tx: &mut TenantTx,
    post_id: i64,
    group_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO post_groups (post_id, group_id) SELECT $1, unnest($2::bigint[])")
        .bind(post_id)
        .bind(group_ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn add_special_groups(
    tx: &mut TenantTx,
    post_id: i64,
    special_group_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO post_special_groups (post_id, special_group_id)
         SELECT $1, unnest($2::bigint[])",
    )
    .bind(post_id)
    .bind(special_group_ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A parent an urgent message is mailed to.
#[derive(Debug, sqlx::FromRow)]
pub struct Recipient {
    pub person_id: i64,
    pub email: String,
    pub language: Option<String>,
}

/// Everyone the post is addressed to, with their address and language.
pub async fn addressees(tx: &mut TenantTx, post_id: i64) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.id AS person_id, pe.email, a.language
           FROM (SELECT DISTINCT person_id FROM post_addressees($1)) addressee
           JOIN people pe ON pe.id = addressee.person_id
           LEFT JOIN platform.accounts a ON a.id = pe.account_id",
    )
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await
}

/// The recipients of an urgent post who have not read it (and are not blocked).
pub async fn unread_recipients(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.id AS person_id, pe.email, a.language
           FROM post_recipients pr
           JOIN people pe ON pe.id = pr.person_id AND pe.blocked_at IS NULL
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pr.post_id = $1
            AND NOT EXISTS (SELECT 1 FROM post_reads r
                             WHERE r.post_id = pr.post_id AND r.person_id = pr.person_id)",
    )
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await
}

/// Keeps the hashes of the recipients' own links: `hashes[i]` is `people[i]`'s.
pub async fn add_links(
    tx: &mut TenantTx,
    hashes: &[Vec<u8>],
    post_id: i64,
    people: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO post_links (link_hash, post_id, person_id)
         SELECT unnest($1::bytea[]), $2, unnest($3::bigint[])",
    )
    .bind(hashes)
    .bind(post_id)
    .bind(people)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The post of a mailed link, marked read by its recipient.
pub async fn follow_link(tx: &mut TenantTx, link_hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH link AS (SELECT post_id, person_id FROM post_links WHERE link_hash = $1),
              read AS (INSERT INTO post_reads (post_id, person_id) SELECT * FROM link
                       ON CONFLICT DO NOTHING)
         SELECT post_id FROM link",
    )
    .bind(link_hash)
    .fetch_optional(&mut **tx)
    .await
}

/// Who an urgent message or a mailing was sent to: whether and when they read it, and where
/// its mail to them is (N7).
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Receipt {
    pub name: String,
    pub read_at: Option<DateTime<Utc>>,
    /// `queued`, `sent` or `bounced`; `None`: no mail went (someone who turned mailings off).
    pub mail: Option<String>,
}

/// The receipts of an urgent post or a mailing, unread first.
pub async fn receipts(tx: &mut TenantTx, post_id: i64) -> Result<Vec<Receipt>, sqlx::Error> {
    let tenant = tx.tenant().get();
    sqlx::query_as(
        "WITH mails AS (
             SELECT DISTINCT ON (o.person_id) o.person_id,
                    CASE WHEN o.failed_at IS NOT NULL THEN 'bounced'
                         WHEN o.sent_at IS NOT NULL THEN 'sent' ELSE 'queued' END AS state
               FROM platform.outbox o
              WHERE o.tenant_id = $2 AND o.about = 'post:' || $1 AND o.person_id IS NOT NULL
              ORDER BY o.person_id, o.id DESC),
              reached AS (
             SELECT person_id FROM post_recipients WHERE post_id = $1
             UNION SELECT person_id FROM mails)
         SELECT pe.name, r.read_at, m.state AS mail
           FROM reached x
           JOIN people pe ON pe.id = x.person_id
           LEFT JOIN post_reads r ON r.post_id = $1 AND r.person_id = x.person_id
           LEFT JOIN mails m ON m.person_id = x.person_id
          ORDER BY r.read_at IS NOT NULL, pe.name, pe.id",
    )
    .bind(post_id)
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await
}

/// What reminding the unread of an urgent post needs of it.
#[derive(Debug, sqlx::FromRow)]
pub struct RemindedPost {
    pub author_id: Option<i64>,
    pub urgent: bool,
    pub title: String,
    pub body: String,
    pub body_html: Option<String>,
    pub recently: bool,
}

/// The post, locked, as reminding needs it; `recently` when it was reminded in the last
/// `every_minutes`.
pub async fn for_reminder(
    tx: &mut TenantTx,
    post_id: i64,
    every_minutes: i32,
) -> Result<Option<RemindedPost>, sqlx::Error> {
    sqlx::query_as(
        "SELECT author_id, urgent, title, body, body_html,
                coalesce(reminded_at > now() - make_interval(mins => $2), false) AS recently
           FROM posts WHERE id = $1 FOR UPDATE",
    )
    .bind(post_id)
    .bind(every_minutes)
    .fetch_optional(&mut **tx)
    .await
}

/// A post as its edit form shows it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct EditRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub happens_on: Option<NaiveDate>,
}

pub async fn for_edit(tx: &mut TenantTx, post_id: i64) -> Result<EditRow, sqlx::Error> {
    sqlx::query_as("SELECT id, kind, title, body, happens_on FROM posts WHERE id = $1")
        .bind(post_id)
        .fetch_one(&mut **tx)
        .await
}

/// A post's new title, text and date, marked edited.
pub async fn update_text(
    tx: &mut TenantTx,
    post_id: i64,
    title: &str,
    body: &str,
    happens_on: Option<NaiveDate>,
    body_html: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE posts SET title = $2, body = $3, happens_on = $4, edited_at = now(),
                          body_html = $5
          WHERE id = $1",
    )
    .bind(post_id)
    .bind(title)
    .bind(body)
    .bind(happens_on)
    .bind(body_html)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete(tx: &mut TenantTx, post_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(post_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
