//! Reading the timeline: a page of the posts that reach a person, newest first, paged by key;
//! the first page kept per person in the school cache, for the timeline and the home page.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::rendered::Rendered;
use schoolplein_kernel::school_cache::{ReadAgain, SchoolCache, TIMELINE, Ticket};
use schoolplein_kernel::settings::SchoolSettings;
use schoolplein_kernel::{AppError, AppState, Pages, Role, Viewer};
use serde::Serialize;
use tenant_router::{SchoolPools, TenantId, TenantTx};

use crate::db::posts::{self, PostRow};
use crate::posts::view::PostView;

/// Posts per timeline page.
pub const PAGE_SIZE: i64 = 20;

/// Where a timeline page starts: below the last post of the previous one, by its publication
/// time and id — not by looking that post up, so a page still follows when it was deleted.
/// Written `<microseconds since 1970>-<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    published_at: DateTime<Utc>,
    id: i64,
}

impl PageCursor {
    pub fn of(post: &PostRow) -> Self {
        Self {
            published_at: post.published_at,
            id: post.id,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (micros, id) = text.trim().split_once('-')?;
        Some(Self {
            published_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }

    pub fn to_param(self) -> String {
        format!("{}-{}", self.published_at.timestamp_micros(), self.id)
    }
}

/// A timeline page as read: its posts (one more than a page, to tell whether older ones
/// follow), for whom, and under which settings; and its cards once rendered.
#[derive(Debug)]
pub struct ReadPage {
    pub reader: PostReader,
    teacher: bool,
    settings: Arc<SchoolSettings>,
    pub rows: Vec<PostRow>,
    rendered: Rendered,
}

/// About how much markup a rendered card adds to its text.
const CARD_MARKUP_BYTES: usize = 600;

impl ReadPage {
    /// The posts the page shows (not the one that tells whether older ones follow).
    pub fn shown(&self) -> &[PostRow] {
        &self.rows[..self.rows.len().min(PAGE_SIZE as usize)]
    }

    /// Where the next (older) page starts, when there is one.
    pub fn older(&self) -> Option<PageCursor> {
        if self.rows.len() as i64 > PAGE_SIZE {
            self.shown().last().map(PageCursor::of)
        } else {
            None
        }
    }

    /// The page's cards as HTML in the reader's language: rendered once per kept page,
    /// language and day (`kernel::rendered`), since turning each body into its excerpt and
    /// the cards into HTML cost a kept page most of its time.
    pub fn cards(&self, pages: &Pages) -> Result<Arc<str>, AppError> {
        #[derive(Serialize)]
        struct Cards {
            posts: Vec<PostView>,
        }
        self.rendered.get_or_render(pages.language(), || {
            let posts = self
                .shown()
                .iter()
                .cloned()
                .map(|row| PostView::new(row, &self.reader, &self.settings))
                .collect();
            pages.render_part("portal/timeline_posts.html", &Cards { posts })
        })
    }

    /// About how much memory it takes, for the cache's bound: its rows, and their cards once
    /// rendered in one language (their text again, and the markup).
    fn bytes(&self) -> usize {
        let rows: usize = self
            .rows
            .iter()
            .map(|row| {
                let groups: usize = row.groups.iter().map(|g| 24 + g.len()).sum();
                192 + row.kind.len()
                    + row.title.len()
                    + row.body.len()
                    + row.body_html.as_ref().map_or(0, String::len)
                    + row.author.as_ref().map_or(0, String::len)
                    + groups
            })
            .sum();
        256 + 8 * (self.reader.groups.len() + self.reader.taught.len())
            + 2 * rows
            + CARD_MARKUP_BYTES * self.rows.len()
    }
}

/// One read-only transaction: the reader's groups and the page's posts.
pub async fn read_page(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    settings: &Arc<SchoolSettings>,
    before: Option<PageCursor>,
) -> Result<ReadPage, AppError> {
    read_page_on(
        &state.schools,
        &state.school_data,
        tenant,
        Reader::of(viewer),
        settings,
        before,
    )
    .await
}

/// What of a viewer the page's read depends on: who they are in the school's roster, not their
/// session.
#[derive(Debug, Clone, Copy)]
struct Reader {
    person_id: i64,
    admin: bool,
    teacher: bool,
}

impl Reader {
    fn of(viewer: &Viewer) -> Self {
        Self {
            person_id: viewer.person_id,
            admin: viewer.has(Role::SchoolAdmin),
            teacher: viewer.has(Role::Teacher),
        }
    }
}

/// [`read_page`] with only what it needs (what the background read of an aged first page has).
async fn read_page_on(
    schools: &SchoolPools,
    cache: &SchoolCache,
    tenant: TenantId,
    who: Reader,
    settings: &Arc<SchoolSettings>,
    before: Option<PageCursor>,
) -> Result<ReadPage, AppError> {
    let mut tx = TenantTx::begin_read_only(schools, tenant).await?;
    cache.learn_announces(&mut tx).await?;
    let reader = PostReader::load(&mut tx, who.person_id, who.admin, who.teacher).await?;
    let kinds = PostKind::shown_by(settings);
    let rows = posts::timeline_page(
        &mut tx,
        &reader,
        &kinds,
        before.map(|c| (c.published_at, c.id)),
        PAGE_SIZE + 1,
    )
    .await?;
    // How many posts reach the person unread in all is the menu's count (`kernel::nav_counts`,
    // kept per person): counting it here too would scan the school's posts twice per page.
    tx.commit().await?;
    Ok(ReadPage {
        reader,
        teacher: who.teacher,
        settings: settings.clone(),
        rows,
        rendered: Rendered::default(),
    })
}

/// The first page, the one read most: kept per person until the school's posts or roster or
/// the person's read marks change (`school_cache`), and used only under the same settings and
/// roles it was read with.
pub async fn first_page(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    settings: &Arc<SchoolSettings>,
) -> Result<Arc<ReadPage>, AppError> {
    let cache = &state.school_data;
    let key = (TIMELINE, viewer.person_id);
    let kept = || {
        cache.get::<ReadPage>(tenant, key).filter(|kept| {
            Arc::ptr_eq(&kept.settings, settings)
                && kept.reader.admin == viewer.has(Role::SchoolAdmin)
                && kept.teacher == viewer.has(Role::Teacher)
        })
    };
    if let Some(kept) = kept() {
        return Ok(kept);
    }
    // Another request of this person reading it now: wait for that read and use it.
    let reading = cache.one_reader(tenant, key).await;
    if reading.is_none()
        && let Some(kept) = kept()
    {
        return Ok(kept);
    }
    // Taken before the transaction begins: a change announced meanwhile voids what it reads.
    let ticket = cache.ticket(tenant);
    let read = Arc::new(read_page(state, tenant, viewer, settings, None).await?);
    let again = Arc::new(FirstPageAgain {
        schools: state.schools.clone(),
        who: Reader::of(viewer),
        settings: settings.clone(),
    });
    cache.put_read_again(ticket, key, read.clone(), read.bytes(), again);
    drop(reading);
    Ok(read)
}

/// Reads a first page again once it has aged, as its viewer read it (it depends on the
/// school's posts and the viewer's groups and marks, not on the hour).
struct FirstPageAgain {
    schools: SchoolPools,
    who: Reader,
    settings: Arc<SchoolSettings>,
}

impl ReadAgain for FirstPageAgain {
    fn read_again(self: Arc<Self>, cache: SchoolCache, ticket: Ticket) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let tenant = ticket.tenant();
            let read = read_page_on(
                &self.schools,
                &cache,
                tenant,
                self.who,
                &self.settings,
                None,
            )
            .await;
            // A failed read leaves the aged page, served until its second age ends.
            if let Ok(read) = read {
                let (key, read) = ((TIMELINE, self.who.person_id), Arc::new(read));
                cache.put_read_again(ticket, key, read.clone(), read.bytes(), self);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let cursor = PageCursor {
            published_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(cursor.to_param(), "1795000000123456-42");
        assert_eq!(PageCursor::parse(&cursor.to_param()), Some(cursor));
        for bad in ["42", "gisteren", "1-", "-1", "x-1", "1-x", ""] {
            assert_eq!(PageCursor::parse(bad), None, "{bad}");
        }
    }
}
