//! Recipient lists staff keep (C3): all parents of a group, everyone who has not answered a
//! questionnaire, everyone who gave a certain answer — rules, resolved into people only at
//! the moment a post is sent to them.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::{AppError, AppState, Lang, Role, Viewer};
use schoolplein_registration::routes::sign_in::EmptyForm;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::fields::optional_text;
use crate::routes::posts::reader;

/// A list as the post form offers it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ListChoice {
    id: i64,
    name: String,
}

#[derive(Debug, sqlx::FromRow)]
struct ListRule {
    rule: String,
    group_id: Option<i64>,
    post_id: Option<i64>,
    question_id: Option<i64>,
    answer: Option<i16>,
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

/// The people on list `list_id` now (not blocked), for a post by `reader`: 400 naming
/// `recipient_list` when it is not one of theirs or nobody is on it.
pub async fn resolve(
    tx: &mut TenantTx,
    reader: &PostReader,
    list_id: i64,
) -> Result<Vec<i64>, AppError> {
    let rule: Option<ListRule> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT l.rule, l.group_id, l.post_id, l.question_id, l.answer
           FROM recipient_lists l WHERE l.id = $4 AND {USABLE}"
    )))
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(reader.taught.iter().copied().collect::<Vec<_>>())
    .bind(list_id)
    .fetch_optional(&mut **tx)
    .await?;
    let rule = rule
        .ok_or_else(|| AppError::bad_request("recipient_list", "portal.recipient_lists.unknown"))?;
    let people: Vec<i64> = match rule.rule.as_str() {
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
            .await?
        }
        "not_answered" => {
            sqlx::query_scalar(
                "SELECT person_id FROM post_answered($1)
                  GROUP BY person_id HAVING bool_or(response_id IS NULL) ORDER BY 1",
            )
            .bind(rule.post_id)
            .fetch_all(&mut **tx)
            .await?
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
            .await?
        }
    };
    if people.is_empty() {
        return Err(AppError::bad_request(
            "recipient_list",
            "portal.recipient_lists.nobody",
        ));
    }
    Ok(people)
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct ListRow {
    id: i64,
    name: String,
    rule: String,
    /// What the rule refers to: the group's name, or the post's title (and question).
    subject: String,
    /// How many are on it now.
    people: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct ListsPage<'a> {
    csrf: &'a str,
    lists: Vec<ListRow>,
    groups: Vec<Choice>,
    posts: Vec<Choice>,
    answers: Vec<Choice>,
}

/// `GET /recipient-lists`: the lists the viewer may use, with how many are on each now, and
/// the form for a new one.
pub async fn index(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let taught: Vec<i64> = reader.taught.iter().copied().collect();
    let lists: Vec<ListRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
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
    .fetch_all(&mut *tx)
    .await?;
    let groups: Vec<Choice> = sqlx::query_as(
        "SELECT id::text AS value, name AS label FROM groups
          WHERE $1 OR id = ANY($2) ORDER BY year NULLS LAST, name",
    )
    .bind(reader.admin)
    .bind(&taught)
    .fetch_all(&mut *tx)
    .await?;
    // Questionnaires whose answers the viewer sees: their own, or all for admins.
    let posts: Vec<Choice> = sqlx::query_as(
        "SELECT po.id::text AS value, po.title AS label FROM posts po
          WHERE ($1 OR po.author_id = $2)
            AND EXISTS (SELECT 1 FROM questions q WHERE q.post_id = po.id)
          ORDER BY po.published_at DESC LIMIT 100",
    )
    .bind(reader.admin)
    .bind(reader.person_id)
    .fetch_all(&mut *tx)
    .await?;
    let catalog = state.templates.catalog();
    let word = |key: &str| {
        catalog
            .get(lang, &format!("portal.questionnaires.{key}"))
            .unwrap_or(key)
            .to_owned()
    };
    let answers: Vec<Choice> = sqlx::query_as(
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
    .bind(word("yes"))
    .bind(word("no"))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let page = ListsPage {
        csrf: csrf.token(),
        lists,
        groups,
        posts,
        answers,
    };
    let html = Html(
        state
            .templates
            .render("portal/recipient_lists.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewListForm {
    name: String,
    rule: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    answer: String,
}

/// `POST /recipient-lists`: fields `name`, `rule` (`group`, `not_answered`, `answered`) and
/// what it refers to: `group` (a group's id), `post` (a questionnaire's post id), `answer`
/// (`<question id>:<option position>`, for yes/no 1 is yes and 0 is no).
pub async fn create(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<NewListForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let name = optional_text("name", &form.name, 100, false)?
        .ok_or_else(|| AppError::bad_request("name", "portal.recipient_lists.name_required"))?;
    let id_in = |field: &'static str, text: &str| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| AppError::bad_request(field, "portal.recipient_lists.choose"))
    };
    let (group_id, post_id, question_id, answer) = match form.rule.as_str() {
        "group" => (Some(id_in("group", &form.group)?), None, None, None),
        "not_answered" => (None, Some(id_in("post", &form.post)?), None, None),
        "answered" => {
            let (question, option) = form
                .answer
                .split_once(':')
                .ok_or_else(|| AppError::bad_request("answer", "portal.recipient_lists.choose"))?;
            let option: i16 = option
                .parse()
                .map_err(|_| AppError::bad_request("answer", "portal.recipient_lists.choose"))?;
            (None, None, Some(id_in("answer", question)?), Some(option))
        }
        _ => {
            return Err(AppError::bad_request(
                "rule",
                "portal.recipient_lists.bad_rule",
            ));
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    // What the rule names must exist and be the viewer's to use.
    let allowed: bool = match (group_id, post_id, question_id) {
        (Some(group), _, _) => {
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE id = $1)")
                .bind(group)
                .fetch_one(&mut *tx)
                .await?
                && (reader.admin || reader.taught.contains(&group))
        }
        (_, Some(post), _) => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM posts po WHERE po.id = $1 AND ($2 OR po.author_id = $3)
                              AND EXISTS (SELECT 1 FROM questions q WHERE q.post_id = po.id))",
        )
        .bind(post)
        .bind(reader.admin)
        .bind(reader.person_id)
        .fetch_one(&mut *tx)
        .await?,
        (_, _, Some(question)) => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM questions q JOIN posts po ON po.id = q.post_id
                             WHERE q.id = $1 AND ($2 OR po.author_id = $3)
                               AND $4 >= 0
                               AND CASE q.kind WHEN 'yes_no' THEN $4 <= 1
                                               WHEN 'short_text' THEN false
                                               ELSE $4 < cardinality(q.options) END)",
            )
            .bind(question)
            .bind(reader.admin)
            .bind(reader.person_id)
            .bind(answer)
            .fetch_one(&mut *tx)
            .await?
        }
        _ => false,
    };
    if !allowed {
        let field = match form.rule.as_str() {
            "group" => "group",
            "not_answered" => "post",
            _ => "answer",
        };
        return Err(AppError::bad_request(
            field,
            "portal.recipient_lists.choose",
        ));
    }
    sqlx::query(
        "INSERT INTO recipient_lists (name, rule, group_id, post_id, question_id, answer,
                                      created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&name)
    .bind(&form.rule)
    .bind(group_id)
    .bind(post_id)
    .bind(question_id)
    .bind(answer)
    .bind(viewer.person_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/recipient-lists").into_response())
}

/// `POST /recipient-lists/{id}/delete`: by whoever may use it.
pub async fn delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(list_id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM recipient_lists l WHERE l.id = $4 AND {USABLE}"
    )))
    .bind(reader.admin)
    .bind(reader.person_id)
    .bind(reader.taught.iter().copied().collect::<Vec<_>>())
    .bind(list_id)
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/recipient-lists").into_response())
}
