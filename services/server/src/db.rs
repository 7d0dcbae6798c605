//! The server's own SQL: the readiness check's question to PostgreSQL, and a school's state
//! for mail that comes back to it.

use sqlx::{PgConnection, PgPool};
use tenant_router::TenantId;

/// Asks PostgreSQL the smallest question there is; an answer means it is reachable.
pub async fn ping(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(conn)
        .await
}

/// A school's state (`active`, `suspended`), or `None` when there is no such school.
pub async fn tenant_status(pool: &PgPool, tenant: TenantId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM platform.tenants WHERE id = $1")
        .bind(tenant.get())
        .fetch_optional(pool)
        .await
}
