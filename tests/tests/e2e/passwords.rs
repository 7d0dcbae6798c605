//! A forgotten password and a new sign-in address (A5): the same answer whether or not an
//! account exists, single-use links that expire, every session ended by a reset, and a
//! confirmation at the new address with a notice at the old one.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host, unique_slug};
use tenant_router::TenantEntry;

const PASSWORD: &str = "Kn1kker-Boom-Zeil";
const NEW_PASSWORD: &str = "Zand-Bak-2027!";

async fn setup() -> (TestApp, Mailbox, TenantEntry) {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Regenboog", "").await;
    (app, mailbox, school)
}

async fn parent(app: &TestApp, school: &TenantEntry) -> String {
    let email = format!("{}@example.nl", unique_slug());
    enroll(
        &app.state,
        school.id,
        "Ouder",
        &EmailAddress::parse(&email).unwrap(),
        &[Role::Parent],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    email
}

/// The page without its form token, which differs per browser.
fn without_token(html: &str) -> String {
    html.lines()
        .filter(|l| !l.contains("name=\"csrf\""))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn outbox_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM platform.outbox")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_with_the_mailed_link() {
    let (app, mailbox, school) = setup().await;
    let host = school_host(&school.slug);
    let email = parent(&app, &school).await;

    // Signed in on a phone; forgets the password on the laptop.
    let mut phone = Client::new(app.addr);
    assert_eq!(
        phone.sign_in(&host, &email, PASSWORD, true).await.status,
        303
    );
    let mut laptop = Client::new(app.addr);
    let forgot = laptop.get(&host, "/password/forgot").await;
    assert_eq!(forgot.status, 200);
    let known = laptop
        .post_form(&host, "/password/forgot", &[("email", &email)])
        .await;
    let unknown = laptop
        .post_form(
            &host,
            "/password/forgot",
            &[("email", "niemand@example.nl")],
        )
        .await;
    assert_eq!(known.status, 200);
    assert_eq!(unknown.status, 200);
    assert_eq!(
        without_token(&known.text()),
        without_token(&unknown.text()),
        "same answer"
    );
    assert!(known.text().contains("Als er een account is"));

    let mail = mailbox.latest(&email, 1).await;
    assert!(mail.urgent, "a reset link is urgent mail");
    assert!(
        mail.subject.contains("Nieuw wachtwoord"),
        "{}",
        mail.subject
    );
    let link = mail.link("/password/reset/").expect("a reset link");
    assert_eq!(
        outbox_count(&app).await,
        1,
        "no mail for the unknown address"
    );

    assert_eq!(laptop.get(&host, &link).await.status, 200);
    let weak = laptop
        .post_form(&host, &link, &[("new", "welkom01"), ("repeat", "welkom01")])
        .await;
    assert_eq!(weak.status, 400);
    assert!(weak.text().contains("aria-invalid"), "{}", weak.text());
    let differs = laptop
        .post_form(
            &host,
            &link,
            &[("new", NEW_PASSWORD), ("repeat", "Zand-Bak-2028!")],
        )
        .await;
    assert_eq!(differs.status, 400);
    let reset = laptop
        .post_form(
            &host,
            &link,
            &[("new", NEW_PASSWORD), ("repeat", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(reset.status, 303, "{}", reset.text());
    assert_eq!(
        reset.header("location"),
        Some("/sign-in?notice=password_reset")
    );

    // The link is used up; the phone's kept session is over; only the new password works.
    let again = laptop
        .post_form(
            &host,
            &link,
            &[("new", "Ander-Wacht-99!"), ("repeat", "Ander-Wacht-99!")],
        )
        .await;
    assert_eq!(again.status, 410);
    assert!(again.text().contains("al gebruikt") && again.text().contains("/password/forgot"));
    assert_eq!(phone.get(&host, "/account").await.status, 303);
    assert_eq!(
        laptop.sign_in(&host, &email, PASSWORD, false).await.status,
        400
    );
    assert_eq!(
        laptop
            .sign_in(&host, &email, NEW_PASSWORD, false)
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn reset_links_expire_after_an_hour_and_requests_are_limited_per_address() {
    let (app, mailbox, school) = setup().await;
    let host = school_host(&school.slug);
    let email = parent(&app, &school).await;
    let mut browser = Client::new(app.addr);
    browser.get(&host, "/password/forgot").await;
    browser
        .post_form(&host, "/password/forgot", &[("email", &email)])
        .await;
    let link = mailbox
        .latest(&email, 1)
        .await
        .link("/password/reset/")
        .unwrap();
    let hours: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - created_at)::float8 / 3600 FROM platform.password_resets",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!((hours - 1.0).abs() < 0.01, "{hours}");
    sqlx::query("UPDATE platform.password_resets SET expires_at = now() - interval '1 second'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let expired = browser.get(&host, &link).await;
    assert_eq!(expired.status, 410);
    assert!(expired.text().contains("verlopen"));
    let refused = browser
        .post_form(
            &host,
            &link,
            &[("new", NEW_PASSWORD), ("repeat", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, 410);
    assert_eq!(
        browser.sign_in(&host, &email, PASSWORD, false).await.status,
        303,
        "unchanged"
    );

    // Three requests an hour per address (the first is above), then a clear wait — for an
    // unknown address just the same.
    let mut other = Client::new(app.addr);
    other.get(&host, "/password/forgot").await;
    for _ in 0..2 {
        assert_eq!(
            other
                .post_form(&host, "/password/forgot", &[("email", &email)])
                .await
                .status,
            200
        );
    }
    let limited = other
        .post_form(&host, "/password/forgot", &[("email", &email)])
        .await;
    assert_eq!(limited.status, 429);
    assert!(limited.text().contains("minuten"), "{}", limited.text());
    for _ in 0..3 {
        other
            .post_form(
                &host,
                "/password/forgot",
                &[("email", "onbekend@example.nl")],
            )
            .await;
    }
    let unknown = other
        .post_form(
            &host,
            "/password/forgot",
            &[("email", "onbekend@example.nl")],
        )
        .await;
    assert_eq!(unknown.status, 429);

    // Bad input names the field.
    for bad in ["", "geen-adres", "ouder@exаmple.nl"] {
        let response = other
            .post_form(&host, "/password/forgot", &[("email", bad)])
            .await;
        assert_eq!(response.status, 400, "{bad:?}");
        assert!(response.text().contains("email"), "{bad:?}");
    }
    for bad in ["/password/reset/kort", "/password/reset/%27%3B--"] {
        assert_eq!(other.get(&host, bad).await.status, 404, "{bad}");
    }
}

#[tokio::test]
async fn a_new_sign_in_address_is_confirmed_at_that_address_and_announced_at_the_old() {
    let (app, mailbox, school) = setup().await;
    let host = school_host(&school.slug);
    let old = parent(&app, &school).await;
    let taken = parent(&app, &school).await;
    let new = format!("{}@example.org", unique_slug());

    let mut browser = Client::new(app.addr);
    browser.sign_in(&host, &old, PASSWORD, false).await;
    browser.get(&host, "/account").await;
    for (fields, field) in [
        (
            vec![
                ("new_email", new.as_str()),
                ("password", "Fout-Wachtwoord-1"),
            ],
            "password",
        ),
        (
            vec![("new_email", "geen-adres"), ("password", PASSWORD)],
            "new_email",
        ),
        (
            vec![("new_email", old.as_str()), ("password", PASSWORD)],
            "new_email",
        ),
    ] {
        let refused = browser.post_form(&host, "/account/email", &fields).await;
        assert_eq!(refused.status, 400, "{fields:?}");
        // The address form's password field has its own id on the account page.
        let id = if field == "password" {
            "email_password"
        } else {
            field
        };
        let html = refused.text();
        assert!(
            html.contains("id=\"form-mistakes\"") && html.contains(&format!("id=\"{id}-error\"")),
            "{html}"
        );
    }
    assert_eq!(outbox_count(&app).await, 0);

    let asked = browser
        .post_form(
            &host,
            "/account/email",
            &[("new_email", &new), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(asked.status, 200);
    assert!(
        asked.text().contains("bevestigingslink"),
        "{}",
        asked.text()
    );
    let notice = mailbox.latest(&old, 1).await;
    assert!(
        notice.text.contains(&new),
        "the old address is told: {}",
        notice.text
    );
    assert!(
        notice.link("/account/email/").is_none(),
        "the old address gets no link"
    );
    let confirm = mailbox.latest(&new, 1).await;
    let link = confirm
        .link("/account/email/")
        .expect("a confirmation link");

    // Until confirmed, the old address signs in; opening the link changes nothing by itself.
    let page = browser.get(&host, &link).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&new));
    let mut check = Client::new(app.addr);
    assert_eq!(
        check.sign_in(&host, &old, PASSWORD, false).await.status,
        303
    );
    let confirmed = browser.post_form(&host, &link, &[]).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.text());
    let mut after = Client::new(app.addr);
    assert_eq!(
        after.sign_in(&host, &old, PASSWORD, false).await.status,
        400
    );
    assert_eq!(
        after.sign_in(&host, &new, PASSWORD, false).await.status,
        303
    );
    assert_eq!(
        browser.post_form(&host, &link, &[]).await.status,
        410,
        "single use"
    );

    // An address that meanwhile belongs to someone else is refused at confirmation.
    after.get(&host, "/account").await;
    after
        .post_form(
            &host,
            "/account/email",
            &[("new_email", &taken.to_uppercase()), ("password", PASSWORD)],
        )
        .await;
    let link = mailbox
        .latest(&taken.to_uppercase(), 1)
        .await
        .link("/account/email/")
        .unwrap();
    after.get(&host, &link).await;
    let refused = after.post_form(&host, &link, &[]).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("iemand anders"),
        "{}",
        refused.text()
    );
    let still: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.accounts WHERE lower(email) = lower($1)")
            .bind(&new)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(still, 1, "the account kept its address");
}

/// The median of some durations.
fn median(mut took: Vec<std::time::Duration>) -> std::time::Duration {
    took.sort();
    took[took.len() / 2]
}

#[tokio::test]
async fn a_reset_request_takes_as_long_for_an_address_with_an_account_as_without() {
    let db = TestDb::fresh().await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        configure: Some(|config| {
            // Four hundred requests from one address, for two addresses among them.
            config.accounts.max_password_resets_per_address = 10_000;
            config.accounts.max_account_mails_per_ip = 10_000;
        }),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Stopwatch", "").await;
    let host = school_host(&school.slug);
    let existing = parent(&app, &school).await;
    let mut client = Client::new(app.addr);
    client.get(&host, "/password/forgot").await;
    let pool = app.db.pool.clone();
    let mut ask = async |email: &str| {
        let started = std::time::Instant::now();
        let answer = client
            .post_form(&host, "/password/forgot", &[("email", email)])
            .await;
        let took = started.elapsed();
        assert_eq!(answer.status, 200);
        // The request is answered off its path (a mail for an account, nothing without);
        // let that finish before the next one, so that it does not slow the next request
        // down and the two kinds of request are timed alone.
        while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM platform.account_mail_requests")
            .fetch_one(&pool)
            .await
            .unwrap()
            > 0
        {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        (took, answer.text())
    };
    // Warm up both paths, then interleave.
    let (_, with_account) = ask(&existing).await;
    let (_, without) = ask(&format!("{}@example.nl", unique_slug())).await;
    assert_eq!(
        with_account, without,
        "the same page, whether or not the address has an account"
    );
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        known.push(ask(&existing).await.0);
        unknown.push(ask(&format!("{}@example.nl", unique_slug())).await.0);
    }
    let (known, unknown) = (median(known), median(unknown));
    let gap = known.abs_diff(unknown);
    eprintln!("reset request medians: with an account {known:?}, without {unknown:?}");
    assert!(
        gap <= std::time::Duration::from_millis(1),
        "with an account {known:?}, without {unknown:?}"
    );
    // Every request for the address with an account was answered by mail.
    assert!(
        schoolplein_tests::eventually(std::time::Duration::from_secs(30), || async {
            let mails: i64 =
                sqlx::query_scalar("SELECT count(*) FROM platform.outbox WHERE recipient = $1")
                    .bind(&existing)
                    .fetch_one(&app.db.pool)
                    .await
                    .unwrap();
            mails == 201
        })
        .await
        .is_some(),
        "201 reset mails"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.account_mail_requests")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "every request answered, none kept");
}
