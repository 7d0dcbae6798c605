//! The `schoolplein` binary as an operator runs it: clear errors with exit code 2, a school
//! created by one process served by another within a second, and a migration killed midway
//! finished by a rerun.

use std::process::Output;
use std::time::Duration;

use schoolplein_tests::http::get;
use schoolplein_tests::{BASE_DOMAIN, TestDb, eventually, schoolplein_command};
use sqlx::AssertSqlSafe;

async fn run(db: &TestDb, args: &[&str]) -> Output {
    schoolplein_command(db)
        .args(args)
        .output()
        .await
        .expect("schoolplein runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn bad_arguments_get_a_clear_message_and_exit_code_2() {
    let db = TestDb::fresh().await;
    let taken = db.create_school(None, "Bestaande School", "").await;
    let taken = taken.slug.as_str();
    let under_base = format!("x.{BASE_DOMAIN}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["tenant", "create", "De_Klimop", "--name", "De Klimop"],
            "lower-case letters",
        ),
        (
            vec!["tenant", "create", "www", "--name", "Reserved"],
            "reserved",
        ),
        (vec!["tenant", "create", "klimop"], "--name"),
        (
            vec!["tenant", "create", "klimop", "--name", "x"],
            "2 to 120 characters",
        ),
        (
            vec!["tenant", "create", taken, "--name", "Nog Een"],
            "already exists",
        ),
        (
            vec!["tenant", "suspend", "bestaat-niet"],
            "no school has slug",
        ),
        (
            vec!["tenant", "domain", "add", taken, "bad host"],
            "valid domain",
        ),
        (
            vec!["tenant", "domain", "add", taken, &under_base],
            "base domain",
        ),
        (vec!["migrate", "--concurrency", "0"], "concurrency"),
        (vec!["tenant", "frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let output = run(&db, &args).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }

    let output = schoolplein_command(&db)
        .env("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS", "veel")
        .args(["tenant", "list"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn operator_creates_lists_suspends_and_resumes_a_school() {
    let db = TestDb::fresh().await;
    let output = run(
        &db,
        &[
            "tenant",
            "create",
            "de-klimop",
            "--name",
            "OBS De Klimop",
            "--welcome",
            "Welkom!",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("created school de-klimop"));

    let list = stdout(&run(&db, &["tenant", "list"]).await);
    let line = list
        .lines()
        .find(|l| l.contains("de-klimop"))
        .expect("listed");
    assert!(
        line.contains("active") && line.contains("OBS De Klimop"),
        "{line}"
    );
    let latest = tenant_router::TenantMigrations::embedded()
        .latest_version()
        .unwrap()
        .to_string();
    assert!(line.split_whitespace().any(|w| w == latest), "{line}");

    assert!(
        run(&db, &["tenant", "suspend", "de-klimop"])
            .await
            .status
            .success()
    );
    assert!(stdout(&run(&db, &["tenant", "list"]).await).contains("suspended"));
    assert!(
        run(&db, &["tenant", "resume", "de-klimop"])
            .await
            .status
            .success()
    );
    let output = run(
        &db,
        &[
            "tenant",
            "domain",
            "add",
            "de-klimop",
            "Ouders.DeKlimop.NL.",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let list = stdout(&run(&db, &["tenant", "list"]).await);
    assert!(
        list.contains("active") && list.contains("[ouders.deklimop.nl]"),
        "{list}"
    );
}

#[tokio::test]
async fn a_school_created_by_one_process_is_served_by_another_within_a_second() {
    let db = TestDb::fresh().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    // With the periodic reload an hour away, only the change notification can be this quick.
    let mut server = schoolplein_command(&db)
        .env("SCHOOLPLEIN__TENANCY__FULL_RELOAD_SECS", "3600")
        .args(["serve", "--listen", &addr.to_string()])
        .spawn()
        .expect("serve starts");
    let ready = eventually(Duration::from_secs(20), || async {
        get(addr, "localhost", "/readyz", &[])
            .await
            .is_ok_and(|r| r.status == 200)
    })
    .await;
    assert!(ready.is_some(), "the server never became ready");

    let host = format!("nieuwe-school.{BASE_DOMAIN}");
    assert_eq!(get(addr, &host, "/", &[]).await.unwrap().status, 404);
    let output = run(
        &db,
        &[
            "tenant",
            "create",
            "nieuwe-school",
            "--name",
            "De Nieuwe School",
        ],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let served = eventually(Duration::from_secs(1), || async {
        get(addr, &host, "/", &[])
            .await
            .is_ok_and(|r| r.status == 200 && r.text().contains("De Nieuwe School"))
    })
    .await;
    assert!(
        served.is_some(),
        "the new school was not served within a second"
    );

    assert!(
        run(&db, &["tenant", "suspend", "nieuwe-school"])
            .await
            .status
            .success()
    );
    let suspended = eventually(Duration::from_secs(1), || async {
        get(addr, &host, "/", &[])
            .await
            .is_ok_and(|r| r.status == 403)
    })
    .await;
    assert!(
        suspended.is_some(),
        "the suspension did not reach the server within a second"
    );
    server.kill().await.unwrap();
}

/// Schools as an older build left them: a row and an empty schema, no school migrations.
async fn create_unmigrated_schools(db: &TestDb, count: usize) {
    for i in 0..count {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO platform.tenants (slug, display_name) VALUES ($1, $2) RETURNING id",
        )
        .bind(format!("oud-{i}"))
        .bind(format!("Oude School {i}"))
        .fetch_one(&db.pool)
        .await
        .unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA t_{id}")))
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

async fn migrated_schools(db: &TestDb) -> i64 {
    let latest = tenant_router::TenantMigrations::embedded()
        .latest_version()
        .unwrap();
    sqlx::query_scalar("SELECT count(*) FROM platform.tenant_migrations WHERE version = $1")
        .bind(latest)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_migration_killed_midway_is_finished_by_a_rerun() {
    const SCHOOLS: usize = 60;
    let db = TestDb::fresh().await;
    create_unmigrated_schools(&db, SCHOOLS).await;

    let dry_run = stdout(&run(&db, &["migrate", "--dry-run"]).await);
    assert!(
        dry_run.contains(&format!("{SCHOOLS} schools pending")),
        "{dry_run}"
    );

    let mut migrate = schoolplein_command(&db)
        .args(["migrate", "--concurrency", "1", "--pause-ms", "50"])
        .spawn()
        .expect("migrate starts");
    let midway = eventually(Duration::from_secs(30), || async {
        migrated_schools(&db).await >= 10
    })
    .await;
    assert!(midway.is_some(), "the migration never got going");
    migrate.kill().await.unwrap();
    let done_at_kill = migrated_schools(&db).await;
    assert!(
        (10..SCHOOLS as i64).contains(&done_at_kill),
        "killed after {done_at_kill} schools"
    );

    let dry_run = stdout(&run(&db, &["migrate", "--dry-run"]).await);
    let left = SCHOOLS as i64 - done_at_kill;
    assert!(
        dry_run.contains(&format!("{left} schools pending")),
        "{dry_run}"
    );

    let rerun = run(&db, &["migrate"]).await;
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(migrated_schools(&db).await, SCHOOLS as i64);
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables
          WHERE table_name = 'school_profile' AND table_schema LIKE 't\\_%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        tables, SCHOOLS as i64,
        "every school has exactly one profile table"
    );
    let dry_run = stdout(&run(&db, &["migrate", "--dry-run"]).await);
    assert!(dry_run.contains("0 schools pending"), "{dry_run}");
}
