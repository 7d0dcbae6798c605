//! What the home page shows of the news: the urgent messages not read yet, and the newest
//! posts — the timeline's first page, as the school cache keeps it for this person.

use std::sync::Arc;

use schoolplein_kernel::settings::SchoolSettings;
use schoolplein_kernel::{AppError, AppState, Viewer};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

use crate::db::posts::PostRow;
use crate::posts::timeline::first_page;
use crate::posts::view::PostView;

/// The news for one person's home page.
#[derive(Debug, Serialize)]
pub struct HomeNews {
    /// Urgent posts this person has not opened yet, newest first.
    pub urgent: Vec<PostView>,
    /// The newest posts (urgent ones included), newest first.
    pub newest: Vec<PostView>,
    /// Posts of the first page with questions still open for answers, soonest deadline
    /// first; whether this person answered them is for [`unanswered`] to say.
    pub questionnaires: Vec<PostView>,
    /// The groups whose posts (and events) reach the person, as kept with the first page.
    #[serde(skip)]
    pub groups: Vec<i64>,
    #[serde(skip)]
    pub taught: std::collections::BTreeSet<i64>,
}

/// The urgent unread posts of the timeline's first page and its `count` newest posts.
pub async fn home_news(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    settings: &Arc<SchoolSettings>,
    count: usize,
) -> Result<HomeNews, AppError> {
    let read = first_page(state, tenant, viewer, settings).await?;
    let view = |row: &PostRow| PostView::new(row.clone(), &read.reader, settings);
    Ok(HomeNews {
        urgent: read
            .rows
            .iter()
            .filter(|row| row.urgent && row.unread)
            .map(view)
            .collect(),
        newest: read.rows.iter().take(count).map(view).collect(),
        groups: read.reader.groups.clone(),
        taught: read.reader.taught.clone(),
        questionnaires: {
            let now = chrono::Utc::now();
            let mut open: Vec<&PostRow> = read
                .rows
                .iter()
                .filter(|row| row.has_questions && row.answers_until.is_none_or(|at| at > now))
                .collect();
            open.sort_by_key(|row| (row.answers_until.is_none(), row.answers_until));
            open.into_iter().map(view).collect()
        },
    })
}

/// Of these posts, those this person still has a section of to answer (for themselves or a
/// child; a partner in joint use answering counts), in the same order.
pub async fn unanswered(
    tx: &mut TenantTx,
    person_id: i64,
    posts: Vec<PostView>,
) -> Result<Vec<PostView>, sqlx::Error> {
    if posts.is_empty() {
        return Ok(posts);
    }
    let ids: Vec<i64> = posts.iter().map(PostView::id).collect();
    let open: Vec<i64> = crate::db::posts::unanswered_by(tx, person_id, &ids).await?;
    Ok(posts
        .into_iter()
        .filter(|post| open.contains(&post.id()))
        .collect())
}
