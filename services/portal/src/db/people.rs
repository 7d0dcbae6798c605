//! Who the viewer is among the roster, and the people of a group with what each chose to show.

use std::collections::{BTreeSet, HashMap};

use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::{Role, Viewer};
use tenant_router::TenantTx;

use crate::privacy::{Audience, Choice, Field, Looker};

/// The viewer as the privacy rules see them.
pub async fn looker(tx: &mut TenantTx, viewer: &Viewer) -> Result<Looker, sqlx::Error> {
    let groups: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT DISTINCT p.group_id FROM guardians g JOIN pupils p ON p.id = g.pupil_id
          WHERE g.person_id = $1 AND g.status = 'active' AND p.left_at IS NULL",
    )
    .bind(viewer.person_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Looker {
        person_id: viewer.person_id,
        is_staff: viewer.roles.iter().any(|r| r.is_staff()),
        has_child: !groups.is_empty(),
        child_groups: groups.into_iter().flatten().collect(),
    })
}

/// The privacy choices of these people, for their children still at school and linked.
pub async fn choices_of(
    tx: &mut TenantTx,
    people: &[i64],
) -> Result<HashMap<i64, Vec<Choice>>, sqlx::Error> {
    let rows: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT c.person_id, c.field, c.audience, p.group_id
           FROM privacy_choices c
           JOIN pupils p ON p.id = c.pupil_id AND p.left_at IS NULL
           JOIN guardians g ON g.pupil_id = c.pupil_id AND g.person_id = c.person_id
                           AND g.status = 'active'
          WHERE c.person_id = ANY($1)",
    )
    .bind(people)
    .fetch_all(&mut **tx)
    .await?;
    let mut choices: HashMap<i64, Vec<Choice>> = HashMap::new();
    for (person, field, audience, group) in rows {
        if let (Some(field), Some(audience)) = (Field::parse(&field), Audience::parse(&audience)) {
            choices.entry(person).or_default().push(Choice {
                field,
                audience,
                child_group: group,
            });
        }
    }
    Ok(choices)
}

/// A parent's details as stored (before privacy is applied).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParentDetails {
    pub person_id: i64,
    pub name: String,
    pub email: String,
    pub address: Option<String>,
    pub phone_mobile: Option<String>,
    pub phone_other: Option<String>,
}

/// A pupil of a group with the parents whose link is in effect.
#[derive(Debug, Clone)]
pub struct GroupPupil {
    pub pupil_id: i64,
    pub first_name: String,
    pub full_name: String,
    pub parents: Vec<ParentDetails>,
}

/// The pupils of a group (still at school) and their parents.
pub async fn group_pupils(
    tx: &mut TenantTx,
    group_id: i64,
) -> Result<Vec<GroupPupil>, sqlx::Error> {
    let pupils: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, first_name,
                first_name || ' ' || concat_ws(' ', nullif(name_prefix, ''), last_name)
           FROM pupils WHERE group_id = $1 AND left_at IS NULL
          ORDER BY first_name, last_name, id",
    )
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<i64> = pupils.iter().map(|p| p.0).collect();
    #[derive(sqlx::FromRow)]
    struct Row {
        pupil_id: i64,
        #[sqlx(flatten)]
        parent: ParentDetails,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT g.pupil_id, pe.id AS person_id, pe.name, pe.email, pe.address, pe.phone_mobile,
                pe.phone_other
           FROM guardians g JOIN people pe ON pe.id = g.person_id
          WHERE g.pupil_id = ANY($1) AND g.status = 'active' AND pe.blocked_at IS NULL
          ORDER BY pe.name, pe.id",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_pupil: HashMap<i64, Vec<ParentDetails>> = HashMap::new();
    for row in rows {
        by_pupil.entry(row.pupil_id).or_default().push(row.parent);
    }
    Ok(pupils
        .into_iter()
        .map(|(pupil_id, first_name, full_name)| GroupPupil {
            parents: by_pupil.remove(&pupil_id).unwrap_or_default(),
            pupil_id,
            first_name,
            full_name,
        })
        .collect())
}

/// Which groups' pages a viewer may open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAccess {
    All,
    Only(BTreeSet<i64>),
}

impl GroupAccess {
    pub fn allows(&self, group_id: i64) -> bool {
        match self {
            Self::All => true,
            Self::Only(groups) => groups.contains(&group_id),
        }
    }
}

/// Admins see every group; teachers every group when the school lets them (T5), otherwise
/// the groups they teach; parents the groups of their children, while the portal is open to
/// parents and its groups are on.
pub async fn group_access(
    tx: &mut TenantTx,
    viewer: &Viewer,
    looker: &Looker,
    settings: &SchoolSettings,
) -> Result<GroupAccess, sqlx::Error> {
    if viewer.has(Role::SchoolAdmin)
        || (viewer.has(Role::Teacher) && settings.teachers_see_all_groups)
    {
        return Ok(GroupAccess::All);
    }
    let mut groups = BTreeSet::new();
    if viewer.has(Role::Teacher) {
        let taught: Vec<i64> =
            sqlx::query_scalar("SELECT group_id FROM group_teachers WHERE person_id = $1")
                .bind(viewer.person_id)
                .fetch_all(&mut **tx)
                .await?;
        groups.extend(taught);
    }
    if settings.portal_open && settings.is_on(Module::Groups) {
        groups.extend(looker.child_groups.iter().copied());
    }
    Ok(GroupAccess::Only(groups))
}

/// The set of fields as names, for templates.
pub fn field_names(fields: &BTreeSet<Field>) -> Vec<&'static str> {
    fields.iter().map(|f| f.as_str()).collect()
}
