//! The test harness: real PostgreSQL and Redis (started once per run by `scripts/test`), a
//! running app on port 0 per test, fresh schools, the `schoolplein` binary, an SMTP server
//! in the test process, and headless Chromium.

pub mod archive;
pub mod bench;
pub mod browser;
pub mod certificates;
pub mod client;
pub mod edex;
pub mod http;
pub mod inbound;
pub mod mailbox;
pub mod school;
pub mod servers;
pub mod smtp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use schoolplein_kernel::{AppState, Config};
use schoolplein_server::app;
use sqlx::{AssertSqlSafe, PgPool};
use tenant_router::directory::RefreshTasks;
use tenant_router::provision::{self, NewSchool};
use tenant_router::{SchoolName, TenantEntry, TenantMigrations, TenantSlug, fleet};
use tokio::sync::OnceCell;

pub use http::RawResponse;

/// The base domain of `config/test.toml`; `localhost` is an alias (for the browser).
pub const BASE_DOMAIN: &str = "schoolplein.test";

fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with scripts/test, which starts PostgreSQL and Redis"
        )
    })
}

/// The URL of a database in the test cluster.
pub fn database_url(name: &str) -> String {
    let admin = env_var("SCHOOLPLEIN_TEST_DATABASE_URL");
    let (server, _) = admin
        .rsplit_once('/')
        .expect("the test database URL ends in /<database>");
    format!("{server}/{name}")
}

/// The workspace root, where `config/` lives.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `schoolplein` binary that `scripts/test` built.
pub fn schoolplein_bin() -> PathBuf {
    let path = std::env::var("SCHOOLPLEIN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target/debug/schoolplein"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` (scripts/test does)",
        path.display()
    );
    path
}

/// The test configuration for a database, as `config/test.toml` plus the test servers.
pub fn test_config(database: &str) -> Config {
    config_for(
        &database_url(database),
        &env_var("SCHOOLPLEIN_TEST_REDIS_URL"),
        database,
    )
}

/// `config/test.toml` with these servers. Redis keys are prefixed with the database's name:
/// every test database's accounts count from 1, and their sessions and limits must not meet
/// in a Redis the tests share.
pub fn config_for(database_url: &str, redis_url: &str, database: &str) -> Config {
    let vars = [
        (
            "SCHOOLPLEIN__DATABASE__URL".to_owned(),
            database_url.to_owned(),
        ),
        ("SCHOOLPLEIN__REDIS__URL".to_owned(), redis_url.to_owned()),
        (
            "SCHOOLPLEIN__REDIS__KEY_PREFIX".to_owned(),
            format!("{database}:"),
        ),
    ];
    Config::load_from(&workspace_root().join("config"), "test", vars)
        .expect("config/test.toml loads")
}

/// A database with the platform schema migrated.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub name: String,
    pub pool: PgPool,
    /// The database's URL.
    pub url: String,
}

static SHARED: OnceCell<TestDb> = OnceCell::const_new();

impl TestDb {
    /// The database most tests share; each test makes its own schools in it.
    pub async fn shared() -> TestDb {
        SHARED
            .get_or_init(|| Self::open("schoolplein_shared"))
            .await
            .clone()
    }

    /// A database of its own, for tests that look at the whole fleet.
    pub async fn fresh() -> TestDb {
        Self::open(&format!("schoolplein_{}", uuid::Uuid::new_v4().simple())).await
    }

    async fn open(name: &str) -> TestDb {
        Self::open_on(&env_var("SCHOOLPLEIN_TEST_DATABASE_URL"), name).await
    }

    /// A database on another server than the shared one (`admin_url` names its `postgres`
    /// database), for tests that stop and start their own servers.
    pub async fn open_on(admin_url: &str, name: &str) -> TestDb {
        let admin = PgPool::connect(admin_url).await.expect("test cluster");
        // Several test processes may create the shared database at once; one wins.
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&admin)
                .await
                .expect("pg_database");
        let created = if exists {
            Ok(())
        } else {
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&admin)
                .await
                .map(drop)
        };
        if let Err(error) = created {
            let code = error
                .as_database_error()
                .and_then(|e| e.code())
                .unwrap_or_default();
            assert!(
                matches!(&*code, "42P04" | "23505"),
                "creating {name}: {error}"
            );
        }
        admin.close().await;
        let (server, _) = admin_url
            .rsplit_once('/')
            .expect("the admin URL ends in /<database>");
        let url = format!("{server}/{name}");
        // Only its database settings are used here.
        let config = config_for(&url, "redis://127.0.0.1:6379", name);
        let pool = schoolplein_kernel::db::postgres_pool(&config.database).expect("pool options");
        fleet::migrate_platform(&pool)
            .await
            .expect("platform migrations");
        TestDb {
            name: name.to_owned(),
            pool,
            url,
        }
    }

    /// Creates a school with a unique slug (or the given one) and a canary name.
    pub async fn create_school(
        &self,
        slug: Option<&str>,
        name: &str,
        welcome: &str,
    ) -> TenantEntry {
        let slug = slug.map_or_else(unique_slug, str::to_owned);
        let school = NewSchool {
            slug: TenantSlug::parse(&slug).expect("valid slug"),
            name: SchoolName::parse(name).expect("valid name"),
            welcome_text: welcome.to_owned(),
        };
        provision::create_school(&self.pool, &TenantMigrations::embedded(), &school)
            .await
            .expect("school created")
    }
}

/// The `schoolplein` binary set up for a test database, as an operator would run it.
pub fn schoolplein_command(db: &TestDb) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(schoolplein_bin());
    command
        .env("SCHOOLPLEIN_ENV", "test")
        .env("SCHOOLPLEIN_CONFIG_DIR", workspace_root().join("config"))
        .env("SCHOOLPLEIN__DATABASE__URL", database_url(&db.name))
        .env(
            "SCHOOLPLEIN__REDIS__URL",
            env_var("SCHOOLPLEIN_TEST_REDIS_URL"),
        )
        .env("SCHOOLPLEIN__REDIS__KEY_PREFIX", format!("{}:", db.name))
        .env_remove("RUST_LOG")
        .kill_on_drop(true);
    command
}

/// A slug no other test uses.
/// The part of `page` after `start` up to `end` (a section, a table cell), or a failure that
/// shows the page.
pub fn part_of<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let Some((_, after)) = page.split_once(start) else {
        panic!("no {start:?} in the page: {page}");
    };
    after.split(end).next().unwrap_or(after)
}

pub fn unique_slug() -> String {
    format!("s-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The host of a school under the test base domain.
pub fn school_host(slug: &TenantSlug) -> String {
    format!("{slug}.{BASE_DOMAIN}")
}

/// How to build a test app.
#[derive(Debug, Default)]
pub struct TestAppOptions {
    pub db: Option<TestDb>,
    pub max_connections: Option<u32>,
    pub request_timeout_secs: Option<u64>,
    /// How often the school map is reloaded in full (the safety net behind notifications).
    pub full_reload_secs: Option<u64>,
    /// Extra routes on every school's host (tests of isolation use their own probes).
    pub school_routes: Option<Router<AppState>>,
    /// Changes to the test configuration, made before the app starts.
    pub configure: Option<fn(&mut Config)>,
    /// A Redis of the test's own instead of the shared one.
    pub redis_url: Option<String>,
}

/// A running app on 127.0.0.1 with a random port; stops on drop.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _refresh: RefreshTasks,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(TestAppOptions::default()).await
    }

    pub async fn spawn_with(options: TestAppOptions) -> TestApp {
        let db = match options.db {
            Some(db) => db,
            None => TestDb::shared().await,
        };
        let redis_url = options
            .redis_url
            .unwrap_or_else(|| env_var("SCHOOLPLEIN_TEST_REDIS_URL"));
        let mut config = config_for(&db.url, &redis_url, &db.name);
        if let Some(max) = options.max_connections {
            config.database.max_connections = max;
            config.database.acquire_timeout_secs = 60;
        }
        if let Some(timeout) = options.request_timeout_secs {
            config.server.request_timeout_secs = timeout;
        }
        if let Some(secs) = options.full_reload_secs {
            config.tenancy.full_reload_secs = secs;
        }
        if let Some(configure) = options.configure {
            configure(&mut config);
        }
        schoolplein_kernel::telemetry::init(&config.log);
        schoolplein_server::serve::install_crypto_provider();
        let reload = Duration::from_secs(config.tenancy.full_reload_secs);
        let state = app::build_state(config).await.expect("app state");
        let refresh = state.tenants.spawn_refresh(state.db.pool().clone(), reload);
        let school = match options.school_routes {
            Some(extra) => app::school_routes().merge(extra),
            None => app::school_routes(),
        };
        let router = app::app_with(state.clone(), school, app::platform_routes(), Vec::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(schoolplein_server::serve::serve(
            listener,
            router,
            None,
            async move {
                let _ = stop.await;
            },
            Duration::from_secs(1),
        ));
        TestApp {
            addr,
            state,
            db,
            shutdown: Some(shutdown),
            _refresh: refresh,
        }
    }

    /// Creates a school and waits until this app serves it.
    pub async fn create_school(&self, name: &str, welcome: &str) -> TenantEntry {
        let school = self.db.create_school(None, name, welcome).await;
        self.wait_for_school(&school.slug).await;
        school
    }

    /// Waits (up to 5 s) until the app's school map knows the slug.
    pub async fn wait_for_school(&self, slug: &TenantSlug) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.state.tenants.by_slug(slug).is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "school {slug} never reached the app"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn get(&self, host: &str, path: &str) -> RawResponse {
        http::get(self.addr, host, path, &[])
            .await
            .expect("response")
    }

    pub async fn get_with(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> RawResponse {
        http::get(self.addr, host, path, headers)
            .await
            .expect("response")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Polls `check` every 10 ms until it holds or `limit` passes; returns how long it took.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = tokio::time::Instant::now();
    loop {
        if check().await {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The text of a PDF, pages separated by form feeds, as poppler's `pdftotext` reads it
/// (`scripts/test` installs poppler-utils).
pub async fn pdf_text(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("schoolplein-{}.pdf", unique_slug()));
    std::fs::write(&path, pdf).expect("a temporary file");
    let out = tokio::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .await
        .expect("pdftotext (poppler-utils, installed by scripts/test)");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "pdftotext could not read the PDF");
    String::from_utf8(out.stdout).expect("UTF-8 text")
}
