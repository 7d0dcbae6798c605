//! What the home page shows of the news: the urgent messages not read yet, and the newest
//! posts — the timeline's first page, as the school cache keeps it for this person.

use std::sync::Arc;

use schoolplein_kernel::settings::SchoolSettings;
use schoolplein_kernel::{AppError, AppState, Viewer};
use serde::Serialize;
use tenant_router::TenantId;

use crate::routes::posts::{PostView, first_page};

/// The news for one person's home page.
#[derive(Debug, Serialize)]
pub struct HomeNews {
    /// Urgent posts this person has not opened yet, newest first.
    pub urgent: Vec<PostView>,
    /// The newest posts (urgent ones included), newest first.
    pub newest: Vec<PostView>,
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
    let view =
        |row: &crate::routes::posts::PostRow| PostView::new(row.clone(), &read.reader, settings);
    Ok(HomeNews {
        urgent: read
            .rows
            .iter()
            .filter(|row| row.urgent && row.unread)
            .map(view)
            .collect(),
        newest: read.rows.iter().take(count).map(view).collect(),
    })
}
