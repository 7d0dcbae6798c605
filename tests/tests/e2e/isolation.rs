//! Schools stay apart under pressure: 50 schools, a pool of two connections, 10,000 requests
//! with injected errors, cancelled requests and rolled-back savepoints — and no answer ever
//! holds another school's row. A query outside a `TenantTx` fails instead of reading a school.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use futures_util::StreamExt;
use rand::Rng;
use schoolplein_kernel::{AppError, AppState};
use schoolplein_tests::http::send_raw;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host};
use serde::Deserialize;
use tenant_router::{CurrentTenant, TenantTx};
use tokio::io::AsyncWriteExt;

const SCHOOLS: usize = 50;
const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 32;
const ROWS_PER_SCHOOL: usize = 3;

#[derive(Debug, Deserialize)]
struct ProbeParams {
    #[serde(default)]
    mode: String,
    cancel_after_ms: Option<u64>,
}

/// A school route that reads the school's canary rows inside a `TenantTx`, after doing
/// something that might confuse a careless implementation.
async fn probe(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Query(params): Query<ProbeParams>,
) -> Result<String, AppError> {
    let work = async {
        let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
        match params.mode.as_str() {
            "savepoint" => {
                let mut savepoint = tx.savepoint().await?;
                sqlx::query("INSERT INTO canary (token) VALUES ('INTRUDER')")
                    .execute(&mut *savepoint)
                    .await?;
                savepoint.rollback().await?;
            }
            "error" => {
                sqlx::query("SELECT 1 / 0").execute(&mut *tx).await?;
            }
            "error_in_savepoint" => {
                let mut savepoint = tx.savepoint().await?;
                let failed = sqlx::query("SELECT 1 / 0").execute(&mut *savepoint).await;
                assert!(failed.is_err());
                savepoint.rollback().await?;
            }
            "sleep" => {
                sqlx::query("SELECT pg_sleep(0.02)")
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
        let name: String = sqlx::query_scalar("SELECT name FROM school_profile")
            .fetch_one(&mut *tx)
            .await?;
        let rows: Vec<String> = sqlx::query_scalar("SELECT token FROM canary ORDER BY token")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, AppError>(format!("{name}\n{}", rows.join("\n")))
    };
    match params.cancel_after_ms {
        // Dropping the future mid-way is what a client hanging up does to a handler.
        Some(ms) => tokio::time::timeout(Duration::from_millis(ms), work)
            .await
            .map_err(|_| AppError::Internal("probe cancelled".into()))?,
        None => work.await,
    }
}

fn probe_routes() -> Router<AppState> {
    Router::new().route("/_probe", get(probe))
}

/// Every canary token looks like `CANARY<school>X<row>`; finds them all in a text.
fn tokens_in(text: &str) -> Vec<&str> {
    text.match_indices("CANARY")
        .map(|(start, _)| {
            let rest = &text[start..];
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    ok: AtomicUsize,
    errors: AtomicUsize,
    cancelled: AtomicUsize,
    dropped: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_ever_holds_another_schools_rows() {
    drive_fifty_schools(None).await;
}

/// Two pools of one connection each, both used by every school (its first choice when free,
/// else the other): connections change schools all the time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_ever_holds_another_schools_rows_with_home_pools() {
    drive_fifty_schools(Some(|config| {
        config.database.school_pools = 2;
        config.database.pools_per_school = 2;
    }))
    .await;
}

async fn drive_fifty_schools(configure: Option<fn(&mut schoolplein_kernel::Config)>) {
    let db = TestDb::fresh().await;
    let mut schools = Vec::new();
    for i in 0..SCHOOLS {
        let prefix = format!("CANARY{i:02}");
        let school = db
            .create_school(
                None,
                &format!("{prefix}X0 school"),
                &format!("{prefix}Xwelcome"),
            )
            .await;
        let mut tx = TenantTx::begin(&db.pool, school.id).await.unwrap();
        sqlx::query("CREATE TABLE canary (token text NOT NULL)")
            .execute(&mut *tx)
            .await
            .unwrap();
        for row in 1..=ROWS_PER_SCHOOL {
            sqlx::query("INSERT INTO canary (token) VALUES ($1)")
                .bind(format!("{prefix}X{row}"))
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        schools.push((school, prefix));
    }
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db.clone()),
        max_connections: Some(2),
        request_timeout_secs: Some(120),
        school_routes: Some(probe_routes()),
        configure,
        ..Default::default()
    })
    .await;
    assert_eq!(app.state.db.pool().options().get_max_connections(), 2);
    let school_connections: u32 = app
        .state
        .schools
        .shards()
        .iter()
        .map(|pool| pool.options().get_max_connections())
        .sum();
    assert_eq!(school_connections, 2);

    let tally = Arc::new(Tally::default());
    let schools = Arc::new(schools);
    let addr = app.addr;
    futures_util::stream::iter(0..REQUESTS)
        .map(|_| {
            let (tally, schools) = (tally.clone(), schools.clone());
            async move {
                let (school_index, roll, cancel_ms, drop_ms) = {
                    let mut rng = rand::rng();
                    (
                        rng.random_range(0..SCHOOLS),
                        rng.random_range(0..100u32),
                        rng.random_range(0..6u64),
                        rng.random_range(0..4u64),
                    )
                };
                let (school, prefix) = &schools[school_index];
                let host = school_host(&school.slug);
                let path = match roll {
                    0..50 => "/".to_owned(),
                    50..65 => "/_probe".to_owned(),
                    65..75 => "/_probe?mode=savepoint".to_owned(),
                    75..85 => "/_probe?mode=error".to_owned(),
                    85..90 => "/_probe?mode=error_in_savepoint".to_owned(),
                    90..95 => format!("/_probe?mode=sleep&cancel_after_ms={cancel_ms}"),
                    _ => {
                        // The client hangs up mid-request.
                        let request =
                            format!("GET /_probe?mode=sleep HTTP/1.1\r\nHost: {host}\r\n\r\n");
                        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                        stream.write_all(request.as_bytes()).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(drop_ms)).await;
                        drop(stream);
                        tally.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                let request =
                    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
                let response = send_raw(addr, request.as_bytes())
                    .await
                    .expect("a response");
                let body = response.text();
                for token in tokens_in(&body) {
                    assert!(
                        token.starts_with(prefix.as_str())
                            && token[prefix.len()..].starts_with('X'),
                        "school {prefix} was answered with {token} ({path})"
                    );
                }
                assert!(!body.contains("INTRUDER"), "a rolled-back row was seen");
                match response.status {
                    200 => {
                        assert!(
                            body.contains(&format!("{prefix}X0 school")),
                            "{path}: {body}"
                        );
                        if path.starts_with("/_probe") {
                            assert_eq!(
                                tokens_in(&body).len(),
                                1 + ROWS_PER_SCHOOL,
                                "{path}: {body}"
                            );
                        }
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    500 if path.contains("cancel_after_ms") => {
                        tally.cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    500 if path.contains("mode=error") => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    status => panic!("{path} answered {status}: {body}"),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<()>()
        .await;

    let (ok, errors, cancelled, dropped) = (
        tally.ok.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed),
        tally.cancelled.load(Ordering::Relaxed),
        tally.dropped.load(Ordering::Relaxed),
    );
    assert_eq!(ok + errors + cancelled + dropped, REQUESTS);
    assert!(
        errors > 500 && cancelled > 50 && dropped > 200,
        "ok {ok}, errors {errors}, cancelled {cancelled}, dropped {dropped}"
    );

    // Nothing was half-written: every school still holds exactly its own rows.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (school, prefix) in schools.iter() {
        let mut tx = TenantTx::begin(&db.pool, school.id).await.unwrap();
        let rows: Vec<String> = sqlx::query_scalar("SELECT token FROM canary")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            rows.iter().all(|r| r.starts_with(prefix.as_str())),
            "{rows:?}"
        );
        counts.insert(prefix.clone(), rows.len());
    }
    assert!(counts.values().all(|&n| n == ROWS_PER_SCHOOL), "{counts:?}");

    // The app's pooled connections carry no school's search path afterwards.
    for pool in std::iter::once(app.state.db.pool()).chain(app.state.schools.shards()) {
        for _ in 0..2 {
            let leaked = sqlx::query("SELECT token FROM canary")
                .fetch_all(pool)
                .await;
            assert!(
                leaked.is_err(),
                "a pooled connection still pointed at a school"
            );
            let path: String = sqlx::query_scalar("SHOW search_path")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(path, "pg_catalog");
        }
    }
}

#[tokio::test]
async fn a_query_outside_a_tenant_tx_fails_instead_of_reading_a_school() {
    let db = TestDb::fresh().await;
    let school = db.create_school(None, "Afgeschermde School", "").await;
    let config = schoolplein_tests::test_config(&db.name);
    let mut one = config.database.clone();
    one.max_connections = 1;
    let pool = schoolplein_kernel::db::postgres_pool(&one).unwrap();

    let error = sqlx::query("SELECT name FROM school_profile")
        .fetch_one(&pool)
        .await
        .unwrap_err();
    let code = error
        .as_database_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    assert_eq!(code, "42P01", "{error}");

    // The only connection has just served this school; the schema does not stick to it,
    // whether the transaction committed, rolled back, or was dropped — and for a read-only
    // transaction, whose commit does not wait for the server.
    for end in ["commit", "rollback", "drop", "read-only commit"] {
        let mut tx = if end == "read-only commit" {
            TenantTx::begin_read_only(&pool, school.id).await.unwrap()
        } else {
            TenantTx::begin(&pool, school.id).await.unwrap()
        };
        let name: String = sqlx::query_scalar("SELECT name FROM school_profile")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(name, "Afgeschermde School");
        match end {
            "commit" | "read-only commit" => tx.commit().await.unwrap(),
            "rollback" => tx.rollback().await.unwrap(),
            _ => drop(tx),
        }
        let after = sqlx::query("SELECT name FROM school_profile")
            .fetch_one(&pool)
            .await;
        assert!(
            after.is_err(),
            "after {end} the connection still read the school"
        );
    }

    // A read-only transaction refuses writes, and what it tried is not there afterwards.
    let mut tx = TenantTx::begin_read_only(&pool, school.id).await.unwrap();
    let refused = sqlx::query("UPDATE school_profile SET name = 'Overschreven'")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("25006"),
        "{refused}"
    );
    drop(tx);
    let mut tx = TenantTx::begin(&pool, school.id).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT name FROM school_profile")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(name, "Afgeschermde School");

    // The role's default search path (set by the platform migration) holds no tables either.
    let default_path: String = sqlx::query_scalar(
        "SELECT coalesce((SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s
                           JOIN pg_database d ON d.oid = s.setdatabase
                          WHERE d.datname = current_database()
                            AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)), '')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(default_path, "search_path=pg_catalog");
}

/// A request abandoned while its `BEGIN` is on the way (a client hanging up, a timeout) must
/// not hand the next borrower a connection still inside that transaction, with the school's
/// search path and read-only mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_abandoned_while_it_begins_leaves_no_transaction_on_the_connection() {
    let db = TestDb::fresh().await;
    let school = db.create_school(None, "Verlaten School", "").await;
    let config = schoolplein_tests::test_config(&db.name);
    let mut one = config.database.clone();
    one.max_connections = 1;
    let pool = schoolplein_kernel::db::postgres_pool(&one).unwrap();
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    // Each request is abandoned a little later than the one before, so that some are
    // abandoned while their BEGIN is on the wire (before the fix, several of these left the
    // transaction open on the only connection).
    for attempt in 0..150u64 {
        let (pool_for_task, read_only) = (pool.clone(), attempt % 2 == 0);
        let request = tokio::spawn(async move {
            let tx = if read_only {
                TenantTx::begin_read_only(&pool_for_task, school.id).await
            } else {
                TenantTx::begin(&pool_for_task, school.id).await
            };
            // Holds the transaction as a handler would, until it is abandoned.
            let _tx = tx;
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let until = std::time::Instant::now() + Duration::from_micros(attempt * 4);
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        request.abort();
        let _ = request.await;
        // Outside any transaction each statement is a transaction of its own, and no school
        // is in reach.
        let mut ids = Vec::new();
        for _ in 0..2 {
            let id: i64 = sqlx::query_scalar("SELECT txid_current()")
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("attempt {attempt}: {e}"));
            ids.push(id);
        }
        assert_ne!(
            ids[0], ids[1],
            "attempt {attempt}: the next borrower ran inside the abandoned transaction"
        );
        let path: String = sqlx::query_scalar("SELECT current_setting('search_path')")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(path, "pg_catalog", "attempt {attempt}");
    }
}
