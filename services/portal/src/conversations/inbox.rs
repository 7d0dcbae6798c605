//! The first page of a person's inbox, the folder opened most, kept in memory per person
//! (`school_cache`) until something it shows changes for them: every table behind it announces
//! its changes for the person they change for (tenant migrations 0036 and 0044).

use std::sync::Arc;

use schoolplein_kernel::school_cache::{INBOX, Weighed};
use schoolplein_kernel::{AppError, AppState};
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
}

impl FolderPage {
    /// A page of a folder other than the inbox's first, which shows nothing of a partner's.
    pub fn without_sharing(reader: Reader, rows: Vec<Listed>) -> Self {
        Self {
            admin: reader.admin,
            rows,
            sharing: None,
        }
    }
}

impl Weighed for FolderPage {
    fn bytes(&self) -> usize {
        let row = |r: &Listed| {
            std::mem::size_of::<Listed>()
                + r.subject.len()
                + r.last_author.as_ref().map_or(0, String::len)
        };
        std::mem::size_of::<Self>() + self.rows.iter().map(row).sum::<usize>()
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
