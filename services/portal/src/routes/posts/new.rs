//! `GET /posts/new` and `POST /posts`: the post form, and publishing what it sends with its
//! files; a mistake brings the same form back with everything in it, the files sent kept.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use schoolplein_kernel::audience::PostKind;
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::{AppError, AppState, Pages, Staff, Viewer, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::reader;
use crate::db::groups::{self, GroupChoice};
use crate::db::recipient_lists::{self, ListChoice};
use crate::posts::draft::field_anchor;
use crate::posts::form_files::{self, FILES_FIELD, KeptFiles, SentPost};
use crate::posts::publish::publish_post;
use crate::questionnaires::MAX_QUESTIONS;

#[derive(Debug, Serialize)]
struct NewPostPage<'a> {
    csrf: &'a str,
    groups: Vec<GroupChoice>,
    special_groups: Vec<GroupChoice>,
    admin: bool,
    kinds: Vec<&'static str>,
    recipient_lists: Vec<ListChoice>,
    /// Question slots on the form.
    question_slots: Vec<usize>,
    /// The groups ticked: as sent, or a teacher's only group.
    chosen_groups: Vec<String>,
    typed: Typed,
    mistake: Option<Mistake>,
    /// The form's token for its files, and the files kept from an earlier try.
    files: KeptFiles,
}

/// What the form shows of what was sent: empty for a new form.
struct Filled {
    typed: Typed,
    mistake: Option<Mistake>,
    files: KeptFiles,
}

/// `GET /posts/new` (staff who may post).
pub async fn new_post(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Staff,
) -> Result<Response, AppError> {
    post_form(
        &state,
        &tenant,
        &pages,
        &csrf,
        &viewer,
        Filled {
            typed: Typed::default(),
            mistake: None,
            files: KeptFiles::fresh(),
        },
    )
    .await
}

/// The post form, empty or as it was sent with `mistake` in it (400). A teacher with one
/// group finds it ticked.
async fn post_form(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: &Csrf,
    viewer: &Viewer,
    filled: Filled,
) -> Result<Response, AppError> {
    let Filled {
        typed,
        mistake,
        files,
    } = filled;
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, viewer).await?;
    let groups = groups::manageable(&mut tx, &reader).await?;
    let special_groups = groups::special_groups(&mut tx).await?;
    let recipient_lists = recipient_lists::choices(&mut tx, &reader).await?;
    tx.commit().await?;
    let chosen_groups: Vec<String> = match typed.many.get("groups") {
        Some(sent) => sent.clone(),
        None if mistake.is_none() && !reader.admin && groups.len() == 1 => {
            vec![groups[0].id.to_string()]
        }
        None => Vec::new(),
    };
    let status = if mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = NewPostPage {
        csrf: csrf.token(),
        groups,
        special_groups,
        admin: reader.admin,
        kinds: PostKind::shown_by(&settings),
        recipient_lists,
        question_slots: (1..=MAX_QUESTIONS).collect(),
        chosen_groups,
        typed,
        mistake,
        files,
    };
    pages.show_with(status, "portal/post_form.html", &page)
}

/// `POST /posts` (admins anywhere; teachers to the groups they teach and to special groups),
/// `multipart/form-data` with its files in `files`, or url-encoded without files.
/// A mistake in what was typed brings the form back with everything in it and the mistake
/// named at its field (400); no post is written, and the files sent are kept for this person
/// and this form. A file refused (too large, of another type, too many) is itself such a
/// mistake, and then nothing sent is kept.
pub async fn create(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    token: CsrfToken,
    viewer: Writable<Staff>,
    request: Request,
) -> Result<Response, AppError> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let sent = if multipart {
        let body = Multipart::from_request(request, &state)
            .await
            .map_err(|_| AppError::bad_request(FILES_FIELD, "portal.attachments.unreadable"))?;
        SentPost::read(&token, body).await?
    } else {
        let CsrfForm(fields) =
            CsrfForm::<Vec<(String, String)>>::from_request(request, &state).await?;
        SentPost::fields_only(fields)
    };
    let error = match sent.refused {
        Some(refused) => refused,
        None => match publish_post(&state, &tenant, &viewer, &sent.fields, &sent.files).await {
            Ok(post_id) => return Ok(Redirect::to(&format!("/posts/{post_id}")).into_response()),
            Err(error) => error,
        },
    };
    let Some(mistake) = Mistake::of(&error, pages.templates(), pages.language(), field_anchor)
    else {
        return Err(error);
    };
    // A mistake elsewhere keeps the files sent; one about the files keeps nothing new.
    let (mistake, files) = if form_files::about_files(&error) {
        (
            mistake,
            form_files::kept(&state, &tenant, &viewer, &sent.files).await?,
        )
    } else {
        match form_files::keep(&state, &tenant, &viewer, &sent.files).await {
            Ok(files) => (mistake, files),
            Err(refused) => {
                let Some(mistake) =
                    Mistake::of(&refused, pages.templates(), pages.language(), field_anchor)
                else {
                    return Err(refused);
                };
                (
                    mistake,
                    form_files::kept(&state, &tenant, &viewer, &sent.files).await?,
                )
            }
        }
    };
    post_form(
        &state,
        &tenant,
        &pages,
        &csrf,
        &viewer,
        Filled {
            typed: Typed::of(&sent.fields),
            mistake: Some(mistake),
            files,
        },
    )
    .await
}
