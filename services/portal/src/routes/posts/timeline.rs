//! `GET /timeline`: what reaches the viewer, newest first, with unread marks, a page at a time.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use schoolplein_kernel::csrf::Csrf;
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppError, AppState, Member, Pages};
use serde::{Deserialize, Serialize};
use tenant_router::CurrentTenant;

use crate::posts::timeline::{PageCursor, first_page, read_page};

#[derive(Debug, Deserialize)]
pub struct TimelineQuery {
    /// The last post of the previous page: older ones follow.
    before: Option<String>,
}

#[derive(Debug, Serialize)]
struct TimelinePage<'a> {
    csrf: &'a str,
    /// The cards, rendered (`ReadPage::cards`).
    posts_html: &'a str,
    no_posts: bool,
    /// The cursor to ask for the next (older) page with, when there is one.
    older: Option<String>,
    may_post: bool,
    news_label: Option<String>,
}

/// `GET /timeline`: what reaches the viewer, newest first, `PAGE_SIZE` at a time.
pub async fn timeline(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, AppError> {
    let before = match query.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            PageCursor::parse(text)
                .ok_or_else(|| AppError::bad_request("before", "portal.posts.bad_page"))?,
        ),
    };
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let read = match before {
        None => first_page(&state, tenant.id(), &viewer, &settings).await?,
        Some(cursor) => {
            Arc::new(read_page(&state, tenant.id(), &viewer, &settings, Some(cursor)).await?)
        }
    };
    let posts_html = read.cards(&pages)?;
    let page = TimelinePage {
        csrf: csrf.token(),
        posts_html: &posts_html,
        no_posts: read.rows.is_empty(),
        older: read.older().map(PageCursor::to_param),
        may_post: read.reader.may_post(),
        news_label: settings.module(Module::News).name,
    };
    pages.show("portal/timeline.html", &page)
}
