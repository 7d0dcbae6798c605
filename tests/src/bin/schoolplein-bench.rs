//! Benchmark targets and fleet operations for `scripts/bench`: serves the real app beside a
//! bare axum handler in one process, creates thousands of schools, and applies an extra
//! trivial school migration to all of them. Figures go to stdout; `scripts/bench` records them.

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
    },
    /// Serves the bare handler on one port and the real app on another until killed.
    Serve {
        #[arg(long)]
        bare: SocketAddr,
        #[arg(long)]
        app: SocketAddr,
    },
}

fn config(args: &Args, max_connections: u32) -> Config {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let vars = [
        (
            "SCHOOLPLEIN__DATABASE__URL".to_owned(),
            args.database_url.clone(),
        ),
        ("SCHOOLPLEIN__REDIS__URL".to_owned(), args.redis_url.clone()),
        (
            "SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS".to_owned(),
            max_connections.to_string(),
        ),
    ];
    // Settings a run varies (e.g. SCHOOLPLEIN__DATABASE__SCHOOL_POOLS) come from the
    // environment of `scripts/bench`.
    let from_env = std::env::vars().filter(|(name, _)| {
        name.starts_with("SCHOOLPLEIN__") && !vars.iter().any(|(fixed, _)| fixed == name)
    });
    let all: Vec<(String, String)> = vars.iter().cloned().chain(from_env).collect();
    Config::load_from(&root.join("config"), "test", all).expect("config loads")
}

fn pool(config: &Config) -> PgPool {
    schoolplein_kernel::db::postgres_pool(&config.database).expect("pool")
}

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
        } => {
            let config = config(&args, 20);
            let state = app::build_state(config).await?;
            let school = state
                .tenants
                .by_slug(&TenantSlug::parse("b1")?)
                .ok_or_else(|| anyhow::anyhow!("create schools first"))?
                .id;
            let deadline = Instant::now() + Duration::from_secs(*seconds);
            let tasks: Vec<_> = (0..*concurrency)
                .map(|_| {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let mut done = 0u64;
                        while Instant::now() < deadline {
                            let mut tx =
                                tenant_router::TenantTx::begin_read_only(&state.schools, school)
                                    .await?;
                            let _: (String, String) =
                                sqlx::query_as("SELECT name, welcome_text FROM school_profile")
                                    .fetch_one(&mut *tx)
                                    .await?;
                            tx.commit().await?;
                            done += 1;
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
        BenchCommand::Serve {
            bare,
            app: app_addr,
        } => {
            let config = config(&args, 20);
            let state = app::build_state(config).await?;
            let _refresh = state
                .tenants
                .spawn_refresh(state.db.clone(), Duration::from_secs(60));
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
                "serving bare={bare} app={app_addr} schools={}",
                state.tenants.len()
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
    let mut tx = tenant_router::TenantTx::begin(&state.db, school.id).await?;
    let (name, welcome): (String, String) =
        sqlx::query_as("SELECT name, welcome_text FROM school_profile")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    #[derive(serde::Serialize)]
    struct Page {
        school_name: String,
        welcome_text: String,
    }
    Ok(state.templates.render(
        "home.html",
        Language::Nl,
        &Page {
            school_name: name,
            welcome_text: welcome,
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
    }
    Ok(Html(state.templates.render(
        "home.html",
        Language::Nl,
        &Page {
            school_name,
            welcome_text,
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
    sqlx::query("TRUNCATE platform.outbox")
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
