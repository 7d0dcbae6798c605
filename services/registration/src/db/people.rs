//! The school's `people` and their platform memberships, always written together.

use schoolplein_kernel::Role;
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
