//! Connections for school transactions: each school has a home pool, so that a database
//! backend serves a bounded share of the schools and keeps their catalog entries warm.
//!
//! PostgreSQL caches catalog entries (and plans) per backend. A backend that meets a school's
//! schema for the first time loads its tables' entries, which costs several times the query
//! itself; with thousands of schools and every connection serving every school, most queries
//! are such first meetings, and every backend's cache grows with the whole fleet. Splitting
//! the connections into `n` home pools gives each backend a fleet `n` times smaller. A school
//! whose home pool is busy borrows an idle connection from another pool rather than wait.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use crate::breaker::{Breaker, Unreachable};
use crate::tenant::TenantId;

/// The pools that school transactions run on, guarded by the PostgreSQL breaker (see
/// `breaker`): while the server is unreachable, beginning a transaction fails at once.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct SchoolPools {
    shards: Arc<[PgPool]>,
    breaker: Breaker,
}

/// Whether a failure means the connection to PostgreSQL was refused or lost (as opposed to a
/// statement's own failure, or a pool that is merely busy).
pub fn lost_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        // Class 08: connection exceptions; 57P01–57P03: the server is shutting down,
        // crashed, or not yet accepting connections.
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// The error work gets when PostgreSQL is known to be unreachable.
pub fn unreachable_error(unreachable: Unreachable) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        unreachable,
    ))
}

/// The platform's pool as requests use it: guarded by the PostgreSQL breaker like
/// [`SchoolPools`]. Background work that should wait for the server uses [`pool`](Self::pool).
#[derive(Debug, Clone)]
pub struct PlatformPool {
    pool: PgPool,
    breaker: Breaker,
}

impl PlatformPool {
    pub fn new(pool: PgPool, breaker: Breaker) -> Self {
        Self { pool, breaker }
    }

    /// The pool itself, unguarded.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// A connection, or at once an error while PostgreSQL is unreachable.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.breaker
            .guard(self.pool.acquire(), lost_connection, unreachable_error)
            .await
    }

    /// A platform transaction (see [`crate::tx::begin_platform`]), guarded likewise.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.breaker
            .guard(
                crate::tx::begin_platform(&self.pool),
                lost_connection,
                unreachable_error,
            )
            .await
    }
}

impl SchoolPool for PlatformPool {
    async fn begin_for(
        &self,
        tenant: TenantId,
        statement: String,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.breaker
            .guard(
                self.pool.begin_for(tenant, statement),
                lost_connection,
                unreachable_error,
            )
            .await
    }
}

/// Where a transaction can be begun for a school: the sharded [`SchoolPools`], or a plain
/// pool (the command line, tests, one-connection tools).
pub trait SchoolPool: Clone + Send + Sync + 'static {
    /// Begins a transaction with `statement` on a connection suited to `tenant`.
    fn begin_for(
        &self,
        tenant: TenantId,
        statement: String,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send;
}

impl SchoolPool for PgPool {
    async fn begin_for(
        &self,
        _tenant: TenantId,
        statement: String,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin_with(AssertSqlSafe(statement)).await
    }
}

impl SchoolPools {
    /// One pool for every school (no home pools).
    pub fn single(pool: PgPool) -> Self {
        Self {
            shards: Arc::from(vec![pool]),
            breaker: Breaker::new("postgres"),
        }
    }

    /// Home pools; a school's is picked by its id. `None` for no pools at all.
    pub fn sharded(pools: Vec<PgPool>) -> Option<Self> {
        (!pools.is_empty()).then(|| Self {
            shards: Arc::from(pools),
            breaker: Breaker::new("postgres"),
        })
    }

    /// The same pools, guarded by `breaker` (shared with the platform's pool, since both
    /// reach the same server).
    pub fn guarded_by(mut self, breaker: Breaker) -> Self {
        self.breaker = breaker;
        self
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    pub fn shards(&self) -> &[PgPool] {
        &self.shards
    }

    /// The index of `tenant`'s home pool. Ids are handed out in sequence, so consecutive
    /// schools land on consecutive pools.
    pub fn home_of(&self, tenant: TenantId) -> usize {
        tenant.get().rem_euclid(self.shards.len() as i64) as usize
    }

    /// Closes every pool.
    pub async fn close(&self) {
        for pool in self.shards.iter() {
            pool.close().await;
        }
    }
}

impl SchoolPool for SchoolPools {
    async fn begin_for(
        &self,
        tenant: TenantId,
        statement: String,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let home = self.home_of(tenant);
        let count = self.shards.len();
        // The home pool when it has a connection free; otherwise any pool that has one; and
        // when none has, wait at home. Acquiring (not `try_acquire`) keeps the pool's check of
        // a connection that has sat idle.
        let pick = (0..count)
            .map(|step| (home + step) % count)
            .find(|&i| self.shards[i].num_idle() > 0)
            .unwrap_or(home);
        self.breaker
            .guard(
                self.shards[pick].begin_with(AssertSqlSafe(statement)),
                lost_connection,
                unreachable_error,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgPoolOptions;

    fn lazy_pool() -> PgPool {
        PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("a lazy pool needs no server")
    }

    #[tokio::test]
    async fn consecutive_schools_have_consecutive_home_pools() {
        let pools = SchoolPools::sharded((0..4).map(|_| lazy_pool()).collect()).unwrap();
        assert!(SchoolPools::sharded(Vec::new()).is_none());
        let homes: Vec<usize> = (1..=8).map(|id| pools.home_of(TenantId::new(id))).collect();
        assert_eq!(homes, [1, 2, 3, 0, 1, 2, 3, 0]);
        assert_eq!(
            SchoolPools::single(lazy_pool()).home_of(TenantId::new(7)),
            0
        );
    }
}
