//! `TenantTx`: the only way to reach a school's tables — a transaction bound to its schema.

use std::ops::{Deref, DerefMut};

use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};

use crate::pools::SchoolPool;
use crate::tenant::TenantId;

/// A database transaction whose search path is the school's schema, for this transaction only.
///
/// The path is set with `SET LOCAL`, which PostgreSQL reverts at the end of the
/// transaction, whether it commits, rolls back, or the connection is dropped mid-way (also
/// while it begins: see [`run_to_completion`]). So a pooled connection never carries one
/// school's schema into another school's request; and since the role's default search path
/// holds no tables, a query outside a `TenantTx` fails.
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
    read_only: bool,
}

impl TenantTx {
    /// Begins a transaction on a pooled connection (from the school's home pool, where there
    /// are several), bound to `tenant`'s schema.
    pub async fn begin(pool: &impl SchoolPool, tenant: TenantId) -> Result<Self, sqlx::Error> {
        Self::start(pool, tenant, false).await
    }

    /// Begins a read-only transaction (PostgreSQL refuses any write in it), for pages that
    /// only show data. Its [`commit`](Self::commit) does not wait for the server: with
    /// nothing to keep, the end of the transaction travels with the pool's check of the
    /// connection on release, saving a round trip per page.
    pub async fn begin_read_only(
        pool: &impl SchoolPool,
        tenant: TenantId,
    ) -> Result<Self, sqlx::Error> {
        Self::start(pool, tenant, true).await
    }

    async fn start(
        pool: &impl SchoolPool,
        tenant: TenantId,
        read_only: bool,
    ) -> Result<Self, sqlx::Error> {
        // One round trip for both: this runs on every request. The schema name is made from
        // the numeric id only, so it is safe to write into the statement.
        let mode = if read_only {
            "BEGIN READ ONLY"
        } else {
            "BEGIN"
        };
        let begin = format!("{mode}; SET LOCAL search_path TO {}", tenant.schema_name());
        let pool = pool.clone();
        let tx = run_to_completion(async move { pool.begin_for(tenant, begin).await }).await?;
        Ok(Self {
            tx,
            tenant,
            read_only,
        })
    }

    /// The school this transaction is bound to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// A savepoint inside this transaction; dropping it without commit rolls it back.
    /// Rolling a savepoint back leaves the school's search path in place.
    pub async fn savepoint(&mut self) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
        self.tx.begin().await
    }

    /// Commits. A read-only transaction has nothing to commit: it ends without waiting (see
    /// [`begin_read_only`](Self::begin_read_only)).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        if self.read_only {
            // Dropping queues the end of the transaction on the connection; sqlx sends it
            // before the connection is used again, and resets the search path with it.
            drop(self.tx);
            return Ok(());
        }
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// Begins a transaction on the platform's pool, safe to abandon (see [`run_to_completion`]).
pub async fn begin_platform(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    run_to_completion(async move { pool.begin().await }).await
}

/// Runs a `BEGIN` on a task of its own, so that it finishes even when the request that asked
/// for it is abandoned (a client hanging up, a timeout). sqlx counts a transaction as open
/// only once the server has answered `BEGIN`: a future dropped while waiting for that answer
/// would put the connection back in the pool still inside the transaction — with the
/// school's search path, perhaps read-only — for the next borrower to run in. Finished on its
/// own task, the transaction is dropped there if nobody waits for it any more, which rolls it
/// back before the connection is used again.
async fn run_to_completion(
    begin: impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send + 'static,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    tokio::spawn(begin)
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)?
}

/// Binds an open transaction to a school's schema (also used while provisioning).
pub(crate) async fn bind_schema(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('search_path', $1, true)")
        .bind(tenant.schema_name())
        .execute(conn)
        .await?;
    Ok(())
}

impl Deref for TenantTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
