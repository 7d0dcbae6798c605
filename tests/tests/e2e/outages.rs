//! Redis, then PostgreSQL, stopped under a steady load of page requests (servers of the
//! test's own, stopped and started as an operator would): while each is down every answer
//! that needs it is a 503 page at once — in the person's language, with `Retry-After` —
//! never a 500 or a hang; `/readyz` names the server that is down; once it is back every
//! answer is right again within seconds, without restarting the app, and no session is lost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schoolplein_kernel::Role;
use schoolplein_tests::school::member;
use schoolplein_tests::servers::{OwnPostgres, OwnRedis};
use schoolplein_tests::{RawResponse, TestApp, TestAppOptions, TestDb, http, school_host};

/// How fast an answer must come while a server is down: at once, not after a timeout.
const FAIL_FAST: Duration = Duration::from_millis(100);
/// How soon after a server is back every answer must be right again.
const RECOVERY: Duration = Duration::from_secs(5);

/// One answer of the load.
#[derive(Debug, Clone)]
struct Answer {
    page: &'static str,
    started: Instant,
    took: Duration,
    status: u16,
    body: String,
    retry_after: Option<String>,
}

/// Requests the pages again and again, each on a connection of its own, until stopped.
fn steady_load(
    app: &TestApp,
    host: &str,
    session_cookie: &str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Arc<Mutex<Vec<Answer>>>, Vec<tokio::task::JoinHandle<()>>) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    // A signed-in parent's timeline (Redis and PostgreSQL), and a visitor's home page
    // (PostgreSQL only); two of each at a time.
    for (page, path, signed_in) in [
        ("timeline", "/timeline", true),
        ("timeline", "/timeline", true),
        ("home", "/", false),
        ("home", "/", false),
    ] {
        let (addr, host, cookie) = (app.addr, host.to_owned(), session_cookie.to_owned());
        let (answers, stop) = (answers.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut headers = vec![("Accept-Language", "nl")];
                if signed_in {
                    headers.push(("Cookie", cookie.as_str()));
                }
                let started = Instant::now();
                let answer = http::get(addr, &host, path, &headers).await;
                let took = started.elapsed();
                let answer = answer.unwrap_or_else(|e| RawResponse {
                    status: 0,
                    headers: Vec::new(),
                    body: e.to_string().into_bytes(),
                });
                answers.lock().unwrap().push(Answer {
                    page,
                    started,
                    took,
                    status: answer.status,
                    retry_after: answer.header("retry-after").map(str::to_owned),
                    body: answer.text(),
                });
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    (answers, tasks)
}

/// The answers to requests started within `from..to`.
fn between(answers: &Mutex<Vec<Answer>>, from: Instant, to: Instant) -> Vec<Answer> {
    answers
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.started >= from && a.started < to)
        .cloned()
        .collect()
}

/// Every answer that needs the stopped server is a quick 503 page that says so; the others
/// are right. A page in `may_be_kept` needs no server while it is kept in memory, until the
/// cache hears that its listener lost PostgreSQL (then nothing kept is served): until that
/// moment it may still come whole, never half.
fn assert_down(answers: &[Answer], needs_it: &[&str], may_be_kept: &[&str], server: &str) {
    assert!(
        answers.len() >= 20,
        "too little load while {server} was down: {} answers, the slowest {:?}",
        answers.len(),
        answers.iter().map(|a| a.took).max()
    );
    for answer in answers {
        let kept = may_be_kept.contains(&answer.page)
            && answer.status == 200
            && answer.body.contains("Basisschool De Storing")
            && answer.body.trim_end().ends_with("</html>");
        if needs_it.contains(&answer.page) && !kept {
            assert_eq!(
                answer.status, 503,
                "{server} down, {}: {answer:?}",
                answer.page
            );
            assert!(
                answer.body.contains("Schoolplein is even niet bereikbaar"),
                "{server} down: {}",
                answer.body
            );
            assert_eq!(answer.retry_after.as_deref(), Some("5"));
        } else {
            assert_eq!(
                answer.status, 200,
                "{server} down, {}: {answer:?}",
                answer.page
            );
        }
        assert!(
            answer.took <= FAIL_FAST,
            "{server} down, {} took {:?}",
            answer.page,
            answer.took
        );
    }
}

/// From some moment within [`RECOVERY`] after `back`, every answer is right.
fn assert_recovered(answers: &Mutex<Vec<Answer>>, back: Instant, until: Instant, server: &str) {
    let after = between(answers, back, until);
    let last_wrong = after
        .iter()
        .filter(|a| a.status != 200)
        .map(|a| a.started)
        .max();
    if let Some(last_wrong) = last_wrong {
        assert!(
            last_wrong < back + RECOVERY,
            "{server} back, still wrong answers {:?} later: {:?}",
            last_wrong - back,
            after.iter().rfind(|a| a.status != 200)
        );
    }
    let right = after
        .iter()
        .filter(|a| a.started >= back + RECOVERY && a.status == 200)
        .count();
    assert!(right >= 10, "too few answers after {server} came back");
}

async fn readyz(app: &TestApp, host: &str) -> (u16, String) {
    let started = Instant::now();
    let answer = http::get(app.addr, host, "/readyz", &[]).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "/readyz hung");
    (answer.status, answer.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_then_postgres_away_under_load_answer_503_at_once_and_recover_by_themselves() {
    let postgres = OwnPostgres::start();
    let redis = OwnRedis::start();
    let db = TestDb::open_on(&postgres.admin_url(), "schoolplein_outage").await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        redis_url: Some(redis.url()),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Storing", "").await;
    let host = school_host(&school.slug);
    let parent = member(&app, &school, "Ouder Storing", &[Role::Parent]).await;
    let cookie = format!(
        "sp_session={}",
        parent
            .client
            .cookie(&host, "sp_session")
            .expect("a session")
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (answers, tasks) = steady_load(&app, &host, &cookie, stop.clone());
    let pause = |secs: f64| tokio::time::sleep(Duration::from_secs_f64(secs));

    pause(1.0).await;
    let calm = between(
        &answers,
        Instant::now() - Duration::from_secs(1),
        Instant::now(),
    );
    assert!(calm.iter().all(|a| a.status == 200), "{calm:?}");

    // Redis away: signed-in pages answer 503 at once; a visitor's page still works.
    tokio::task::block_in_place(|| redis.stop());
    let down = Instant::now();
    pause(2.0).await;
    let (status, body) = readyz(&app, &host).await;
    assert_eq!(status, 503);
    assert!(body.contains("\"redis\":\"unreachable\"") && body.contains("\"postgres\":\"ok\""));
    let english = http::get(
        app.addr,
        &host,
        "/timeline",
        &[("Cookie", cookie.as_str()), ("Accept-Language", "en")],
    )
    .await
    .unwrap();
    assert_eq!(english.status, 503);
    assert!(
        english
            .text()
            .contains("Schoolplein is briefly unavailable")
    );
    let up_again = Instant::now();
    assert_down(
        &between(&answers, down, up_again),
        &["timeline"],
        &[],
        "Redis",
    );
    tokio::task::block_in_place(|| redis.resume());
    let back = Instant::now();
    pause(RECOVERY.as_secs_f64() + 1.0).await;
    // The session outlived the outage: the timeline answers 200, not the sign-in page.
    assert_recovered(&answers, back, Instant::now(), "Redis");
    assert_eq!(readyz(&app, &host).await.0, 200);

    // PostgreSQL away: every page that reads the school answers 503 at once.
    tokio::task::block_in_place(|| postgres.stop());
    let down = Instant::now();
    // Long enough for the load to show even on a machine busy with other tests: at least three
    // seconds, and on until twenty requests have started since (the requests under way when
    // the server stopped must first fail), at most fifteen.
    pause(3.0).await;
    let enough = || between(&answers, down, Instant::now()).len() >= 20;
    while !enough() && down.elapsed() < Duration::from_secs(15) {
        pause(0.25).await;
    }
    let (status, body) = readyz(&app, &host).await;
    assert_eq!(status, 503);
    assert!(body.contains("\"postgres\":\"unreachable\"") && body.contains("\"redis\":\"ok\""));
    let up_again = Instant::now();
    assert_down(
        &between(&answers, down, up_again),
        &["timeline", "home"],
        &["timeline", "home"],
        "PostgreSQL",
    );
    tokio::task::block_in_place(|| postgres.resume());
    let back = Instant::now();
    pause(RECOVERY.as_secs_f64() + 1.0).await;
    assert_recovered(&answers, back, Instant::now(), "PostgreSQL");
    assert_eq!(readyz(&app, &host).await.0, 200);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let all = answers.lock().unwrap();
    assert!(
        all.iter().all(|a| matches!(a.status, 200 | 503)),
        "never a 500 or a dropped connection: {:?}",
        all.iter().find(|a| !matches!(a.status, 200 | 503))
    );
}

/// With no request touching PostgreSQL (every page kept in memory), its stop is still noticed
/// within a second: the caches' listeners report the lost connection before they connect anew,
/// nothing kept is served from then on, and the breaker trips; once it is back they listen
/// again and the breaker lets requests through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_is_noticed_at_once_without_any_request() {
    let postgres = OwnPostgres::start();
    let db = TestDb::open_on(&postgres.admin_url(), "schoolplein_quiet_outage").await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let state = &app.state;
    let all_listening = || state.school_data.is_listening() && state.accounts.is_listening();
    until("listening", Duration::from_secs(5), all_listening).await;
    assert!(!state.db.breaker().is_down());

    tokio::task::block_in_place(|| postgres.stop());
    let noticed = || {
        !state.school_data.is_listening()
            && !state.accounts.is_listening()
            && state.db.breaker().is_down()
    };
    until("the stop noticed", Duration::from_secs(1), noticed).await;

    tokio::task::block_in_place(|| postgres.resume());
    let back = || all_listening() && !state.db.breaker().is_down();
    until("listening again", RECOVERY, back).await;
}

/// Waits until `holds`, for at most `within`.
async fn until(what: &str, within: Duration, holds: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !holds() {
        assert!(Instant::now() < deadline, "{what} not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
