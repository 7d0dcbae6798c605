//! What the school day puts on a member of staff's home page: today's absent children of the
//! groups they teach and those on leave (for an admin, how many are absent in the whole
//! school), and for an admin the leave requests waiting for a decision.

use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::{AppError, AppState, Language, Role, Viewer};
use serde::Serialize;
use tenant_router::{TenantId, TenantTx};

use crate::db::{absences, leave};
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
    /// Children of those groups on leave today (approved, or a religious obligation noted),
    /// while the leave module is on.
    pub on_leave: Vec<OnLeaveToday>,
}

/// A child on leave today.
#[derive(Debug, Serialize)]
pub struct OnLeaveToday {
    pub child: String,
    pub group: Option<String>,
    /// The kind of leave (`important_circumstances`, …), named by the page.
    pub kind: String,
}

#[derive(Debug, Serialize)]
pub struct AbsentGroup {
    pub name: String,
    pub absences: Vec<AbsenceView>,
}

/// Today's absences for a member of staff, and with `leave_on` the children on leave; `None`
/// for anyone else. Read fresh on every visit (short queries): reports keep coming in all
/// morning.
pub async fn absent_today(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    language: Language,
    leave_on: bool,
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
    let on_leave = if leave_on && !taught.is_empty() {
        leave::on_leave(&mut tx, today, Some(&taught)).await?
    } else {
        Vec::new()
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
        on_leave: on_leave
            .into_iter()
            .map(|l| OnLeaveToday {
                child: l.child,
                group: l.group_name,
                kind: l.kind,
            })
            .collect(),
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
