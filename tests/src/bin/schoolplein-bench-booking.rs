//! The opening rush of conference booking for `scripts/bench booking`: 1,000 parents of 30
//! groups book their talk within ten seconds of the rounds opening, through the real pages
//! (`POST /conferences/book`, a 409 sending them to another time), at most `--in-flight`
//! requests at once. Reports the booking latency and checks by SQL that no slot was booked
//! twice and no child has two talks. The app runs in this process against the benchmark's
//! PostgreSQL and Redis.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveTime, Utc};
use clap::Parser;
use rand::Rng as _;
use rand::seq::SliceRandom as _;
use schoolplein_calendar::rounds::{self, BookingMode, NewRound, RoundSettings};
use schoolplein_calendar::slots::RoundPlan;
use schoolplein_kernel::session::{SESSION_COOKIE, SessionData, Sessions};
use schoolplein_kernel::{AppState, Role};
use schoolplein_registration::{EmailAddress, enroll};
use schoolplein_server::app;
use schoolplein_tests::bench;
use schoolplein_tests::client::Client;
use tenant_router::{TenantEntry, TenantTx};
use tokio::sync::Semaphore;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    /// Parents, one child each.
    #[arg(long, default_value_t = 1000)]
    parents: usize,
    /// Groups, one round each.
    #[arg(long, default_value_t = 30)]
    groups: usize,
    /// The parents arrive spread evenly over this many seconds after the opening.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Booking requests under way at once, at most.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
}

/// `$groups` groups, a teacher who plans their rounds, `$parents` pupils spread over them.
const SCHOOL_SQL: &str = "
INSERT INTO people (name, email, kind, roles)
VALUES ('Leerkracht', 'leerkracht@spits.example.nl', 'staff', '{teacher}');
INSERT INTO groups (import_key, name, year)
SELECT 'G' || g, 'Groep ' || g, 1 + g % 8 FROM generate_series(1, $groups) g;
INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2018-01-01',
       (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % $groups))
  FROM generate_series(1, $parents) n;
";

/// A parent ready to book: their session, their child and the slots of the child's round.
struct Parent {
    client: Client,
    child: i64,
    slots: Arc<Vec<i64>>,
}

/// One booking request's outcome.
struct Attempt {
    status: u16,
    latency: Duration,
}

/// Parents, their sessions (made directly in the session store: a password hash each would
/// make the set-up, not the rush, the slow part) and the rounds, closed until the rush.
async fn set_up(
    state: &AppState,
    addr: SocketAddr,
    args: &Args,
    stamp: &str,
) -> anyhow::Result<(TenantEntry, String, Vec<Parent>)> {
    let school =
        bench::create_school(state, &format!("spits-{stamp}"), "Basisschool De Spits").await?;
    let host = format!("{}.schoolplein.test", school.slug);
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let sql = SCHOOL_SQL
        .replace("$groups", &args.groups.to_string())
        .replace("$parents", &args.parents.to_string());
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *tx)
        .await?;
    let teacher: i64 =
        sqlx::query_scalar("SELECT id FROM people WHERE email = 'leerkracht@spits.example.nl'")
            .fetch_one(&mut *tx)
            .await?;
    let groups: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT g.id, count(p.id) FROM groups g JOIN pupils p ON p.group_id = g.id
          GROUP BY g.id ORDER BY g.id",
    )
    .fetch_all(&mut *tx)
    .await?;
    // Each round has a talk per pupil of its group (and no more): every parent can book, and
    // late arrivals find only the slots the others left.
    let first_day = Utc::now().date_naive() + chrono::Days::new(21);
    let mut slots_of = std::collections::HashMap::new();
    for (group_id, pupils) in &groups {
        let new = NewRound {
            group_id: *group_id,
            title: "Rapportgesprekken".into(),
            plan: RoundPlan {
                talks: u16::try_from(*pupils)?,
                talk_minutes: 10,
                talks_before_break: 6,
                break_minutes: 10,
                start_date: first_day,
                extra_days: vec![first_day + chrono::Days::new(2)],
                day_start: NaiveTime::from_hms_opt(13, 0, 0).unwrap_or_default(),
                day_end: NaiveTime::from_hms_opt(19, 0, 0).unwrap_or_default(),
            },
            settings: RoundSettings {
                booking_mode: BookingMode::Shared,
                change_until_days: Some(1),
                opens_at: Some(Utc::now() + chrono::Duration::days(1)),
                siblings_open_at: None,
                message: String::new(),
            },
        };
        let talks = rounds::instants(&new.plan).map_err(|e| anyhow::anyhow!("{e}"))?;
        let round = rounds::insert_round(&mut tx, &new, &talks, teacher).await?;
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM conference_slots WHERE round_id = $1 ORDER BY id")
                .bind(round)
                .fetch_all(&mut *tx)
                .await?;
        slots_of.insert(*group_id, Arc::new(ids));
    }
    sqlx::query("UPDATE conference_rounds SET status = 'published', published_at = now()")
        .execute(&mut *tx)
        .await?;
    let pupils: Vec<(i64, i64)> = sqlx::query_as("SELECT id, group_id FROM pupils ORDER BY id")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;

    let sessions = Sessions::from_state(state);
    let mut parents = Vec::with_capacity(pupils.len());
    for (n, (pupil, group)) in pupils.iter().enumerate() {
        let email = format!("ouder{n}-{stamp}@spits.example.nl");
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
        let token = sessions
            .create(&SessionData {
                account_id: enrolled.account_id,
                created_at: Utc::now().timestamp(),
                keep: false,
                device: "bench".to_owned(),
            })
            .await?;
        let mut client = Client::new(addr);
        client.set_cookie(&host, SESSION_COOKIE, token.expose());
        // The page as the parent has it open before the opening (and the form's token).
        let page = client.get(&host, "/conferences").await;
        anyhow::ensure!(page.status == 200, "the page answered {}", page.status);
        parents.push(Parent {
            client,
            child: *pupil,
            slots: slots_of
                .get(group)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("a group without a round"))?,
        });
    }
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    sqlx::raw_sql("ANALYZE groups, pupils, guardians, people, conference_rounds, conference_slots, conference_bookings")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((school, host, parents))
}

/// One parent's go: the slot they want (most want one of the first evening's popular
/// times), and after a 409 another one, until booked.
async fn book_until_booked(
    mut parent: Parent,
    host: Arc<String>,
    gate: Arc<Semaphore>,
) -> Vec<Attempt> {
    let mut order: Vec<i64> = parent.slots.to_vec();
    {
        let mut rng = rand::rng();
        order.shuffle(&mut rng);
        // Two in three start with one of the six most wanted times.
        if rng.random_bool(2.0 / 3.0) {
            let popular = order.iter().position(|s| parent.slots[..6].contains(s));
            if let Some(i) = popular {
                order.swap(0, i);
            }
        }
    }
    let mut attempts = Vec::new();
    for slot in order {
        let Ok(_permit) = gate.acquire().await else {
            break;
        };
        let started = Instant::now();
        let answer = parent
            .client
            .post_form(
                &host,
                "/conferences/book",
                &[
                    ("slot", &slot.to_string()),
                    ("child", &parent.child.to_string()),
                ],
            )
            .await;
        attempts.push(Attempt {
            status: answer.status,
            latency: started.elapsed(),
        });
        if answer.status != 409 {
            break;
        }
    }
    attempts
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
    let config = bench::config(&args.database_url, &args.redis_url, "bench-booking:", &[])?;
    let platform = schoolplein_kernel::db::postgres_pool(&config.database)?;
    tenant_router::fleet::migrate_platform(&platform).await?;
    platform.close().await;
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
    let addr = bench::serve(&state).await?;
    let stamp = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let (school, host, parents) = set_up(&state, addr, &args, &stamp).await?;
    let slot_count: i64 = {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let n = sqlx::query_scalar("SELECT count(*) FROM conference_slots")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        n
    };

    // The moment: every round opens, and the parents come in over the next seconds.
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    sqlx::query("UPDATE conference_rounds SET opens_at = now()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let host = Arc::new(host);
    let gate = Arc::new(Semaphore::new(args.in_flight));
    let spread = Duration::from_secs(args.seconds);
    let count = parents.len().max(1) as u32;
    let opened = Instant::now();
    let mut tasks = Vec::with_capacity(parents.len());
    for (n, parent) in parents.into_iter().enumerate() {
        let (host, gate) = (host.clone(), gate.clone());
        let arrives = spread * n as u32 / count;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(opened + arrives)).await;
            book_until_booked(parent, host, gate).await
        }));
    }
    let mut latencies = Vec::new();
    let (mut booked, mut conflicts, mut other) = (0usize, 0usize, 0usize);
    for task in tasks {
        for attempt in task.await? {
            latencies.push(attempt.latency);
            match attempt.status {
                303 => booked += 1,
                409 => conflicts += 1,
                _ => other += 1,
            }
        }
    }
    let wall = opened.elapsed();
    latencies.sort_unstable();

    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let (bookings, slots_twice, children_twice): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM conference_bookings),
                (SELECT count(*) FROM (SELECT slot_id FROM conference_bookings
                                        GROUP BY slot_id HAVING count(*) > 1) x),
                (SELECT count(*) FROM (SELECT round_id, pupil_id FROM conference_bookings
                                        GROUP BY round_id, pupil_id HAVING count(*) > 1) y)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "booking: {} parents of {} groups, {slot_count} slots, arriving over {} s after the opening, at most {} requests at once: {} requests in {:.1} s ({booked} booked, {conflicts} × 409 taken and tried again, {other} other); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 100 ms)",
        args.parents,
        args.groups,
        args.seconds,
        args.in_flight,
        latencies.len(),
        wall.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
    )?;
    writeln!(
        out,
        "booking: by SQL afterwards: {bookings} bookings, slots booked twice: {slots_twice}, children with two talks in a round: {children_twice} (both must be 0)"
    )?;
    out.flush()?;
    anyhow::ensure!(
        slots_twice == 0 && children_twice == 0 && bookings == booked as i64 && other == 0,
        "the rush left double bookings or unexpected answers"
    );
    Ok(())
}
