//! A parent as the school's staff see and change them: their details and children, and
//! what admins do to their place in the school (every change recorded).

use serde::Serialize;
use tenant_router::TenantTx;

/// A parent with all their details, as the school sees them.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ParentRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub address: Option<String>,
    pub phone_mobile: Option<String>,
    pub phone_other: Option<String>,
    pub about: Option<String>,
    pub extra: String,
    pub read_only: bool,
    pub blocked: bool,
    pub registered: bool,
    pub partner_id: Option<i64>,
    pub partner_name: Option<String>,
    /// Mail to the parent's address does not arrive (N4).
    pub undeliverable: bool,
}

/// A child of the parent, still at school, with what the parents said of their health.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ParentChild {
    pub name: String,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub status: String,
    pub health: Option<String>,
}

/// The groups of the parent's children at school (`None`: no group).
pub async fn child_groups(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<Option<i64>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.group_id FROM guardians g JOIN pupils p ON p.id = g.pupil_id
          WHERE g.person_id = $1 AND p.left_at IS NULL",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// The parent, if the person is one.
pub async fn find(tx: &mut TenantTx, person_id: i64) -> Result<Option<ParentRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT pe.id, pe.name, pe.email, pe.address, pe.phone_mobile, pe.phone_other, pe.about,
                pe.extra::text AS extra, pe.read_only_at IS NOT NULL AS read_only,
                pe.blocked_at IS NOT NULL AS blocked, pe.account_id IS NOT NULL AS registered,
                pe.partner_id, partner.name AS partner_name,
                EXISTS (SELECT 1 FROM platform.undeliverable_addresses u
                         WHERE u.address = lower(pe.email)) AS undeliverable
           FROM people pe LEFT JOIN people partner ON partner.id = pe.partner_id
          WHERE pe.id = $1 AND pe.kind = 'parent'",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The parent's children at school, eldest first.
pub async fn children(tx: &mut TenantTx, person_id: i64) -> Result<Vec<ParentChild>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.first_name || ' ' || concat_ws(' ', nullif(p.name_prefix, ''), p.last_name) AS name,
                gr.id AS group_id, gr.name AS group_name, g.status,
                nullif(concat_ws(' · ', nullif(m.allergies, ''), nullif(m.medical, '')), '') AS health
           FROM guardians g JOIN pupils p ON p.id = g.pupil_id
           LEFT JOIN groups gr ON gr.id = p.group_id
           LEFT JOIN pupil_medical m ON m.pupil_id = p.id
          WHERE g.person_id = $1 AND p.left_at IS NULL ORDER BY p.date_of_birth",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// A parent's details as staff write them.
#[derive(Debug)]
pub struct ParentDetails<'a> {
    pub name: &'a str,
    pub address: Option<&'a str>,
    pub phone_mobile: Option<&'a str>,
    pub phone_other: Option<&'a str>,
    /// The school's extra fields, as JSON.
    pub extra: &'a str,
}

/// Stores the details; `false` when the person is not a parent of the school.
pub async fn save_details(
    tx: &mut TenantTx,
    person_id: i64,
    details: &ParentDetails<'_>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE people SET name = $2, address = $3, phone_mobile = $4, phone_other = $5,
                           extra = $6::jsonb
          WHERE id = $1 AND kind = 'parent'",
    )
    .bind(person_id)
    .bind(details.name)
    .bind(details.address)
    .bind(details.phone_mobile)
    .bind(details.phone_other)
    .bind(details.extra)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() != 0)
}

/// Records a change to the person's place in the school, and who made it.
pub async fn record(
    tx: &mut TenantTx,
    person_id: i64,
    action: &str,
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO access_changes (person_id, action, changed_by) VALUES ($1, $2, $3)")
        .bind(person_id)
        .bind(action)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The parent's account, if any; `None` when the person is not a parent of the school.
pub async fn account_of(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Option<Option<i64>>, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM people WHERE id = $1 AND kind = 'parent'")
        .bind(person_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Makes the parent read-only (or writable again), in the school and in their membership.
pub async fn set_read_only(
    tx: &mut TenantTx,
    person_id: i64,
    account: Option<i64>,
    tenant_id: i64,
    read_only: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET read_only_at = CASE WHEN $2 THEN coalesce(read_only_at, now()) END
          WHERE id = $1",
    )
    .bind(person_id)
    .bind(read_only)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE platform.memberships
            SET read_only_at = CASE WHEN $3 THEN coalesce(read_only_at, now()) END
          WHERE account_id = $1 AND tenant_id = $2",
    )
    .bind(account)
    .bind(tenant_id)
    .bind(read_only)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends the parent's links to children, their privacy choices and their membership here;
/// their person stays, without account or parent role.
pub async fn remove_from_school(
    tx: &mut TenantTx,
    person_id: i64,
    account: Option<i64>,
    tenant_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM guardians WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM privacy_choices WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM class_parents WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE people SET account_id = NULL,
                roles = array_remove(roles, 'parent'), read_only_at = NULL
          WHERE id = $1",
    )
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM platform.memberships WHERE account_id = $1 AND tenant_id = $2")
        .bind(account)
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A group a parent may be class parent of (A9).
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
pub struct ClassGroup {
    pub id: i64,
    pub name: String,
    pub granted: bool,
}

/// The groups of the parent's children at school, and any they are class parent of.
pub async fn class_groups(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<ClassGroup>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.name,
                EXISTS (SELECT 1 FROM class_parents c
                         WHERE c.group_id = g.id AND c.person_id = $1) AS granted
           FROM groups g
          WHERE g.id IN (SELECT p.group_id FROM guardians gu
                           JOIN pupils p ON p.id = gu.pupil_id AND p.left_at IS NULL
                          WHERE gu.person_id = $1 AND gu.status = 'active')
             OR g.id IN (SELECT group_id FROM class_parents WHERE person_id = $1)
          ORDER BY g.year NULLS LAST, g.name",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Makes the parent class parent of the group, if a child of theirs is in it; whether they
/// are (now or already).
pub async fn grant_class_parent(
    tx: &mut TenantTx,
    group_id: i64,
    person_id: i64,
    granted_by: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO class_parents (group_id, person_id, granted_by)
         SELECT $1, $2, $3 WHERE EXISTS (
             SELECT 1 FROM guardians gu JOIN pupils p ON p.id = gu.pupil_id
              WHERE gu.person_id = $2 AND gu.status = 'active' AND p.left_at IS NULL
                AND p.group_id = $1)
         ON CONFLICT (group_id, person_id) DO NOTHING",
    )
    .bind(group_id)
    .bind(person_id)
    .bind(granted_by)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM class_parents WHERE group_id = $1 AND person_id = $2)",
    )
    .bind(group_id)
    .bind(person_id)
    .fetch_one(&mut **tx)
    .await
}

/// Ends the parent's being class parent of the group.
pub async fn end_class_parent(
    tx: &mut TenantTx,
    group_id: i64,
    person_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM class_parents WHERE group_id = $1 AND person_id = $2")
        .bind(group_id)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
