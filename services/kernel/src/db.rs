//! Connection pools for PostgreSQL and Redis, configured so school data stays apart.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};
use tenant_router::PlatformPool;

use crate::config::{DatabaseConfig, RedisConfig};

/// Connection options: every connection starts with a search path that holds no tables,
/// so only a `TenantTx` (or schema-qualified platform SQL) reaches any data.
///
/// Prepared statements always use their generic plan. PostgreSQL otherwise plans a statement
/// afresh on every execution whenever it judges the generic plan costlier than the custom
/// ones, which it did for the timeline: planning took as long as running it (0.4 vs 0.6 ms).
/// Measured side by side: the timeline ×1.41 pages/s, the group page unchanged
/// (docs/BENCHMARKS.md).
pub fn connect_options(config: &DatabaseConfig) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(config.url.expose())?
        .application_name("schoolplein")
        .options([
            ("search_path", "pg_catalog"),
            ("plan_cache_mode", "force_generic_plan"),
            // Our statements are short. PostgreSQL's JIT compiles a query whose estimated cost
            // passes a threshold, and a digest's unread counts (a correlated count per person)
            // passed it: 300 ms of compiling for 50 ms of work, per school (docs/BENCHMARKS.md).
            ("jit", "off"),
        ]))
}

/// A connection idle for less than this is handed out without a liveness check.
const CHECK_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// A pool with bounded size and connection lifetime. Connects lazily, so a process can start
/// (and report itself not ready) while the database is away.
pub fn postgres_pool(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        // sqlx checks every connection on release; checking it again on every acquire costs
        // a round trip per request. A connection that has sat idle is still checked, since
        // the server may have closed it meanwhile.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(Duration::from_secs(config.acquire_timeout_secs))
        .max_lifetime(Duration::from_secs(config.max_lifetime_secs))
        .idle_timeout(Duration::from_secs(600))
        .connect_lazy_with(connect_options(config)?))
}

/// The pools school transactions run on: the platform's pool itself, or `school_pools`
/// pools (0: one per connection) sharing `max_connections` between them, `pools_per_school`
/// of them for each school.
pub fn school_pools(
    config: &DatabaseConfig,
    platform: &PgPool,
) -> Result<tenant_router::SchoolPools, sqlx::Error> {
    let count = match config.school_pools {
        0 => config.max_connections,
        count => count,
    };
    if count <= 1 {
        return Ok(tenant_router::SchoolPools::single(platform.clone()));
    }
    let mut shard = config.clone();
    shard.max_connections = config.max_connections.div_ceil(count).max(1);
    shard.min_connections = 0;
    let pools = (0..count)
        .map(|_| postgres_pool(&shard))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(
        tenant_router::SchoolPools::sharded(pools, config.pools_per_school as usize)
            .map(|pools| pools.with_patience(Duration::from_millis(config.pool_patience_ms)))
            .unwrap_or_else(|| tenant_router::SchoolPools::single(platform.clone())),
    )
}

/// A Redis connection manager, which reconnects by itself. A failed reconnection is not
/// retried in place (commands would wait for the retries): Redis's breaker and its probe
/// take over (see [`watch_servers`]).
pub async fn redis_connection(
    config: &RedisConfig,
) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(config.url.expose())?;
    let manager_config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(0);
    redis::aio::ConnectionManager::new_with_config(client, manager_config).await
}

/// The channel the reachability watcher listens on; nothing is ever announced there.
const WATCH_CHANNEL: &str = "schoolplein_reachability";

/// Keeps the breakers of PostgreSQL and Redis up to date:
///
/// - a connection that listens, so PostgreSQL going away (a shutdown, a crash) is noticed the
///   moment its connections close, not by a request waiting out the pool's timeout; a lost
///   listener trips the breaker only if a fresh connection fails too (an operator ending that
///   one connection is no outage);
/// - a probe per server that, while it is down, knocks four times a second and lets requests
///   through again once it answers.
pub fn watch_servers(
    database: &DatabaseConfig,
    db: &PlatformPool,
    redis: &crate::kv::Redis,
) -> Result<(), sqlx::Error> {
    // A fresh connection of its own, not the pool's: the pool retries a refused connection
    // until its acquire timeout, and would hand out one of its own idle ones.
    let options = connect_options(database)?;
    let probe_postgres = move || {
        let options = options.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(|e| e.to_string())?;
            let answered = sqlx::query("SELECT 1")
                .execute(&mut conn)
                .await
                .map(drop)
                .map_err(|e| e.to_string());
            let _ = conn.close().await;
            answered
        }
    };
    db.breaker().spawn_probe(probe_postgres.clone());
    let breaker = db.breaker().clone();
    crate::school_cache::listen(database, &[WATCH_CHANNEL], move |change| {
        if change == crate::school_cache::Change::Lost {
            let breaker = breaker.clone();
            let probe = probe_postgres.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(tenant_router::breaker::PROBE_TIMEOUT, probe()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => breaker.trip(&error),
                    Err(_) => breaker.trip(&"no answer in time"),
                }
            });
        }
    })?;
    let manager = redis.unguarded();
    redis.breaker().spawn_probe(move || {
        let mut manager = manager.clone();
        async move {
            redis::cmd("PING")
                .query_async::<String>(&mut manager)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    });
    Ok(())
}

/// The Redis key of a piece of school data: always prefixed with the school's id, so two
/// schools can never share a key.
pub fn tenant_key(tenant: tenant_router::TenantId, parts: &[&str]) -> String {
    let mut key = format!("t:{tenant}");
    for part in parts {
        key.push(':');
        key.push_str(part);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_carry_the_school() {
        let key = tenant_key(tenant_router::TenantId::new(7), &["session", "abc"]);
        assert_eq!(key, "t:7:session:abc");
    }
}
