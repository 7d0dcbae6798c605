//! The morning rush of sick reports for `scripts/bench absence`: 2,000 parents of 100 schools
//! report a child sick between 07:45 and 08:15, compressed into 30 seconds, through the real
//! pages (the form, then `POST /absence`), while every teacher opens "absent today" a few
//! times. With `--rush care`, the same parents sign their child up for tomorrow's lunch in
//! the same 30 seconds, ten places a school (`GET /care`, then `POST /care/signups`), and SQL
//! checks that no day holds more children than places. Requests start at their planned moment whatever the others are doing (an open
//! loop), and their latency counts from that moment. Reports the latency of the form, the
//! report and the teachers' page, and checks by SQL that every report and its confirmation
//! mail was written once. The app runs in this process against the benchmark's PostgreSQL
//! and Redis; the schools are created once and reused.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveTime, Utc};
use clap::Parser;
use rand::Rng as _;
use schoolplein_calendar::zone;
use schoolplein_kernel::session::{SESSION_COOKIE, SessionData, Sessions};
use schoolplein_kernel::{AppState, Role};
use schoolplein_registration::{EmailAddress, enroll};
use schoolplein_server::app;
use schoolplein_tests::bench;
use schoolplein_tests::client::Client;
use tenant_router::{TenantEntry, TenantSlug, TenantTx};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    #[arg(long, default_value_t = 100)]
    schools: usize,
    /// Parents reporting a child, per school.
    #[arg(long, default_value_t = 20)]
    reports: usize,
    /// Groups per school, a teacher each, 25 pupils each.
    #[arg(long, default_value_t = 8)]
    groups: usize,
    /// How often each teacher opens "absent today" during the rush.
    #[arg(long, default_value_t = 3)]
    looks: usize,
    /// The half hour of the morning, compressed into this many seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// `reports` (sick reports) or `care` (lunch sign-ups for tomorrow).
    #[arg(long, default_value = "reports")]
    rush: String,
    /// Places per school in the care rush.
    #[arg(long, default_value_t = 10)]
    places: i32,
}

/// A school's groups and pupils, 25 per group.
const SCHOOL_SQL: &str = "
INSERT INTO groups (import_key, name, year)
SELECT 'G' || g, 'Groep ' || g, 1 + (g - 1) % 8 FROM generate_series(1, $groups) g;
INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2018-01-01',
       (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % $groups))
  FROM generate_series(1, 25 * $groups) n;
";

/// Someone signed in at a school.
struct Person {
    client: Client,
    host: Arc<String>,
}

/// A parent and the child they report.
struct Reporter {
    person: Person,
    child: i64,
}

/// The school `slug`, created with its groups, pupils, teachers and parents unless it exists.
async fn school(state: &AppState, slug: &str, args: &Args) -> anyhow::Result<TenantEntry> {
    let parsed = TenantSlug::parse(slug)?;
    if let Some(entry) = state.tenants.by_slug(&parsed) {
        return Ok((*entry).clone());
    }
    let school = bench::create_school(state, slug, &format!("Basisschool {slug}")).await?;
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let sql = SCHOOL_SQL.replace("$groups", &args.groups.to_string());
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *tx)
        .await?;
    let groups: Vec<i64> = sqlx::query_scalar("SELECT id FROM groups ORDER BY id")
        .fetch_all(&mut *tx)
        .await?;
    // Reports count from 08:15 as the school's own setting.
    sqlx::query("UPDATE absence_settings SET report_until = '08:15'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for (n, group) in groups.iter().enumerate() {
        let email = format!("leerkracht{n}@{slug}.example.nl");
        let enrolled = enroll(
            state,
            school.id,
            "Leerkracht",
            &EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!(e.key()))?,
            &[Role::Teacher],
            None,
        )
        .await?;
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        sqlx::query("INSERT INTO group_teachers (group_id, person_id) VALUES ($1, $2)")
            .bind(group)
            .bind(enrolled.person_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    // The parents of the first children of every group, round the groups.
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let pupils: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM pupils ORDER BY row_number() OVER (PARTITION BY group_id ORDER BY id), id
          LIMIT $1",
    )
    .bind(i64::try_from(args.reports)?)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    for (n, pupil) in pupils.iter().enumerate() {
        let email = format!("ouder{n}@{slug}.example.nl");
        let enrolled = enroll(
            state,
            school.id,
            "Ouder",
            &EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!(e.key()))?,
            &[Role::Parent],
            None,
        )
        .await?;
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        sqlx::query(
            "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
             VALUES ($1, $2, 'active', now())",
        )
        .bind(pupil)
        .bind(enrolled.person_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    sqlx::raw_sql("ANALYZE groups, pupils, guardians, people, group_teachers, absences")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(school)
}

/// A signed-in client for every person of `kind` (`staff` or `parent`) of the school, with
/// their child (parents) — sessions made directly in the session store.
async fn sign_in(
    state: &AppState,
    addr: SocketAddr,
    school: &TenantEntry,
    kind: &str,
) -> anyhow::Result<Vec<(Person, Option<i64>)>> {
    let host = Arc::new(format!("{}.schoolplein.test", school.slug));
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let people: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT pe.account_id, (SELECT g.pupil_id FROM guardians g WHERE g.person_id = pe.id LIMIT 1)
           FROM people pe WHERE pe.kind = $1 AND pe.account_id IS NOT NULL ORDER BY pe.id",
    )
    .bind(kind)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let sessions = Sessions::from_state(state);
    let mut signed_in = Vec::with_capacity(people.len());
    for (account_id, child) in people {
        let token = sessions
            .create(&SessionData {
                account_id,
                created_at: Utc::now().timestamp(),
                keep: false,
                device: "bench".to_owned(),
            })
            .await?;
        let mut client = Client::new(addr);
        client.set_cookie(&host, SESSION_COOKIE, token.expose());
        signed_in.push((
            Person {
                client,
                host: host.clone(),
            },
            child,
        ));
    }
    Ok(signed_in)
}

/// What one request took, by page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Form,
    Report,
    Today,
    CareForm,
    CareSignup,
}

struct Timed {
    page: Page,
    status: u16,
    latency: Duration,
}

/// A parent at their moment: the form, then the report for today.
async fn report(mut reporter: Reporter, at: Instant) -> Vec<Timed> {
    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    let host = reporter.person.host.clone();
    let form = reporter.person.client.get(&host, "/absence").await;
    let mut timed = vec![Timed {
        page: Page::Form,
        status: form.status,
        latency: at.elapsed(),
    }];
    let sent = Instant::now();
    let child = reporter.child.to_string();
    let answer = reporter
        .person
        .client
        .post_form(
            &host,
            "/absence",
            &[
                ("children", child.as_str()),
                ("when", "today"),
                ("reason", "ill"),
                ("note", "Koorts"),
            ],
        )
        .await;
    timed.push(Timed {
        page: Page::Report,
        status: answer.status,
        latency: sent.elapsed(),
    });
    timed
}

/// A teacher opening "absent today" at each of their moments.
async fn look(mut teacher: Person, moments: Vec<Instant>) -> Vec<Timed> {
    let mut timed = Vec::new();
    for at in moments {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        let host = teacher.host.clone();
        let page = teacher.client.get(&host, "/absence/today").await;
        timed.push(Timed {
            page: Page::Today,
            status: page.status,
            latency: at.elapsed(),
        });
    }
    timed
}

/// How many requests of `page` there were, and their latency's p50, p99 and maximum in ms.
fn figures_of(timed: &[Timed], page: Page) -> (usize, f64, f64, f64) {
    let mut latencies: Vec<Duration> = timed
        .iter()
        .filter(|t| t.page == page)
        .map(|t| t.latency)
        .collect();
    latencies.sort_unstable();
    (
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
    )
}

/// Answers other than a form's redirect or a page's 200.
fn unexpected_of(timed: &[Timed]) -> usize {
    timed
        .iter()
        .filter(|t| match t.page {
            Page::Report | Page::CareSignup => t.status != 303,
            Page::Form | Page::Today | Page::CareForm => t.status != 200,
        })
        .count()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    schoolplein_server::serve::install_crypto_provider();
    let config = bench::config(&args.database_url, &args.redis_url, "bench-absence:", &[])?;
    let platform = schoolplein_kernel::db::postgres_pool(&config.database)?;
    tenant_router::fleet::migrate_platform(&platform).await?;
    // Schools made by an older build get this build's tables first.
    tenant_router::fleet::migrate_fleet(
        &platform,
        &tenant_router::TenantMigrations::embedded(),
        &tenant_router::fleet::FleetOptions::default(),
    )
    .await?;
    platform.close().await;
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
    let addr = bench::serve(&state).await?;

    let set_up = Instant::now();
    let mut schools = Vec::with_capacity(args.schools);
    for n in 1..=args.schools {
        schools.push(school(&state, &format!("ochtend-{n:03}"), &args).await?);
    }
    // Every morning starts without reports: this run's are the only ones of the day.
    for school in &schools {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        sqlx::raw_sql("TRUNCATE absences").execute(&mut *tx).await?;
        tx.commit().await?;
    }
    let mut reporters = Vec::new();
    let mut teachers = Vec::new();
    for school in &schools {
        for (person, child) in sign_in(&state, addr, school, "parent").await? {
            let child = child.ok_or_else(|| anyhow::anyhow!("a parent without a child"))?;
            reporters.push(Reporter { person, child });
        }
        for (person, _) in sign_in(&state, addr, school, "staff").await? {
            teachers.push(person);
        }
    }
    let set_up = set_up.elapsed();
    if args.rush == "care" {
        return care_rush(&state, &args, &schools, reporters, set_up).await;
    }

    // The clock stands at 08:00 Dutch time today: every report is in time, whatever the
    // hour the benchmark runs at.
    let today = zone::today(Utc::now());
    let eight = zone::instant(today.and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    state.clock.set(eight);

    // The mails of this run are those written after it starts.
    let mails_before: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM platform.outbox")
        .fetch_one(state.db.pool())
        .await?;
    let window = Duration::from_secs(args.seconds);
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    {
        let mut rng = rand::rng();
        // Parents come at random moments of the window, most around its middle (08:00).
        for reporter in reporters {
            let share = (rng.random::<f64>() + rng.random::<f64>()) / 2.0;
            tasks.push(tokio::spawn(report(
                reporter,
                start + window.mul_f64(share),
            )));
        }
        // Teachers look in the second half (from 08:00), when the reports are in.
        for teacher in teachers {
            let moments = (0..args.looks)
                .map(|_| start + window.mul_f64(0.5 + rng.random::<f64>() / 2.0))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            tasks.push(tokio::spawn(look(teacher, moments)));
        }
    }
    let mut timed = Vec::new();
    for task in tasks {
        timed.extend(task.await?);
    }
    let wall = start.elapsed();
    let figures = |page: Page| figures_of(&timed, page);
    let unexpected = unexpected_of(&timed);

    let mut reports = 0i64;
    let mut twice = 0i64;
    for school in &schools {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let (n, doubled): (i64, i64) =
            sqlx::query_as("SELECT count(*), count(*) - count(DISTINCT pupil_id) FROM absences")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        reports += n;
        twice += doubled;
    }
    let ids: Vec<i64> = schools.iter().map(|s| s.id.get()).collect();
    let mails: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform.outbox
          WHERE tenant_id = ANY($1) AND id > $2 AND subject LIKE 'Ziekmelding ontvangen%'",
    )
    .bind(&ids)
    .bind(mails_before)
    .fetch_one(state.db.pool())
    .await?;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "absence: {} schools, {} parents reporting and {} teachers looking, over {} s (the half hour 07:45–08:15; set-up {:.1} s); the run took {:.1} s",
        schools.len(),
        figures(Page::Report).0,
        figures(Page::Today).0 / args.looks.max(1),
        args.seconds,
        set_up.as_secs_f64(),
        wall.as_secs_f64(),
    )?;
    for (page, name, target) in [
        (
            Page::Report,
            "POST /absence (the report)",
            " (target p99 < 50 ms)",
        ),
        (Page::Form, "GET /absence (the form)", ""),
        (Page::Today, "GET /absence/today (teachers)", ""),
    ] {
        let (n, p50, p99, max) = figures(page);
        writeln!(
            out,
            "absence: {name}: {n} requests, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms{target}"
        )?;
    }
    writeln!(
        out,
        "absence: by SQL afterwards: {reports} reports, children reported twice: {twice}, confirmation mails queued: {mails}; unexpected answers: {unexpected}"
    )?;
    out.flush()?;
    let expected = figures(Page::Report).0 as i64;
    anyhow::ensure!(
        reports == expected && twice == 0 && mails == expected && unexpected == 0,
        "the rush lost, doubled or refused reports"
    );
    Ok(())
}

/// A parent at their moment: the care page, then a sign-up for `day`.
async fn sign_up(mut reporter: Reporter, moment: i64, day: String, at: Instant) -> Vec<Timed> {
    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    let host = reporter.person.host.clone();
    let form = reporter.person.client.get(&host, "/care").await;
    let mut timed = vec![Timed {
        page: Page::CareForm,
        status: form.status,
        latency: at.elapsed(),
    }];
    let sent = Instant::now();
    let answer = reporter
        .person
        .client
        .post_form(
            &host,
            "/care/signups",
            &[
                ("child", reporter.child.to_string().as_str()),
                ("moment", moment.to_string().as_str()),
                ("day", day.as_str()),
            ],
        )
        .await;
    timed.push(Timed {
        page: Page::CareSignup,
        status: answer.status,
        latency: sent.elapsed(),
    });
    timed
}

/// Every parent signs their child up for the next school day's lunch, `--places` a school,
/// in the same compressed half hour; then SQL counts who got a place.
async fn care_rush(
    state: &AppState,
    args: &Args,
    schools: &[TenantEntry],
    reporters: Vec<Reporter>,
    set_up: Duration,
) -> anyhow::Result<()> {
    // The next weekday after today, and the clock at noon the day before it.
    let today = zone::today(Utc::now());
    let day = (1..=3)
        .map(|n| today + chrono::Days::new(n))
        .find(|d| {
            !matches!(
                chrono::Datelike::weekday(d),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            )
        })
        .unwrap_or(today);
    let eve = day.pred_opt().unwrap_or(day);
    let noon = zone::instant(eve.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    state.clock.set(noon);
    let mut moments = std::collections::HashMap::new();
    for school in schools {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        sqlx::raw_sql("TRUNCATE care_signups, care_days")
            .execute(&mut *tx)
            .await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM care_moments WHERE name = 'Overblijven'")
                .fetch_optional(&mut *tx)
                .await?;
        let moment = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO care_moments (name, weekdays, capacity, price_cents)
                     VALUES ('Overblijven', '{1,2,3,4,5}', $1, 350) RETURNING id",
                )
                .bind(args.places)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        sqlx::query("UPDATE care_moments SET capacity = $1, active = true WHERE id = $2")
            .bind(args.places)
            .bind(moment)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        moments.insert(school.slug.as_str().to_owned(), moment);
    }
    let window = Duration::from_secs(args.seconds);
    let start = Instant::now() + Duration::from_millis(200);
    let day_text = day.format("%Y-%m-%d").to_string();
    let mut tasks = Vec::new();
    {
        let mut rng = rand::rng();
        for reporter in reporters {
            let slug = reporter
                .person
                .host
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned();
            let moment = *moments
                .get(&slug)
                .ok_or_else(|| anyhow::anyhow!("a parent of an unknown school"))?;
            let share = (rng.random::<f64>() + rng.random::<f64>()) / 2.0;
            tasks.push(tokio::spawn(sign_up(
                reporter,
                moment,
                day_text.clone(),
                start + window.mul_f64(share),
            )));
        }
    }
    let mut timed = Vec::new();
    for task in tasks {
        timed.extend(task.await?);
    }
    let wall = start.elapsed();
    let figures = |page: Page| figures_of(&timed, page);
    let unexpected = unexpected_of(&timed);
    let (mut placed, mut overbooked, mut counts_off) = (0i64, 0i64, 0i64);
    for school in schools {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let (n, taken, capacity): (i64, i64, i32) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM care_signups),
                    coalesce((SELECT sum(taken) FROM care_days), 0)::bigint,
                    (SELECT capacity FROM care_moments WHERE name = 'Overblijven')",
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        placed += n;
        overbooked += (n - i64::from(capacity)).max(0);
        counts_off += i64::from(n != taken);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "care: {} schools, {} parents signing up for {} places a school on {day_text}, over {} s (set-up {:.1} s); the run took {:.1} s",
        schools.len(),
        figures(Page::CareSignup).0,
        args.places,
        args.seconds,
        set_up.as_secs_f64(),
        wall.as_secs_f64(),
    )?;
    for (page, name) in [
        (Page::CareSignup, "POST /care/signups (the sign-up)"),
        (Page::CareForm, "GET /care (the page)"),
    ] {
        let (n, p50, p99, max) = figures(page);
        writeln!(
            out,
            "care: {name}: {n} requests, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
        )?;
    }
    writeln!(
        out,
        "care: by SQL afterwards: {placed} children placed (of {} places), over capacity: {overbooked}, schools whose count differs from their sign-ups: {counts_off}; unexpected answers: {unexpected}",
        i64::from(args.places) * schools.len() as i64,
    )?;
    out.flush()?;
    anyhow::ensure!(
        overbooked == 0
            && counts_off == 0
            && unexpected == 0
            && placed == i64::from(args.places) * schools.len() as i64,
        "the care rush overbooked, lost places or refused sign-ups"
    );
    Ok(())
}
