//! What the benchmark tools that run the app in their own process share: its configuration,
//! new schools the app already knows, and figures read from wrk's report.

use std::time::{Duration, Instant};

use schoolplein_kernel::{AppState, Config};
use tenant_router::provision::{self, NewSchool};
use tenant_router::{SchoolName, TenantEntry, TenantMigrations, TenantSlug};

/// The test profile pointed at the benchmark's PostgreSQL and Redis (under `key_prefix`), with
/// a pool of 20 connections and any `extra` settings on top.
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
        ("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS", "20"),
    ];
    let vars = ours
        .iter()
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
        &state.db,
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
pub fn wrk_figure<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("?")
}
