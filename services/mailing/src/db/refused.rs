//! Addresses a school's mail does not reach: the receiving server refused a mail to them for
//! good (an SMTP 5xx, or a refusal for now that lasted too long), so the address is marked
//! undeliverable (N4) until its owner says it works again. The admins' to-do list names them,
//! so someone asks the parent for a working address.

use sqlx::PgConnection;
use tenant_router::TenantTx;

/// A refused address, with the name of the school's member it belongs to (if any).
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
pub struct RefusedAddress {
    pub address: String,
    pub name: Option<String>,
}

/// The most addresses the to-do list names; more are counted, not listed.
pub const LISTED: i64 = 10;

/// The school's addresses marked undeliverable whose mail from this school failed (at most
/// `LISTED`), and how many there are in all.
pub async fn refused_addresses(
    conn: &mut PgConnection,
    tenant_id: i64,
) -> Result<(Vec<String>, i64), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT u.address, count(*) OVER ()
           FROM platform.undeliverable_addresses u
          WHERE EXISTS (SELECT 1 FROM platform.outbox o
                         WHERE lower(o.recipient) = u.address AND o.tenant_id = $1
                           AND o.failed_at IS NOT NULL)
          ORDER BY u.address
          LIMIT $2",
    )
    .bind(tenant_id)
    .bind(LISTED)
    .fetch_all(conn)
    .await?;
    let total = rows.first().map_or(0, |(_, total)| *total);
    Ok((
        rows.into_iter().map(|(address, _)| address).collect(),
        total,
    ))
}

/// The addresses with the names of the school's members they belong to.
pub async fn with_names(
    tx: &mut TenantTx,
    addresses: Vec<String>,
) -> Result<Vec<RefusedAddress>, sqlx::Error> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT a.address, p.name
           FROM unnest($1::text[]) WITH ORDINALITY AS a (address, n)
           LEFT JOIN people p ON lower(p.email) = lower(a.address)
          ORDER BY a.n",
    )
    .bind(addresses)
    .fetch_all(&mut **tx)
    .await
}
