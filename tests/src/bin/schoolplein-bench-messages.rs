//! Benchmarks of conversations and of mail coming back, for `scripts/bench messages`:
//!
//! 1. a teacher's inbox holding 5,000 messages in 1,000 threads: the inbox page and a thread's
//!    page (the teacher's, with who read their messages; and a parent's), each under 50
//!    clients (wrk), p99 and requests per second;
//! 2. the notice sweep (N3) over many schools (`--schools`, 1,000) with 10 new messages each:
//!    the minute's clock run that mails them, its time and its SQL statements per school, and
//!    the next, quiet minute;
//! 3. `schoolplein mail receive` as a mail server runs it, one process per message: answers
//!    and delivery reports per second, one at a time and eight at once.
//!
//! The real app runs in this process against the benchmark's PostgreSQL and Redis.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use schoolplein_kernel::Role;
use schoolplein_mailing::Outbox;
use schoolplein_mailing::replies::ReplyTarget;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_server::app;
use schoolplein_tests::bench;
use schoolplein_tests::client::Client;
use tenant_router::{TenantEntry, TenantTx};
use tokio::io::AsyncWriteExt;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    /// The `schoolplein` binary `mail receive` runs as.
    #[arg(long)]
    schoolplein: std::path::PathBuf,
    /// Schools in the notice sweep (kept between runs, made when missing).
    #[arg(long, default_value_t = 1000)]
    schools: u32,
    /// Messages `mail receive` takes of each kind (answers, reports), half one at a time and
    /// half eight at once.
    #[arg(long, default_value_t = 200)]
    receive: u32,
    /// Each wrk run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The parts to run: `inbox`, `receive`, `sweep`, comma-separated.
    #[arg(long, default_value = "inbox,receive,sweep")]
    parts: String,
}

const PASSWORD: &str = "Bench-Wacht-2026!";

/// The teacher's school: 200 parents, each in five threads with the teacher (1,000 threads),
/// each thread five messages long, turn and turn about (5,000 messages), over the past 100
/// days; one thread in ten ends unread.
const INBOX_SQL: &str = "
INSERT INTO people (name, email, kind, roles)
SELECT 'Ouder ' || n, 'ouder' || n || '@meting.example.nl', 'parent', '{parent}'
  FROM generate_series(1, 200) n;
INSERT INTO conversations (subject, created_at)
SELECT 'Vraag ' || n, now() - (n * interval '144 minutes')
  FROM generate_series(1, 1000) n;
WITH threads AS (
    SELECT c.id AS conversation_id, row_number() OVER (ORDER BY c.id) AS n, c.created_at
      FROM conversations c),
     parents AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM people WHERE kind = 'parent'
       AND email LIKE 'ouder%@meting.example.nl'),
     plan AS (
    SELECT t.conversation_id, t.n, k, t.created_at + k * interval '20 minutes' AS sent_at,
           p.id AS parent_id
      FROM threads t JOIN parents p ON p.n = 1 + (t.n - 1) % 200
     CROSS JOIN generate_series(0, 4) k),
     written AS (
    INSERT INTO messages (conversation_id, author_id, body, sent_at)
    SELECT conversation_id, CASE WHEN k % 2 = 0 THEN parent_id ELSE $teacher END,
           repeat('Een bericht over school, met een vraag en een antwoord. ', 1 + k),
           sent_at
      FROM plan ORDER BY conversation_id, k
    RETURNING id, conversation_id, author_id, sent_at)
INSERT INTO message_recipients (message_id, person_id, read_at, noticed_at)
SELECT w.id,
       CASE WHEN w.author_id = $teacher
            THEN (SELECT p.parent_id FROM plan p WHERE p.conversation_id = w.conversation_id
                   LIMIT 1)
            ELSE $teacher END,
       CASE WHEN w.author_id <> $teacher AND w.conversation_id % 10 = 0
             AND w.sent_at = (SELECT max(x.sent_at) FROM written x
                               WHERE x.conversation_id = w.conversation_id)
            THEN NULL ELSE w.sent_at + interval '5 minutes' END,
       w.sent_at + interval '5 minutes'
  FROM written w;
ANALYZE people, conversations, messages, message_recipients;
";

/// Counts SQL statements (sqlx logs each at debug under `sqlx::query`) while switched on.
#[derive(Debug, Default)]
struct StatementCounter {
    on: AtomicBool,
    statements: AtomicU64,
}

struct CountingLayer(Arc<StatementCounter>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountingLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if self.0.on.load(Ordering::Relaxed) && event.metadata().target() == "sqlx::query" {
            self.0.statements.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// As the served binary: mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let counter = Arc::new(StatementCounter::default());
    let only_statements = tracing_subscriber::filter::Targets::new()
        .with_target("sqlx::query", tracing::Level::DEBUG);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(
        tracing_subscriber::Layer::with_filter(CountingLayer(counter.clone()), only_statements),
    ))?;
    schoolplein_server::serve::install_crypto_provider();
    let config = bench::config(&args.database_url, &args.redis_url, "bench-messages:", &[])?;
    let platform = schoolplein_kernel::db::postgres_pool(&config.database)?;
    tenant_router::fleet::migrate_platform(&platform).await?;
    platform.close().await;
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
    let addr = bench::serve(&state).await?;
    let stamp = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let out = &mut std::io::stdout();

    // 1. The inbox.
    let school =
        bench::create_school(&state, &format!("postvak-{stamp}"), "Basisschool Postvak").await?;
    let host = format!("{}.schoolplein.test", school.slug);
    let teacher_email = format!("leerkracht-{stamp}@meting.example.nl");
    let teacher = person(
        &state,
        &school,
        "Tessa Leerkracht",
        &teacher_email,
        Role::Teacher,
    )
    .await?;
    // One of the 200 parents signs in too (her address matches theirs; created first, she is
    // the first of them): a parent reads a thread without the delivery figures staff see.
    let parent_email = format!("ouder-petra-{stamp}@meting.example.nl");
    let parent = person(&state, &school, "Petra Meting", &parent_email, Role::Parent).await?;
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let started = Instant::now();
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        INBOX_SQL.replace("$teacher", &teacher.to_string()),
    ))
    .execute(&mut *tx)
    .await?;
    let (messages, threads): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT conversation_id) FROM messages")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    writeln!(
        out,
        "inbox: {messages} messages in {threads} threads written in {:.1} s",
        started.elapsed().as_secs_f64()
    )?;
    let mut client = Client::new(addr);
    let answer = client.sign_in(&host, &teacher_email, PASSWORD, false).await;
    anyhow::ensure!(answer.status == 303, "sign-in answered {}", answer.status);
    let cookie = format!(
        "sp_session={}",
        client.cookie(&host, "sp_session").unwrap_or_default()
    );
    let inbox = client.get(&host, "/messages").await;
    anyhow::ensure!(inbox.status == 200, "the inbox answered {}", inbox.status);
    let shown = inbox.text().matches("class=\"conversation").count();
    let middle: i64 = {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let id = sqlx::query_scalar("SELECT id FROM conversations ORDER BY id OFFSET 500 LIMIT 1")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        id
    };
    let thread_path = format!("/messages/{middle}");
    let parents_thread: i64 = {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let id = sqlx::query_scalar(
            "SELECT DISTINCT conversation_id FROM messages WHERE author_id = $1
              ORDER BY conversation_id OFFSET 2 LIMIT 1",
        )
        .bind(parent)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        id
    };
    let parents_thread_path = format!("/messages/{parents_thread}");
    let mut parent_client = Client::new(addr);
    let answer = parent_client
        .sign_in(&host, &parent_email, PASSWORD, false)
        .await;
    anyhow::ensure!(answer.status == 303, "sign-in answered {}", answer.status);
    let parent_cookie = format!(
        "sp_session={}",
        parent_client
            .cookie(&host, "sp_session")
            .unwrap_or_default()
    );
    let seen = parent_client.get(&host, &parents_thread_path).await;
    anyhow::ensure!(
        seen.status == 200 && seen.text().matches("id=\"message-").count() == 5,
        "the parent's thread answered {}",
        seen.status
    );
    let thread = client.get(&host, &thread_path).await;
    anyhow::ensure!(
        thread.status == 200,
        "the thread answered {}",
        thread.status
    );
    writeln!(
        out,
        "inbox: the first page lists {shown} threads, {} bytes; a thread page {} bytes",
        inbox.body.len(),
        thread.body.len()
    )?;
    let part = |name: &str| args.parts.split(',').any(|p| p.trim() == name);
    for round in 1..=2 {
        if !part("inbox") {
            break;
        }
        let run = bench::wrk(addr, &host, Some(&cookie), "/messages", 50, args.seconds).await?;
        writeln!(out, "inbox round {round}: /messages at 50 clients: {run}")?;
        let run = bench::wrk(addr, &host, Some(&cookie), &thread_path, 50, args.seconds).await?;
        writeln!(
            out,
            "inbox round {round}: {thread_path} at 50 clients: {run}"
        )?;
        let run = bench::wrk(
            addr,
            &host,
            Some(&parent_cookie),
            &parents_thread_path,
            50,
            args.seconds,
        )
        .await?;
        writeln!(
            out,
            "inbox round {round}: a parent's thread {parents_thread_path} at 50 clients: {run}"
        )?;
    }

    // 3 (before the sweep's schools exist, so the same database is measured): mail receive.
    if part("receive") {
        receive_rate(&state, &school, &args, &stamp, out).await?;
    }

    // 2. The notice sweep.
    if part("sweep") {
        sweep(&state, &args, counter, out).await?;
    }
    Ok(())
}

/// Enrolls a person with the benchmark's password; their person id.
async fn person(
    state: &schoolplein_kernel::AppState,
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

/// How `schoolplein mail receive` is run: the binary and the benchmark's servers.
#[derive(Debug, Clone)]
struct Receiver {
    binary: std::path::PathBuf,
    database_url: String,
    redis_url: String,
}

impl Receiver {
    /// `mail receive` with `message` on standard input; whether it exited 0.
    async fn one(&self, message: Vec<u8>) -> anyhow::Result<bool> {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut child = tokio::process::Command::new(&self.binary)
            .args(["mail", "receive"])
            .env("SCHOOLPLEIN_ENV", "test")
            .env("SCHOOLPLEIN_CONFIG_DIR", root.join("config"))
            .env("SCHOOLPLEIN__DATABASE__URL", &self.database_url)
            .env("SCHOOLPLEIN__REDIS__URL", &self.redis_url)
            .env("SCHOOLPLEIN__LOG__FILTER", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(&message).await?;
        drop(stdin);
        let output = child.wait_with_output().await?;
        if !output.status.success() {
            eprintln!("mail receive: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(output.status.success())
    }

    /// Takes `messages`, `at_once` processes at a time; messages per second.
    async fn all(&self, messages: Vec<Vec<u8>>, at_once: usize) -> anyhow::Result<f64> {
        let count = messages.len();
        let started = Instant::now();
        let mut pending = messages.into_iter();
        let mut running = tokio::task::JoinSet::new();
        let mut taken = 0;
        loop {
            while running.len() < at_once {
                let Some(message) = pending.next() else { break };
                let receiver = self.clone();
                running.spawn(async move { receiver.one(message).await });
            }
            match running.join_next().await {
                Some(done) => taken += usize::from(done??),
                None => break,
            }
        }
        anyhow::ensure!(taken == count, "{taken} of {count} taken");
        Ok(count as f64 / started.elapsed().as_secs_f64())
    }
}

async fn receive_rate(
    state: &schoolplein_kernel::AppState,
    school: &TenantEntry,
    args: &Args,
    stamp: &str,
    out: &mut std::io::Stdout,
) -> anyhow::Result<()> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let sample = |name: &str| {
        std::fs::read_to_string(root.join(format!("tests/fixtures/inbound/{name}.eml")))
    };
    let (reply, report) = (sample("iphone_reply")?, sample("postfix_dsn")?);
    // A parent who was written to, and a reply address of theirs per answer.
    let parent_email = format!("ouder-{stamp}@meting.example.nl");
    let parent = person(state, school, "Petra Meting", &parent_email, Role::Parent).await?;
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let conversation: i64 = sqlx::query_scalar(
        "WITH c AS (INSERT INTO conversations (subject) VALUES ('Antwoord per mail') RETURNING id),
              m AS (INSERT INTO messages (conversation_id, author_id, body, sent_at)
                    SELECT c.id, (SELECT id FROM people WHERE 'teacher' = ANY (roles) LIMIT 1),
                           'Vraag', now() FROM c RETURNING id, conversation_id)
         INSERT INTO message_recipients (message_id, person_id)
         SELECT m.id, $1 FROM m RETURNING (SELECT conversation_id FROM m)",
    )
    .bind(parent)
    .fetch_one(&mut *tx)
    .await?;
    let mut answers = Vec::new();
    for _ in 0..args.receive {
        let address = outbox
            .reply_address(&mut tx, parent, ReplyTarget::Conversation(conversation))
            .await?
            .ok_or_else(|| anyhow::anyhow!("mail.inbound_domain is not set"))?;
        answers.push(
            reply
                .replace("{{REPLY_ADDRESS}}", &address)
                .replace("{{PARENT_ADDRESS}}", &parent_email)
                .replace("{{ORIGINAL_MESSAGE_ID}}", "<bench@schoolplein.test>")
                .into_bytes(),
        );
    }
    tx.commit().await?;
    // Sent mails to fail, each with its own bounce address.
    let sent: Vec<(i64, String, String, String)> = sqlx::query_as(
        "INSERT INTO platform.outbox (tenant_id, recipient, subject, body_text, body_html,
                                      message_id, sent_at)
         SELECT $1, 'weg' || n || '-' || $3 || '@meting.example.nl', 'x', 'x', 'x',
                '<' || gen_random_uuid() || '@schoolplein.test>', now()
           FROM generate_series(1, $2) n
         RETURNING id, return_token, recipient, message_id",
    )
    .bind(school.id.get())
    .bind(i64::from(args.receive))
    .bind(stamp)
    .fetch_all(state.db.pool())
    .await?;
    let domain = &state.config.mail.inbound_domain;
    let reports: Vec<Vec<u8>> = sent
        .iter()
        .map(|(id, token, recipient, message_id)| {
            report
                .replace(
                    "{{BOUNCE_ADDRESS}}",
                    &format!("bounce+{id}-{token}@{domain}"),
                )
                .replace("{{FAILED_RECIPIENT}}", recipient)
                .replace("{{ORIGINAL_MESSAGE_ID}}", message_id)
                .into_bytes()
        })
        .collect();
    let half = answers.len() / 2;
    let answers_later = answers.split_off(half);
    let mut reports = reports;
    let reports_later = reports.split_off(reports.len() / 2);
    let receiver = Receiver {
        binary: args.schoolplein.clone(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
    };
    for (what, one, eight) in [
        ("answers", answers, answers_later),
        ("delivery reports", reports, reports_later),
    ] {
        let (n1, n8) = (one.len(), eight.len());
        let alone = receiver.all(one, 1).await?;
        let together = receiver.all(eight, 8).await?;
        writeln!(
            out,
            "mail receive, {what}: {alone:.1}/s one at a time ({n1}), {together:.1}/s eight at once ({n8})"
        )?;
    }
    let mut tx = TenantTx::begin(&state.schools, school.id).await?;
    let taken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE conversation_id = $1 AND author_id = $2",
    )
    .bind(conversation)
    .bind(parent)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let failed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform.outbox WHERE tenant_id = $1 AND failed_at IS NOT NULL",
    )
    .bind(school.id.get())
    .fetch_one(state.db.pool())
    .await?;
    writeln!(
        out,
        "mail receive: {taken} answers in the conversation, {failed} mails failed"
    )?;
    anyhow::ensure!(taken == i64::from(args.receive) && failed == i64::from(args.receive));
    Ok(())
}

/// The notice sweep over `args.schools` schools with 10 new messages each.
async fn sweep(
    state: &schoolplein_kernel::AppState,
    args: &Args,
    counter: Arc<StatementCounter>,
    out: &mut std::io::Stdout,
) -> anyhow::Result<()> {
    let existing: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, slug FROM platform.tenants WHERE slug LIKE 'sweep-%' ORDER BY id",
    )
    .fetch_all(state.db.pool())
    .await?;
    let started = Instant::now();
    let mut schools: Vec<tenant_router::TenantId> = existing
        .iter()
        .map(|(id, _)| tenant_router::TenantId::new(*id))
        .collect();
    for n in existing.len()..args.schools as usize {
        let school =
            bench::create_school(state, &format!("sweep-{n:05}"), &format!("School {n}")).await?;
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        sqlx::raw_sql(
            "INSERT INTO people (name, email, kind, roles)
             VALUES ('Leerkracht', 'leerkracht@meting.example.nl', 'staff', '{teacher}')",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        enroll(
            state,
            school.id,
            "Ouder",
            &EmailAddress::parse(&format!("ouder-{n:05}@meting.example.nl"))
                .map_err(|e| anyhow::anyhow!(e.key()))?,
            &[Role::Parent],
            None,
        )
        .await?;
        schools.push(school.id);
    }
    schools.truncate(args.schools as usize);
    writeln!(
        out,
        "sweep: {} schools ready in {:.0} s ({} made now)",
        schools.len(),
        started.elapsed().as_secs_f64(),
        (args.schools as usize).saturating_sub(existing.len())
    )?;
    // Ten new messages each, from the teacher to the parent, six minutes ago; nothing else due.
    for school in &schools {
        let mut tx = TenantTx::begin(&state.schools, *school).await?;
        sqlx::raw_sql(
            "DELETE FROM conversations;
             WITH c AS (INSERT INTO conversations (subject)
                        SELECT 'Bericht ' || n FROM generate_series(1, 10) n RETURNING id),
                  m AS (INSERT INTO messages (conversation_id, author_id, body, sent_at)
                        SELECT c.id, (SELECT id FROM people WHERE kind = 'staff' LIMIT 1),
                               'Nieuws', now() - interval '6 minutes' FROM c
                        RETURNING id)
             INSERT INTO message_recipients (message_id, person_id)
             SELECT m.id, (SELECT id FROM people WHERE 'parent' = ANY (roles) LIMIT 1) FROM m;",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    for (label, expected) in [
        ("with 10 new messages each", schools.len()),
        ("the next minute, quiet", 0),
    ] {
        counter.statements.store(0, Ordering::Relaxed);
        counter.on.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let report = schoolplein_mailing::schedule::run_due(
            state.db.pool(),
            &state.schools,
            state.templates.clone(),
            &state.config,
            chrono::Utc::now(),
        )
        .await?;
        let took = started.elapsed();
        counter.on.store(false, Ordering::Relaxed);
        let statements = counter.statements.load(Ordering::Relaxed);
        writeln!(
            out,
            "sweep, {label}: {} notices in {:.2} s ({:.2} ms per school), {statements} statements \
             ({:.1} per school)",
            report.message_notices,
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / schools.len().max(1) as f64,
            statements as f64 / schools.len().max(1) as f64,
        )?;
        anyhow::ensure!(
            report.message_notices >= expected,
            "{} notices, expected {expected}",
            report.message_notices
        );
    }
    Ok(())
}
