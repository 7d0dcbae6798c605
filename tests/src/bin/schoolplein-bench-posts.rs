//! Benchmarks of news and urgent messages for `scripts/bench posts`: a parent's timeline in a
//! school with 5,000 posts under 50 concurrent clients (wrk), the same parent's home page ("the
//! member's day") right after it in turns, as a ratio to the timeline, and an urgent post to
//! 1,000 parents from the admin's "send" until the last mail is accepted by an SMTP server.
//! The real app and the outbox worker run in this process against the benchmark's PostgreSQL
//! and Redis; the SMTP server is the test harness's, in this process too.

use std::collections::HashSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use schoolplein_kernel::config::MailTransport;
use schoolplein_kernel::{AppState, Role};
use schoolplein_mailing::Worker;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_server::app;
use schoolplein_tests::bench;
use schoolplein_tests::client::Client;
use schoolplein_tests::smtp::SmtpServer;
use tenant_router::{TenantEntry, TenantSlug, TenantTx};
use tokio::sync::oneshot;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    /// Posts in the timeline's school.
    #[arg(long, default_value_t = 5000)]
    posts: u32,
    /// Parents the urgent post goes to.
    #[arg(long, default_value_t = 1000)]
    parents: u32,
    /// wrk's run on the timeline (and on the home page), in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rounds of the timeline and the home page, each kept in memory and then read every time.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Further paths to measure as the same parent after the timeline and home page
    /// (comma-separated).
    #[arg(long, value_delimiter = ',')]
    also: Vec<String>,
    /// Instead of the runs above: a parent's first timeline page and group page in each of
    /// this many schools (`fleet-1` …, kept between runs), requested at random under 50
    /// clients, with nothing changing and then with a change every 50 ms somewhere.
    #[arg(long, default_value_t = 0)]
    fleet: u32,
    /// Posts in each school of the fleet run.
    #[arg(long, default_value_t = 150)]
    fleet_posts: u32,
    /// The fleet run's pages (some of timeline, group, month).
    #[arg(long, value_delimiter = ',', default_value = "timeline,group,month")]
    fleet_pages: Vec<String>,
    /// The fleet run's cases (some of still, changing: nothing changing, a post changed
    /// every 50 ms).
    #[arg(long, value_delimiter = ',', default_value = "still,changing")]
    fleet_cases: Vec<String>,
}

const PASSWORD: &str = "Bench-Wacht-2026!";
/// Pupils in each school of the fleet run: the Dutch average (1.4 million over about 6,000
/// schools).
const FLEET_PUPILS: u32 = 230;
/// Posts on one timeline page (`PAGE_SIZE` in the posts routes).
const TIMELINE_PAGE: usize = 20;
/// The groups of the viewing parent's three children: years 1, 3 and 6.
const VIEWER_GROUPS: [&str; 3] = ["G1", "G11", "G21"];
/// Posts on the home page's news list (`HOME_POSTS` in the home route).
const HOME_NEWS: usize = 5;
/// The home page may be this much slower than the timeline (issue 18: "within 20 %").
const HOME_MARGIN: f64 = 0.20;
/// The urgent mails go to this domain only, so the count at the SMTP server is theirs.
const URGENT_DOMAIN: &str = "dringend.example.nl";
/// How long the urgent mails may take before the run gives up (the target is 10 s).
const URGENT_LIMIT: Duration = Duration::from_secs(120);

/// A member with an account and the benchmark's password; returns their person id.
async fn enroll_member(
    state: &AppState,
    school: &TenantEntry,
    name: &str,
    email: &str,
    role: Role,
) -> anyhow::Result<i64> {
    let enrolled = enroll(
        state,
        school.id,
        name,
        &EmailAddress::parse(email).map_err(|e| anyhow::anyhow!(e.key()))?,
        &[role],
        Some(&NewPassword::parse(PASSWORD).map_err(|e| anyhow::anyhow!(e.key()))?),
    )
    .await?;
    Ok(enrolled.person_id)
}

/// Signs in through `POST /sign-in`, as a browser does.
async fn signed_in(addr: SocketAddr, host: &str, email: &str) -> anyhow::Result<Client> {
    let mut client = Client::new(addr);
    let answer = client.sign_in(host, email, PASSWORD, false).await;
    anyhow::ensure!(answer.status == 303, "sign-in answered {}", answer.status);
    Ok(client)
}

/// 32 groups (four per year), a teacher for each, a head who posts to the whole school,
/// `$pupils` pupils with one or two parents each (900: 1,620 parents), `$posts` posts over the past
/// ~21 months (one every three hours: a fifth to the whole school, the rest to one group or
/// now and then two; a sixth of them agenda items), and the parents' reads of the newest
/// 1,000 posts (each parent read 60 % of those meant for them).
const TIMELINE_SCHOOL_SQL: &str = "
INSERT INTO groups (import_key, name, year)
SELECT 'G' || g, 'Groep ' || (1 + (g - 1) / 4) || chr(65 + (g - 1) % 4), 1 + (g - 1) / 4
  FROM generate_series(1, 32) g;
INSERT INTO people (name, email, kind, roles)
VALUES ('Directeur', 'directie@meting.example.nl', 'staff', '{school_admin}');
INSERT INTO people (name, email, kind, roles)
SELECT 'Leerkracht ' || g, 'leerkracht' || g || '@meting.example.nl', 'staff', '{teacher}'
  FROM generate_series(1, 32) g;
INSERT INTO group_teachers (group_id, person_id)
SELECT gr.id, pe.id FROM groups gr
  JOIN people pe ON pe.email = 'leerkracht' || substr(gr.import_key, 2) || '@meting.example.nl';
INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2015-01-01' + (n % 2500),
       (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % 32))
  FROM generate_series(1, $pupils) n;
INSERT INTO people (name, email, kind, roles)
SELECT 'Ouder ' || n || parent, 'ouder' || n || parent || '@meting.example.nl', 'parent', '{parent}'
  FROM generate_series(1, $pupils) n, unnest(ARRAY['a', 'b']) parent
 WHERE parent = 'a' OR n % 10 >= 2;
INSERT INTO guardians (pupil_id, person_id, status, approved_at)
SELECT p.id, pe.id, 'active', now()
  FROM pupils p
  JOIN people pe ON pe.email IN ('ouder' || substr(p.import_key, 2) || 'a@meting.example.nl',
                                 'ouder' || substr(p.import_key, 2) || 'b@meting.example.nl');
WITH plan AS (
    SELECT n,
           n % 5 = 0 AS whole_school,
           1 + n % 32 AS group_no,
           n % 10 = 3 AS two_groups,
           CASE WHEN n % 6 = 0 THEN 'agenda' ELSE 'news' END AS kind,
           -- One every three hours, a little off the hour; unique, so it names the post below.
           now() - ($posts - n) * interval '3 hours' - (n * 37 % 60) * interval '1 minute'
               AS published_at
      FROM generate_series(1, $posts) n
), inserted AS (
    INSERT INTO posts (kind, title, body, happens_on, author_id, whole_school, published_at)
    SELECT plan.kind,
           CASE WHEN plan.whole_school THEN 'Nieuws voor de hele school ' ELSE 'Uit de groep ' END
               || plan.n,
           repeat('Deze week hebben we veel gedaan in de klas. ', 2 + plan.n % 5) || E'\\n\\n'
               || repeat('Denkt u aan de gymspullen en een fruithap voor de pauze? ', 1 + plan.n % 3)
               || E'\\n\\nMet vriendelijke groet,\\nDe school',
           CASE WHEN plan.kind = 'agenda' THEN (plan.published_at + interval '9 days')::date END,
           CASE WHEN plan.whole_school
                THEN (SELECT id FROM people WHERE email = 'directie@meting.example.nl')
                ELSE (SELECT person_id FROM group_teachers gt JOIN groups g ON g.id = gt.group_id
                       WHERE g.import_key = 'G' || plan.group_no)
           END,
           plan.whole_school,
           plan.published_at
      FROM plan ORDER BY plan.n
    RETURNING id, published_at
)
INSERT INTO post_groups (post_id, group_id)
SELECT inserted.id, g.id
  FROM inserted
  JOIN plan ON plan.published_at = inserted.published_at AND NOT plan.whole_school
  JOIN groups g ON g.import_key IN ('G' || plan.group_no,
                                    CASE WHEN plan.two_groups THEN 'G' || (1 + (plan.n + 1) % 32) END);
INSERT INTO post_reads (post_id, person_id, read_at)
SELECT DISTINCT po.id, g.person_id, po.published_at + interval '1 hour'
  FROM (SELECT * FROM posts ORDER BY published_at DESC LIMIT 1000) po
  JOIN pupils p ON po.whole_school
                OR p.group_id IN (SELECT group_id FROM post_groups WHERE post_id = po.id)
  JOIN guardians g ON g.pupil_id = p.id
 WHERE random() < 0.6;
";

/// The timeline school's calendar, so the home page's next seven days have work to do:
/// 600 events over 400 days around today (three every two days, 8:00–16:00), a quarter for
/// the whole school and the rest for one group; every tenth all day, for one to three days;
/// a seventh for staff only, the rest for members (every eleventh public). And one outing in
/// the next days for each of the viewer's groups (`$viewer_groups`), so their strip of days
/// counts something whatever today's date.
const CALENDAR_SQL: &str = "
WITH plan AS (
    SELECT n,
           n % 4 = 0 AS whole_school,
           n % 10 = 4 AS all_day,
           'G' || (1 + n * 7 % 32) AS group_key,
           CASE WHEN n % 7 = 0 THEN 'staff' WHEN n % 11 = 0 THEN 'public' ELSE 'members' END
               AS visibility,
           date_trunc('day', now()) - interval '200 days'
               + (n * 400 / 600) * interval '1 day' + (8 + n % 8) * interval '1 hour' AS starts_at
      FROM generate_series(1, 600) n
), inserted AS (
    INSERT INTO events (title, description, place, visibility, whole_school, starts_at, ends_at,
                        first_day, last_day, author_id)
    SELECT 'Activiteit ' || plan.n,
           repeat('We gaan met de klas op pad; neemt u een lunchpakket mee? ', 1 + plan.n % 3),
           'Gymzaal ' || (1 + plan.n % 3),
           plan.visibility,
           plan.whole_school,
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
  JOIN plan ON 'Activiteit ' || plan.n = inserted.title AND NOT plan.whole_school
  JOIN groups g ON g.import_key = plan.group_key;
WITH outing AS (
    SELECT key, days FROM unnest(ARRAY[$viewer_groups]) WITH ORDINALITY AS v(key, days)
), inserted AS (
    INSERT INTO events (title, description, place, visibility, whole_school, starts_at, ends_at,
                        author_id)
    SELECT 'Uitstapje ' || outing.key, 'Naar de kinderboerderij; graag laarzen aan.',
           'Kinderboerderij', 'members', false,
           date_trunc('day', now()) + outing.days * interval '1 day' + interval '9 hours',
           date_trunc('day', now()) + outing.days * interval '1 day' + interval '12 hours',
           (SELECT id FROM people WHERE email = 'directie@meting.example.nl')
      FROM outing
    RETURNING id, title
)
INSERT INTO event_groups (event_id, group_id)
SELECT inserted.id, g.id FROM inserted JOIN groups g ON 'Uitstapje ' || g.import_key = inserted.title;
";

/// 34 groups and `$parents` pupils, each with one parent (no accounts: urgent mail does not
/// need one), as in the end-to-end test of urgent messages.
const URGENT_SCHOOL_SQL: &str = "
INSERT INTO groups (import_key, name, year)
SELECT 'G' || g, 'Groep ' || g, 1 + g % 8 FROM generate_series(1, 34) g;
INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2018-01-01',
       (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % 34))
  FROM generate_series(1, $parents) n;
INSERT INTO people (name, email, kind, roles)
SELECT 'Ouder ' || n, 'ouder' || n || '@$domain', 'parent', '{parent}'
  FROM generate_series(1, $parents) n;
INSERT INTO guardians (pupil_id, person_id, status, approved_at)
SELECT p.id, pe.id, 'active', now()
  FROM pupils p JOIN people pe ON pe.email = 'ouder' || substr(p.import_key, 2) || '@$domain';
";

/// Connections of the app's pools that sit inside a transaction nobody is running.
///
/// wrk cuts its connections when it stops, which cancels the requests under way; one
/// cancelled while its `BEGIN` is on the wire gives its connection back to the pool inside
/// that transaction (sqlx raises the connection's transaction depth only once `BEGIN` has
/// answered, so nothing rolls it back). Whatever runs on such a connection later fails:
/// counted here so that those failures are not taken for slowness.
async fn connections_left_in_a_transaction(state: &AppState) -> anyhow::Result<i64> {
    // Requests still finishing give their connections back within moments.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND state IN ('idle in transaction', 'idle in transaction (aborted)')",
    )
    .fetch_one(state.db.pool())
    .await?)
}

// glibc's allocator spent about a tenth of the server's CPU on a busy page (measured with
// perf, docs/BENCHMARKS.md); mimalloc's per-thread heaps do the same work for less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    schoolplein_server::serve::install_crypto_provider();
    let smtp = SmtpServer::start().await;
    // The outbox worker as shipped (config/base.toml), not the test profile's small batches
    // and short lease.
    let mut config = bench::config(
        &args.database_url,
        &args.redis_url,
        "bench-posts:",
        &[
            ("SCHOOLPLEIN__MAIL__BATCH_SIZE", "100"),
            ("SCHOOLPLEIN__MAIL__CONCURRENCY", "8"),
            ("SCHOOLPLEIN__MAIL__LEASE_SECS", "300"),
            ("SCHOOLPLEIN__MAIL__POLL_INTERVAL_MS", "5000"),
            ("SCHOOLPLEIN__MAIL__SMTP__TIMEOUT_SECS", "30"),
        ],
    )?;
    config.mail.transport = MailTransport::Smtp;
    config.mail.smtp.host = "127.0.0.1".into();
    config.mail.smtp.port = smtp.port();
    let platform = schoolplein_kernel::db::postgres_pool(&config.database)?;
    tenant_router::fleet::migrate_platform(&platform).await?;
    // Schools made by an older build (the fleet is kept between runs) get this build's tables.
    let migrated = tenant_router::fleet::migrate_fleet(
        &platform,
        &tenant_router::TenantMigrations::embedded(),
        &tenant_router::fleet::FleetOptions::default(),
    )
    .await?;
    anyhow::ensure!(
        migrated.failures.is_empty(),
        "{} schools could not be migrated",
        migrated.failures.len()
    );
    // Mail that an interrupted earlier run left queued would compete with this run's.
    sqlx::query("TRUNCATE platform.outbox CASCADE")
        .execute(&platform)
        .await?;
    platform.close().await;
    // The same app with nothing kept in memory: every timeline page reads the database.
    let mut reading_config = config.clone();
    reading_config.database.school_cache_mib = 0;
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
    let addr = bench::serve(&state).await?;
    let reading_state = app::build_state(reading_config).await?;
    let _reading_refresh = reading_state
        .tenants
        .spawn_refresh(reading_state.db.pool().clone(), Duration::from_secs(60));
    let reading_addr = bench::serve(&reading_state).await?;
    let stamp = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    if args.fleet > 0 {
        let report = fleet(&state, addr, &args).await?;
        writeln!(std::io::stdout(), "{report}")?;
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    // The urgent post first: the end of wrk's run can leave pooled connections unusable (see
    // `connections_left_in_a_transaction`), which would slow the outbox worker down.
    writeln!(
        out,
        "{}",
        urgent_post(&state, &smtp, addr, &args, &stamp).await?
    )?;
    out.flush()?;
    writeln!(
        out,
        "{}",
        timeline(&state, [addr, reading_addr], &args, &stamp).await?
    )?;
    out.flush()?;
    Ok(())
}

/// A parent's first timeline page under 50 clients, on the app as shipped and on one that
/// keeps nothing in memory, taking turns: the report lines.
async fn timeline(
    state: &AppState,
    [addr, reading_addr]: [SocketAddr; 2],
    args: &Args,
    stamp: &str,
) -> anyhow::Result<String> {
    let viewer_email = format!("ouder-meting-{stamp}@example.nl");
    let (school, viewer_posts) = timeline_school(
        state,
        &format!("posts-{stamp}"),
        900,
        args.posts,
        &viewer_email,
    )
    .await?;
    let host = format!("{}.schoolplein.test", school.slug);

    let mut parent = signed_in(addr, &host, &viewer_email).await?;
    let page = parent.get(&host, "/timeline").await;
    let text = page.text();
    anyhow::ensure!(
        page.status == 200 && text.matches("id=\"post-").count() == TIMELINE_PAGE,
        "the timeline answered {} with {} posts, expected {TIMELINE_PAGE}",
        page.status,
        text.matches("id=\"post-").count()
    );
    let unread_on_page = text.matches("class=\"post unread").count();
    let home = home_page(&mut parent, &host).await?;
    let cookie = format!(
        "sp_session={}",
        parent.cookie(&host, "sp_session").unwrap_or_default()
    );
    // The timeline and right after it the home page, on the same app, then the same on the
    // app that reads every time: each pair shares the machine's state of the moment.
    let mut runs = String::new();
    for round in 1..=args.rounds {
        for (label, at) in [("kept", addr), ("read every time", reading_addr)] {
            let timeline =
                bench::wrk(at, &host, Some(&cookie), "/timeline", 50, args.seconds).await?;
            let home = bench::wrk(at, &host, Some(&cookie), "/", 50, args.seconds).await?;
            runs.push_str(&format!(
                "\nposts: timeline, first page {label}, round {round}, wrk -t2 -c50 {}s: {timeline} (target p99 < 25 ms)\
                 \nposts: home page, news {label}, round {round}, wrk -t2 -c50 {}s: {home}\
                 \nposts: home / timeline, {label}, round {round}: {}",
                args.seconds,
                args.seconds,
                ratio(&home, &timeline)
            ));
        }
    }
    let mut others = String::new();
    for path in args.also.iter().filter(|p| !p.is_empty()) {
        let run = bench::wrk(addr, &host, Some(&cookie), path, 50, args.seconds).await?;
        others.push_str(&format!(
            "\nposts: {path} as the same parent, wrk -c50 {}s: {run}",
            args.seconds
        ));
    }
    let stranded = connections_left_in_a_transaction(state).await?;
    if stranded > 0 {
        writeln!(
            std::io::stderr(),
            "posts: warning: when wrk stopped, {stranded} of the app's database connections were left inside a transaction (requests cancelled during BEGIN); statements later run on them fail"
        )?;
    }
    Ok(format!(
        "posts: timeline ({} posts, {viewer_posts} of them for a parent of 3 children in 3 groups; first page {TIMELINE_PAGE} posts, {unread_on_page} unread)\
         \nposts: home page of the same parent: {home}{runs}{others}",
        args.posts,
    ))
}

/// The viewer's first timeline page, group page and calendar month over `args.fleet` schools,
/// each once in turn (cold), then each request to a school drawn at random, 50 clients: first
/// with nothing changing, then with a post changed every 50 ms in a school drawn at random
/// (each change drops what that school's pages kept). The report lines.
async fn fleet(state: &AppState, addr: SocketAddr, args: &Args) -> anyhow::Result<String> {
    let started = Instant::now();
    let (mut created, mut lua_entries) = (0, String::new());
    let (mut schools, mut viewers) = (Vec::new(), Vec::new());
    for i in 1..=args.fleet {
        let slug = format!("fleet-{i}");
        let viewer_email = format!("ouder-meting-fleet-{i}@example.nl");
        let school = match state.tenants.by_slug(&TenantSlug::parse(&slug)?) {
            Some(school) => (*school).clone(),
            None => {
                created += 1;
                timeline_school(state, &slug, FLEET_PUPILS, args.fleet_posts, &viewer_email)
                    .await?
                    .0
            }
        };
        let host = format!("{slug}.schoolplein.test");
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let group_id: i64 = sqlx::query_scalar(
            "SELECT min(p.group_id) FROM guardians g
               JOIN pupils p ON p.id = g.pupil_id
               JOIN people pe ON pe.id = g.person_id
              WHERE pe.email = $1",
        )
        .bind(&viewer_email)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let viewer = signed_in(addr, &host, &viewer_email).await?;
        let cookie = viewer.cookie(&host, "sp_session").unwrap_or_default();
        lua_entries.push_str(&format!(
            "  {{ host = \"{host}\", cookie = \"sp_session={cookie}\", group = \"/groups/{group_id}\" }},\n"
        ));
        schools.push(school.id);
        viewers.push((host, viewer, format!("/groups/{group_id}")));
    }
    let ready = started.elapsed();
    // Each school's pages once, one after another, as after a start: what is read cold (the
    // school's entries, the backends' catalog entries) is not in the runs below.
    let warming = Instant::now();
    let mut slowest = Duration::ZERO;
    for (host, viewer, group) in &mut viewers {
        for path in ["/timeline", group.as_str(), "/calendar"] {
            let one = Instant::now();
            let answer = viewer.get(host, path).await;
            anyhow::ensure!(
                answer.status == 200,
                "{host}{path} answered {}",
                answer.status
            );
            slowest = slowest.max(one.elapsed());
        }
    }
    let warmed = warming.elapsed();
    let dir = std::env::temp_dir();
    let mut runs = String::new();
    for changing in [false, true] {
        let case = if changing { "changing" } else { "still" };
        if !args.fleet_cases.iter().any(|c| c == case) {
            continue;
        }
        let changes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let writer = changing.then(|| {
            let (state, schools, changes) = (state.clone(), schools.clone(), changes.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(50));
                loop {
                    tick.tick().await;
                    let school = schools[rand::random_range(0..schools.len())];
                    let Ok(mut tx) = TenantTx::begin(&state.schools, school).await else {
                        continue;
                    };
                    let changed = sqlx::query(
                        "UPDATE posts SET title = title
                          WHERE id = (SELECT max(id) FROM posts WHERE whole_school)",
                    )
                    .execute(&mut *tx)
                    .await;
                    if changed.is_ok() && tx.commit().await.is_ok() {
                        changes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        });
        for (name, page, path) in [
            ("timeline", "timeline, first page", "\"/timeline\""),
            ("group", "group page", "entry.group"),
            ("month", "calendar month", "\"/calendar\""),
        ] {
            if !args.fleet_pages.iter().any(|p| p == name) {
                continue;
            }
            // For whoever watches (or profiles) a run: which case starts now.
            eprintln!("posts: fleet: {page}, {case}: starting");
            let script = dir.join(format!(
                "schoolplein-bench-fleet-{}.lua",
                std::process::id()
            ));
            std::fs::write(
                &script,
                format!(
                    "local entries = {{\n{lua_entries}}}\n\
                     init = function(args) math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16)) end\n\
                     request = function()\n\
                       local entry = entries[math.random(#entries)]\n\
                       return wrk.format(\"GET\", {path}, {{ [\"Host\"] = entry.host, [\"Cookie\"] = entry.cookie }})\n\
                     end\n"
                ),
            )?;
            let reads_before = (state.school_data.reads(), state.accounts.reads());
            let run = bench::wrk_script(addr, &script, 50, args.seconds).await;
            let reads = (
                state.school_data.reads() - reads_before.0,
                state.accounts.reads() - reads_before.1,
            );
            std::fs::remove_file(&script).ok();
            let changed = changes.swap(0, std::sync::atomic::Ordering::Relaxed);
            runs.push_str(&format!(
                "\nposts: fleet of {} schools, {page}, {}, wrk -t2 -c50 {}s: {} (target p99 < 25 ms); during it {} entries and {} accounts read; after it {} entries kept, {:.1} MiB",
                args.fleet,
                if changing {
                    format!("a post changed every 50 ms somewhere ({changed} changes)")
                } else {
                    "nothing changing".to_owned()
                },
                args.seconds,
                run?,
                reads.0,
                reads.1,
                state.school_data.len(),
                state.school_data.bytes() as f64 / f64::from(1 << 20)
            ));
        }
        if let Some(writer) = writer {
            writer.abort();
        }
    }
    let database = &state.config.database;
    Ok(format!(
        "posts: fleet of {} schools ({created} created now, {} posts each), each viewer signed in, in {:.0} s; \
         {} connections, school_pools {}, pools_per_school {}\
         \nposts: fleet: each school's timeline, group page and month once, one after another (read cold): {:.1} s, slowest {:.1} ms{runs}",
        args.fleet,
        args.fleet_posts,
        ready.as_secs_f64(),
        database.max_connections,
        database.school_pools,
        database.pools_per_school,
        warmed.as_secs_f64(),
        slowest.as_secs_f64() * 1000.0,
    ))
}

/// A school at `slug` with `pupils` pupils and `posts` posts (`TIMELINE_SCHOOL_SQL`, the
/// calendar's events), and
/// its viewer at `viewer_email`: a parent of three children in three groups who has read
/// most of what reached them, with an urgent message unread. Returns the school and how many
/// posts reach the viewer.
async fn timeline_school(
    state: &AppState,
    slug: &str,
    pupils: u32,
    posts: u32,
    viewer_email: &str,
) -> anyhow::Result<(TenantEntry, i64)> {
    // The school, its posts and readers in bulk.
    let school = bench::create_school(state, slug, "Basisschool Meting").await?;
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let school_sql = TIMELINE_SCHOOL_SQL
        .replace("$posts", &posts.to_string())
        .replace("$pupils", &pupils.to_string());
    sqlx::raw_sql(sqlx::AssertSqlSafe(school_sql))
        .execute(&mut *tx)
        .await?;
    let viewer_groups = VIEWER_GROUPS.map(|key| format!("'{key}'")).join(", ");
    let calendar_sql = CALENDAR_SQL.replace("$viewer_groups", &viewer_groups);
    sqlx::raw_sql(sqlx::AssertSqlSafe(calendar_sql))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    // The viewer: a parent with an account whose three children are in three groups, who has
    // read most of what reached them except the last two days' posts and a few older ones;
    // the newest post to the whole school is an urgent message, so their home page has one
    // unread on top.
    let viewer_id =
        enroll_member(state, &school, "Ouder Meting", viewer_email, Role::Parent).await?;
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    sqlx::query(
        "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
         SELECT DISTINCT ON (p.group_id) p.id, $1, 'active', now()
           FROM pupils p JOIN groups g ON g.id = p.group_id
          WHERE g.import_key = ANY($2)
          ORDER BY p.group_id, p.id",
    )
    .bind(viewer_id)
    .bind(&VIEWER_GROUPS[..])
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE posts SET urgent = true
          WHERE id = (SELECT id FROM posts WHERE whole_school ORDER BY published_at DESC LIMIT 1)",
    )
    .execute(&mut *tx)
    .await?;
    let viewer_posts: i64 = sqlx::query_scalar(
        "WITH mine AS (SELECT p.group_id FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                        WHERE g.person_id = $1),
              seen AS (SELECT po.id, po.published_at FROM posts po
                        WHERE po.whole_school
                           OR EXISTS (SELECT 1 FROM post_groups pg
                                       WHERE pg.post_id = po.id
                                         AND pg.group_id IN (SELECT group_id FROM mine))),
              read AS (INSERT INTO post_reads (post_id, person_id, read_at)
                       SELECT id, $1, published_at + interval '2 hours' FROM seen
                        WHERE id % 9 <> 0 AND published_at < now() - interval '2 days')
         SELECT count(*) FROM seen",
    )
    .bind(viewer_id)
    .fetch_one(&mut *tx)
    .await?;
    // Autovacuum analyses tables this size within a minute; measure the plans a school in
    // use gets, not those for tables never analysed.
    sqlx::raw_sql(
        "ANALYZE groups, people, pupils, guardians, posts, post_groups, post_reads,
                 post_special_groups, special_group_members, events, event_groups",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((school, viewer_posts))
}

/// Checks that the parent's home page does its real work — an urgent message unread on
/// top, the count of unread posts, events in the next seven days, the newest posts — and
/// says what it shows.
async fn home_page(parent: &mut Client, host: &str) -> anyhow::Result<String> {
    let page = parent.get(host, "/").await;
    let text = page.text();
    let urgent = text.matches("class=\"urgent-link\"").count();
    let news = text.matches("class=\"news-item").count();
    let busy_days = text.matches("class=\"busy\"").count();
    let events: usize = text
        .split("class=\"count\"")
        .skip(1)
        .filter_map(|rest| {
            rest.split('>')
                .nth(1)?
                .split('<')
                .next()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .sum();
    let unread: String = text
        .split("id=\"unread-posts\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(
        page.status == 200
            && urgent >= 1
            && news == HOME_NEWS
            && busy_days >= 1
            && !unread.is_empty(),
        "the home page answered {} with {urgent} urgent, {news} news items, {busy_days} busy days, unread '{unread}'",
        page.status
    );
    Ok(format!(
        "{urgent} urgent unread, {unread} unread posts, {events} events on {busy_days} of the next 7 days, {news} newest posts, {} bytes",
        page.body.len()
    ))
}

/// A duration as wrk prints it (`850.00us`, `14.52ms`, `1.02s`, `2.00m`), in milliseconds.
fn millis(figure: &str) -> Option<f64> {
    let split = figure.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = figure.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

/// The home page's throughput and p99 as ratios to the timeline's, against the target
/// (throughput at least 80 % of the timeline's, p99 at most 120 % of it).
fn ratio(home: &bench::WrkRun, timeline: &bench::WrkRun) -> String {
    let per_second = |run: &bench::WrkRun| run.requests_per_second.parse::<f64>().ok();
    let (Some(home_rps), Some(timeline_rps), Some(home_p99), Some(timeline_p99)) = (
        per_second(home),
        per_second(timeline),
        millis(&home.p99),
        millis(&timeline.p99),
    ) else {
        return "? (wrk's figures unreadable)".to_owned();
    };
    let throughput = home_rps / timeline_rps;
    let p99 = home_p99 / timeline_p99;
    let mark = |met: bool| if met { "✔" } else { "✘" };
    format!(
        "requests/s ×{throughput:.2} {}, p99 ×{p99:.2} {} (target: within {:.0} %)",
        mark(throughput >= 1.0 - HOME_MARGIN),
        mark(p99 <= 1.0 + HOME_MARGIN),
        HOME_MARGIN * 100.0
    )
}

/// An urgent post to the whole school, from "send" to the last mail accepted: the report line.
async fn urgent_post(
    state: &AppState,
    smtp: &SmtpServer,
    addr: SocketAddr,
    args: &Args,
    stamp: &str,
) -> anyhow::Result<String> {
    // The outbox worker runs as inside `serve`: on the app's pool, with the shipped settings.
    // It starts before the urgent school is set up, so it listens for wake-ups by the time
    // the post is sent.
    let worker = Worker::new(state.db.pool().clone(), &state.config.mail)?;
    let (stop_worker, worker_stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(worker.run(async move {
        let _ = worker_stopped.await;
    }));

    let school =
        bench::create_school(state, &format!("dringend-{stamp}"), "Basisschool Dringend").await?;
    let host = format!("{}.schoolplein.test", school.slug);
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let school_sql = URGENT_SCHOOL_SQL
        .replace("$parents", &args.parents.to_string())
        .replace("$domain", URGENT_DOMAIN);
    sqlx::raw_sql(sqlx::AssertSqlSafe(school_sql))
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql("ANALYZE groups, people, pupils, guardians")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let admin_email = format!("directie-{stamp}@example.nl");
    enroll_member(state, &school, "Directeur", &admin_email, Role::SchoolAdmin).await?;
    let mut admin = signed_in(addr, &host, &admin_email).await?;
    // The form's page, for its token, as the admin's browser has it before "send".
    admin.get(&host, "/posts/new").await;

    let sent = Instant::now();
    let answer = admin
        .post_form(
            &host,
            "/posts",
            &[
                ("kind", "news"),
                ("title", "Ontruimingsoefening"),
                (
                    "body",
                    "Vandaag om 10 uur oefenen we de ontruiming.\n\nDe directie",
                ),
                ("whole_school", "on"),
                ("urgent", "on"),
            ],
        )
        .await;
    let post_took = sent.elapsed();
    anyhow::ensure!(
        answer.status == 303,
        "the urgent post answered {}",
        answer.status
    );
    let expected = args.parents as usize;
    let urgent_suffix = format!("@{URGENT_DOMAIN}");
    let is_urgent_recipient = |to: &String| to.ends_with(&urgent_suffix);
    // Counting is cheap; the received mails are copied only once enough have arrived.
    let urgent_mails = loop {
        if smtp.count() >= expected {
            let mails: Vec<_> = smtp
                .received()
                .into_iter()
                .filter(|mail| mail.rcpt_to.iter().any(is_urgent_recipient))
                .collect();
            if mails.len() >= expected {
                break mails;
            }
        }
        anyhow::ensure!(
            sent.elapsed() < URGENT_LIMIT,
            "{} of {expected} urgent mails arrived within {} s",
            smtp.count(),
            URGENT_LIMIT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let _ = stop_worker.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
    let first = urgent_mails
        .iter()
        .map(|mail| mail.received_at)
        .min()
        .unwrap_or(sent);
    let last = urgent_mails
        .iter()
        .map(|mail| mail.received_at)
        .max()
        .unwrap_or(sent);
    let recipients: HashSet<&String> = urgent_mails.iter().flat_map(|mail| &mail.rcpt_to).collect();
    Ok(format!(
        "posts: urgent post to {expected} parents (whole school): POST /posts {} ms; send → first mail accepted {} ms, last {} ms ({} recipients, {} duplicates) (target < 10000 ms)",
        post_took.as_millis(),
        first.saturating_duration_since(sent).as_millis(),
        last.saturating_duration_since(sent).as_millis(),
        recipients.len(),
        urgent_mails.len() - recipients.len(),
    ))
}
