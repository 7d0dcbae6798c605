//! The questions of posts and the answers parents give them.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// A question of a post.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Question {
    pub id: i64,
    pub kind: String,
    pub prompt: String,
    pub options: Vec<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct SectionRow {
    pub pupil_id: Option<i64>,
    pub child: Option<String>,
    pub response_id: Option<i64>,
    pub answered_by: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct AnswerRow {
    pub response_id: i64,
    pub question_id: i64,
    pub yes: Option<bool>,
    pub choices: Option<Vec<i16>>,
    pub text: Option<String>,
}

/// A pupil's name as pages show it.
const PUPIL_NAME: &str = "concat_ws(' ', pu.first_name, nullif(pu.name_prefix, ''), pu.last_name)";

/// Sets whether the post asks per child and its deadline (the school's local time); whether
/// the deadline lies ahead, `None` when there is no such post.
pub async fn set_deadline(
    tx: &mut TenantTx,
    post_id: i64,
    per_child: bool,
    answers_until: Option<NaiveDateTime>,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE posts SET per_child = $2,
                answers_until = ($3::timestamp AT TIME ZONE 'Europe/Amsterdam')
          WHERE id = $1
         RETURNING answers_until IS NULL OR answers_until > now()",
    )
    .bind(post_id)
    .bind(per_child)
    .bind(answers_until)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert_question(
    tx: &mut TenantTx,
    post_id: i64,
    position: i16,
    kind: &str,
    prompt: &str,
    options: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO questions (post_id, position, kind, prompt, options)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(post_id)
    .bind(position)
    .bind(kind)
    .bind(prompt)
    .bind(options)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The post's questions, in their order.
pub async fn questions(tx: &mut TenantTx, post_id: i64) -> Result<Vec<Question>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, prompt, options FROM questions WHERE post_id = $1 ORDER BY position",
    )
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the post asks per child, its deadline, and whether answers are still taken.
pub async fn deadline(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<(bool, Option<DateTime<Utc>>, bool), sqlx::Error> {
    sqlx::query_as(
        "SELECT per_child, answers_until,
                    answers_until IS NULL OR answers_until > now()
               FROM posts WHERE id = $1",
    )
    .bind(post_id)
    .fetch_one(&mut **tx)
    .await
}

/// Whether the post still takes answers.
pub async fn is_open(tx: &mut TenantTx, post_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT answers_until IS NULL OR answers_until > now() FROM posts WHERE id = $1",
    )
    .bind(post_id)
    .fetch_one(&mut **tx)
    .await
}

/// The person's sections of the post (the family, or each child), with who answered.
pub async fn sections(
    tx: &mut TenantTx,
    post_id: i64,
    person_id: i64,
) -> Result<Vec<SectionRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT a.pupil_id, CASE WHEN pu.id IS NOT NULL THEN {PUPIL_NAME} END AS child, a.response_id, answerer.name AS answered_by
           FROM post_answered($1) a
           LEFT JOIN pupils pu ON pu.id = a.pupil_id
           LEFT JOIN responses r ON r.id = a.response_id
           LEFT JOIN people answerer ON answerer.id = r.answered_by
          WHERE a.person_id = $2
          ORDER BY pu.date_of_birth, pu.id"
    )))
    .bind(post_id)
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// The answers given in these responses.
pub async fn given_answers(
    tx: &mut TenantTx,
    response_ids: &[i64],
) -> Result<Vec<AnswerRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT response_id, question_id, yes, choices, text
           FROM response_answers WHERE response_id = ANY($1)",
    )
    .bind(response_ids)
    .fetch_all(&mut **tx)
    .await
}

/// An answer with who gave it, for the tally.
#[derive(Debug, sqlx::FromRow)]
pub struct TallyRow {
    pub question_id: i64,
    pub yes: Option<bool>,
    pub choices: Option<Vec<i16>>,
    pub text: Option<String>,
    /// The family's name, and the child's when the post asks per child.
    pub who: String,
}

/// Every answer to the post with who gave it, by name.
pub async fn tally_rows(tx: &mut TenantTx, post_id: i64) -> Result<Vec<TallyRow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT ra.question_id, ra.yes, ra.choices, ra.text,
                pe.name || CASE WHEN pu.id IS NULL THEN '' ELSE ' (' || {PUPIL_NAME} || ')' END
                  AS who
           FROM responses r
           JOIN response_answers ra ON ra.response_id = r.id
           JOIN people pe ON pe.id = r.person_id
           LEFT JOIN pupils pu ON pu.id = r.pupil_id
          WHERE r.post_id = $1
          ORDER BY pe.name, pu.first_name, r.id"
    )))
    .bind(post_id)
    .fetch_all(&mut **tx)
    .await
}

/// How many the post asks, how many answered every section, and the names of the others.
pub async fn answered_count(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<(i64, i64, Vec<String>), sqlx::Error> {
    sqlx::query_as(
        "WITH per_person AS (
             SELECT person_id, bool_and(response_id IS NOT NULL) AS done
               FROM post_answered($1) GROUP BY person_id)
         SELECT count(*), count(*) FILTER (WHERE done),
                coalesce(array_agg(pe.name ORDER BY pe.name) FILTER (WHERE NOT done), '{}')
           FROM per_person JOIN people pe ON pe.id = per_person.person_id",
    )
    .bind(post_id)
    .fetch_one(&mut **tx)
    .await
}

/// The person's partner, while both keep joint use on.
pub async fn joint_partner(tx: &mut TenantTx, person_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT partner.id FROM people me
           JOIN people partner ON partner.id = me.partner_id AND me.joint_use AND partner.joint_use
          WHERE me.id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Locks the person's row and their partner's, in id order.
pub async fn lock_people(
    tx: &mut TenantTx,
    person_id: i64,
    partner: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT id FROM people WHERE id = $1 OR id = $2 ORDER BY id FOR UPDATE")
        .bind(person_id)
        .bind(partner)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The person's sections of the post, `(pupil, response)`.
pub async fn answer_sections(
    tx: &mut TenantTx,
    post_id: i64,
    person_id: i64,
) -> Result<Vec<(Option<i64>, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("SELECT pupil_id, response_id FROM post_answered($1) WHERE person_id = $2")
        .bind(post_id)
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await
}

/// Empties a response for new answers, now given by `by`.
pub async fn clear_response(
    tx: &mut TenantTx,
    response_id: i64,
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE responses SET answered_by = $2, answered_at = now() WHERE id = $1")
        .bind(response_id)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM response_answers WHERE response_id = $1")
        .bind(response_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A new response of the person (for a child, or the family); its id.
pub async fn new_response(
    tx: &mut TenantTx,
    post_id: i64,
    person_id: i64,
    pupil_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO responses (post_id, person_id, pupil_id, answered_by)
         VALUES ($1, $2, $3, $2) RETURNING id",
    )
    .bind(post_id)
    .bind(person_id)
    .bind(pupil_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert_answer(
    tx: &mut TenantTx,
    response_id: i64,
    question_id: i64,
    yes: Option<bool>,
    choices: Option<&[i16]>,
    text: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO response_answers (response_id, question_id, yes, choices, text)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(response_id)
    .bind(question_id)
    .bind(yes)
    .bind(choices)
    .bind(text)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The post, locked: its author, whether it has questions, and whether it was reminded in
/// the last 15 minutes. `None` when there is no such post.
pub async fn reminder_state(
    tx: &mut TenantTx,
    post_id: i64,
) -> Result<Option<(Option<i64>, bool, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT author_id, EXISTS (SELECT 1 FROM questions q WHERE q.post_id = posts.id),
                coalesce(reminded_at > now() - interval '15 minutes', false)
           FROM posts WHERE id = $1 FOR UPDATE",
    )
    .bind(post_id)
    .fetch_optional(&mut **tx)
    .await
}
