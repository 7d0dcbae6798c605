//! The first page of a person's inbox, the folder opened most, kept in memory per person
//! (`school_cache`) until something it shows changes for them: every table behind it announces
//! its changes for the person they change for (tenant migrations 0036 and 0044).

use std::sync::Arc;

use schoolplein_kernel::rendered::Rendered;
use schoolplein_kernel::school_cache::{INBOX, Weighed};
use schoolplein_kernel::{AppError, AppState, Pages};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

use super::store::{self, Folder, Listed, Reader, Sharing};

/// A page of a folder as it was read for one reader.
#[derive(Debug)]
pub struct FolderPage {
    /// Whether it was read for an admin (who reads the office's conversations too).
    pub admin: bool,
    pub rows: Vec<Listed>,
    /// What the partner shares, when they share (A8). Their conversations are the partner's
    /// and announce for the partner, so they are read every time, not kept here.
    pub sharing: Option<Sharing>,
    rendered: Rendered,
}

/// About how much markup a rendered row adds to its text.
const ROW_MARKUP_BYTES: usize = 400;

impl FolderPage {
    /// A page of a folder other than the inbox's first, which shows nothing of a partner's.
    pub fn without_sharing(reader: Reader, rows: Vec<Listed>) -> Self {
        Self {
            admin: reader.admin,
            rows,
            sharing: None,
            rendered: Rendered::default(),
        }
    }

    /// The rows as HTML in the reader's language, rendered once per kept page, language and
    /// day (`kernel::rendered`): rendering its fifty rows was most of a kept inbox's time.
    pub fn rows_html(&self, pages: &Pages) -> Result<Arc<str>, AppError> {
        #[derive(Serialize)]
        struct Rows<'a> {
            rows: &'a [Listed],
        }
        self.rendered.get_or_render(pages.language(), || {
            pages.render_part("portal/messages_rows.html", &Rows { rows: &self.rows })
        })
    }
}

impl Weighed for FolderPage {
    fn bytes(&self) -> usize {
        let row = |r: &Listed| {
            std::mem::size_of::<Listed>()
                + r.subject.len()
                + r.last_author.as_ref().map_or(0, String::len)
        };
        // The rows, and once more in their HTML (one language) with its markup.
        let rows: usize = self.rows.iter().map(row).sum();
        std::mem::size_of::<Self>() + 2 * rows + ROW_MARKUP_BYTES * self.rows.len()
    }
}

/// The reader's first inbox page: the kept one when it was read for the same reader, else read
/// now and kept for the next request.
pub async fn first_page(
    state: &AppState,
    tenant: TenantId,
    reader: Reader,
) -> Result<Arc<FolderPage>, AppError> {
    state
        .school_data
        .get_or_read(
            &state.schools,
            tenant,
            (INBOX, reader.person_id),
            |kept: &FolderPage| kept.admin == reader.admin,
            |tx: &mut TenantTx| {
                Box::pin(async move {
                    let rows = store::folder(tx, reader, Folder::Inbox, 0).await?;
                    let sharing = store::partner_sharing(tx, reader.person_id).await?;
                    Ok::<_, AppError>(FolderPage {
                        admin: reader.admin,
                        rows,
                        sharing,
                        rendered: Rendered::default(),
                    })
                })
            },
        )
        .await
}

/// After a change to what `person`'s inbox shows, made by this process (a message sent to or
/// by them, read or archived by them, sharing chosen): what this process keeps for them is
/// dropped at once, so their next page here shows it; other processes hear of it by
/// announcement, within moments.
pub fn changed_by(state: &AppState, tenant: TenantId, person: i64) {
    state.school_data.forget_person(tenant, person);
}
