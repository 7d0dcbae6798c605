//! Recipient lists: the rules staff keep, the lists one may use, and the people a rule names
//! at the moment a post is sent.

use schoolplein_kernel::audience::PostReader;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

/// A list as the post form offers it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ListChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, sqlx::FromRow)]
pub struct ListRule {
    pub rule: String,
    pub group_id: Option<i64>,
    pub post_id: Option<i64>,
    pub question_id: Option<i64>,
    pub answer: Option<i16>,
}

/// The lists `reader` may send to: every list for admins; for a teacher, lists of the groups
/// they teach and of the questionnaires they wrote (whose answers only they and admins see).
const USABLE: &str = "($1 OR (l.rule = 'group' AND l.group_id = ANY($3))
     OR EXISTS (SELECT 1 FROM posts po
                 WHERE po.author_id = $2
                   AND po.id = coalesce(l.post_id,
                                        (SELECT q.post_id FROM questions q
                                          WHERE q.id = l.question_id))))";

/// The lists `reader` may send a post to, by name.
pub async fn choices(
    tx: &mut TenantTx,
    reader: &PostReader,
) -> Result<Vec<ListChoice>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT l.id, l.name FROM recipient_lists l WHERE {USABLE} ORDER BY l.name, l.id"
    )))
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(reader.taught.iter().copied().collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await
}

/// A list's rule, if `reader` may use the list.
pub async fn usable_rule(
    tx: &mut TenantTx,
    reader: &PostReader,
    list_id: i64,
) -> Result<Option<ListRule>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT l.rule, l.group_id, l.post_id, l.question_id, l.answer
           FROM recipient_lists l WHERE l.id = $4 AND {USABLE}"
    )))
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(reader.taught.iter().copied().collect::<Vec<_>>())
    .bind(list_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The people a rule names now (not blocked), by id.
pub async fn people_of(tx: &mut TenantTx, rule: &ListRule) -> Result<Vec<i64>, sqlx::Error> {
    match rule.rule.as_str() {
        "group" => {
            sqlx::query_scalar(
                "SELECT DISTINCT g.person_id
                   FROM guardians g
                   JOIN pupils p ON p.id = g.pupil_id AND p.left_at IS NULL
                   JOIN people pe ON pe.id = g.person_id AND pe.blocked_at IS NULL
                  WHERE g.status = 'active' AND p.group_id = $1
                  ORDER BY 1",
            )
            .bind(rule.group_id)
            .fetch_all(&mut **tx)
            .await
        }
        "not_answered" => {
            sqlx::query_scalar(
                "SELECT person_id FROM post_answered($1)
                  GROUP BY person_id HAVING bool_or(response_id IS NULL) ORDER BY 1",
            )
            .bind(rule.post_id)
            .fetch_all(&mut **tx)
            .await
        }
        _ => {
            sqlx::query_scalar(
                "SELECT DISTINCT a.person_id
                   FROM questions q, post_answered(q.post_id) a
                   JOIN response_answers ra ON ra.response_id = a.response_id
                  WHERE q.id = $1 AND ra.question_id = $1
                    AND (ra.yes = ($2 = 1) OR $2 = ANY (ra.choices))
                  ORDER BY 1",
            )
            .bind(rule.question_id)
            .bind(rule.answer)
            .fetch_all(&mut **tx)
            .await
        }
    }
}

/// A list on the lists' page.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ListRow {
    pub id: i64,
    pub name: String,
    pub rule: String,
    /// What the rule refers to: the group's name, or the post's title (and question).
    pub subject: String,
    /// How many are on it now.
    pub people: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The lists `reader` may use, with how many are on each now, by name.
pub async fn listed(tx: &mut TenantTx, reader: &PostReader) -> Result<Vec<ListRow>, sqlx::Error> {
    let taught: Vec<i64> = reader.taught.iter().copied().collect();
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT l.id, l.name, l.rule,
                coalesce(g.name, po.title || coalesce(': ' || q.prompt, ''), '') AS subject,
                CASE l.rule
                  WHEN 'group' THEN (SELECT count(DISTINCT gu.person_id)
                                       FROM guardians gu
                                       JOIN pupils p ON p.id = gu.pupil_id AND p.left_at IS NULL
                                      WHERE gu.status = 'active' AND p.group_id = l.group_id)
                  WHEN 'not_answered' THEN (SELECT count(*) FROM (
                                              SELECT person_id FROM post_answered(l.post_id)
                                               GROUP BY person_id
                                              HAVING bool_or(response_id IS NULL)) todo)
                  ELSE (SELECT count(DISTINCT a.person_id)
                          FROM post_answered(q.post_id) a
                          JOIN response_answers ra ON ra.response_id = a.response_id
                         WHERE ra.question_id = q.id
                           AND (ra.yes = (l.answer = 1) OR l.answer = ANY (ra.choices)))
                END AS people
           FROM recipient_lists l
           LEFT JOIN groups g ON g.id = l.group_id
           LEFT JOIN questions q ON q.id = l.question_id
           LEFT JOIN posts po ON po.id = coalesce(l.post_id, q.post_id)
          WHERE {USABLE}
          ORDER BY l.name, l.id"
    )))
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(&taught)
    .fetch_all(&mut **tx)
    .await
}

/// The groups a list may be for: every group when `all`, else those in `ids`.
pub async fn group_choices(
    tx: &mut TenantTx,
    all: bool,
    ids: &[i64],
) -> Result<Vec<Choice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id::text AS value, name AS label FROM groups
          WHERE $1 OR id = ANY($2) ORDER BY year NULLS LAST, name",
    )
    .bind(all)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

/// The questionnaires whose answers `reader` sees (their own, all for admins), newest first.
pub async fn questionnaire_choices(
    tx: &mut TenantTx,
    reader: &PostReader,
) -> Result<Vec<Choice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT po.id::text AS value, po.title AS label FROM posts po
          WHERE ($1 OR po.author_id = $2)
            AND EXISTS (SELECT 1 FROM questions q WHERE q.post_id = po.id)
          ORDER BY po.published_at DESC LIMIT 100",
    )
    .bind(reader.admin)
    .bind(reader.person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Every answer one may give to the questions of those questionnaires, `<question>:<option>`,
/// named with `yes` and `no` for yes/no questions.
pub async fn answer_choices(
    tx: &mut TenantTx,
    reader: &PostReader,
    yes: &str,
    no: &str,
) -> Result<Vec<Choice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT q.id || ':' || o.position - 1 AS value,
                po.title || ' — ' || q.prompt || ': ' ||
                  CASE WHEN q.kind = 'yes_no' THEN CASE o.position WHEN 2 THEN $3 ELSE $4 END
                       ELSE o.option END AS label
           FROM posts po
           JOIN questions q ON q.post_id = po.id AND q.kind <> 'short_text'
           CROSS JOIN LATERAL unnest(CASE WHEN q.kind = 'yes_no' THEN ARRAY['', '']
                                          ELSE q.options END)
                WITH ORDINALITY AS o(option, position)
          WHERE ($1 OR po.author_id = $2)
          ORDER BY po.published_at DESC, q.position, o.position
          LIMIT 500",
    )
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(yes)
    .bind(no)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the post is a questionnaire whose answers `reader` sees.
pub async fn questionnaire_usable(
    tx: &mut TenantTx,
    reader: &PostReader,
    post_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM posts po WHERE po.id = $1 AND ($2 OR po.author_id = $3)
                          AND EXISTS (SELECT 1 FROM questions q WHERE q.post_id = po.id))",
    )
    .bind(post_id)
    .bind(reader.admin)
    .bind(reader.person_id)
    .fetch_one(&mut **tx)
    .await
}

/// Whether `answer` is an option of the question, in a questionnaire whose answers `reader`
/// sees.
pub async fn answer_usable(
    tx: &mut TenantTx,
    reader: &PostReader,
    question_id: i64,
    answer: Option<i16>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM questions q JOIN posts po ON po.id = q.post_id
                     WHERE q.id = $1 AND ($2 OR po.author_id = $3)
                       AND $4 >= 0
                       AND CASE q.kind WHEN 'yes_no' THEN $4 <= 1
                                       WHEN 'short_text' THEN false
                                       ELSE $4 < cardinality(q.options) END)",
    )
    .bind(question_id)
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(answer)
    .fetch_one(&mut **tx)
    .await
}

/// A list as staff make it.
#[derive(Debug)]
pub struct NewList<'a> {
    pub name: &'a str,
    pub rule: &'a str,
    pub group_id: Option<i64>,
    pub post_id: Option<i64>,
    pub question_id: Option<i64>,
    pub answer: Option<i16>,
    pub created_by: i64,
}

pub async fn create(tx: &mut TenantTx, list: &NewList<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO recipient_lists (name, rule, group_id, post_id, question_id, answer,
                                      created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(list.name)
    .bind(list.rule)
    .bind(list.group_id)
    .bind(list.post_id)
    .bind(list.question_id)
    .bind(list.answer)
    .bind(list.created_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the list if `reader` may use it; `false` when not.
pub async fn delete(
    tx: &mut TenantTx,
    reader: &PostReader,
    list_id: i64,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM recipient_lists l WHERE l.id = $4 AND {USABLE}"
    )))
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(reader.taught.iter().copied().collect::<Vec<_>>())
    .bind(list_id)
    .execute(&mut **tx)
    .await?;
    Ok(deleted.rows_affected() != 0)
}
