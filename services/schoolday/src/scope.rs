//! Whose children a member of staff sees in the school day's pages.

use schoolplein_kernel::{Role, Viewer};
use tenant_router::TenantTx;

use crate::db::absences;

/// Whose children a member of staff sees: an admin every child, a teacher those of the
/// groups they teach.
#[derive(Debug, Clone)]
pub enum Scope {
    School,
    Groups(Vec<i64>),
}

impl Scope {
    pub async fn of(tx: &mut TenantTx, viewer: &Viewer) -> Result<Self, sqlx::Error> {
        Ok(if viewer.has(Role::SchoolAdmin) {
            Self::School
        } else {
            Self::Groups(absences::taught_groups(tx, viewer.person_id).await?)
        })
    }

    pub fn groups(&self) -> Option<&[i64]> {
        match self {
            Self::School => None,
            Self::Groups(groups) => Some(groups),
        }
    }

    pub fn sees(&self, group_id: Option<i64>) -> bool {
        match self {
            Self::School => true,
            Self::Groups(groups) => group_id.is_some_and(|g| groups.contains(&g)),
        }
    }
}
