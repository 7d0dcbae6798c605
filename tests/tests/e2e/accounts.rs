//! Accounts and sessions: one sign-in for every school of the person and for no other school,
//! blocking that takes effect at once on every process, abuse limits, form tokens, and what a
//! password change or "sign out everywhere" does to the other sessions.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::{Client, encode_form};
use schoolplein_tests::{BASE_DOMAIN, TestApp, TestAppOptions, school_host, unique_slug};
use tenant_router::TenantEntry;

const PASSWORD: &str = "Kn1kker-Boom-Zeil";

async fn member(app: &TestApp, school: &TenantEntry, name: &str, roles: &[Role]) -> String {
    let email = format!("{}@example.nl", unique_slug());
    enroll_as(app, school, name, &email, roles).await;
    email
}

async fn enroll_as(app: &TestApp, school: &TenantEntry, name: &str, email: &str, roles: &[Role]) {
    enroll(
        &app.state,
        school.id,
        name,
        &EmailAddress::parse(email).unwrap(),
        roles,
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .expect("enrolled");
}

fn set_cookie_of<'a>(response: &'a schoolplein_tests::RawResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn one_sign_in_serves_every_school_of_the_person_and_no_other() {
    let app = TestApp::spawn().await;
    let a = app.create_school("Basisschool Een", "").await;
    let b = app.create_school("Basisschool Twee", "").await;
    let c = app.create_school("Basisschool Drie", "").await;
    let (host_a, host_b, host_c) = (
        school_host(&a.slug),
        school_host(&b.slug),
        school_host(&c.slug),
    );
    let parent = member(&app, &a, "Ouder van Twee Scholen", &[Role::Parent]).await;
    enroll_as(&app, &b, "Ouder van Twee Scholen", &parent, &[Role::Parent]).await;
    let admin = member(&app, &a, "Directeur Een", &[Role::SchoolAdmin]).await;

    let mut browser = Client::new(app.addr);
    let signed_in = browser.sign_in(&host_a, &parent, PASSWORD, false).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    assert_eq!(signed_in.header("location"), Some("/"));
    let cookie = set_cookie_of(&signed_in, "sp_session").expect("session cookie");
    assert!(
        cookie.contains(&format!("Domain={BASE_DOMAIN}")),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Max-Age"),
        "a session cookie unless kept: {cookie}"
    );

    // The same cookie serves the other school of this person, without signing in again.
    for host in [&host_a, &host_b] {
        let account = browser.get(host, "/account").await;
        assert_eq!(account.status, 200, "{host}");
        assert!(account.text().contains(&parent));
    }
    // A member's page: a parent is not a school admin (403, says why); in school C the
    // person is no member at all, and the page says that instead.
    let not_admin = browser.get(&host_a, "/admin/people").await;
    assert_eq!(not_admin.status, 403);
    assert!(
        not_admin.text().contains("Uw rol op deze school"),
        "{}",
        not_admin.text()
    );
    let not_member = browser.get(&host_c, "/admin/people").await;
    assert_eq!(not_member.status, 403);
    assert!(not_member.text().contains("niet als lid van deze school"));

    // Not signed in: to the sign-in page, and back afterwards.
    let mut stranger = Client::new(app.addr);
    let redirect = stranger.get(&host_a, "/admin/people").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("location"),
        Some("/sign-in?next=/admin/people")
    );

    // The admin sees the school's people, and only this school's.
    let mut office = Client::new(app.addr);
    assert_eq!(
        office
            .sign_in(&host_a, &admin, PASSWORD, false)
            .await
            .status,
        303
    );
    let people = office.get(&host_a, "/admin/people").await;
    assert_eq!(people.status, 200);
    let html = people.text();
    assert!(html.contains(&parent) && html.contains(&admin), "{html}");

    // A second process on the same database and Redis honours the same session...
    let other_process = TestApp::spawn_with(TestAppOptions {
        db: Some(app.db.clone()),
        ..TestAppOptions::default()
    })
    .await;
    let mut same_browser_elsewhere = browser.clone();
    same_browser_elsewhere.retarget(other_process.addr);
    assert_eq!(
        same_browser_elsewhere.get(&host_a, "/account").await.status,
        200
    );

    // ...and a block in school A refuses the person at once, on both processes, in school A
    // only; every block is recorded with who and when.
    let person_id: i64 = sqlx::query_scalar(
        "SELECT person_id FROM platform.memberships m JOIN platform.accounts a ON a.id = m.account_id
          WHERE lower(a.email) = lower($1) AND m.tenant_id = $2",
    )
    .bind(&parent)
    .bind(a.id.get())
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let blocked = office
        .post_form(&host_a, &format!("/admin/people/{person_id}/block"), &[])
        .await;
    assert_eq!(blocked.status, 303, "{}", blocked.text());
    for client in [&mut browser, &mut same_browser_elsewhere] {
        let refused = client.get(&host_a, "/admin/people").await;
        assert_eq!(refused.status, 403);
        assert!(refused.text().contains("geblokkeerd"), "{}", refused.text());
    }
    let mut tx = tenant_router::TenantTx::begin(&app.db.pool, a.id)
        .await
        .unwrap();
    let log: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT action, changed_by FROM access_changes WHERE person_id = $1")
            .bind(person_id)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, "block");
    assert!(log[0].1.is_some(), "who blocked is recorded");
    // School B is unaffected.
    let in_b = browser.get(&host_b, "/admin/people").await;
    assert!(
        in_b.text().contains("Uw rol op deze school"),
        "{}",
        in_b.text()
    );
    // Unblocking restores access to members' pages.
    office
        .post_form(&host_a, &format!("/admin/people/{person_id}/unblock"), &[])
        .await;
    let again = browser.get(&host_a, "/admin/people").await;
    assert!(
        again.text().contains("Uw rol op deze school"),
        "{}",
        again.text()
    );
}

#[tokio::test]
async fn bad_sign_ins_get_clear_answers_and_write_nothing() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Vier", "").await;
    let host = school_host(&school.slug);
    let email = member(&app, &school, "Juf Vier", &[Role::Teacher]).await;
    assert_eq!(sessions_of(&app, &email).await, 0);

    let mut browser = Client::new(app.addr);
    let wrong = browser
        .sign_in(&host, &email, "Niet-Het-Wachtwoord-1", false)
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.text().contains("horen niet bij elkaar"),
        "{}",
        wrong.text()
    );
    assert!(set_cookie_of(&wrong, "sp_session").is_none());

    for (address, reason) in [
        ("geen-adres", "geen geldig e-mailadres"),
        ("juf@exаmple.nl", "letters die er alleen op lijken"), // Cyrillic а
        ("", "Vul een e-mailadres in"),
    ] {
        let answer = browser
            .post_form(
                &host,
                "/sign-in",
                &[("email", address), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(answer.status, 400, "{address}");
        let html = answer.text();
        assert!(
            html.contains(reason) && html.contains("email"),
            "{address}: {html}"
        );
    }
    // A megabyte in one field: refused, naming the field.
    let huge = "x".repeat(1 << 20);
    let answer = browser
        .post_form(&host, "/sign-in", &[("email", &email), ("password", &huge)])
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("password"));
    // A form without its token, or with someone else's, is refused before anything is read.
    let form = encode_form(&[("email", &email), ("password", PASSWORD)]);
    let no_token = browser.post_raw(&host, "/sign-in", &form).await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.text().contains("verlopen"));
    let forged = format!("csrf={}&{form}", "A".repeat(43));
    assert_eq!(
        browser.post_raw(&host, "/sign-in", &forged).await.status,
        403
    );
    // A field the form does not expect to be missing.
    let missing = browser
        .post_form(&host, "/sign-in", &[("email", &email)])
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.text().contains("password"), "{}", missing.text());
    assert_eq!(sessions_of(&app, &email).await, 0, "no session was made");

    // Five failures for one account pause it, even for the right password, and say how long.
    for _ in 0..4 {
        browser
            .sign_in(&host, &email, "Niet-Het-Wachtwoord-1", false)
            .await;
    }
    let paused = browser.sign_in(&host, &email, PASSWORD, false).await;
    assert_eq!(paused.status, 429, "{}", paused.text());
    assert!(
        paused.text().contains("over 15 minuten"),
        "{}",
        paused.text()
    );
    // The same on another school's host: the limit belongs to the account.
    let other = app.create_school("Basisschool Vijf", "").await;
    let elsewhere = browser
        .sign_in(&school_host(&other.slug), &email, PASSWORD, false)
        .await;
    assert_eq!(elsewhere.status, 429);
}

/// How many live sessions the account with this address has.
async fn sessions_of(app: &TestApp, email: &str) -> usize {
    let account_id: i64 =
        sqlx::query_scalar("SELECT id FROM platform.accounts WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    schoolplein_kernel::session::Sessions::from_state(&app.state)
        .list(account_id)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn kept_sessions_password_changes_and_signing_out_everywhere() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Zes", "").await;
    let host = school_host(&school.slug);
    let email = member(&app, &school, "Ouder Zes", &[Role::Parent]).await;

    // A session id planted before sign-in is not the one used after it.
    let mut phone = Client::new(app.addr);
    phone.user_agent = "Mozilla/5.0 (Linux; Android 14) Chrome/140.0 Mobile".into();
    let planted = schoolplein_kernel::tokens::SecretToken::generate();
    phone.set_cookie(&host, "sp_session", planted.expose());
    let kept = phone.sign_in(&host, &email, PASSWORD, true).await;
    assert_eq!(kept.status, 303);
    let cookie = set_cookie_of(&kept, "sp_session").unwrap();
    assert!(cookie.contains("Max-Age=5184000"), "60 days: {cookie}");
    assert!(!cookie.contains(planted.expose()), "a new id: {cookie}");
    // The planted cookie is still in the jar (host-only, beside the new domain cookie), as it
    // would be in a browser; the server finds the live session among them.
    assert_eq!(phone.get(&host, "/account").await.status, 200);

    let mut laptop = Client::new(app.addr);
    assert_eq!(
        laptop.sign_in(&host, &email, PASSWORD, false).await.status,
        303
    );
    let stolen = laptop.cookie(&host, "sp_session").unwrap();
    let account = laptop.get(&host, "/account").await.text();
    assert!(
        account.contains("Chrome · Android") && account.contains("Firefox · Linux"),
        "{account}"
    );
    // When each began, in Dutch time as every other time on the site (never UTC).
    assert!(!account.contains("UTC"), "{account}");
    assert!(
        account.matches("sinds vandaag ").count() + account.matches("sinds gisteren ").count() == 2,
        "{account}"
    );

    // Changing the password: wrong current one, a common new one, then a good one.
    let wrong = laptop
        .post_form(
            &host,
            "/account/password",
            &[
                ("current", "Fout-Wachtwoord-9"),
                ("new", "Zon-Maan-Ster-42!"),
                ("repeat", "Zon-Maan-Ster-42!"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.text().contains("huidige wachtwoord klopt niet"));
    let common = laptop
        .post_form(
            &host,
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "Welkom2024!"),
                ("repeat", "Welkom2024!"),
            ],
        )
        .await;
    assert_eq!(common.status, 400);
    assert!(
        common.text().contains("meestgebruikte"),
        "{}",
        common.text()
    );
    let changed = laptop
        .post_form(
            &host,
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "Zon-Maan-Ster-42!"),
                ("repeat", "Zon-Maan-Ster-42!"),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    // The phone's session ended; the laptop's goes on; the new password works, the old not.
    assert_eq!(phone.get(&host, "/account").await.status, 303);
    assert_eq!(laptop.get(&host, "/account").await.status, 200);
    assert_eq!(
        phone.sign_in(&host, &email, PASSWORD, false).await.status,
        400
    );
    assert_eq!(
        phone
            .sign_in(&host, &email, "Zon-Maan-Ster-42!", false)
            .await
            .status,
        303
    );

    // Signing out everywhere ends both, and an old cookie copied elsewhere is worthless.
    let out = laptop.post_form(&host, "/sign-out-everywhere", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(phone.get(&host, "/account").await.status, 303);
    let mut thief = Client::new(app.addr);
    thief.set_cookie(&host, "sp_session", &stolen);
    assert_eq!(thief.get(&host, "/account").await.status, 303);
}

/// Seconds Redis has left on the session behind this browser's cookie for `host`.
async fn session_ttl(app: &TestApp, client: &Client, host: &str) -> i64 {
    let token = client.cookie(host, "sp_session").expect("session cookie");
    let token = schoolplein_kernel::tokens::SecretToken::parse(&token).expect("a token");
    let mut redis = app.state.redis.unguarded();
    redis::cmd("TTL")
        .arg(
            app.state
                .redis_key(&format!("session:{}", token.hash().to_hex())),
        )
        .query_async(&mut redis)
        .await
        .unwrap()
}

async fn set_session_ttl(app: &TestApp, client: &Client, host: &str, secs: i64) {
    let token = client.cookie(host, "sp_session").expect("session cookie");
    let token = schoolplein_kernel::tokens::SecretToken::parse(&token).expect("a token");
    let mut redis = app.state.redis.unguarded();
    let _: bool = redis::cmd("EXPIRE")
        .arg(
            app.state
                .redis_key(&format!("session:{}", token.hash().to_hex())),
        )
        .arg(secs)
        .query_async(&mut redis)
        .await
        .unwrap();
}

#[tokio::test]
async fn profile_changes_sign_out_and_session_lifetimes() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Zeven", "").await;
    let email = member(&app, &school, "Ouder Zeven", &[Role::Parent]).await;

    // On a single-label base domain (`localhost`) browsers refuse a Domain cookie: host-only.
    let local = format!("{}.localhost", school.slug);
    let mut browser = Client::new(app.addr);
    let signed_in = browser.sign_in(&local, &email, PASSWORD, false).await;
    assert_eq!(signed_in.status, 303);
    let cookie = set_cookie_of(&signed_in, "sp_session").unwrap();
    assert!(!cookie.contains("Domain="), "{cookie}");
    assert_eq!(browser.get(&local, "/account").await.status, 200);

    // Name and language: bad values name their field and change nothing.
    for (name, language, field) in [("  ", "nl", "name"), ("Ouder Zeven", "de", "language")] {
        let refused = browser
            .post_form(
                &local,
                "/account/profile",
                &[("name", name), ("language", language)],
            )
            .await;
        assert_eq!(refused.status, 400, "{field}");
        // The form comes back with the mistake in the summary and at its field.
        let html = refused.text();
        assert!(
            html.contains("id=\"form-mistakes\"")
                && html.contains(&format!("id=\"{field}-error\"")),
            "{html}"
        );
    }
    let long = "x".repeat(101);
    let too_long = browser
        .post_form(
            &local,
            "/account/profile",
            &[("name", &long), ("language", "nl")],
        )
        .await;
    assert_eq!(too_long.status, 400);
    let stored: (String, String) = sqlx::query_as(
        "SELECT name, language FROM platform.accounts WHERE lower(email) = lower($1)",
    )
    .bind(&email)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, ("Ouder Zeven".to_owned(), "nl".to_owned()));
    let saved = browser
        .post_form(
            &local,
            "/account/profile",
            &[("name", "Ouder Zeven-Jansen"), ("language", "en")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = browser.get(&local, "/account").await.text();
    assert!(page.contains("value=\"Ouder Zeven-Jansen\""), "{page}");
    assert!(page.contains("<option value=\"en\" selected>"), "{page}");

    // Using a session that ends after idle hours moves its end forward...
    set_session_ttl(&app, &browser, &local, 100).await;
    browser.get(&local, "/account").await;
    let idle = app.state.config.accounts.session_idle().as_secs() as i64;
    assert!(session_ttl(&app, &browser, &local).await > idle - 10);

    // ...while a kept session keeps its fixed end, however often it is used.
    let mut tablet = Client::new(app.addr);
    assert_eq!(
        tablet.sign_in(&local, &email, PASSWORD, true).await.status,
        303
    );
    set_session_ttl(&app, &tablet, &local, 100).await;
    assert_eq!(tablet.get(&local, "/account").await.status, 200);
    assert!(session_ttl(&app, &tablet, &local).await <= 100);

    // Signing out ends this browser's session only, and deletes its cookie.
    let out = browser.post_form(&local, "/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/sign-in"));
    assert!(
        set_cookie_of(&out, "sp_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(browser.get(&local, "/account").await.status, 303);
    assert_eq!(tablet.get(&local, "/account").await.status, 200);
}

#[tokio::test]
async fn pages_speak_the_language_the_person_chose_whatever_the_browser_asks() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Taal", "").await;
    let host = school_host(&school.slug);
    let email = member(&app, &school, "Ouder Taal", &[Role::Parent]).await;

    let mut browser = Client::new(app.addr);
    browser.extra_headers = vec![("Accept-Language".into(), "en-GB,en;q=0.9".into())];
    // Not signed in: the browser's language.
    assert!(
        browser
            .get(&host, "/sign-in")
            .await
            .text()
            .contains("<html lang=\"en\">")
    );
    browser.sign_in(&host, &email, PASSWORD, false).await;
    // Signed in: the account's language (Dutch, the default), pages and error pages alike.
    let account = browser.get(&host, "/account").await.text();
    assert!(account.contains("<html lang=\"nl\">") && account.contains("Mijn account"));
    let forbidden = browser.get(&host, "/admin/people").await;
    assert_eq!(forbidden.status, 403);
    assert!(
        forbidden.text().contains("Geen toegang"),
        "{}",
        forbidden.text()
    );

    let changed = browser
        .post_form(
            &host,
            "/account/profile",
            &[("name", "Ouder Taal"), ("language", "en")],
        )
        .await;
    assert_eq!(changed.status, 303);
    browser.extra_headers = vec![("Accept-Language".into(), "nl".into())];
    let account = browser.get(&host, "/account").await.text();
    assert!(account.contains("<html lang=\"en\">") && account.contains("My account"));
    let forbidden = browser.get(&host, "/admin/people").await.text();
    assert!(forbidden.contains("<html lang=\"en\">"), "{forbidden}");
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_pause_that_address_for_every_account() {
    let app = TestApp::spawn_with(TestAppOptions {
        configure: Some(|config| {
            // Behind a proxy, the client's address comes from X-Forwarded-For: each test run
            // gets an address of its own, so the shared Redis holds no one else's failures.
            config.server.trust_forwarded_host = true;
            config.accounts.max_failed_sign_ins_per_ip = 3;
        }),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Slot", "").await;
    let host = school_host(&school.slug);
    let victim = member(&app, &school, "Ouder Slot", &[Role::Parent]).await;
    let ip = format!(
        "10.{}.{}.{}",
        rand::random::<u8>(),
        rand::random::<u8>(),
        rand::random::<u8>()
    );
    let mut guesser = Client::new(app.addr);
    guesser.extra_headers = vec![("X-Forwarded-For".into(), ip.clone())];
    for n in 0..3 {
        let email = format!("gok-{n}-{}@example.nl", unique_slug());
        let failed = guesser
            .sign_in(&host, &email, "Niet-Het-Wachtwoord-1", false)
            .await;
        assert_eq!(failed.status, 400);
    }
    // The fourth attempt from that address is paused, even for a real account and password…
    let paused = guesser.sign_in(&host, &victim, PASSWORD, false).await;
    assert_eq!(paused.status, 429, "{}", paused.text());
    // …while the same person from another address signs in.
    let mut owner = Client::new(app.addr);
    owner.extra_headers = vec![(
        "X-Forwarded-For".into(),
        format!("192.0.2.{}", rand::random::<u8>()),
    )];
    assert_eq!(
        owner.sign_in(&host, &victim, PASSWORD, false).await.status,
        303
    );
}
