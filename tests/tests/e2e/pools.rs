//! The school pools against a real PostgreSQL: a school whose own connections are busy waits
//! for them a while, then takes whichever connection comes free, so nobody waits out the
//! pool's timeout while others sit idle.

use std::sync::Arc;
use std::time::Duration;

use schoolplein_kernel::db;
use schoolplein_tests::{TestDb, test_config};
use sqlx::{Postgres, Transaction};
use tenant_router::{SchoolPool, SchoolPools, TenantId};
use tokio::sync::Barrier;

/// `connections` pools of one connection each, one of them a school's own, waiting for a
/// connection at most three seconds.
fn one_connection_pools(db: &TestDb, connections: u32, patience_ms: u64) -> SchoolPools {
    let mut config = test_config(&db.name);
    config.database.max_connections = connections;
    config.database.school_pools = 0;
    config.database.pools_per_school = 1;
    config.database.pool_patience_ms = patience_ms;
    config.database.acquire_timeout_secs = 3;
    db::school_pools(&config.database, &db.pool).expect("pools")
}

async fn begin(pools: &SchoolPools, school: TenantId) -> Transaction<'static, Postgres> {
    tokio::time::timeout(
        Duration::from_secs(10),
        pools.begin_for(school, "BEGIN".to_owned()),
    )
    .await
    .expect("a transaction begins before the test gives up")
    .expect("a transaction begins")
}

async fn backend(tx: &mut Transaction<'static, Postgres>) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut **tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_school_waits_for_its_own_connection_then_takes_a_free_one_after_its_patience() {
    let db = TestDb::fresh().await;
    let school = TenantId::new(4711);

    // Patient: the school's own connection comes back before its patience ends, so it gets
    // that one again rather than one of the three that sit idle but have not met it.
    let patient = one_connection_pools(&db, 4, 2_000);
    for pool in patient.shards() {
        // Every pool's connection exists and sits idle.
        pool.acquire().await.unwrap();
    }
    let mut first = begin(&patient, school).await;
    let own = backend(&mut first).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        first.commit().await.unwrap();
    });
    let mut second = begin(&patient, school).await;
    assert_eq!(backend(&mut second).await, own, "it waited for its own");
    release.await.unwrap();
    second.commit().await.unwrap();
    patient.close().await;

    // Impatient: with its own connection held, it takes another well within the pool's
    // three seconds.
    let impatient = one_connection_pools(&db, 4, 20);
    let mut held = begin(&impatient, school).await;
    let own = backend(&mut held).await;
    let mut other = begin(&impatient, school).await;
    assert_ne!(backend(&mut other).await, own, "it took another connection");
    other.commit().await.unwrap();
    held.commit().await.unwrap();
    impatient.close().await;
}

/// Forty slow transactions of one school released at once, over four one-connection pools of
/// which one is its own: one connection alone would need four seconds, past the pools' three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_at_one_school_spreads_over_every_connection_and_none_times_out() {
    let db = TestDb::fresh().await;
    let pools = one_connection_pools(&db, 4, 50);
    let school = TenantId::new(4711);
    let barrier = Arc::new(Barrier::new(40));
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (pools, barrier) = (pools.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut tx = pools.begin_for(school, "BEGIN".to_owned()).await?;
                let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid() FROM pg_sleep(0.1)")
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(backend)
            })
        })
        .collect();
    let mut backends = std::collections::BTreeSet::new();
    for task in tasks {
        backends.insert(task.await.unwrap().expect("no transaction times out"));
    }
    assert_eq!(backends.len(), 4, "every connection served the school");
    pools.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_opened_for_a_race_it_lost_is_finished_and_kept_not_abandoned() {
    let db = TestDb::fresh().await;
    let school = TenantId::new(4711);
    // Four cold pools, a patience so short that the race for a connection starts at once.
    let pools = one_connection_pools(&db, 4, 1);
    let own = pools.pools_of(school)[0];
    // The school's own connection stays busy: every begin races the other three pools.
    let mut busy = begin(&pools, school).await;
    backend(&mut busy).await;
    for _ in 0..5 {
        let mut tx = begin(&pools, school).await;
        backend(&mut tx).await;
        tx.commit().await.unwrap();
    }
    // The connections the losers were opening are made and kept by their pools: dropped
    // half-way (as before), the cold pools stayed empty and every request forked and killed
    // a backend.
    let warmed = schoolplein_tests::eventually(Duration::from_secs(5), || async {
        pools
            .shards()
            .iter()
            .enumerate()
            .all(|(i, pool)| i == own || pool.size() == 1)
    })
    .await;
    let sizes: Vec<u32> = pools.shards().iter().map(|p| p.size()).collect();
    assert!(warmed.is_some(), "pool sizes {sizes:?}");
    busy.commit().await.unwrap();
}
