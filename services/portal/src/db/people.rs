//! Who the viewer is among the roster, a parent's own details, and the people of a group
//! with what each chose to show.

use std::collections::{BTreeSet, HashMap};

use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::{Role, Viewer};
use serde::Serialize;
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

/// A parent's address, phones and "about me", as they keep them.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Details {
    pub address: Option<String>,
    pub phone_mobile: Option<String>,
    pub phone_other: Option<String>,
    pub about: Option<String>,
}

pub async fn details(tx: &mut TenantTx, person_id: i64) -> Result<Details, sqlx::Error> {
    sqlx::query_as("SELECT address, phone_mobile, phone_other, about FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

pub async fn save_details(
    tx: &mut TenantTx,
    person_id: i64,
    details: &Details,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET address = $2, phone_mobile = $3, phone_other = $4, about = $5
          WHERE id = $1",
    )
    .bind(person_id)
    .bind(&details.address)
    .bind(&details.phone_mobile)
    .bind(&details.phone_other)
    .bind(&details.about)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A person's address and their account's language (`None` without an account or choice).
pub async fn mail_address(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<(String, Option<String>), sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.email, a.language FROM people pe
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pe.id = $1",
    )
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
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
    pub has_photo: bool,
}

/// A pupil of a group with the parents whose link is in effect.
#[derive(Debug, Clone)]
pub struct GroupPupil {
    pub pupil_id: i64,
    pub first_name: String,
    pub full_name: String,
    pub parents: Vec<ParentDetails>,
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
pub fn access_of(
    viewer: &Viewer,
    looker: &Looker,
    settings: &SchoolSettings,
    taught: &[i64],
) -> GroupAccess {
    if viewer.has(Role::SchoolAdmin)
        || (viewer.has(Role::Teacher) && settings.teachers_see_all_groups)
    {
        return GroupAccess::All;
    }
    let mut groups = BTreeSet::new();
    if viewer.has(Role::Teacher) {
        groups.extend(taught.iter().copied());
    }
    if settings.portal_open && settings.is_on(Module::Groups) {
        groups.extend(looker.child_groups.iter().copied());
    }
    GroupAccess::Only(groups)
}

/// [`access_of`], reading the groups the viewer teaches.
pub async fn group_access(
    tx: &mut TenantTx,
    viewer: &Viewer,
    looker: &Looker,
    settings: &SchoolSettings,
) -> Result<GroupAccess, sqlx::Error> {
    let taught: Vec<i64> = if viewer.has(Role::Teacher) {
        sqlx::query_scalar("SELECT group_id FROM group_teachers WHERE person_id = $1")
            .bind(viewer.person_id)
            .fetch_all(&mut **tx)
            .await?
    } else {
        Vec::new()
    };
    Ok(access_of(viewer, looker, settings, &taught))
}

/// A group with its teachers, and the viewer's place in the roster — one round trip.
#[derive(Debug)]
pub struct GroupHead {
    pub name: String,
    pub teachers: Vec<String>,
    /// The teachers' person ids, in the order of `teachers`.
    pub teacher_ids: Vec<i64>,
    pub person: PersonRoster,
}

/// What of the roster decides which groups and fields a person may see: their children's
/// groups and the groups they teach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRoster {
    pub person_id: i64,
    pub child_groups: BTreeSet<i64>,
    pub has_child: bool,
    pub taught: Vec<i64>,
}

impl PersonRoster {
    /// About how much memory it takes, for the cache's bound.
    pub fn bytes(&self) -> usize {
        96 + 8 * (self.child_groups.len() * 3 + self.taught.len())
    }

    /// The person as the privacy rules see them; staff come from the viewer's roles.
    pub fn looker(&self, viewer: &Viewer) -> Looker {
        Looker {
            person_id: self.person_id,
            is_staff: viewer.is_staff(),
            child_groups: self.child_groups.clone(),
            has_child: self.has_child,
        }
    }
}

/// The group with its teachers (`None`: no such group), and the person's place in the roster.
pub async fn group_head(
    tx: &mut TenantTx,
    group_id: i64,
    person_id: i64,
) -> Result<Option<GroupHead>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        teachers: Vec<String>,
        teacher_ids: Vec<i64>,
        child_groups: Vec<i64>,
        has_child: bool,
        taught: Vec<i64>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT g.name,
                ARRAY(SELECT pe.name FROM group_teachers t JOIN people pe ON pe.id = t.person_id
                       WHERE t.group_id = g.id ORDER BY pe.name, pe.id) AS teachers,
                ARRAY(SELECT pe.id FROM group_teachers t JOIN people pe ON pe.id = t.person_id
                       WHERE t.group_id = g.id ORDER BY pe.name, pe.id) AS teacher_ids,
                ARRAY(SELECT DISTINCT p.group_id FROM guardians gu JOIN pupils p ON p.id = gu.pupil_id
                       WHERE gu.person_id = $2 AND gu.status = 'active' AND p.left_at IS NULL
                         AND p.group_id IS NOT NULL) AS child_groups,
                EXISTS (SELECT 1 FROM guardians gu JOIN pupils p ON p.id = gu.pupil_id
                         WHERE gu.person_id = $2 AND gu.status = 'active' AND p.left_at IS NULL) AS has_child,
                ARRAY(SELECT t.group_id FROM group_teachers t WHERE t.person_id = $2) AS taught
           FROM groups g WHERE g.id = $1",
    )
    .bind(group_id)
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| GroupHead {
        name: row.name,
        teachers: row.teachers,
        teacher_ids: row.teacher_ids,
        person: PersonRoster {
            person_id,
            child_groups: row.child_groups.into_iter().collect(),
            has_child: row.has_child,
            taught: row.taught,
        },
    }))
}

/// A group's pupils with their parents, each parent's privacy choices and (for staff) the
/// pupil's health notes — one round trip.
pub async fn group_families(
    tx: &mut TenantTx,
    group_id: i64,
    with_health: bool,
) -> Result<
    (
        Vec<GroupPupil>,
        HashMap<i64, Vec<Choice>>,
        HashMap<i64, String>,
    ),
    sqlx::Error,
> {
    #[derive(sqlx::FromRow)]
    struct Row {
        pupil_id: i64,
        first_name: String,
        full_name: String,
        health: Option<String>,
        person_id: Option<i64>,
        name: Option<String>,
        email: Option<String>,
        address: Option<String>,
        phone_mobile: Option<String>,
        phone_other: Option<String>,
        has_photo: Option<bool>,
        choices: Option<Vec<String>>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id AS pupil_id, p.first_name,
                p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS full_name,
                CASE WHEN $2 THEN (SELECT nullif(concat_ws(' · ', nullif(m.allergies, ''),
                                                           nullif(m.medical, '')), '')
                                     FROM pupil_medical m WHERE m.pupil_id = p.id) END AS health,
                pe.id AS person_id, pe.name, pe.email, pe.address, pe.phone_mobile, pe.phone_other,
                EXISTS (SELECT 1 FROM person_photos ph WHERE ph.person_id = pe.id) AS has_photo,
                CASE WHEN pe.id IS NOT NULL THEN ARRAY(
                    SELECT c.field || ':' || c.audience || ':' || coalesce(cp.group_id::text, '')
                      FROM privacy_choices c
                      JOIN pupils cp ON cp.id = c.pupil_id AND cp.left_at IS NULL
                      JOIN guardians cg ON cg.pupil_id = c.pupil_id AND cg.person_id = c.person_id
                                       AND cg.status = 'active'
                     WHERE c.person_id = pe.id) END AS choices
           FROM pupils p
           LEFT JOIN guardians g ON g.pupil_id = p.id AND g.status = 'active'
           LEFT JOIN people pe ON pe.id = g.person_id AND pe.blocked_at IS NULL
          WHERE p.group_id = $1 AND p.left_at IS NULL
          ORDER BY p.first_name, p.last_name, p.id, pe.name, pe.id",
    )
    .bind(group_id)
    .bind(with_health)
    .fetch_all(&mut **tx)
    .await?;
    let mut pupils: Vec<GroupPupil> = Vec::new();
    let mut choices: HashMap<i64, Vec<Choice>> = HashMap::new();
    let mut health: HashMap<i64, String> = HashMap::new();
    for row in rows {
        if pupils.last().is_none_or(|p| p.pupil_id != row.pupil_id) {
            if let Some(text) = row.health.clone() {
                health.insert(row.pupil_id, text);
            }
            pupils.push(GroupPupil {
                pupil_id: row.pupil_id,
                first_name: row.first_name.clone(),
                full_name: row.full_name.clone(),
                parents: Vec::new(),
            });
        }
        let (Some(person_id), Some(name), Some(email)) = (row.person_id, row.name, row.email)
        else {
            continue;
        };
        if let Some(list) = row.choices {
            choices.entry(person_id).or_insert_with(|| {
                list.iter()
                    .filter_map(|entry| {
                        let mut parts = entry.splitn(3, ':');
                        let field = Field::parse(parts.next()?)?;
                        let audience = Audience::parse(parts.next()?)?;
                        let child_group = parts.next()?.parse::<i64>().ok();
                        Some(Choice {
                            field,
                            audience,
                            child_group,
                        })
                    })
                    .collect()
            });
        }
        if let Some(pupil) = pupils.last_mut() {
            pupil.parents.push(ParentDetails {
                person_id,
                name,
                email,
                address: row.address,
                phone_mobile: row.phone_mobile,
                phone_other: row.phone_other,
                has_photo: row.has_photo.unwrap_or(false),
            });
        }
    }
    Ok((pupils, choices, health))
}

/// The set of fields as names, for templates.
pub fn field_names(fields: &BTreeSet<Field>) -> Vec<&'static str> {
    fields.iter().map(|f| f.as_str()).collect()
}

/// The full name and birth date of every pupil of the group at school.
pub async fn birth_dates(
    tx: &mut TenantTx,
    group_id: i64,
) -> Result<Vec<(String, chrono::NaiveDate)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT first_name || ' ' || concat_ws(' ', nullif(name_prefix, ''), last_name), date_of_birth
           FROM pupils WHERE group_id = $1 AND left_at IS NULL",
    )
    .bind(group_id)
    .fetch_all(&mut **tx)
    .await
}
