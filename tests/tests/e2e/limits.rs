//! Every abuse limit holds against a burst: N requests released at once (a barrier) get
//! exactly the limit's worth through and 429 for the rest, and failures counted beside a
//! success stay counted.

use std::sync::Arc;

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{PASSWORD, import_sample, member};
use schoolplein_tests::{RawResponse, TestApp, TestAppOptions, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};
use tokio::sync::Barrier;

/// An app behind a "trusted proxy", so that every test gives its clients addresses of its
/// own (`X-Forwarded-For`) and meets no other test's counters in the shared Redis.
async fn app() -> TestApp {
    TestApp::spawn_with(TestAppOptions {
        configure: Some(|config| config.server.trust_forwarded_host = true),
        ..TestAppOptions::default()
    })
    .await
}

fn fresh_ip() -> String {
    format!(
        "10.{}.{}.{}",
        rand::random::<u8>(),
        rand::random::<u8>(),
        rand::random::<u8>()
    )
}

/// A client that says it comes from `ip`, with the host's form token in hand.
async fn client_from(app: &TestApp, host: &str, ip: &str, page: &str) -> Client {
    let mut client = Client::new(app.addr);
    client.extra_headers = vec![("X-Forwarded-For".into(), ip.to_owned())];
    client.get(host, page).await;
    client
}

/// Sends every request at the same moment: each on its own task and connection, released
/// together by a barrier. Answers come back in the order of `requests`.
async fn burst<F, Fut>(requests: Vec<F>) -> Vec<RawResponse>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = RawResponse> + Send,
{
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                request().await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// `n` copies of one form post, from clones of `client`.
async fn burst_of_posts(
    client: &Client,
    host: &str,
    path: &str,
    fields: Vec<Vec<(String, String)>>,
) -> Vec<u16> {
    let requests = fields
        .into_iter()
        .map(|fields| {
            let mut client = client.clone();
            let host = host.to_owned();
            let path = path.to_owned();
            move || async move {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                client.post_form(&host, &path, &fields).await
            }
        })
        .collect();
    burst(requests).await.iter().map(|r| r.status).collect()
}

/// A request of any kind, for bursts that mix them.
type Pending = std::pin::Pin<Box<dyn Future<Output = RawResponse> + Send>>;
type Request = Box<dyn FnOnce() -> Pending + Send>;

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_is_checked_only_up_to_the_account_limit() {
    let app = app().await;
    let school = app.create_school("Basisschool Golf", "").await;
    let host = school_host(&school.slug);
    let parent = member(&app, &school, "Ouder Golf", &[Role::Parent]).await;
    let guesser = client_from(&app, &host, &fresh_ip(), "/sign-in").await;
    let wrong = fields(&[("email", &parent.email), ("password", "Niet-Het-Goede-1")]);
    let statuses = burst_of_posts(&guesser, &host, "/sign-in", vec![wrong; 10]).await;
    // The limit is 5 failed sign-ins per account in 15 minutes.
    assert_eq!(count(&statuses, 400), 5, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");

    // The failures stay: the right password, now, is paused too.
    let mut owner = client_from(&app, &host, &fresh_ip(), "/sign-in").await;
    let paused = owner
        .post_form(
            &host,
            "/sign-in",
            &[("email", &parent.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(paused.status, 429, "{}", paused.text());
    assert!(paused.header("retry-after").is_some());
}

#[tokio::test]
async fn a_right_password_in_a_burst_counts_once_and_wipes_no_failure_beside_it() {
    let app = app().await;
    let school = app.create_school("Basisschool Branding", "").await;
    let host = school_host(&school.slug);
    let parent = member(&app, &school, "Ouder Branding", &[Role::Parent]).await;
    let guesser = client_from(&app, &host, &fresh_ip(), "/sign-in").await;
    let wrong = fields(&[("email", &parent.email), ("password", "Niet-Het-Goede-1")]);
    let right = fields(&[("email", &parent.email), ("password", PASSWORD)]);
    let mut burst = vec![wrong.clone(); 7];
    burst.insert(3, right.clone());
    let statuses = burst_of_posts(&guesser, &host, "/sign-in", burst).await;
    // Eight at once against a limit of five: five checked, three paused.
    assert_eq!(count(&statuses, 429), 3, "{statuses:?}");
    let checked_wrong = count(&statuses, 400);
    let accepted = count(&statuses, 303);
    assert_eq!(checked_wrong + accepted, 5, "{statuses:?}");
    assert!(accepted <= 1);
    // Whatever the order, the wrong ones that were checked stay counted: as many wrong
    // passwords as are left of the five are checked, and the next one is paused.
    let mut later = client_from(&app, &host, &fresh_ip(), "/sign-in").await;
    for _ in checked_wrong..5 {
        let fields: Vec<(&str, &str)> = wrong
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            later.post_form(&host, "/sign-in", &fields).await.status,
            400
        );
    }
    let fields: Vec<(&str, &str)> = right
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        later.post_form(&host, "/sign-in", &fields).await.status,
        429
    );

    // Once the limit is reached, a right password in the next burst is refused with the rest.
    let other = member(&app, &school, "Ouder Kust", &[Role::Parent]).await;
    let wrong = fields_for(&other.email, "Niet-Het-Goede-1");
    let first = burst_of_posts(&guesser, &host, "/sign-in", vec![wrong.clone(); 5]).await;
    assert_eq!(count(&first, 400), 5, "{first:?}");
    let mut second = vec![wrong; 4];
    second.insert(2, fields_for(&other.email, PASSWORD));
    let second = burst_of_posts(&guesser, &host, "/sign-in", second).await;
    assert_eq!(count(&second, 429), 5, "{second:?}");
}

fn fields_for(email: &str, password: &str) -> Vec<(String, String)> {
    fields(&[("email", email), ("password", password)])
}

#[tokio::test]
async fn a_burst_from_one_address_is_checked_only_up_to_the_address_limit() {
    let app = TestApp::spawn_with(TestAppOptions {
        configure: Some(|config| {
            config.server.trust_forwarded_host = true;
            config.accounts.max_failed_sign_ins_per_ip = 3;
        }),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Net", "").await;
    let host = school_host(&school.slug);
    let guesser = client_from(&app, &host, &fresh_ip(), "/sign-in").await;
    // Ten different accounts, one address.
    let requests = (0..10)
        .map(|_| fields_for(&format!("{}@example.nl", unique_slug()), "Niet-Het-Goede-1"))
        .collect();
    let statuses = burst_of_posts(&guesser, &host, "/sign-in", requests).await;
    assert_eq!(count(&statuses, 400), 3, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 7, "{statuses:?}");
}

#[tokio::test]
async fn wrong_current_passwords_count_with_sign_ins_against_the_same_limit() {
    let app = app().await;
    let school = app.create_school("Basisschool Sleutel", "").await;
    let host = school_host(&school.slug);
    let mut parent = member(&app, &school, "Ouder Sleutel", &[Role::Parent]).await;
    parent.client.get(&host, "/account").await;
    let wrong = fields(&[
        ("current", "Niet-Het-Goede-1"),
        ("new", "Een-Nieuw-Wachtwoord-9"),
        ("repeat", "Een-Nieuw-Wachtwoord-9"),
    ]);
    let statuses = burst_of_posts(&parent.client, &host, "/account/password", vec![wrong; 8]).await;
    assert_eq!(count(&statuses, 400), 5, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 3, "{statuses:?}");
    // The same count pauses signing in with the right password.
    let mut elsewhere = client_from(&app, &host, &fresh_ip(), "/sign-in").await;
    let fields: Vec<(&str, &str)> = vec![("email", &parent.email), ("password", PASSWORD)];
    assert_eq!(
        elsewhere.post_form(&host, "/sign-in", &fields).await.status,
        429
    );
}

async fn school_with_codes(app: &TestApp, name: &str) -> (TenantEntry, String) {
    let school = app.create_school(name, "").await;
    let mut admin = member(app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    import_sample(&mut admin.client, &school).await;
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let code: String = sqlx::query_scalar(
        "SELECT c.code FROM pupil_codes c JOIN pupils p ON p.id = c.pupil_id \
          WHERE p.import_key = '2026001'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    (school, code)
}

#[tokio::test]
async fn a_burst_of_wrong_codes_is_checked_only_up_to_the_limit_and_a_right_one_after_is_paused() {
    let app = app().await;
    let (school, code) = school_with_codes(&app, "Basisschool Code").await;
    let host = school_host(&school.slug);
    let guesser = client_from(&app, &host, &fresh_ip(), "/register").await;
    let statuses = burst_of_posts(
        &guesser,
        &host,
        "/register",
        vec![fields(&[("code", "ABCD-EFGH-JKLM")]); 15],
    )
    .await;
    // Ten wrong codes an hour per address.
    assert_eq!(count(&statuses, 400), 10, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");
    let mut guesser = guesser;
    let paused = guesser
        .post_form(&host, "/register", &[("code", &code)])
        .await;
    assert_eq!(paused.status, 429);

    // Signed in, wrong codes count per account too, from any address.
    let mut parent = member(&app, &school, "Ouder Code", &[Role::Parent]).await;
    parent.client.extra_headers = vec![("X-Forwarded-For".into(), fresh_ip())];
    parent.client.get(&host, "/register").await;
    let requests = (0..12)
        .map(|_| fields(&[("code", "ABCD-EFGH-JKLM")]))
        .collect();
    let statuses = burst_of_posts(&parent.client, &host, "/register", requests).await;
    assert_eq!(count(&statuses, 400), 10, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 2, "{statuses:?}");
    parent.client.extra_headers = vec![("X-Forwarded-For".into(), fresh_ip())];
    let paused = parent
        .client
        .post_form(&host, "/register", &[("code", &code)])
        .await;
    assert_eq!(paused.status, 429);
}

async fn mails_to(app: &TestApp, address: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM platform.outbox WHERE recipient = $1")
        .bind(address)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_burst_of_registrations_mails_an_address_only_up_to_the_limit() {
    let app = app().await;
    let (school, code) = school_with_codes(&app, "Basisschool Post").await;
    let host = school_host(&school.slug);
    let ip = fresh_ip();
    let mut parent = client_from(&app, &host, &ip, "/register").await;
    let entered = parent
        .post_form(&host, "/register", &[("code", &code)])
        .await;
    assert_eq!(entered.status, 303, "{}", entered.text());
    parent.get(&host, "/register/account").await;
    let email = format!("{}@example.nl", unique_slug());
    let form = fields(&[
        ("name", "Anna de Vries"),
        ("email", &email),
        ("password", "Ouder-Wacht-42!"),
        ("repeat", "Ouder-Wacht-42!"),
    ]);
    let statuses = burst_of_posts(&parent, &host, "/register/account", vec![form; 6]).await;
    // Three confirmation mails an hour per address.
    assert_eq!(count(&statuses, 200), 3, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 3, "{statuses:?}");
    assert_eq!(mails_to(&app, &email).await, 3);
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.pending_registrations WHERE email = $1")
            .bind(&email)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(pending, 3, "nothing is written for a paused request");
}

#[tokio::test]
async fn a_burst_of_registrations_and_resets_from_one_address_is_limited_together() {
    let app = TestApp::spawn_with(TestAppOptions {
        configure: Some(|config| {
            config.server.trust_forwarded_host = true;
            config.accounts.max_account_mails_per_ip = 4;
        }),
        ..TestAppOptions::default()
    })
    .await;
    let (school, code) = school_with_codes(&app, "Basisschool Stroom").await;
    let host = school_host(&school.slug);
    let ip = fresh_ip();
    let mut registering = client_from(&app, &host, &ip, "/register").await;
    registering
        .post_form(&host, "/register", &[("code", &code)])
        .await;
    registering.get(&host, "/register/account").await;
    let resetting = client_from(&app, &host, &ip, "/password/forgot").await;
    let mut requests: Vec<Request> = Vec::new();
    for n in 0..8 {
        let email = format!("{}@example.nl", unique_slug());
        let host = host.clone();
        if n % 2 == 0 {
            let mut client = registering.clone();
            requests.push(Box::new(move || {
                Box::pin(async move {
                    client
                        .post_form(
                            &host,
                            "/register/account",
                            &[
                                ("name", "Anna de Vries"),
                                ("email", &email),
                                ("password", "Ouder-Wacht-42!"),
                                ("repeat", "Ouder-Wacht-42!"),
                            ],
                        )
                        .await
                }) as Pending
            }));
        } else {
            let mut client = resetting.clone();
            requests.push(Box::new(move || {
                Box::pin(async move {
                    client
                        .post_form(&host, "/password/forgot", &[("email", &email)])
                        .await
                }) as Pending
            }));
        }
    }
    let statuses: Vec<u16> = burst(requests).await.iter().map(|r| r.status).collect();
    assert_eq!(count(&statuses, 200), 4, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 4, "{statuses:?}");
}

#[tokio::test]
async fn a_burst_of_reset_requests_mails_an_address_only_up_to_the_limit() {
    let app = app().await;
    let school = app.create_school("Basisschool Vergeet", "").await;
    let host = school_host(&school.slug);
    let parent = member(&app, &school, "Ouder Vergeet", &[Role::Parent]).await;
    let client = client_from(&app, &host, &fresh_ip(), "/password/forgot").await;
    let statuses = burst_of_posts(
        &client,
        &host,
        "/password/forgot",
        vec![fields(&[("email", &parent.email)]); 7],
    )
    .await;
    assert_eq!(count(&statuses, 200), 3, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 4, "{statuses:?}");
    // Reset mails are written in the background: three arrive, and no fourth.
    let three = schoolplein_tests::eventually(std::time::Duration::from_secs(10), || async {
        mails_to(&app, &parent.email).await == 3
    })
    .await;
    assert!(three.is_some(), "three reset mails");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mails_to(&app, &parent.email).await, 3);
}

#[tokio::test]
async fn bursts_of_invitations_address_changes_and_partner_requests_meet_their_limits() {
    let app = app().await;
    let school = app.create_school("Basisschool Uitnodiging", "").await;
    let host = school_host(&school.slug);
    let mut admin = member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    admin.client.get(&host, "/admin/people").await;

    // Three invitations an hour to one address.
    let invited = format!("{}@example.nl", unique_slug());
    let invitation = fields(&[
        ("name", "Juf Anna"),
        ("email", &invited),
        ("role", "teacher"),
    ]);
    let statuses = burst_of_posts(
        &admin.client,
        &host,
        "/admin/people/invite",
        vec![invitation; 6],
    )
    .await;
    assert_eq!(count(&statuses, 303), 3, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 3, "{statuses:?}");

    // Five requests for a new sign-in address an hour per account (each mails two). In
    // bursts small enough that the password check beside it lets them all through.
    admin.client.get(&host, "/account").await;
    let address_changes = |n: usize| {
        (0..n)
            .map(|_| {
                fields(&[
                    ("new_email", &format!("{}@example.nl", unique_slug())),
                    ("password", PASSWORD),
                ])
            })
            .collect::<Vec<_>>()
    };
    let first = burst_of_posts(&admin.client, &host, "/account/email", address_changes(3)).await;
    assert_eq!(first, [200, 200, 200]);
    let second = burst_of_posts(&admin.client, &host, "/account/email", address_changes(4)).await;
    assert_eq!(count(&second, 200), 2, "{second:?}");
    assert_eq!(count(&second, 429), 2, "{second:?}");

    // Five partner requests an hour per account, counted before the request is looked at.
    let mut parent = member(&app, &school, "Ouder Partner", &[Role::Parent]).await;
    parent.client.get(&host, "/partner").await;
    let statuses = burst_of_posts(
        &parent.client,
        &host,
        "/partner/request",
        vec![fields(&[("partner", "999999")]); 8],
    )
    .await;
    assert_eq!(count(&statuses, 429), 3, "{statuses:?}");
    assert_eq!(statuses.len() - count(&statuses, 429), 5, "{statuses:?}");
}
