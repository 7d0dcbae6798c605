//! Connections for school transactions: each school uses a small, stable subset of the
//! pools, so that a database backend serves a bounded share of the schools and keeps their
//! catalog entries warm.
//!
//! PostgreSQL caches catalog entries (and plans) per backend. A backend that meets a school's
//! schema for the first time loads its tables' entries, which costs several times the query
//! itself; with thousands of schools and every connection serving every school, most queries
//! are such first meetings, and every backend's cache grows with the whole fleet. Splitting
//! the connections into `n` pools and giving each school `k` of them (rendezvous hashing: a
//! school's pools are the `k` with the highest score for it, so adding a pool moves only the
//! schools that rank it first) gives each backend a fleet about `n / k` times smaller. A
//! school whose pools are all busy waits for its first one rather than take a connection
//! that is cold for it: the wait is shorter than the catalog's first meeting. Only after
//! waiting `patience` does it take whichever connection comes free first, its own or not, so
//! that one busy school cannot queue behind a single connection while the others sit idle.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, PgPool, Postgres, SqlSafeStr, Transaction};

use crate::breaker::{Breaker, Unreachable};
use crate::tenant::TenantId;

/// The pools that school transactions run on, guarded by the PostgreSQL breaker (see
/// `breaker`): while the server is unreachable, beginning a transaction fails at once.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct SchoolPools {
    shards: Arc<[PgPool]>,
    /// How many of the pools one school uses (at least 1, at most all).
    per_school: usize,
    /// How long a school waits at its first pool before it takes any connection.
    patience: Duration,
    breaker: Breaker,
}

/// How long a school waits for one of its own connections by default: about the time a
/// backend spends meeting a school's tables for the first time.
pub const DEFAULT_PATIENCE: Duration = Duration::from_millis(50);

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
            per_school: 1,
            patience: DEFAULT_PATIENCE,
            breaker: Breaker::new("postgres"),
        }
    }

    /// Pools of which each school uses `per_school` (its first choices by rendezvous
    /// hashing). `None` for no pools at all.
    pub fn sharded(pools: Vec<PgPool>, per_school: usize) -> Option<Self> {
        (!pools.is_empty()).then(|| Self {
            per_school: per_school.clamp(1, pools.len()),
            shards: Arc::from(pools),
            patience: DEFAULT_PATIENCE,
            breaker: Breaker::new("postgres"),
        })
    }

    /// The same pools, with a school waiting `patience` at its first pool before it takes
    /// whichever connection comes free first.
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
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

    /// The pools `tenant` uses, best first: the `per_school` pools with the highest
    /// rendezvous score for it.
    pub fn pools_of(&self, tenant: TenantId) -> Vec<usize> {
        let mut ranked: Vec<(u64, usize)> = (0..self.shards.len())
            .map(|pool| (rendezvous_score(tenant, pool), pool))
            .collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked
            .into_iter()
            .take(self.per_school)
            .map(|(_, pool)| pool)
            .collect()
    }

    /// Closes every pool.
    pub async fn close(&self) {
        for pool in self.shards.iter() {
            pool.close().await;
        }
    }
}

impl SchoolPools {
    /// A connection for `tenant`: from the first of its pools that has one free; when none
    /// has, the one its first pool frees within `patience`; after that, whichever any pool
    /// frees first. Acquiring (not `try_acquire`) keeps the pool's check of a connection that
    /// has sat idle, and each pool's own timeout still bounds the wait.
    async fn connection_for(
        &self,
        tenant: TenantId,
    ) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let pools = self.pools_of(tenant);
        if let Some(free) = pools.iter().find(|&&i| self.shards[i].num_idle() > 0) {
            return self.shards[*free].acquire().await;
        }
        let first = &self.shards[pools[0]];
        if self.shards.len() == 1 {
            return first.acquire().await;
        }
        // The wait at its first pool goes on after the patience, keeping its place in that
        // pool's queue (or the connection it is opening); the other pools join the race.
        let mut own = racing(first);
        if let Ok(connection) = tokio::time::timeout(self.patience, &mut own).await {
            return connection;
        }
        let others = (0..self.shards.len())
            .filter(|&i| i != pools[0])
            .map(|i| racing(&self.shards[i]));
        futures_util::future::select_all(std::iter::once(own).chain(others))
            .await
            .0
    }
}

/// An acquire for the race. A pool with room may open a connection for it: that acquire
/// runs on a task of its own, so that if it loses it still finishes the connection and gives
/// it to its pool. Dropped in the middle instead, it aborted a connection half made — under
/// load a database backend forked and killed for every request that waited out its
/// patience, and pools that never filled (docs/BENCHMARKS.md, "Conversations"). A full pool
/// only queues the acquire; that one is dropped when it loses, so that it leaves the queue
/// rather than take a connection from the requests behind it.
fn racing(
    pool: &PgPool,
) -> futures_util::future::BoxFuture<'static, Result<PoolConnection<Postgres>, sqlx::Error>> {
    let pool = pool.clone();
    if pool.size() < pool.options().get_max_connections() {
        tokio::spawn(async move { pool.acquire().await })
            .map(|joined| joined.unwrap_or(Err(sqlx::Error::WorkerCrashed)))
            .boxed()
    } else {
        async move { pool.acquire().await }.boxed()
    }
}

impl SchoolPool for SchoolPools {
    async fn begin_for(
        &self,
        tenant: TenantId,
        statement: String,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let begin = async {
            let connection = self.connection_for(tenant).await?;
            Transaction::begin(connection, Some(AssertSqlSafe(statement).into_sql_str())).await
        };
        self.breaker
            .guard(begin, lost_connection, unreachable_error)
            .await
    }
}

/// A school's score for a pool: the same on every process and run (a fixed mix of the two
/// numbers, splitmix64's finaliser), spread evenly over the pools.
fn rendezvous_score(tenant: TenantId, pool: usize) -> u64 {
    let mut x = (tenant.get() as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(pool as u64 + 1);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
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
    async fn each_school_has_its_own_stable_pools_spread_evenly_and_a_new_pool_moves_few() {
        let pools = |n: usize, per_school: usize| {
            SchoolPools::sharded((0..n).map(|_| lazy_pool()).collect(), per_school).unwrap()
        };
        assert!(SchoolPools::sharded(Vec::new(), 2).is_none());
        assert_eq!(
            SchoolPools::single(lazy_pool()).pools_of(TenantId::new(7)),
            [0]
        );
        let ten = pools(10, 2);
        let school = TenantId::new(4711);
        let chosen = ten.pools_of(school);
        assert_eq!(chosen.len(), 2);
        assert_ne!(chosen[0], chosen[1]);
        assert_eq!(
            pools(10, 2).pools_of(school),
            chosen,
            "the same in every process"
        );
        assert_eq!(
            pools(3, 9).pools_of(school).len(),
            3,
            "never more than there are"
        );

        // 10,000 schools over 10 pools: each pool is first for about a tenth of them.
        let mut first = [0usize; 10];
        for id in 1..=10_000 {
            first[ten.pools_of(TenantId::new(id))[0]] += 1;
        }
        assert!(
            first.iter().all(|&n| (850..=1150).contains(&n)),
            "{first:?}"
        );

        // An eleventh pool: only the schools that now rank it first move, about one in eleven.
        let eleven = pools(11, 2);
        let moved = (1..=10_000)
            .filter(|&id| {
                let id = TenantId::new(id);
                eleven.pools_of(id)[0] != ten.pools_of(id)[0]
            })
            .count();
        assert!((700..=1100).contains(&moved), "{moved} schools moved");
        assert!((1..=10_000).all(|id| {
            let id = TenantId::new(id);
            let now = eleven.pools_of(id)[0];
            now == 10 || now == ten.pools_of(id)[0]
        }));
    }
}
