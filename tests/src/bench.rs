//! What the benchmark tools that run the app in their own process share: its configuration,
//! new schools the app already knows, and figures read from wrk's report.

use std::time::{Duration, Instant};

use schoolplein_kernel::{AppState, Config};
use tenant_router::provision::{self, NewSchool};
use tenant_router::{SchoolName, TenantEntry, TenantMigrations, TenantSlug};

/// The test profile pointed at the benchmark's PostgreSQL and Redis (under `key_prefix`), with
/// 20 connections (or `SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS` from the environment) and any
/// `extra` settings on top.
pub fn config(
    database_url: &str,
    redis_url: &str,
    key_prefix: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<Config> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let ours = [
        ("SCHOOLPLEIN__DATABASE__URL", database_url),
        ("SCHOOLPLEIN__REDIS__URL", redis_url),
        ("SCHOOLPLEIN__REDIS__KEY_PREFIX", key_prefix),
    ];
    let connections =
        std::env::var("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS").unwrap_or_else(|_| "20".to_owned());
    let connections = [(
        "SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS",
        connections.as_str(),
    )];
    let vars = ours
        .iter()
        .chain(&connections)
        .chain(extra)
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()));
    Ok(Config::load_from(&root.join("config"), "test", vars)?)
}

/// A new school, once the app's directory knows it.
pub async fn create_school(
    state: &AppState,
    slug: &str,
    name: &str,
) -> anyhow::Result<TenantEntry> {
    let school = provision::create_school(
        state.db.pool(),
        &TenantMigrations::embedded(),
        &NewSchool {
            slug: TenantSlug::parse(slug)?,
            name: SchoolName::parse(name)?,
            welcome_text: String::new(),
        },
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while state.tenants.by_id(school.id).is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(school)
}

/// The figure after `label` in wrk's report (`Requests/sec:`, `50%`, `99%`).
fn wrk_figure<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("?")
}

/// What wrk measured on one path.
#[derive(Debug)]
pub struct WrkRun {
    pub requests_per_second: String,
    pub p50: String,
    pub p99: String,
}

impl std::fmt::Display for WrkRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} req/s, p50 {}, p99 {}",
            self.requests_per_second, self.p50, self.p99
        )
    }
}

/// Runs `wrk --latency` with `connections` clients on two threads (one when there are fewer
/// than two clients) for `seconds` on `path` of `host` at `addr`, with `cookie` when given;
/// an error when wrk fails or sees an answer other than 2xx/3xx.
pub async fn wrk(
    addr: std::net::SocketAddr,
    host: &str,
    cookie: Option<&str>,
    path: &str,
    connections: u32,
    seconds: u64,
) -> anyhow::Result<WrkRun> {
    let mut command = wrk_command(connections, seconds);
    command.args(["-H", &format!("Host: {host}")]);
    if let Some(cookie) = cookie {
        command.args(["-H", &format!("Cookie: {cookie}")]);
    }
    command.arg(format!("http://{addr}{path}"));
    run_wrk(command, path).await
}

/// `wrk --latency` with `connections` clients on two threads (one when there are fewer than
/// two clients) for `seconds`.
fn wrk_command(connections: u32, seconds: u64) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("wrk");
    command
        .arg(format!("-t{}", connections.clamp(1, 2)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency");
    command
}

/// Runs the wrk `command` and reads its report; an error when wrk fails or sees an answer
/// other than 2xx/3xx (`what` names the run in it).
async fn run_wrk(mut command: tokio::process::Command, what: &str) -> anyhow::Result<WrkRun> {
    let output = command.kill_on_drop(true).output().await?;
    let report = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success() && !report.contains("Non-2xx"),
        "wrk failed or saw errors on {what}: {report}"
    );
    Ok(WrkRun {
        requests_per_second: wrk_figure(&report, "Requests/sec").to_owned(),
        p50: wrk_figure(&report, "50%").to_owned(),
        p99: wrk_figure(&report, "99%").to_owned(),
    })
}

/// Runs `wrk --latency` with `connections` clients on two threads for `seconds` at `addr`,
/// each request made by the Lua `script` (which sets its own host, path and headers); an
/// error when wrk fails or sees an answer other than 2xx/3xx.
pub async fn wrk_script(
    addr: std::net::SocketAddr,
    script: &std::path::Path,
    connections: u32,
    seconds: u64,
) -> anyhow::Result<WrkRun> {
    let mut command = wrk_command(connections, seconds);
    command.arg("-s").arg(script).arg(format!("http://{addr}/"));
    run_wrk(command, &script.display().to_string()).await
}

/// Serves the real app over `state` on a free loopback port, for as long as the process runs.
pub async fn serve(state: &AppState) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(schoolplein_server::serve::serve(
        listener,
        schoolplein_server::app::app(state.clone()),
        None,
        std::future::pending::<()>(),
        Duration::from_secs(1),
    ));
    Ok(addr)
}
