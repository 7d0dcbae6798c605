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

use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use crate::tenant::TenantId;

/// The pools that school transactions run on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SchoolPools {
    shards: Arc<[PgPool]>,
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
        }
    }

    /// Home pools; a school's is picked by its id. `None` for no pools at all.
    pub fn sharded(pools: Vec<PgPool>) -> Option<Self> {
        (!pools.is_empty()).then(|| Self {
            shards: Arc::from(pools),
        })
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
        self.shards[pick].begin_with(AssertSqlSafe(statement)).await
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
