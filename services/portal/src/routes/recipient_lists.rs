//! Recipient lists staff keep (C3): all parents of a group, everyone who has not answered a
//! questionnaire, everyone who gave a certain answer — rules, resolved into people only at
//! the moment a post is sent to them.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, TokenOnly, anchors, value};
use schoolplein_kernel::{AppError, AppState, Pages, Staff, Viewer, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::reader;
use crate::db::groups;
use crate::db::recipient_lists::{self, Choice, ListRow, NewList};
use crate::fields::optional_text;

#[derive(Debug, Serialize)]
struct ListsPage<'a> {
    csrf: &'a str,
    lists: Vec<ListRow>,
    groups: Vec<Choice>,
    posts: Vec<Choice>,
    answers: Vec<Choice>,
    #[serde(flatten)]
    back: FormBack,
}

/// The id of the form for a new list.
const NEW_FORM: &str = "list-form";

/// `GET /recipient-lists`: the lists the viewer may use, with how many are on each now, and
/// the form for a new one.
pub async fn index(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
) -> Result<Response, AppError> {
    lists_page(&state, &tenant, &pages, csrf, &viewer, FormBack::none()).await
}

/// The page, with the form for a new list as sent when `back` holds it (400).
async fn lists_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, viewer).await?;
    let taught: Vec<i64> = reader.taught.iter().copied().collect();
    let lists = recipient_lists::listed(&mut tx, &reader).await?;
    let groups = recipient_lists::group_choices(&mut tx, reader.admin, &taught).await?;
    // Questionnaires whose answers the viewer sees: their own, or all for admins.
    let posts = recipient_lists::questionnaire_choices(&mut tx, &reader).await?;
    let catalog = state.templates.catalog();
    let word = |key: &str| {
        catalog
            .get(pages.language(), &format!("portal.questionnaires.{key}"))
            .unwrap_or(key)
            .to_owned()
    };
    let answers =
        recipient_lists::answer_choices(&mut tx, &reader, &word("yes"), &word("no")).await?;
    tx.commit().await?;
    let status = back.status();
    let page = ListsPage {
        csrf: csrf.token(),
        lists,
        groups,
        posts,
        answers,
        back,
    };
    pages.show_with(status, "portal/recipient_lists.html", &page)
}

/// The new-list form as sent (a field left out is empty).
struct NewListForm<'a> {
    name: &'a str,
    rule: &'a str,
    group: &'a str,
    post: &'a str,
    answer: &'a str,
}

/// `POST /recipient-lists`: fields `name`, `rule` (`group`, `not_answered`, `answered`) and
/// what it refers to: `group` (a group's id), `post` (a questionnaire's post id), `answer`
/// (`<question id>:<option position>`, for yes/no 1 is yes and 0 is no).
/// A mistake brings the page back with the form as sent; nothing is written.
pub async fn create(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = NewListForm {
        name: value(&fields, "name"),
        rule: value(&fields, "rule"),
        group: value(&fields, "group"),
        post: value(&fields, "post"),
        answer: value(&fields, "answer"),
    };
    match make_list(&state, &tenant, &viewer, &form).await {
        Err(error) => {
            let anchor = anchors(&[
                ("name", "list-name"),
                ("rule", "list-rule"),
                ("group", "list-group"),
                ("post", "list-post"),
                ("answer", "list-answer"),
            ]);
            let back = FormBack::of(&state, pages.language(), error, NEW_FORM, &fields, anchor)?;
            lists_page(&state, &tenant, &pages, csrf, &viewer, back).await
        }
        made => made,
    }
}

async fn make_list(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    form: &NewListForm<'_>,
) -> Result<Response, AppError> {
    let name = optional_text("name", form.name, 100, false)?
        .ok_or_else(|| AppError::bad_request("name", "portal.recipient_lists.name_required"))?;
    let id_in = |field: &'static str, text: &str| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| AppError::bad_request(field, "portal.recipient_lists.choose"))
    };
    let (group_id, post_id, question_id, answer) = match form.rule {
        "group" => (Some(id_in("group", form.group)?), None, None, None),
        "not_answered" => (None, Some(id_in("post", form.post)?), None, None),
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
    let reader = reader(&mut tx, viewer).await?;
    // What the rule names must exist and be the viewer's to use.
    let allowed: bool = match (group_id, post_id, question_id) {
        (Some(group), _, _) => {
            groups::exists(&mut tx, group).await?
                && (reader.admin || reader.taught.contains(&group))
        }
        (_, Some(post), _) => recipient_lists::questionnaire_usable(&mut tx, &reader, post).await?,
        (_, _, Some(question)) => {
            recipient_lists::answer_usable(&mut tx, &reader, question, answer).await?
        }
        _ => false,
    };
    if !allowed {
        let field = match form.rule {
            "group" => "group",
            "not_answered" => "post",
            _ => "answer",
        };
        return Err(AppError::bad_request(
            field,
            "portal.recipient_lists.choose",
        ));
    }
    recipient_lists::create(
        &mut tx,
        &NewList {
            name: &name,
            rule: form.rule,
            group_id,
            post_id,
            question_id,
            answer,
            created_by: viewer.person_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/recipient-lists").into_response())
}

/// `POST /recipient-lists/{id}/delete`: by whoever may use it.
pub async fn delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(list_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    if !recipient_lists::delete(&mut tx, &reader, list_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/recipient-lists").into_response())
}
