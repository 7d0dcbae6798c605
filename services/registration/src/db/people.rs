//! The school's `people` and their platform memberships, always written together.

use schoolplein_kernel::Role;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::domain::EmailAddress;

/// A person to add to a school.
#[derive(Debug)]
pub struct NewPerson<'a> {
    pub name: &'a str,
    pub email: &'a EmailAddress,
    pub roles: &'a [Role],
}

fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

/// Adds a person to the school (or returns the one with this address).
pub async fn find_or_add(tx: &mut TenantTx, person: &NewPerson<'_>) -> Result<i64, sqlx::Error> {
    let kind = if person.roles.iter().any(|r| r.is_staff()) {
        "staff"
    } else {
        "parent"
    };
    let added: Option<i64> = sqlx::query_scalar(
        "INSERT INTO people (name, email, kind, roles) VALUES ($1, $2, $3, $4)
         ON CONFLICT ((lower(email))) DO NOTHING RETURNING id",
    )
    .bind(person.name)
    .bind(person.email.as_str())
    .bind(kind)
    .bind(role_names(person.roles))
    .fetch_optional(&mut **tx)
    .await?;
    match added {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT id FROM people WHERE lower(email) = lower($1)")
                .bind(person.email.as_str())
                .fetch_one(&mut **tx)
                .await
        }
    }
}

/// Links a school's person to an account, in the school's table and the platform's
/// membership alike (same transaction).
pub async fn link_account(
    tx: &mut TenantTx,
    person_id: i64,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    let roles: Vec<String> =
        sqlx::query_scalar("UPDATE people SET account_id = $2 WHERE id = $1 RETURNING roles")
            .bind(person_id)
            .bind(account_id)
            .fetch_one(&mut **tx)
            .await?;
    let tenant = tx.tenant().get();
    sqlx::query(
        "INSERT INTO platform.memberships (account_id, tenant_id, person_id, roles)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, tenant_id) DO UPDATE SET person_id = EXCLUDED.person_id,
                                                           roles = EXCLUDED.roles",
    )
    .bind(account_id)
    .bind(tenant)
    .bind(person_id)
    .bind(roles)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Blocks or unblocks a person in this school, records who did it, and mirrors it to the
/// membership so every process refuses the person on their next request.
pub async fn set_blocked(
    tx: &mut TenantTx,
    person_id: i64,
    blocked: bool,
    by: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let changed: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE people SET blocked_at = CASE WHEN $2 THEN now() END
          WHERE id = $1 AND (blocked_at IS NOT NULL) <> $2 RETURNING account_id",
    )
    .bind(person_id)
    .bind(blocked)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(account_id) = changed else {
        return Ok(false);
    };
    sqlx::query("INSERT INTO access_changes (person_id, action, changed_by) VALUES ($1, $2, $3)")
        .bind(person_id)
        .bind(if blocked { "block" } else { "unblock" })
        .bind(by)
        .execute(&mut **tx)
        .await?;
    if let Some(account_id) = account_id {
        let tenant = tx.tenant().get();
        sqlx::query(
            "UPDATE platform.memberships SET blocked_at = CASE WHEN $3 THEN now() END
              WHERE account_id = $1 AND tenant_id = $2",
        )
        .bind(account_id)
        .bind(tenant)
        .bind(blocked)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// A school's person found by address.
#[derive(Debug, sqlx::FromRow)]
pub struct PersonByEmail {
    pub id: i64,
    pub account_id: Option<i64>,
}

/// The school's person with this address, or the one linked to this address's account.
pub async fn find_by_email(
    tx: &mut TenantTx,
    email: &EmailAddress,
) -> Result<Option<PersonByEmail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id FROM people
          WHERE lower(email) = lower($1)
             OR account_id = (SELECT id FROM platform.accounts WHERE lower(email) = lower($1))
          ORDER BY (lower(email) = lower($1)) DESC
          LIMIT 1",
    )
    .bind(email.as_str())
    .fetch_optional(&mut **tx)
    .await
}

/// Gives a person these roles besides the ones they have (and makes them staff when a role
/// is a staff role), in the school and in the platform's membership alike.
pub async fn add_roles(
    tx: &mut TenantTx,
    person_id: i64,
    roles: &[Role],
) -> Result<(), sqlx::Error> {
    let staff = roles.iter().any(|r| r.is_staff());
    let (account_id, merged): (Option<i64>, Vec<String>) = sqlx::query_as(
        "UPDATE people
            SET roles = ARRAY(SELECT DISTINCT unnest(roles || $2::text[]) ORDER BY 1),
                kind = CASE WHEN $3 THEN 'staff' ELSE kind END
          WHERE id = $1
          RETURNING account_id, roles",
    )
    .bind(person_id)
    .bind(role_names(roles))
    .bind(staff)
    .fetch_one(&mut **tx)
    .await?;
    if let Some(account_id) = account_id {
        let tenant = tx.tenant().get();
        sqlx::query(
            "UPDATE platform.memberships SET roles = $3 WHERE account_id = $1 AND tenant_id = $2",
        )
        .bind(account_id)
        .bind(tenant)
        .bind(merged)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn set_name(tx: &mut TenantTx, person_id: i64, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE people SET name = $2 WHERE id = $1")
        .bind(person_id)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A person's name (for "<name> invited you").
pub async fn name_of(tx: &mut TenantTx, person_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The account a person is linked to, if any.
pub async fn account_of(tx: &mut TenantTx, person_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut **tx)
        .await
        .map(Option::flatten)
}

/// A person in the admin's list of the school's people.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ListedPerson {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub blocked: bool,
    pub registered: bool,
}

/// Everyone in the school, staff first, by name.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<ListedPerson>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, email, roles, blocked_at IS NOT NULL AS blocked,
                account_id IS NOT NULL AS registered
           FROM people ORDER BY kind DESC, name, id",
    )
    .fetch_all(&mut **tx)
    .await
}

/// Whether the school has a person with this id.
pub async fn exists(tx: &mut TenantTx, person_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM people WHERE id = $1)")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}
