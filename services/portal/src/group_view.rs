//! A group as one viewer may see it: its teachers and its pupils' parents, each parent shown
//! only as far as they chose (staff see all). The group page, its JSON and the PDF lists are
//! all built from this one view, so none shows more than another.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use schoolplein_kernel::school_cache::{GROUP, PERSON, ReadAgain, SchoolCache, Ticket};
use schoolplein_kernel::{AppError, AppState, Viewer};
use serde::Serialize;
use tenant_router::{CurrentTenant, SchoolPools, TenantId, TenantTx};

use crate::db::people::{self, GroupPupil, PersonRoster, field_names};
use crate::privacy::{Choice, Field, visible_fields};

/// A parent as the viewer may see them.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ParentView {
    /// For staff only: where the parent's details are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<i64>,
    pub name: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub phone_mobile: Option<String>,
    pub phone_other: Option<String>,
    /// The photo, when the parent has one and shows it to this viewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    /// The fields shown, by name.
    pub shown: Vec<&'static str>,
}

/// A pupil with the parents the viewer may see.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FamilyView {
    /// The child's first name for parents; the full name for staff.
    pub child: String,
    /// For staff only: allergies and medical details the parents gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    pub parents: Vec<ParentView>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub teachers: Vec<String>,
    /// The teachers' person ids, in the order of `teachers` (the page's message button).
    pub teacher_ids: Vec<i64>,
    pub families: Vec<FamilyView>,
    pub staff_view: bool,
    /// Whether this viewer may download the address list (staff, or parents where allowed).
    pub address_list: bool,
}

/// A group as its page reads it, before privacy is applied: the same for every viewer, so it
/// is kept in memory per school until the school's roster changes (`AppState::roster`).
#[derive(Debug)]
pub struct GroupRoster {
    pub name: String,
    pub teachers: Vec<String>,
    pub teacher_ids: Vec<i64>,
    pub pupils: Vec<GroupPupil>,
    pub choices: HashMap<i64, Vec<Choice>>,
    /// Health notes per pupil: for staff only, left out of any other viewer's view.
    pub health: HashMap<i64, String>,
}

impl GroupRoster {
    /// About how much memory it takes, for the cache's bound.
    fn bytes(&self) -> usize {
        let parents: usize = self
            .pupils
            .iter()
            .flat_map(|p| &p.parents)
            .map(|p| {
                let optional = [&p.address, &p.phone_mobile, &p.phone_other];
                96 + p.name.len()
                    + p.email.len()
                    + optional
                        .iter()
                        .flat_map(|o| o.as_ref())
                        .map(|t| t.len())
                        .sum::<usize>()
            })
            .sum();
        let pupils: usize = self
            .pupils
            .iter()
            .map(|p| 64 + p.first_name.len() + p.full_name.len())
            .sum();
        let choices: usize = self.choices.values().map(|c| 48 + 24 * c.len()).sum();
        let health: usize = self.health.values().map(|h| 32 + h.len()).sum();
        let teachers: usize = self.teachers.iter().map(|t| 24 + t.len()).sum();
        128 + self.name.len() + teachers + pupils + parents + choices + health
    }
}

/// The group and the viewer's place in the roster: from memory, or read in one read-only
/// transaction (and kept). `None`: no such group.
async fn rosters(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    group_id: i64,
) -> Result<Option<(Arc<GroupRoster>, Arc<PersonRoster>)>, AppError> {
    let cache = &state.school_data;
    let (group_key, person_key) = ((GROUP, group_id), (PERSON, viewer.person_id));
    if let (Some(group), Some(person)) =
        (cache.get(tenant, group_key), cache.get(tenant, person_key))
    {
        return Ok(Some((group, person)));
    }
    read_rosters(&state.schools, cache, tenant, group_id, viewer.person_id).await
}

/// Reads the group and the person's place in it in one read-only transaction, and keeps both,
/// each read again in the background once aged (they depend on the roster, not the hour).
async fn read_rosters(
    schools: &SchoolPools,
    cache: &SchoolCache,
    tenant: TenantId,
    group_id: i64,
    person_id: i64,
) -> Result<Option<(Arc<GroupRoster>, Arc<PersonRoster>)>, AppError> {
    let (group_key, person_key) = ((GROUP, group_id), (PERSON, person_id));
    // Taken before the transaction begins: a change announced meanwhile voids what it reads.
    let ticket = cache.ticket(tenant);
    let mut tx = TenantTx::begin_read_only(schools, tenant).await?;
    cache.learn_announces(&mut tx).await?;
    let Some(head) = people::group_head(&mut tx, group_id, person_id).await? else {
        return Ok(None);
    };
    let (pupils, choices, health) = people::group_families(&mut tx, group_id, true).await?;
    tx.commit().await?;
    let group = Arc::new(GroupRoster {
        name: head.name,
        teachers: head.teachers,
        teacher_ids: head.teacher_ids,
        pupils,
        choices,
        health,
    });
    let person = Arc::new(head.person);
    let again = Arc::new(RostersAgain {
        schools: schools.clone(),
        group_id,
        person_id,
        started: std::sync::atomic::AtomicBool::new(false),
    });
    cache.put_read_again(
        ticket,
        group_key,
        group.clone(),
        group.bytes(),
        again.clone(),
    );
    cache.put_read_again(ticket, person_key, person.clone(), person.bytes(), again);
    Ok(Some((group, person)))
}

/// Reads a group and a person's place in it again once either has aged: once for both, since
/// one read keeps both anew.
struct RostersAgain {
    schools: SchoolPools,
    group_id: i64,
    person_id: i64,
    /// The read of these two entries has begun (by whichever aged entry was asked first).
    started: std::sync::atomic::AtomicBool,
}

impl ReadAgain for RostersAgain {
    fn read_again(self: Arc<Self>, cache: SchoolCache, ticket: Ticket) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if self
                .started
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                return;
            }
            // It takes its own ticket, before its transaction; a failed read leaves the aged
            // entries, served until their second age ends.
            let _ = read_rosters(
                &self.schools,
                &cache,
                ticket.tenant(),
                self.group_id,
                self.person_id,
            )
            .await;
            // Kept, the entries now hold a reader of their own; failed or refused (a change
            // came meanwhile), they may be read again by a later request.
            self.started
                .store(false, std::sync::atomic::Ordering::Relaxed);
        })
    }
}

/// The group as this viewer may see it, or 404 (no such group) / 403 (not theirs).
pub async fn group_view(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    group_id: i64,
) -> Result<GroupView, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let (group, person) = rosters(state, tenant.id(), viewer, group_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let looker = person.looker(viewer);
    let access = people::access_of(viewer, &looker, &settings, &person.taught);
    if !access.allows(group_id) {
        return Err(AppError::Forbidden {
            reason: "portal.group.not_yours",
        });
    }
    let families = group
        .pupils
        .iter()
        .filter_map(|pupil| {
            let parents: Vec<ParentView> = pupil
                .parents
                .iter()
                .filter_map(|parent| {
                    let shown = visible_fields(
                        &looker,
                        parent.person_id,
                        group
                            .choices
                            .get(&parent.person_id)
                            .map_or(&[][..], Vec::as_slice),
                    );
                    // A parent who does not show their name is not listed at all.
                    if !shown.contains(&Field::Name) {
                        return None;
                    }
                    let keep = |field: Field, value: &Option<String>| {
                        value.clone().filter(|_| shown.contains(&field))
                    };
                    Some(ParentView {
                        person_id: looker.is_staff.then_some(parent.person_id),
                        photo_url: (parent.has_photo && shown.contains(&Field::Photo))
                            .then(|| format!("/people/{}/photo", parent.person_id)),
                        email: shown.contains(&Field::Email).then(|| parent.email.clone()),
                        address: keep(Field::Address, &parent.address),
                        phone_mobile: keep(Field::PhoneMobile, &parent.phone_mobile),
                        phone_other: keep(Field::PhoneOther, &parent.phone_other),
                        name: parent.name.clone(),
                        shown: field_names(&shown),
                    })
                })
                .collect();
            if looker.is_staff {
                Some(FamilyView {
                    child: pupil.full_name.clone(),
                    health: group.health.get(&pupil.pupil_id).cloned(),
                    parents,
                })
            } else if parents.is_empty() {
                None
            } else {
                Some(FamilyView {
                    child: pupil.first_name.clone(),
                    health: None,
                    parents,
                })
            }
        })
        .collect();
    Ok(GroupView {
        id: group_id,
        name: group.name.clone(),
        teachers: group.teachers.clone(),
        teacher_ids: group.teacher_ids.clone(),
        families,
        staff_view: looker.is_staff,
        address_list: looker.is_staff || settings.parents_download_address_list,
    })
}
