//! Benchmark targets and fleet operations for `scripts/bench`: serves the real app beside a
//! bare axum handler in one process, creates thousands of schools, applies an extra trivial
//! school migration to all of them, drives the mail outbox, and measures a signed-in page
//! during a storm of sign-ins. Figures go to stdout; `scripts/bench` records them.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use schoolplein_kernel::{AppState, Config, Language};
use schoolplein_server::app;
use sqlx::PgPool;
use tenant_router::fleet::{self, FleetOptions, TenantMigration};
use tenant_router::provision::{self, NewSchool};
use tenant_router::{CurrentTenant, SchoolName, TenantMigrations, TenantSlug};

#[derive(Debug, Parser)]
struct Args {
    /// PostgreSQL URL of the benchmark database.
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    /// Redis URL.
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Creates schools b1..bN (skipping those that exist) and reports the time per school.
    CreateSchools {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Applies one more trivial school migration to every school and reports the time.
    MigrateExtra {
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Queues `count` mails, runs the real `schoolplein worker` against an SMTP sink in this
    /// process, and reports mails per second and commit-to-accepted latency of urgent mail
    /// enqueued meanwhile.
    Mail {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// The `schoolplein` binary whose worker is measured.
        #[arg(long)]
        worker_bin: std::path::PathBuf,
        /// One urgent mail is committed this often while the backlog is worked off.
        #[arg(long, default_value_t = 25)]
        urgent_every_ms: u64,
        /// mail.concurrency of the worker (sends under way at once).
        #[arg(long, default_value_t = 8)]
        concurrency: u32,
    },
    /// Runs the home page's database work alone (read-only `TenantTx`, its query, its end)
    /// in a loop from `concurrency` tasks for `seconds`: the most pages per second the
    /// database side allows, with no HTTP at all.
    QueryLoop {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Spread the queries at random over schools b1..bN (1: always b1).
        #[arg(long, default_value_t = 1)]
        schools: u32,
        /// Run this long first, uncounted, with the same connections (backends warm up).
        #[arg(long, default_value_t = 0)]
        warmup_seconds: u64,
    },
    /// Times one argon2id hash with the configured parameters, then measures the p99 latency
    /// of a signed-in page (`GET /account`) on a running `serve --app`, alone and while
    /// `storm` clients sign in over and over, in alternating rounds.
    Signin {
        /// The real app, as served by `serve --app`.
        #[arg(long)]
        addr: SocketAddr,
        /// The school whose pages are used (its accounts are enrolled here).
        #[arg(long, default_value = "b1.schoolplein.test")]
        host: String,
        /// Clients signing in at once, each again as soon as it is signed in.
        #[arg(long, default_value_t = 50)]
        storm: usize,
        /// Clients reading the page, each one request per `page_interval_ms`.
        #[arg(long, default_value_t = 2)]
        page_clients: usize,
        #[arg(long, default_value_t = 5)]
        page_interval_ms: u64,
        /// Length of each quiet and each storm measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Quiet-then-storm rounds; the figures pool them.
        #[arg(long, default_value_t = 6)]
        rounds: usize,
        /// Hashes timed for the median.
        #[arg(long, default_value_t = 21)]
        hashes: usize,
        /// Process ids of the server, PostgreSQL's postmaster and Redis, whose CPU (with their
        /// children's) counts as the benchmark's own.
        #[arg(long, value_delimiter = ',')]
        own_pids: Vec<u32>,
        /// A round is clean when other processes used at most this percentage of the machine.
        #[arg(long, default_value_t = 10.0)]
        max_foreign_cpu: f64,
    },
    /// Serves the bare handler on one port and the real app on another until killed.
    Serve {
        #[arg(long)]
        bare: SocketAddr,
        #[arg(long)]
        app: SocketAddr,
        /// accounts.password_hash_concurrency, instead of the configured one.
        #[arg(long)]
        password_hash_concurrency: Option<usize>,
        /// The configuration the app runs with: `test` (config/test.toml) or `production`
        /// (config/production.toml, at the benchmark's schoolplein.test hosts).
        #[arg(long, default_value = "test")]
        profile: String,
    },
}

fn config(args: &Args, max_connections: u32) -> Config {
    config_with(args, "test", Some(max_connections), Vec::new())
}

/// The `profile`'s configuration (`test`, `production`) with the benchmark's database and
/// Redis, `max_connections` (none: as the profile has it), and `extra` overrides
/// (`SCHOOLPLEIN__…` names).
fn config_with(
    args: &Args,
    profile: &str,
    max_connections: Option<u32>,
    extra: Vec<(String, String)>,
) -> Config {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut vars = vec![
        (
            "SCHOOLPLEIN__DATABASE__URL".to_owned(),
            args.database_url.clone(),
        ),
        ("SCHOOLPLEIN__REDIS__URL".to_owned(), args.redis_url.clone()),
    ];
    // A run that compares pool sizes sets it in the environment.
    let max_connections = std::env::var("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS")
        .ok()
        .or_else(|| max_connections.map(|n| n.to_string()));
    if let Some(max_connections) = max_connections {
        vars.push((
            "SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS".to_owned(),
            max_connections,
        ));
    }
    vars.extend(extra);
    // Settings a run varies (e.g. SCHOOLPLEIN__DATABASE__SCHOOL_POOLS) come from the
    // environment of `scripts/bench`.
    let from_env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| {
            name.starts_with("SCHOOLPLEIN__") && !vars.iter().any(|(fixed, _)| fixed == name)
        })
        .collect();
    vars.extend(from_env);
    Config::load_from(&root.join("config"), profile, vars).expect("config loads")
}

fn pool(config: &Config) -> PgPool {
    schoolplein_kernel::db::postgres_pool(&config.database).expect("pool")
}

// glibc's allocator spent about a tenth of the server's CPU on a busy page (measured with
// perf, docs/BENCHMARKS.md); mimalloc's per-thread heaps do the same work for less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    schoolplein_server::serve::install_crypto_provider();
    let mut out = std::io::stdout().lock();
    match &args.command {
        BenchCommand::CreateSchools { count, concurrency } => {
            let pool = pool(&config(&args, *concurrency as u32 + 1));
            fleet::migrate_platform(&pool).await?;
            let migrations = TenantMigrations::embedded();
            let started = Instant::now();
            let mut times: Vec<Duration> = futures_util::stream::iter(1..=*count)
                .map(|i| {
                    let (pool, migrations) = (&pool, &migrations);
                    async move {
                        let school = NewSchool {
                            slug: TenantSlug::parse(&format!("b{i}")).expect("slug"),
                            name: SchoolName::parse(&format!("Benchmarkschool {i}")).expect("name"),
                            welcome_text: format!("Welkom op benchmarkschool {i}."),
                        };
                        let one = Instant::now();
                        match provision::create_school(pool, migrations, &school).await {
                            Ok(_) => Some(one.elapsed()),
                            Err(provision::ProvisionError::SlugTaken(_)) => None,
                            Err(e) => panic!("creating b{i}: {e}"),
                        }
                    }
                })
                .buffer_unordered(*concurrency)
                .filter_map(|t| async move { t })
                .collect()
                .await;
            times.sort();
            let total = started.elapsed();
            if times.is_empty() {
                writeln!(out, "create_schools created=0 (all {count} existed)")?;
            } else {
                let pct = |p: f64| {
                    times[((times.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0
                };
                writeln!(
                    out,
                    "create_schools created={} total_s={:.1} per_school_p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
                    times.len(),
                    total.as_secs_f64(),
                    pct(0.5),
                    pct(0.99),
                    pct(1.0)
                )?;
            }
        }
        BenchCommand::MigrateExtra { concurrency } => {
            let pool = pool(&config(&args, *concurrency as u32 + 1));
            let version = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs() as i64;
            let extra = TenantMigration::new(
                version,
                format!("bench_trivial_{version}"),
                format!("CREATE TABLE bench_trivial_{version} (id integer PRIMARY KEY)"),
            );
            let mut known: Vec<TenantMigration> =
                TenantMigrations::embedded().iter().cloned().collect();
            // Earlier runs' extra migrations are in the ledger too: keep them known.
            let earlier: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT DISTINCT version, name, checksum FROM platform.tenant_migrations WHERE name LIKE 'bench_trivial_%'",
            )
            .fetch_all(&pool)
            .await?;
            for (v, name, _) in earlier {
                known.push(TenantMigration::new(
                    v,
                    name.clone(),
                    format!("CREATE TABLE {name} (id integer PRIMARY KEY)"),
                ));
            }
            let migrations = TenantMigrations::from_list(known).with(extra);
            let options = FleetOptions {
                concurrency: *concurrency,
                ..FleetOptions::default()
            };
            let report = fleet::migrate_fleet(&pool, &migrations, &options).await?;
            writeln!(
                out,
                "migrate_extra schools={} failures={} total_s={:.1}",
                report.schools_migrated,
                report.failures.len(),
                report.elapsed.as_secs_f64()
            )?;
        }
        BenchCommand::Mail {
            count,
            worker_bin,
            urgent_every_ms,
            concurrency,
        } => {
            let line =
                bench_mail(&args, *count, worker_bin, *urgent_every_ms, *concurrency).await?;
            writeln!(out, "{line}")?;
        }
        BenchCommand::QueryLoop {
            seconds,
            concurrency,
            schools,
            warmup_seconds,
        } => {
            let config = config(&args, 20);
            let state = app::build_state(config).await?;
            let ids = (1..=*schools)
                .map(|n| {
                    let slug = TenantSlug::parse(&format!("b{n}"))?;
                    state
                        .tenants
                        .by_slug(&slug)
                        .map(|entry| entry.id)
                        .ok_or_else(|| anyhow::anyhow!("create schools b1..b{schools} first"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ids = std::sync::Arc::new(ids);
            let counting_from = Instant::now() + Duration::from_secs(*warmup_seconds);
            let deadline = counting_from + Duration::from_secs(*seconds);
            let tasks: Vec<_> = (0..*concurrency)
                .map(|_| {
                    let state = state.clone();
                    let ids = ids.clone();
                    tokio::spawn(async move {
                        let mut done = 0u64;
                        loop {
                            let now = Instant::now();
                            if now >= deadline {
                                break;
                            }
                            let school = ids[rand::random_range(0..ids.len())];
                            let mut tx =
                                tenant_router::TenantTx::begin_read_only(&state.schools, school)
                                    .await?;
                            let _: (String, String) =
                                sqlx::query_as("SELECT name, welcome_text FROM school_profile")
                                    .fetch_one(&mut *tx)
                                    .await?;
                            tx.commit().await?;
                            if now >= counting_from {
                                done += 1;
                            }
                        }
                        Ok::<u64, sqlx::Error>(done)
                    })
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await??;
            }
            writeln!(
                out,
                "query_loop_per_s={:.0}",
                total as f64 / *seconds as f64
            )?;
        }
        BenchCommand::Signin {
            addr,
            host,
            storm,
            page_clients,
            page_interval_ms,
            seconds,
            rounds,
            hashes,
            own_pids,
            max_foreign_cpu,
        } => {
            let options = SigninOptions {
                addr: *addr,
                host: host.clone(),
                storm: *storm,
                page_clients: *page_clients,
                page_interval: Duration::from_millis(*page_interval_ms),
                phase: Duration::from_secs(*seconds),
                rounds: *rounds,
                hashes: *hashes,
                own_pids: own_pids.clone(),
                max_foreign_cpu: *max_foreign_cpu,
            };
            let line = bench_signin(&args, &options).await?;
            writeln!(out, "{line}")?;
        }
        BenchCommand::Serve {
            bare,
            app: app_addr,
            password_hash_concurrency,
            profile,
        } => {
            let mut extra = password_hash_concurrency
                .map(|n| {
                    vec![(
                        "SCHOOLPLEIN__ACCOUNTS__PASSWORD_HASH_CONCURRENCY".to_owned(),
                        n.to_string(),
                    )]
                })
                .unwrap_or_default();
            if profile != "test" {
                // The benchmark's schools live at bN.schoolplein.test, over plain HTTP.
                extra.extend([
                    (
                        "SCHOOLPLEIN__TENANCY__BASE_DOMAIN".to_owned(),
                        "schoolplein.test".to_owned(),
                    ),
                    (
                        "SCHOOLPLEIN__TENANCY__PUBLIC_SCHEME".to_owned(),
                        "http".to_owned(),
                    ),
                ]);
            }
            // The test profile's 20 connections, as the earlier figures had them; any other
            // profile's own.
            let max_connections = (profile == "test").then_some(20);
            let config = config_with(&args, profile, max_connections, extra);
            let state = app::build_state(config).await?;
            let _refresh = state
                .tenants
                .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
            // As `schoolplein serve` does before it listens.
            let warm_up_for = Duration::from_secs(state.config.server.warm_up_secs);
            let warm = schoolplein_server::warm::warm_up(&state, warm_up_for).await;
            // The bare handler answers with exactly the bytes of school b1's home page.
            let page: Arc<str> = render_home(&state, "b1").await?.into();
            PAGE.set(page)
                .map_err(|_| anyhow::anyhow!("page set twice"))?;
            let bare_router = Router::new().route("/", get(cached_page));
            // The page as it was before round trips were cut: a liveness check on every
            // acquire, and a commit that waits. Same query, same template.
            let baseline_pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(state.config.database.max_connections)
                .connect_lazy_with(schoolplein_kernel::db::connect_options(
                    &state.config.database,
                )?);
            let school_extra = Router::new()
                .route("/_bench/static", get(static_page))
                .route(
                    "/_bench/home-before",
                    get(
                        move |tenant: CurrentTenant, State(state): State<AppState>| {
                            let pool = baseline_pool.clone();
                            async move { home_before(&pool, &state, tenant).await }
                        },
                    ),
                );
            let any_host = vec![
                ("/_bench/unresolved", get(unresolved_page)),
                ("/_bench/resolve-inline", get(resolve_inline_page)),
            ];
            let full = app::app_with(
                state.clone(),
                app::school_routes().merge(school_extra),
                app::platform_routes(),
                any_host,
            );
            let bare_listener = tokio::net::TcpListener::bind(bare).await?;
            let app_listener = tokio::net::TcpListener::bind(app_addr).await?;
            writeln!(
                out,
                "serving bare={bare} app={app_addr} schools={} hashes_at_once={} warmed={} of {} in {} ms",
                state.tenants.len(),
                state.passwords.concurrency(),
                warm.warmed,
                warm.schools,
                warm.elapsed.as_millis()
            )?;
            out.flush()?;
            drop(out);
            let bare_server = axum::serve(bare_listener, bare_router).into_future();
            let app_server = axum::serve(app_listener, full).into_future();
            tokio::try_join!(bare_server, app_server)?;
        }
    }
    Ok(())
}

async fn render_home(state: &AppState, slug: &str) -> anyhow::Result<String> {
    let school = state
        .tenants
        .by_slug(&TenantSlug::parse(slug)?)
        .ok_or_else(|| anyhow::anyhow!("school {slug} does not exist: create schools first"))?;
    let mut tx = tenant_router::TenantTx::begin(state.db.pool(), school.id).await?;
    let (name, welcome): (String, String) =
        sqlx::query_as("SELECT name, welcome_text FROM school_profile")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    #[derive(serde::Serialize)]
    struct Page {
        school_name: String,
        welcome_text: String,
        /// The bench schools have no events: the page's list is empty, as the real one's.
        public_events: Vec<String>,
    }
    Ok(state.templates.render(
        "home.html",
        Language::Nl,
        &Page {
            school_name: name,
            welcome_text: welcome,
            public_events: Vec::new(),
        },
    )?)
}

/// The home page's work with the pool's defaults and a waiting commit.
async fn home_before(
    pool: &PgPool,
    state: &AppState,
    tenant: CurrentTenant,
) -> Result<Html<String>, schoolplein_kernel::AppError> {
    let mut tx = tenant_router::TenantTx::begin(pool, tenant.id()).await?;
    let (name, welcome): (String, String) =
        sqlx::query_as("SELECT name, welcome_text FROM school_profile")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    home_html(state, name, welcome)
}

fn home_html(
    state: &AppState,
    school_name: String,
    welcome_text: String,
) -> Result<Html<String>, schoolplein_kernel::AppError> {
    #[derive(serde::Serialize)]
    struct Page {
        school_name: String,
        welcome_text: String,
        /// The bench schools have no events: the page's list is empty, as the real one's.
        public_events: Vec<String>,
    }
    Ok(Html(state.templates.render(
        "home.html",
        Language::Nl,
        &Page {
            school_name,
            welcome_text,
            public_events: Vec::new(),
        },
    )?))
}

/// The bytes of school b1's home page, rendered once at start-up.
static PAGE: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();

/// The bare handler, and the last step of the two "same bytes, no query" variants.
async fn cached_page() -> Html<String> {
    Html(PAGE.get().map(|p| p.to_string()).unwrap_or_default())
}

/// Through every layer and the host dispatch, with the same bytes but no database query.
async fn static_page(_tenant: CurrentTenant) -> Html<String> {
    cached_page().await
}

/// Through every layer, resolving the host inside the handler instead of handing the request
/// to the school's router: tells the cost of the lookup apart from that of the hand-over.
async fn resolve_inline_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: http::HeaderMap,
) -> Html<String> {
    let host = tenant_router::host::request_host(&headers, None, tenant_router::HostSource::Direct);
    match host.map(|h| state.tenants.resolve(&h)) {
        Ok(tenant_router::HostTarget::School(_)) => cached_page().await,
        _ => Html(String::new()),
    }
}

/// Through every layer but without host resolution.
async fn unresolved_page() -> Html<String> {
    cached_page().await
}

/// Mail throughput and urgent latency; see `BenchCommand::Mail`.
async fn bench_mail(
    args: &Args,
    count: usize,
    worker_bin: &std::path::Path,
    urgent_every_ms: u64,
    concurrency: u32,
) -> anyhow::Result<String> {
    use schoolplein_mailing::{MailRequest, Outbox};
    use schoolplein_tests::smtp::SmtpServer;

    #[derive(serde::Serialize)]
    struct Check {
        requested_at: String,
    }
    let config = config(args, 8);
    let pool = pool(&config);
    fleet::migrate_platform(&pool).await?;
    sqlx::query("TRUNCATE platform.outbox CASCADE")
        .execute(&pool)
        .await?;
    let outbox = Outbox::new(Arc::new(app::templates().build()?), &config.mail);
    let sink = SmtpServer::start().await;
    let enqueue = |to: String, urgent: bool, n: usize| {
        let (pool, outbox) = (&pool, &outbox);
        async move {
            let mut tx = pool.begin().await?;
            let id = outbox
                .enqueue(
                    &mut tx,
                    MailRequest {
                        to: &to,
                        template: "mailing/delivery_check",
                        language: Language::Nl,
                        urgent,
                        context: &Check {
                            requested_at: format!("bench {n}"),
                        },
                        letterhead: None,
                    },
                )
                .await?;
            tx.commit().await?;
            anyhow::Ok((id, Instant::now()))
        }
    };
    // The backlog, 500 mails to a transaction.
    let started = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let mut tx = pool.begin().await?;
        for n in chunk {
            outbox
                .enqueue(
                    &mut tx,
                    MailRequest {
                        to: &format!("ouder-{n}@example.nl"),
                        template: "mailing/delivery_check",
                        language: Language::Nl,
                        urgent: false,
                        context: &Check {
                            requested_at: format!("bench {n}"),
                        },
                        letterhead: None,
                    },
                )
                .await?;
        }
        tx.commit().await?;
    }
    let enqueue_per_s = count as f64 / started.elapsed().as_secs_f64();

    // The real worker process, with the shipped defaults of config/base.toml.
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut worker = tokio::process::Command::new(worker_bin)
        .arg("worker")
        .env("SCHOOLPLEIN_ENV", "test")
        .env("SCHOOLPLEIN_CONFIG_DIR", root.join("config"))
        .env("SCHOOLPLEIN__DATABASE__URL", &args.database_url)
        .env("SCHOOLPLEIN__REDIS__URL", &args.redis_url)
        .env("SCHOOLPLEIN__MAIL__SMTP__HOST", "127.0.0.1")
        .env("SCHOOLPLEIN__MAIL__SMTP__PORT", sink.port().to_string())
        .env("SCHOOLPLEIN__MAIL__SMTP__TIMEOUT_SECS", "30")
        .env("SCHOOLPLEIN__MAIL__BATCH_SIZE", "100")
        .env("SCHOOLPLEIN__MAIL__CONCURRENCY", concurrency.to_string())
        .env("SCHOOLPLEIN__MAIL__LEASE_SECS", "300")
        .env("SCHOOLPLEIN__MAIL__POLL_INTERVAL_MS", "5000")
        .kill_on_drop(true)
        .spawn()?;
    let worker_started = Instant::now();

    // Urgent mail, one at a time, while the backlog is being delivered.
    let mut urgent: Vec<(i64, Instant)> = Vec::new();
    while sink.count() < count {
        let (id, committed) = enqueue(
            format!("urgent-{}@example.nl", urgent.len()),
            true,
            urgent.len(),
        )
        .await?;
        urgent.push((id.get(), committed));
        tokio::time::sleep(Duration::from_millis(urgent_every_ms)).await;
        if worker_started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("the backlog was not delivered within 10 minutes");
        }
    }
    let total = count + urgent.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.count() < total {
        anyhow::ensure!(Instant::now() < deadline, "urgent mail did not all arrive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.start_kill()?;
    let _ = worker.wait().await;

    let received = sink.received();
    let backlog: Vec<&Instant> = received
        .iter()
        .filter(|m| m.rcpt_to[0].starts_with("ouder-"))
        .map(|m| &m.received_at)
        .collect();
    let last_backlog = **backlog.last().expect("backlog arrived");
    let first_backlog = **backlog.first().expect("backlog arrived");
    let per_s_from_start = count as f64 / (last_backlog - worker_started).as_secs_f64();
    let per_s_steady = (count - 1) as f64 / (last_backlog - first_backlog).as_secs_f64();
    let arrived: std::collections::HashMap<String, Instant> = received
        .iter()
        .filter_map(|m| Some((m.message_id.clone()?, m.received_at)))
        .collect();
    let ids: Vec<i64> = urgent.iter().map(|(id, _)| *id).collect();
    let message_ids: std::collections::HashMap<i64, String> = sqlx::query_as::<_, (i64, String)>(
        "SELECT id, message_id FROM platform.outbox WHERE id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?
    .into_iter()
    .collect();
    let mut latencies: Vec<f64> = urgent
        .iter()
        .map(|(id, committed)| {
            let at = arrived[&message_ids[id]];
            at.saturating_duration_since(*committed).as_secs_f64() * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let duplicates = received.len() - arrived.len();
    Ok(format!(
        "mail: concurrency={concurrency} queued={count} enqueue_per_s={enqueue_per_s:.0} delivered_per_s={per_s_from_start:.0} \
         (steady {per_s_steady:.0}; target >= 500) urgent={} commit_to_accepted_ms p50={:.0} p99={:.0} \
         max={:.0} (target p99 < 1000) duplicates={duplicates}",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    ))
}

/// What `bench_signin` measures against; see `BenchCommand::Signin`.
#[derive(Debug)]
struct SigninOptions {
    addr: SocketAddr,
    host: String,
    storm: usize,
    page_clients: usize,
    page_interval: Duration,
    phase: Duration,
    rounds: usize,
    hashes: usize,
    /// The server's, PostgreSQL's and Redis's process ids: their CPU is the benchmark's own.
    own_pids: Vec<u32>,
    /// Rounds where other processes used more of the machine than this (percent) are not clean.
    max_foreign_cpu: f64,
}

/// The password of every benchmark account.
const BENCH_PASSWORD: &str = "Zeilboot-Bench-Wachtwoord-7";

fn bench_email(n: usize) -> String {
    format!("bench-signin-{n}@example.nl")
}

/// The argon2id hash time, then the page's latency alone and during the storm; see
/// `BenchCommand::Signin`.
async fn bench_signin(args: &Args, options: &SigninOptions) -> anyhow::Result<String> {
    use schoolplein_kernel::Role;
    use schoolplein_kernel::passwords::PasswordHashing;
    use schoolplein_registration::{EmailAddress, NewPassword, enroll};
    use schoolplein_tests::client::Client;

    let config = config(args, 4);
    let accounts = config.accounts.clone();
    let state = app::build_state(config).await?;
    let slug = options.host.split('.').next().unwrap_or_default();
    let school = state
        .tenants
        .by_slug(&TenantSlug::parse(slug)?)
        .ok_or_else(|| anyhow::anyhow!("school {slug} does not exist: create schools first"))?
        .id;

    // One hash with the production parameters, one at a time, while nothing else runs.
    let hashing = PasswordHashing::new(&accounts)?;
    let mut hash_times = Vec::with_capacity(options.hashes);
    for _ in 0..options.hashes.max(1) {
        let started = Instant::now();
        hashing.hash(BENCH_PASSWORD).await?;
        hash_times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    hash_times.sort_by(f64::total_cmp);
    let hash_ms = hash_times[hash_times.len() / 2];

    // Accounts 0..storm sign in during the storm; account `storm` reads the page.
    let password = NewPassword::parse(BENCH_PASSWORD)
        .map_err(|e| anyhow::anyhow!("the benchmark password is refused: {e:?}"))?;
    let enrolled: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..=options.storm)
        .map(|n| {
            let (state, password) = (&state, &password);
            async move {
                let email = EmailAddress::parse(&bench_email(n))?;
                let name = format!("Benchmarkouder {n}");
                enroll(
                    state,
                    school,
                    &name,
                    &email,
                    &[Role::Parent],
                    Some(password),
                )
                .await
                .map_err(|e| anyhow::anyhow!("enrolling account {n}: {e}"))?;
                Ok(())
            }
        })
        .buffer_unordered(2)
        .collect()
        .await;
    enrolled.into_iter().collect::<anyhow::Result<Vec<()>>>()?;

    let host = options.host.as_str();
    let mut reader = Client::new(options.addr);
    let signed_in = reader
        .sign_in(host, &bench_email(options.storm), BENCH_PASSWORD, false)
        .await;
    anyhow::ensure!(
        signed_in.status == 303,
        "the page reader could not sign in: {}",
        signed_in.status
    );
    let page = reader.get(host, "/account").await;
    anyhow::ensure!(
        page.status == 200 && page.text().contains(&bench_email(options.storm)),
        "GET /account answered {} without the account",
        page.status
    );
    // Warm the server's pools and caches before anything is measured.
    for _ in 0..200 {
        reader.get(host, "/account").await;
    }

    // Quiet and storm alternate, so that whatever else the machine does meanwhile falls on
    // both alike. Each phase also records the CPU that processes other than the benchmark's
    // used: a round where that was high had company (a neighbour compiling) and is left out
    // of the "clean" figures.
    let mut rounds = Vec::new();
    let (mut sign_ins, mut storm_time) = (0u64, Duration::ZERO);
    for _ in 0..options.rounds.max(1) {
        let cpu = CpuUse::sample(&options.own_pids);
        let calm = page_latencies(&reader, options).await?;
        let calm_cpu = cpu.until_now(&options.own_pids);
        let storm = Storm::start(options);
        storm.ramp_up(options.storm as u64).await;
        let (started, signed_before) = (Instant::now(), storm.signed());
        let cpu = CpuUse::sample(&options.own_pids);
        let busy = page_latencies(&reader, options).await?;
        let busy_cpu = cpu.until_now(&options.own_pids);
        sign_ins += storm.signed() - signed_before;
        storm_time += started.elapsed();
        storm.stop().await?;
        rounds.push(Round {
            calm,
            busy,
            calm_cpu,
            busy_cpu,
        });
    }
    let sign_ins_per_s = sign_ins as f64 / storm_time.as_secs_f64();
    let clean: Vec<&Round> = rounds
        .iter()
        .filter(|r| {
            r.calm_cpu.1 <= options.max_foreign_cpu && r.busy_cpu.1 <= options.max_foreign_cpu
        })
        .collect();
    let all: Vec<&Round> = rounds.iter().collect();
    let per_round = rounds
        .iter()
        .map(|r| {
            format!(
                "{:.2}/{:.2}ms (cpu {:.0}%/{:.0}%, others {:.0}%/{:.0}%)",
                percentile(&r.calm, 0.99),
                percentile(&r.busy, 0.99),
                r.calm_cpu.0,
                r.busy_cpu.0,
                r.calm_cpu.1,
                r.busy_cpu.1
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    Ok(format!(
        "signin: argon2id m={}KiB t={} p={} one_hash_ms median={hash_ms:.1} (n={}, min {:.1}, max {:.1}) \
         cores={}\n\
         signin: GET /account, {} clients, one request per {} ms each; {} rounds of {} s quiet, then {} s \
         with {} clients signing in; sign_ins_per_s={sign_ins_per_s:.1}\n\
         signin: p99 quiet/storm per round: {per_round}\n\
         signin: all rounds: {}\n\
         signin: clean rounds ({} of {}, others' cpu <= {:.0}%): {}",
        accounts.argon2_memory_kib,
        accounts.argon2_iterations,
        accounts.argon2_lanes,
        hash_times.len(),
        hash_times[0],
        hash_times[hash_times.len() - 1],
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        options.page_clients,
        options.page_interval.as_millis(),
        rounds.len(),
        options.phase.as_secs(),
        options.phase.as_secs(),
        options.storm,
        pooled(&all).unwrap_or_default(),
        clean.len(),
        rounds.len(),
        options.max_foreign_cpu,
        pooled(&clean).unwrap_or_else(|| "none".into()),
    ))
}

/// One quiet phase and one storm phase: page latencies (ms, sorted) and the CPU in use
/// (percent of all cores: everything, and processes other than the benchmark's).
struct Round {
    calm: Vec<f64>,
    busy: Vec<f64>,
    calm_cpu: (f64, f64),
    busy_cpu: (f64, f64),
}

/// The rounds' latencies pooled: p50 and p99 without and with the storm, and the ratio.
fn pooled(rounds: &[&Round]) -> Option<String> {
    let mut calm: Vec<f64> = rounds.iter().flat_map(|r| r.calm.iter().copied()).collect();
    let mut busy: Vec<f64> = rounds.iter().flat_map(|r| r.busy.iter().copied()).collect();
    if calm.is_empty() || busy.is_empty() {
        return None;
    }
    calm.sort_by(f64::total_cmp);
    busy.sort_by(f64::total_cmp);
    let (calm_p99, busy_p99) = (percentile(&calm, 0.99), percentile(&busy, 0.99));
    Some(format!(
        "without storm n={} p50={:.2}ms p99={calm_p99:.2}ms; with storm n={} p50={:.2}ms \
         p99={busy_p99:.2}ms; p99 storm/quiet={:.2} (target <= 2.00)",
        calm.len(),
        percentile(&calm, 0.5),
        busy.len(),
        percentile(&busy, 0.5),
        busy_p99 / calm_p99
    ))
}

/// CPU time counters: the machine's (`/proc/stat`) and the benchmark's own processes'.
struct CpuUse {
    total: u64,
    busy: u64,
    own: u64,
}

impl CpuUse {
    /// All zero where `/proc` cannot be read (then the figures say 0 %).
    fn sample(own_pids: &[u32]) -> CpuUse {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|f| f.parse().ok())
            .collect();
        let total: u64 = fields.iter().sum();
        // idle and iowait
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        CpuUse {
            total,
            busy: total.saturating_sub(idle),
            own: own_ticks(own_pids),
        }
    }

    /// Percent of all cores busy since `self`, and the part of it outside our processes.
    fn until_now(&self, own_pids: &[u32]) -> (f64, f64) {
        let now = CpuUse::sample(own_pids);
        let total = now.total.saturating_sub(self.total);
        if total == 0 {
            return (0.0, 0.0);
        }
        let busy = now.busy.saturating_sub(self.busy) as f64;
        let own = now.own.saturating_sub(self.own) as f64;
        let percent = |ticks: f64| ticks * 100.0 / total as f64;
        (percent(busy), percent((busy - own).max(0.0)))
    }
}

/// CPU ticks used so far by this process, the processes in `roots` and their children (a
/// PostgreSQL server's backends are children of its postmaster).
fn own_ticks(roots: &[u32]) -> u64 {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command name, which may hold anything up to its last ')'.
            let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ppid: u32 = rest.get(1)?.parse().ok()?;
            let user: u64 = rest.get(11)?.parse().ok()?;
            let system: u64 = rest.get(12)?.parse().ok()?;
            let ours = pid == me || roots.contains(&pid) || roots.contains(&ppid);
            ours.then_some(user + system)
        })
        .sum()
}

/// `storm` clients, each signing in with its own account again as soon as it is signed in.
struct Storm {
    stop: Arc<std::sync::atomic::AtomicBool>,
    signed: Arc<std::sync::atomic::AtomicU64>,
    refused: Arc<std::sync::atomic::AtomicU64>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Storm {
    fn start(options: &SigninOptions) -> Storm {
        use std::sync::atomic::Ordering;
        let mut storm = Storm {
            stop: Arc::default(),
            signed: Arc::default(),
            refused: Arc::default(),
            clients: Vec::new(),
        };
        for n in 0..options.storm {
            let (stop, signed, refused) = (
                storm.stop.clone(),
                storm.signed.clone(),
                storm.refused.clone(),
            );
            let (addr, host) = (options.addr, options.host.clone());
            storm.clients.push(tokio::spawn(async move {
                let mut client = schoolplein_tests::client::Client::new(addr);
                // The form token once; every sign-in ends the session of the one before.
                client.get(&host, "/sign-in").await;
                let email = bench_email(n);
                while !stop.load(Ordering::Relaxed) {
                    let answer = client
                        .post_form(
                            &host,
                            "/sign-in",
                            &[("email", &email), ("password", BENCH_PASSWORD)],
                        )
                        .await;
                    let counter = if answer.status == 303 {
                        &signed
                    } else {
                        &refused
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        storm
    }

    fn signed(&self) -> u64 {
        self.signed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until `count` sign-ins went through (every client is under way), or 5 s.
    async fn ramp_up(&self, count: u64) {
        let until = Instant::now() + Duration::from_secs(5);
        while self.signed() < count && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) -> anyhow::Result<()> {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.await?;
        }
        let refused = self.refused.load(Ordering::Relaxed);
        anyhow::ensure!(refused == 0, "{refused} sign-ins were refused");
        Ok(())
    }
}

/// `GET /account` latencies (ms) of `page_clients` signed-in clients, each one request per
/// `page_interval` (or back to back when slower), for `phase`; every answer must be a 200.
async fn page_latencies(
    reader: &schoolplein_tests::client::Client,
    options: &SigninOptions,
) -> anyhow::Result<Vec<f64>> {
    let until = Instant::now() + options.phase;
    let clients: Vec<_> = (0..options.page_clients.max(1))
        .map(|_| {
            let mut client = reader.clone();
            let (host, interval) = (options.host.clone(), options.page_interval);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                while Instant::now() < until {
                    ticks.tick().await;
                    let started = Instant::now();
                    let page = client.get(&host, "/account").await;
                    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    if page.status != 200 {
                        failures += 1;
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut all = Vec::new();
    for client in clients {
        let (latencies, failures) = client.await?;
        anyhow::ensure!(failures == 0, "{failures} page requests failed");
        all.extend(latencies);
    }
    all.sort_by(f64::total_cmp);
    anyhow::ensure!(!all.is_empty(), "no page was requested");
    Ok(all)
}

/// The `p` quantile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
