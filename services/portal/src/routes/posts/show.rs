//! `GET /posts/{id}`: one post with its files, answers and questions; opening it marks it
//! read.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use schoolplein_kernel::audience::PostKind;
use schoolplein_kernel::csrf::Csrf;
use schoolplein_kernel::school_cache::TIMELINE;
use schoolplein_kernel::{AppError, AppState, Member, Pages};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::{reader, visible_post};
use crate::db::attachments::{self, AttachmentLink};
use crate::db::posts::{self, Answer, Receipt};
use crate::posts::view::PostView;
use crate::questionnaires::QuestionnaireView;

#[derive(Debug, Serialize)]
struct PostPage<'a> {
    csrf: &'a str,
    post: PostView,
    /// For the author and admins of an urgent post: who has read it.
    receipts: Option<Vec<Receipt>>,
    /// How many were just reminded.
    reminded: Option<usize>,
    attachments: Vec<AttachmentLink>,
    /// A bulletin-board item's answers the viewer may see: all of them for its author and
    /// admins, otherwise the viewer's own.
    answers: Vec<Answer>,
    questionnaire: Option<QuestionnaireView>,
    /// The viewer's questionnaire answers were just saved.
    answered: bool,
}

#[derive(Debug, Deserialize)]
pub struct PostQuery {
    reminded: Option<usize>,
    answered: Option<u8>,
}

/// `GET /posts/{id}`: one post; opening it marks it read for the viewer.
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(post_id): Path<i64>,
    Query(query): Query<PostQuery>,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let row = visible_post(&mut tx, &reader, post_id).await?;
    let marks_read = row.unread;
    if marks_read {
        posts::mark_read(&mut tx, post_id, reader.person_id).await?;
    }
    let post = PostView::new(row, &reader, &settings);
    let receipts = if (post.urgent || post.mailing) && post.may_change {
        Some(posts::receipts(&mut tx, post_id).await?)
    } else {
        None
    };
    let attachments = attachments::of_post(&mut tx, post_id).await?;
    let answers: Vec<Answer> = if post.kind == PostKind::Board.as_str() {
        posts::answers(&mut tx, post_id, post.may_change, reader.person_id).await?
    } else {
        Vec::new()
    };
    let catalog = state.templates.catalog();
    let yes_no = ["yes", "no"].map(|key| {
        catalog
            .get(pages.language(), &format!("portal.questionnaires.{key}"))
            .unwrap_or(key)
            .to_owned()
    });
    let questionnaire =
        QuestionnaireView::load(&mut tx, post_id, reader.person_id, post.may_change, yes_no)
            .await?;
    tx.commit().await?;
    if marks_read {
        // The reader's next timeline shows it read; other processes hear it from the trigger.
        state
            .school_data
            .forget_entry(tenant.id(), (TIMELINE, reader.person_id));
    }
    let page = PostPage {
        csrf: csrf.token(),
        post,
        receipts,
        reminded: query.reminded,
        attachments,
        answers,
        questionnaire,
        answered: query.answered.is_some(),
    };
    pages.show("portal/post.html", &page)
}
