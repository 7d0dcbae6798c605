//! The server's own SQL: the readiness check's question to PostgreSQL.

use sqlx::PgConnection;

/// Asks PostgreSQL the smallest question there is; an answer means it is reachable.
pub async fn ping(conn: &mut PgConnection) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(conn)
        .await
}
