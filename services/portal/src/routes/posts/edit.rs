//! `GET`/`POST /posts/{id}/edit`: a post's title, text and (agenda) date changed; who it is
//! for stays as sent. A mistake brings the form back with what was typed.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::{AppError, AppState, Pages, Staff, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::changeable;
use crate::db::posts::{self, EditRow};
use crate::posts::draft::{NewPost, field_anchor};
use crate::rich_text;

#[derive(Debug, Serialize)]
struct EditPage<'a> {
    csrf: &'a str,
    /// The post as saved: what the form shows unless it comes back with what was typed.
    post: EditRow,
    typed: Typed,
    mistake: Option<Mistake>,
}

fn render(
    pages: &Pages,
    csrf: &Csrf,
    post: EditRow,
    typed: Typed,
    mistake: Option<Mistake>,
) -> Result<Response, AppError> {
    let status = if mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = EditPage {
        csrf: csrf.token(),
        post,
        typed,
        mistake,
    };
    pages.show_with(status, "portal/post_edit.html", &page)
}

/// `GET /posts/{id}/edit`: title, text and (agenda) date; who it is for stays as sent.
pub async fn edit_form(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
    Path(post_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    let post = posts::for_edit(&mut tx, post_id).await?;
    tx.commit().await?;
    render(&pages, &csrf, post, Typed::default(), None)
}

/// `POST /posts/{id}/edit`: fields `title`, `body`, `happens_on` (agenda items). A mistake
/// brings the form back (400) with the mistake at its field and what was typed kept.
pub async fn edit(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(post_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let kind = changeable(&mut tx, &viewer, post_id).await?;
    // The same rules as a new post; the kind stays what it was.
    let mut fields: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| ["title", "body", "happens_on"].contains(&k.as_str()))
        .cloned()
        .collect();
    fields.push(("kind".into(), kind.as_str().into()));
    fields.push(("whole_school".into(), "on".into()));
    let post = match NewPost::parse(&fields) {
        Ok(post) => post,
        Err(error) => {
            let Some(mistake) =
                Mistake::of(&error, pages.templates(), pages.language(), field_anchor)
            else {
                return Err(error);
            };
            let saved = posts::for_edit(&mut tx, post_id).await?;
            tx.rollback().await?;
            return render(&pages, &csrf, saved, Typed::of(&form), Some(mistake));
        }
    };
    posts::update_text(
        &mut tx,
        post_id,
        &post.title,
        &post.body,
        post.happens_on,
        &rich_text::to_safe_html(&post.body),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}
