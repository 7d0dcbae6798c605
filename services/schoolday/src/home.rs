//! What the school day puts on a member of staff's home page: today's absent children of the
//! groups they teach (for an admin, how many are absent in the whole school), and for an admin
//! the leave requests waiting for a decision.

use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::{AppError, AppState, Language, Role, Viewer};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

use crate::db::absences;
use crate::display::{AbsenceView, Shown};
use crate::routes::today::by_group;

/// Today's absences on the home page.
#[derive(Debug, Serialize)]
pub struct AbsentToday {
    /// Of the groups the person teaches, by group.
    pub groups: Vec<AbsentGroup>,
    /// How many children of those groups are absent.
    pub taught_total: usize,
    /// For admins: how many in the whole school.
    pub school_total: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct AbsentGroup {
    pub name: String,
    pub absences: Vec<AbsenceView>,
}

/// Today's absences for a member of staff; `None` for anyone else. Read fresh on every visit
/// (one short query): reports keep coming in all morning.
pub async fn absent_today(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    language: Language,
) -> Result<Option<AbsentToday>, AppError> {
    if !viewer.is_staff() {
        return Ok(None);
    }
    let today = zone::today(state.clock.now());
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant).await?;
    let taught = absences::taught_groups(&mut tx, viewer.person_id).await?;
    let taught_rows = if taught.is_empty() {
        Vec::new()
    } else {
        absences::on_day(&mut tx, today, Some(&taught)).await?
    };
    let school_total = if viewer.has(Role::SchoolAdmin) {
        Some(absences::count_on_day(&mut tx, today).await?)
    } else {
        None
    };
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), language);
    let shown = Shown {
        names: &names,
        templates: &state.templates,
        language,
        today,
    };
    Ok(Some(AbsentToday {
        taught_total: taught_rows.len(),
        groups: by_group(&taught_rows, &shown)
            .into_iter()
            .map(|(name, absences)| AbsentGroup { name, absences })
            .collect(),
        school_total,
    }))
}

/// For an admin while leave is on: how many leave requests wait for a decision.
pub async fn leave_waiting(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
) -> Result<i64, AppError> {
    if !viewer.has(Role::SchoolAdmin) {
        return Ok(0);
    }
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant).await?;
    let waiting = crate::db::leave::waiting(&mut tx).await?;
    tx.commit().await?;
    Ok(waiting)
}
