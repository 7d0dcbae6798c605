//! Benchmark of the calendar feeds for `scripts/bench feed`: a parent's personal iCalendar
//! feed holding 500 events (in a school with as many more the parent does not see), fetched
//! with its secret link by one client and by several at once (wrk). The real app runs in this
//! process against the benchmark's PostgreSQL and Redis.

use std::io::Write as _;
use std::time::{Duration, Instant};

use clap::Parser;
use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_server::app;
use schoolplein_tests::bench;
use tenant_router::TenantTx;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    /// Events in the parent's feed (as many again are for groups the parent does not follow
    /// or for staff only).
    #[arg(long, default_value_t = 500)]
    events: u32,
    /// Each wrk run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

const PASSWORD: &str = "Bench-Wacht-2026!";
/// The groups of the parent's three children.
const VIEWER_GROUPS: [&str; 3] = ["G1", "G11", "G21"];

/// 32 groups with a teacher each, 900 pupils with a parent each, and `2 × $events` events
/// over the past 300 days and the coming 300: half of them for the whole school or one of
/// the parent's groups (what the feed holds), half for other groups or staff only. A tenth
/// last all day, some several days; texts carry commas, semicolons, line breaks and accents,
/// so escaping and folding are measured too.
const SCHOOL_SQL: &str = "
INSERT INTO groups (import_key, name, year)
SELECT 'G' || g, 'Groep ' || (1 + (g - 1) / 4) || chr(65 + (g - 1) % 4), 1 + (g - 1) / 4
  FROM generate_series(1, 32) g;
INSERT INTO people (name, email, kind, roles)
VALUES ('Directeur', 'directie@meting.example.nl', 'staff', '{school_admin}');
INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2015-01-01' + (n % 2500),
       (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % 32))
  FROM generate_series(1, 900) n;
WITH plan AS (
    SELECT n,
           -- Even: what the parent sees; odd: what they do not.
           n % 2 = 0 AS seen,
           n % 10 = 4 AS all_day,
           CASE WHEN n % 2 = 0 THEN (ARRAY['', 'G1', 'G11', 'G21'])[1 + (n / 2) % 4]
                ELSE 'G' || (2 + n % 9) END AS group_key,
           -- Public events reach everyone, so only the seen half has some.
           CASE WHEN n % 2 = 1 AND n % 3 = 0 THEN 'staff'
                WHEN n % 2 = 0 AND n % 7 = 0 THEN 'public' ELSE 'members' END AS visibility,
           date_trunc('hour', now()) - interval '300 days'
               + (n * 600 / (2 * $events)) * interval '1 day'
               + (8 + n % 9) * interval '1 hour' AS starts_at
      FROM generate_series(1, 2 * $events) n
), inserted AS (
    INSERT INTO events (title, description, place, visibility, whole_school, starts_at, ends_at,
                        first_day, last_day, author_id)
    SELECT 'Activiteit ' || plan.n || ', met ouders; graag op tijd',
           'Beste ouders,' || E'\\n' || repeat('We gaan naar het café, de sporthal; daarna terug. ', 1 + plan.n % 4)
               || E'\\n' || 'Groet, de école',
           'Gymzaal ' || (1 + plan.n % 3) || ', ingang Schoolstraat',
           plan.visibility,
           plan.group_key = '',
           CASE WHEN plan.all_day
                THEN (plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date::timestamp
                         AT TIME ZONE 'Europe/Amsterdam'
                ELSE plan.starts_at END,
           CASE WHEN plan.all_day
                THEN ((plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date + 1 + plan.n % 3)
                         ::timestamp AT TIME ZONE 'Europe/Amsterdam'
                ELSE plan.starts_at + interval '90 minutes' END,
           CASE WHEN plan.all_day THEN (plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date END,
           CASE WHEN plan.all_day
                THEN (plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date + plan.n % 3 END,
           (SELECT id FROM people WHERE email = 'directie@meting.example.nl')
      FROM plan ORDER BY plan.n
    RETURNING id, title
)
INSERT INTO event_groups (event_id, group_id)
SELECT inserted.id, g.id
  FROM inserted
  JOIN plan ON 'Activiteit ' || plan.n || ', met ouders; graag op tijd' = inserted.title
  JOIN groups g ON g.import_key = plan.group_key;
";

// As the served binary: mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    schoolplein_server::serve::install_crypto_provider();
    let config = bench::config(&args.database_url, &args.redis_url, "bench-feed:", &[])?;
    let platform = schoolplein_kernel::db::postgres_pool(&config.database)?;
    tenant_router::fleet::migrate_platform(&platform).await?;
    platform.close().await;
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
    let addr = bench::serve(&state).await?;
    let stamp = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let school =
        bench::create_school(&state, &format!("feed-{stamp}"), "Basisschool Kalender").await?;
    let host = format!("{}.schoolplein.test", school.slug);
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        SCHOOL_SQL.replace("$events", &args.events.to_string()),
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // The parent, with an account, three children in three groups, and a feed link.
    let email = format!("ouder-feed-{stamp}@example.nl");
    let enrolled = enroll(
        &state,
        school.id,
        "Ouder Meting",
        &EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!(e.key()))?,
        &[Role::Parent],
        Some(&NewPassword::parse(PASSWORD).map_err(|e| anyhow::anyhow!(e.key()))?),
    )
    .await?;
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    sqlx::query(
        "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
         SELECT DISTINCT ON (p.group_id) p.id, $1, 'active', now()
           FROM pupils p JOIN groups g ON g.id = p.group_id
          WHERE g.import_key = ANY($2)
          ORDER BY p.group_id, p.id",
    )
    .bind(enrolled.person_id)
    .bind(&VIEWER_GROUPS[..])
    .execute(&mut *tx)
    .await?;
    let token = schoolplein_calendar::feeds::renew(&mut tx, enrolled.person_id, None).await?;
    sqlx::raw_sql(
        "ANALYZE groups, people, pupils, guardians, events, event_groups, calendar_feeds",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let path = format!("/feeds/{}.ics", token.expose());

    // The feed holds exactly the events meant for the parent.
    let first = schoolplein_tests::http::get(addr, &host, &path, &[]).await?;
    let body = String::from_utf8_lossy(&first.body);
    let entries = body.matches("BEGIN:VEVENT").count();
    anyhow::ensure!(
        first.status == 200 && entries == args.events as usize,
        "the feed answered {} with {entries} events, expected {}",
        first.status,
        args.events
    );

    // One request at a time, timed here: what one calendar app waits.
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        let answer = schoolplein_tests::http::get(addr, &host, &path, &[]).await?;
        times.push(started.elapsed());
        anyhow::ensure!(answer.status == 200, "the feed answered {}", answer.status);
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "feed: personal feed of {entries} events ({} bytes) among {} events, one client, 200 requests: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target < 20 ms)",
        first.body.len(),
        2 * args.events,
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        at(1.0).as_secs_f64() * 1000.0,
    )?;
    out.flush()?;

    for connections in [1, 8] {
        let run = bench::wrk(addr, &host, None, &path, connections, args.seconds).await?;
        writeln!(out, "feed: wrk -c{connections} {}s: {run}", args.seconds)?;
        out.flush()?;
    }
    Ok(())
}
