//! Headless Chromium opens a school by its `<slug>.localhost` address.

use schoolplein_tests::browser::Browser;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb};

#[tokio::test]
async fn browser_opens_demo_localhost_and_sees_the_school() {
    let db = TestDb::fresh().await;
    db.create_school(
        Some("demo"),
        "Basisschool De Klimop",
        "Welkom in de browser",
    )
    .await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;

    let browser = Browser::start().await;
    browser
        .goto(&format!("http://demo.localhost:{}/", app.addr.port()))
        .await;
    assert_eq!(
        browser.text_of("#school-name").await,
        "Basisschool De Klimop"
    );
    assert_eq!(
        browser.text_of("#welcome-text").await,
        "Welkom in de browser"
    );
    assert!(browser.title().await.starts_with("Basisschool De Klimop"));
    browser.look_at("visitor-home").await;

    // The checks can fail: a field without a label is found, and so is a script error.
    browser
        .goto("data:text/html,<!doctype html><html lang=nl><title>t</title><main><input id=x></main><script>nope()</script>")
        .await;
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.iter().any(|v| v.starts_with("label ")),
        "{violations:?}"
    );
    assert!(!browser.console_errors().await.is_empty());
    browser.close().await;
}

/// Signs in through the page, as a person would.
async fn sign_in_with_the_form(browser: &Browser, origin: &str, email: &str, password: &str) {
    browser.goto(&format!("{origin}/sign-in")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", password).await;
    browser.click("#sign-in").await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
}

#[tokio::test]
async fn an_invited_teacher_joins_and_a_parent_switches_schools_in_the_browser() {
    use schoolplein_kernel::Role;
    use schoolplein_registration::{EmailAddress, NewPassword, enroll};
    use schoolplein_tests::mailbox::Mailbox;

    const PASSWORD: &str = "Kn1kker-Boom-Zeil";
    const TEACHER_PASSWORD: &str = "Krijt-Bord-88!";
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let klimop = app.create_school("Basisschool De Klimop", "").await;
    let plein = app.create_school("Kindcentrum Het Tweede Plein", "").await;
    let enroll_as =
        |school: tenant_router::TenantId, name: &'static str, email: &'static str, role: Role| {
            let state = app.state.clone();
            async move {
                enroll(
                    &state,
                    school,
                    name,
                    &EmailAddress::parse(email).unwrap(),
                    &[role],
                    Some(&NewPassword::parse(PASSWORD).unwrap()),
                )
                .await
                .unwrap();
            }
        };
    enroll_as(
        klimop.id,
        "Directeur Anja",
        "anja@klimop.example",
        Role::SchoolAdmin,
    )
    .await;
    enroll_as(
        klimop.id,
        "Sanne Jansen",
        "sanne@ouders.example",
        Role::Parent,
    )
    .await;
    enroll_as(
        plein.id,
        "Sanne Jansen",
        "sanne@ouders.example",
        Role::Parent,
    )
    .await;
    let port = app.addr.port();
    let klimop_origin = format!("http://{}.localhost:{port}", klimop.slug);
    let plein_origin = format!("http://{}.localhost:{port}", plein.slug);

    let browser = Browser::start().await;
    // The admin invites a teacher, then signs out.
    sign_in_with_the_form(&browser, &klimop_origin, "anja@klimop.example", PASSWORD).await;
    assert_eq!(browser.text_of("#member-name").await, "Directeur Anja");
    browser.goto(&format!("{klimop_origin}/admin/people")).await;
    browser.fill("#invite-name", "Meester Tim").await;
    browser.fill("#invite-email", "tim@klimop.example").await;
    browser.click("#invite").await;
    browser
        .wait_for_url(|url| url.ends_with("?notice=invited"))
        .await;
    assert!(browser.has("#people-notice").await);
    browser.goto(&format!("{klimop_origin}/account")).await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;

    // The teacher opens the mailed link, chooses a password, signs in, out, and in again.
    let link = mailbox
        .latest("tim@klimop.example", 1)
        .await
        .link("/invitation/")
        .expect("the invitation's link");
    browser.goto(&format!("{klimop_origin}{link}")).await;
    assert_eq!(
        browser.text_of("#invited-email").await,
        "tim@klimop.example"
    );
    browser.fill("#name", "Tim de Vries").await;
    browser.fill("#password", TEACHER_PASSWORD).await;
    browser.fill("#repeat", TEACHER_PASSWORD).await;
    browser.click("#accept").await;
    browser
        .wait_for_url(|url| url.ends_with("/sign-in?notice=joined"))
        .await;
    assert!(browser.has("#sign-in-notice").await);
    browser.fill("#email", "tim@klimop.example").await;
    browser.fill("#password", TEACHER_PASSWORD).await;
    browser.click("#sign-in").await;
    assert_eq!(browser.text_of("#member-name").await, "Tim de Vries");
    browser.click("#person-menu summary").await;
    browser.click("#menu-account").await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;
    browser.goto(&format!("{klimop_origin}/")).await;
    assert!(!browser.has("#member-name").await, "signed out");
    sign_in_with_the_form(
        &browser,
        &klimop_origin,
        "tim@klimop.example",
        TEACHER_PASSWORD,
    )
    .await;
    assert_eq!(browser.text_of("#member-name").await, "Tim de Vries");
    browser.click("#person-menu summary").await;
    browser.click("#menu-account").await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;

    // A parent of both schools switches from one to the other without signing in again.
    sign_in_with_the_form(&browser, &klimop_origin, "sanne@ouders.example", PASSWORD).await;
    // A hand-off link made in another browser (here, the test's own client, signed in as
    // the same parent) does not sign this one in at the other school.
    {
        let host_k = format!("{}.localhost:{port}", klimop.slug);
        let host_p = format!("{}.localhost:{port}", plein.slug);
        let mut other = schoolplein_tests::client::Client::new(app.addr);
        assert_eq!(
            other
                .sign_in(&host_k, "sanne@ouders.example", PASSWORD, false)
                .await
                .status,
            303
        );
        let path_of = |answer: &schoolplein_tests::RawResponse| {
            let location = answer.header("location").expect("a redirect").to_owned();
            let rest = location.strip_prefix("http://").expect("absolute");
            rest[rest.find('/').unwrap()..].to_owned()
        };
        let open = other
            .get(&host_k, &format!("/schools/{}/open", plein.id))
            .await;
        let marked = other.get(&host_p, &path_of(&open)).await;
        let granted = other.get(&host_k, &path_of(&marked)).await;
        let link = path_of(&granted);
        assert!(link.starts_with("/session/handoff/"), "{link}");
        browser.goto(&format!("{plein_origin}{link}")).await;
        browser.wait_for_url(|url| url.ends_with("/sign-in")).await;
        browser.goto(&format!("{plein_origin}/account")).await;
        browser.wait_for_url(|url| url.contains("/sign-in")).await;
        browser.goto(&format!("{klimop_origin}/")).await;
    }
    assert_eq!(
        browser.text_of("#school-name").await,
        "Basisschool De Klimop"
    );
    browser.click("#person-menu summary").await;
    browser.click("#menu-schools").await;
    browser
        .click(&format!("#school-{} a.switch", plein.id))
        .await;
    browser
        .wait_for_url(|url| url == format!("{plein_origin}/"))
        .await;
    assert_eq!(
        browser.text_of("#school-name").await,
        "Kindcentrum Het Tweede Plein"
    );
    assert_eq!(browser.text_of("#member-name").await, "Sanne Jansen");
    browser.click("#person-menu summary").await;
    browser.click("#menu-schools").await;
    browser
        .click(&format!("#school-{} a.switch", klimop.id))
        .await;
    browser
        .wait_for_url(|url| url == format!("{klimop_origin}/"))
        .await;
    assert_eq!(
        browser.text_of("#school-name").await,
        "Basisschool De Klimop"
    );
    assert_eq!(browser.text_of("#member-name").await, "Sanne Jansen");
    browser.close().await;
}

#[tokio::test]
async fn an_admin_imports_prints_letters_and_a_parent_registers_is_approved_and_sees_the_group() {
    use schoolplein_kernel::Role;
    use schoolplein_registration::{EmailAddress, NewPassword, enroll};
    use schoolplein_tests::mailbox::Mailbox;
    use schoolplein_tests::{http, pdf_text};

    const PASSWORD: &str = "Kn1kker-Boom-Zeil";
    const PARENT_PASSWORD: &str = "Ouder-Wacht-42!";
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    enroll(
        &app.state,
        school.id,
        "Directeur Anja",
        &EmailAddress::parse("anja@klimop.example").unwrap(),
        &[Role::SchoolAdmin],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let port = app.addr.port();
    let host = format!("{}.localhost:{port}", school.slug);
    let origin = format!("http://{host}");
    let sample = schoolplein_tests::workspace_root()
        .join("docs/samples/edexml-voorbeeld.xml")
        .canonicalize()
        .expect("the sample file");

    let browser = Browser::start().await;
    // The admin imports the administration's file.
    sign_in_with_the_form(&browser, &origin, "anja@klimop.example", PASSWORD).await;
    browser.click("#nav-admin").await;
    browser.click("#nav-admin-import").await;
    browser.fill("#file", &sample.display().to_string()).await;
    browser.click("#import").await;
    assert_eq!(browser.text_of("#count-added").await, "6");

    // …prints group 3b's letters: the PDF behind the page's link, with the browser's cookies.
    browser.goto(&format!("{origin}/admin/parents")).await;
    let group: i64 = {
        let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
            .await
            .unwrap();
        let id = sqlx::query_scalar("SELECT id FROM groups WHERE import_key = 'G3B'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    assert!(browser.has(&format!("#letters-{group}")).await);
    let cookie = browser
        .cookies()
        .await
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let letters = http::get(
        app.addr,
        &host,
        &format!("/admin/groups/{group}/letters.pdf"),
        &[("Cookie", cookie.as_str())],
    )
    .await
    .expect("the letters");
    assert_eq!(letters.status, 200);
    let text = pdf_text(&letters.body).await;
    let sanne = text
        .split('\u{c}')
        .find(|page| page.contains("Sanne de Vries"))
        .expect("Sanne's letter");
    let code = sanne
        .split_whitespace()
        .find(|word| word.len() == 14 && word.matches('-').count() == 2)
        .expect("the code on Sanne's letter")
        .to_owned();
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;

    // A parent registers with the code from the letter and confirms by mail.
    browser.goto(&format!("{origin}/register")).await;
    browser.fill("#code", &code).await;
    browser.click("#enter-code").await;
    browser
        .wait_for_url(|url| url.ends_with("/register/account"))
        .await;
    assert!(browser.text_of("#claim").await.contains("Sanne"));
    browser.fill("#name", "Anna de Vries").await;
    browser.fill("#email", "anna@ouders.example").await;
    browser.fill("#password", PARENT_PASSWORD).await;
    browser.fill("#repeat", PARENT_PASSWORD).await;
    browser.click("#create-account").await;
    assert!(!browser.text_of("#registration-sent").await.is_empty());
    let link = mailbox
        .latest("anna@ouders.example", 1)
        .await
        .link("/register/confirm/")
        .expect("the confirmation link");
    browser.goto(&format!("{origin}{link}")).await;
    // Confirming signs the parent in, on their home page, which says what they wait for.
    browser.click("#confirm-registration").await;
    browser
        .wait_for_url(|url| url.ends_with("/?joined=new"))
        .await;
    assert!(
        browser
            .text_of("#waiting-for-school")
            .await
            .contains("Sanne")
    );
    browser.look_at("parent-waiting").await;
    browser.click("#nav-children").await;
    assert!(
        !browser.text_of(".child-status").await.is_empty(),
        "waiting for approval"
    );
    assert!(
        !browser.has(".child-group").await,
        "not before the school approves"
    );
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;

    // The admin approves (approval is on: the school's default).
    sign_in_with_the_form(&browser, &origin, "anja@klimop.example", PASSWORD).await;
    browser.click("#nav-admin").await;
    browser.click("#nav-admin-parents").await;
    browser.click("#pending .approve").await;
    assert!(!browser.text_of("#no-pending").await.is_empty());
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;

    // The parent sees their child and the group's page.
    sign_in_with_the_form(&browser, &origin, "anna@ouders.example", PARENT_PASSWORD).await;
    browser.click("#nav-children").await;
    assert_eq!(browser.text_of(".child-group").await, "Groep 3b");
    browser.click(".child-group").await;
    browser
        .wait_for_url(|url| url.ends_with(&format!("/groups/{group}")))
        .await;
    assert_eq!(browser.text_of("#group-name").await, "Groep 3b");
    browser.close().await;
}

/// Signs the browser out of the school at `origin`.
async fn sign_out(browser: &Browser, origin: &str) {
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;
}

#[tokio::test]
async fn a_teacher_asks_group_3_a_question_a_parent_answers_and_the_teacher_sees_the_tally_and_reminds()
 {
    use schoolplein_kernel::Role;
    use schoolplein_tests::mailbox::Mailbox;
    use schoolplein_tests::school::{self, PASSWORD};

    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let school = app.create_school("Basisschool De Vragenlijst", "").await;
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let answering = school::member(&app, &school, "Ouder Drie", &[Role::Parent]).await;
    school::link_child(&app, &school, answering.person_id, "2026001").await;
    let silent = school::member(&app, &school, "Ouder Stil", &[Role::Parent]).await;
    school::link_child(&app, &school, silent.person_id, "2026002").await;
    let group_4 = school::member(&app, &school, "Ouder Vier", &[Role::Parent]).await;
    school::link_child(&app, &school, group_4.person_id, "2026003").await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    let origin = format!("http://{}.localhost:{}", school.slug, app.addr.port());

    let browser = Browser::start().await;
    // The teacher writes news for group 3 with two questions.
    sign_in_with_the_form(&browser, &origin, &teacher.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/posts/new")).await;
    browser.fill("#title", "Kijkavond groep 3").await;
    browser
        .fill("#body", "Komt u kijken naar het werk van de kinderen?")
        .await;
    // Her only group is ticked already.
    assert_eq!(
        browser
            .run_on(&format!("#group-{g3}"), "return arguments[0].checked;", &[])
            .await,
        serde_json::json!(true)
    );
    browser.click("#questionnaire summary").await;
    browser.click("#q1-kind option[value='yes_no']").await;
    browser
        .fill("#q1-prompt", "Komt u naar de kijkavond?")
        .await;
    browser.click("#q2-kind option[value='one_choice']").await;
    browser.fill("#q2-prompt", "Hoe laat?").await;
    browser.fill("#q2-options", "17:00\n18:30").await;
    browser.click("#publish").await;
    let url = browser
        .wait_for_url(|url| url.contains("/posts/") && !url.ends_with("/new"))
        .await;
    let post: i64 = url
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a post's address: {url}"));
    assert_eq!(
        browser.text_of("#answered-count").await.split(' ').next(),
        Some("0")
    );
    sign_out(&browser, &origin).await;

    // A parent of group 3 sees it on the timeline and answers.
    sign_in_with_the_form(&browser, &origin, &answering.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/timeline")).await;
    assert!(browser.has(&format!("#post-{post}")).await);
    browser.goto(&format!("{origin}/posts/{post}")).await;
    browser.click("#section-0 input[value='yes']").await;
    browser
        .click("#section-0 .question:nth-of-type(2) input[value='1']")
        .await;
    browser.click("#send-responses").await;
    browser.wait_for_url(|url| url.contains("answered=1")).await;
    assert!(browser.has("#answers-saved").await);
    assert!(!browser.has("#tally").await, "parents see no tally");
    sign_out(&browser, &origin).await;

    // A parent of group 4 does not see it.
    sign_in_with_the_form(&browser, &origin, &group_4.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/timeline")).await;
    assert!(!browser.has(&format!("#post-{post}")).await);
    browser.goto(&format!("{origin}/posts/{post}")).await;
    assert!(!browser.has("#post-title").await);
    sign_out(&browser, &origin).await;

    // The teacher sees the tally and reminds the one who has not answered.
    sign_in_with_the_form(&browser, &origin, &teacher.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/posts/{post}")).await;
    assert_eq!(
        browser.text_of("#answered-count").await.split(" / ").next(),
        Some("1")
    );
    let tally = browser.text_of("#tally").await;
    assert!(tally.contains("18:30: 1 (Ouder Drie)"), "{tally}");
    assert!(
        browser
            .text_of("#not-answered")
            .await
            .contains("Ouder Stil")
    );
    browser.click("#remind-unanswered").await;
    browser.wait_for_url(|url| url.contains("reminded=1")).await;
    let mail = mailbox.latest(&silent.email, 1).await;
    assert!(mail.text.contains("Kijkavond groep 3"), "{}", mail.text);
    assert!(mailbox.delivered_to(&answering.email).await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn a_teacher_plans_conferences_from_the_seed_two_parents_book_one_changes_and_both_get_their_final_time()
 {
    use chrono::{Duration, Utc};
    use schoolplein_kernel::Role;
    use schoolplein_tests::mailbox::Mailbox;
    use schoolplein_tests::school::{self, PASSWORD};

    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let school = app.create_school("Basisschool De Gesprekken", "").await;
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let anna = school::parent(&app, &school, "Anna de Vries", &["2026001"]).await;
    let joost = school::parent(&app, &school, "Joost Bakker", &["2026002"]).await;
    let key = |sql: &'static str, key: &'static str| school::id(&app, &school, sql, key);
    let g3 = key("SELECT id FROM groups WHERE import_key = $1", "G3B").await;
    let sanne = key("SELECT id FROM pupils WHERE import_key = $1", "2026001").await;
    let daan = key("SELECT id FROM pupils WHERE import_key = $1", "2026002").await;
    let date = |days: i64| {
        (Utc::now() + Duration::days(days))
            .date_naive()
            .format("%Y-%m-%d")
            .to_string()
    };
    let (first, extra) = (date(30), date(32));
    let origin = format!("http://{}.localhost:{}", school.slug, app.addr.port());

    let browser = Browser::start().await;
    // The teacher fills in the seed's round: 20 talks of 10 minutes, a 10-minute break after
    // every 5, 15:00–18:30, and an extra day.
    sign_in_with_the_form(&browser, &origin, &teacher.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/conference-rounds")).await;
    browser
        .click(&format!("#round-group option[value='{g3}']"))
        .await;
    browser.fill("#round-title", "Rapportgesprekken").await;
    browser.fill("#round-talks", "20").await;
    browser.fill("#round-talk-minutes", "10").await;
    browser.fill("#round-before-break", "5").await;
    browser.fill("#round-break-minutes", "10").await;
    browser.set_value("#round-start-date", &first).await;
    browser.set_value("#round-extra-1", &extra).await;
    browser.set_value("#round-day-start", "15:00").await;
    browser.set_value("#round-day-end", "18:30").await;
    browser.click("#create-round").await;
    let url = browser
        .wait_for_url(|url| {
            url.rsplit('/')
                .next()
                .is_some_and(|id| id.parse::<i64>().is_ok())
        })
        .await;
    let round: i64 = url
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a round's address: {url}"));

    // The generated times: talks in blocks of five with the break between, 18 on the first
    // day up to 18:30, the last 2 on the extra day.
    let first_day = browser.text_of(&format!("#day-{first}")).await;
    for time in ["15:00–15:10", "15:40–15:50", "16:00–16:10", "18:20–18:30"] {
        assert!(first_day.contains(time), "{time}: {first_day}");
    }
    assert!(!first_day.contains("15:50–16:00"), "the break is no talk");
    let rows = |day: &str, n: usize| format!("#day-{day} tbody tr:nth-child({n})");
    assert!(browser.has(&rows(&first, 18)).await && !browser.has(&rows(&first, 19)).await);
    assert!(browser.has(&rows(&extra, 2)).await && !browser.has(&rows(&extra, 3)).await);
    assert!(
        browser
            .text_of(&rows(&extra, 1))
            .await
            .contains("15:00–15:10")
    );
    browser.click("#publish-button").await;
    browser.wait_for_text("#round-status", "gepubliceerd").await;
    sign_out(&browser, &origin).await;

    // The slots as stored, to find the buttons of 15:20, 15:40 and 16:10.
    let slot = |time: &'static str| {
        let app = &app;
        let school = &school;
        async move {
            let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
                .await
                .unwrap();
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM conference_slots
                  WHERE round_id = $1
                    AND to_char(starts_at AT TIME ZONE 'Europe/Amsterdam', 'HH24:MI') = $2
                  ORDER BY starts_at LIMIT 1",
            )
            .bind(round)
            .bind(time)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            tx.rollback().await.unwrap();
            id
        }
    };
    let (at_1520, at_1540, at_1610) = (
        slot("15:20").await,
        slot("15:40").await,
        slot("16:10").await,
    );

    // Anna books 15:20 for Sanne.
    sign_in_with_the_form(&browser, &origin, &anna.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/conferences")).await;
    browser
        .click(&format!("#slot-{at_1520}-{sanne} button.book"))
        .await;
    browser.wait_for_url(|url| url.contains("booked=")).await;
    browser.wait_for("#booked").await;
    sign_out(&browser, &origin).await;

    // Joost books 15:40 for Daan, then changes to 16:10; 15:20 is taken for him.
    sign_in_with_the_form(&browser, &origin, &joost.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/conferences")).await;
    assert!(
        !browser
            .has(&format!("#slot-{at_1520}-{daan} button.book"))
            .await,
        "Anna's time is not offered"
    );
    browser
        .click(&format!("#slot-{at_1540}-{daan} button.book"))
        .await;
    browser
        .wait_for_url(|url| url.contains(&format!("booked={at_1540}")))
        .await;
    browser
        .click(&format!("#slot-{at_1610}-{daan} button.book"))
        .await;
    browser
        .wait_for_url(|url| url.contains(&format!("booked={at_1610}")))
        .await;
    browser.wait_for("#booked").await;
    sign_out(&browser, &origin).await;

    // The teacher closes the planning.
    sign_in_with_the_form(&browser, &origin, &teacher.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser
        .goto(&format!("{origin}/conference-rounds/{round}"))
        .await;
    browser.click("#confirm-close").await;
    browser.click("#close-round").await;
    browser.wait_for("#closed-notice").await;
    browser.wait_for_text("#round-status", "gesloten").await;
    browser.close().await;

    // Both parents get their final time by mail (after the invitation): Joost the new one.
    let to_anna = mailbox.latest(&anna.email, 2).await;
    assert!(
        to_anna.subject.contains("Definitieve tijden"),
        "{}",
        to_anna.subject
    );
    assert!(
        to_anna.text.contains("Sanne de Vries") && to_anna.text.contains("15:20–15:30"),
        "{}",
        to_anna.text
    );
    let to_joost = mailbox.latest(&joost.email, 2).await;
    assert!(
        to_joost.subject.contains("Definitieve tijden"),
        "{}",
        to_joost.subject
    );
    assert!(
        to_joost.text.contains("Daan Bakker") && to_joost.text.contains("16:10–16:20"),
        "{}",
        to_joost.text
    );
    assert!(!to_joost.text.contains("15:40–15:50"), "not the old time");
}

/// Selects the first `needle` in the post's text field, as a person dragging over it would.
async fn select_in_body(browser: &Browser, needle: &str) {
    let found = browser
        .run_on(
            "#body",
            "const field = arguments[0]; const at = field.value.indexOf(arguments[1]);
             if (at < 0) { return false; }
             field.focus(); field.setSelectionRange(at, at + arguments[1].length); return true;",
            &[serde_json::json!(needle)],
        )
        .await;
    assert_eq!(
        found,
        serde_json::json!(true),
        "{needle:?} in the text field"
    );
}

/// The post's text field: its text, and the part of it that is selected.
async fn body_field(browser: &Browser) -> (String, String) {
    let field = browser
        .run_on(
            "#body",
            "const f = arguments[0]; return [f.value, f.value.slice(f.selectionStart, f.selectionEnd)];",
            &[],
        )
        .await;
    let text = |i: usize| field[i].as_str().unwrap_or_default().to_owned();
    (text(0), text(1))
}

#[tokio::test]
async fn an_admin_formats_a_post_with_the_toolbar_and_the_published_post_shows_the_markup() {
    use schoolplein_kernel::Role;
    use schoolplein_tests::school::{self, PASSWORD};
    use serde_json::json;

    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Opmaak", "").await;
    let admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let origin = format!("http://{}.localhost:{}", school.slug, app.addr.port());

    let browser = Browser::start().await;
    sign_in_with_the_form(&browser, &origin, &admin.email, PASSWORD).await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    browser.goto(&format!("{origin}/posts/new")).await;

    // The script put a toolbar above the field, labelled in the page's language (Dutch).
    browser
        .wait_for(".editor-toolbar button[data-tool='bold']")
        .await;
    assert_eq!(
        browser
            .attribute(".editor-toolbar", "role")
            .await
            .as_deref(),
        Some("toolbar")
    );
    assert_eq!(
        browser
            .attribute(".editor-toolbar", "aria-label")
            .await
            .as_deref(),
        Some("Opmaak")
    );
    for (tool, label, title) in [
        ("bold", "Vet", "Vet (Ctrl+B)"),
        ("italic", "Cursief", "Cursief (Ctrl+I)"),
        ("heading", "Tussenkop", "Tussenkop"),
        ("bulleted-list", "Opsomming", "Opsomming"),
        ("numbered-list", "Genummerde lijst", "Genummerde lijst"),
        ("link", "Link", "Link"),
    ] {
        let button = format!(".editor-toolbar button[data-tool='{tool}']");
        let attribute = |name: &'static str| browser.attribute(&button, name);
        assert_eq!(attribute("type").await.as_deref(), Some("button"), "{tool}");
        assert_eq!(
            attribute("aria-label").await.as_deref(),
            Some(label),
            "{tool}"
        );
        assert_eq!(attribute("title").await.as_deref(), Some(title), "{tool}");
    }

    // One tab stop; the arrow keys and End move along the toolbar.
    let focused = || {
        browser.run_on(
            "body",
            "return document.activeElement.dataset.tool || null;",
            &[],
        )
    };
    browser
        .run_on("[data-tool='bold']", "arguments[0].focus();", &[])
        .await;
    browser.send_keys("[data-tool='bold']", "\u{E014}").await;
    assert_eq!(focused().await, json!("italic"));
    browser.send_keys("[data-tool='italic']", "\u{E010}").await;
    assert_eq!(focused().await, json!("link"));
    assert_eq!(
        browser
            .attribute("[data-tool='link']", "tabindex")
            .await
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        browser
            .attribute("[data-tool='bold']", "tabindex")
            .await
            .as_deref(),
        Some("-1")
    );

    browser.fill("#title", "Naar het bos").await;
    browser
        .fill(
            "#body",
            "Vrijdag gaan we naar het bos van Staatsbosbeheer.\n\nNeem mee:\nlaarzen\neen jas",
        )
        .await;
    browser
        .run_on(
            "#body",
            "window.inputs = 0; arguments[0].addEventListener('input', () => { window.inputs += 1; });",
            &[],
        )
        .await;
    let inputs = || browser.run_on("body", "return window.inputs;", &[]);

    // Bold: the word is wrapped and stays selected; the field heard an input event.
    select_in_body(&browser, "Vrijdag").await;
    browser.click("[data-tool='bold']").await;
    let (text, selected) = body_field(&browser).await;
    assert!(text.starts_with("<strong>Vrijdag</strong> gaan"), "{text}");
    assert_eq!(selected, "Vrijdag");
    assert_eq!(inputs().await, json!(1));

    // Italic by its shortcut.
    select_in_body(&browser, "het bos").await;
    browser.send_keys("#body", "\u{E009}i\u{E000}").await;
    let (text, selected) = body_field(&browser).await;
    assert!(text.contains("naar <em>het bos</em> van"), "{text}");
    assert_eq!(selected, "het bos");

    // A bulleted list of two lines, a paragraph of its own.
    select_in_body(&browser, "laarzen\neen jas").await;
    browser.click("[data-tool='bulleted-list']").await;
    let (text, _) = body_field(&browser).await;
    assert!(
        text.ends_with("Neem mee:\n\n<ul><li>laarzen</li><li>een jas</li></ul>"),
        "{text}"
    );

    // A link: the address is asked for, and only what the sanitiser keeps is taken.
    select_in_body(&browser, "Staatsbosbeheer").await;
    browser
        .run_on(
            "body",
            "window.prompt = (question) => { window.asked = question; return 'javascript:alert(1)'; };
             window.alert = (message) => { window.refused = message; };",
            &[],
        )
        .await;
    browser.click("[data-tool='link']").await;
    assert_eq!(
        browser.run_on("body", "return window.asked;", &[]).await,
        json!("Adres van de link (https://… of mailto:…)")
    );
    let refused = browser.run_on("body", "return window.refused;", &[]).await;
    assert!(
        refused
            .as_str()
            .is_some_and(|m| m.starts_with("Dit adres kan geen link worden")),
        "{refused}"
    );
    assert!(!body_field(&browser).await.0.contains("<a "), "refused");
    browser
        .run_on(
            "body",
            "window.prompt = () => ' https://www.staatsbosbeheer.nl/ ';",
            &[],
        )
        .await;
    browser.click("[data-tool='link']").await;
    let (text, selected) = body_field(&browser).await;
    assert_eq!(
        text,
        "<strong>Vrijdag</strong> gaan we naar <em>het bos</em> van \
         <a href=\"https://www.staatsbosbeheer.nl/\">Staatsbosbeheer</a>.\n\n\
         Neem mee:\n\n<ul><li>laarzen</li><li>een jas</li></ul>"
    );
    assert_eq!(selected, "Staatsbosbeheer");

    // Published, the post shows the markup.
    browser.click("#whole-school").await;
    browser.click("#publish").await;
    let url = browser
        .wait_for_url(|url| url.contains("/posts/") && !url.ends_with("/new"))
        .await;
    let post_body = || browser.run_on("#post-body", "return arguments[0].innerHTML;", &[]);
    let html = post_body().await;
    let html = html.as_str().unwrap_or_default();
    for shown in [
        "<strong>Vrijdag</strong>",
        "<em>het bos</em>",
        "<a href=\"https://www.staatsbosbeheer.nl/\" rel=\"noopener noreferrer nofollow\">Staatsbosbeheer</a>",
        "<p>Neem mee:</p>",
        "<ul><li>laarzen</li><li>een jas</li></ul>",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }

    // The edit page has the toolbar too: bold off again, a heading, a numbered list.
    browser.goto(&format!("{url}/edit")).await;
    browser
        .wait_for(".editor-toolbar button[data-tool='bold']")
        .await;
    select_in_body(&browser, "Vrijdag").await;
    browser.click("[data-tool='bold']").await;
    select_in_body(&browser, "Neem").await;
    browser.click("[data-tool='heading']").await;
    select_in_body(&browser, "laarzen").await;
    browser.click("[data-tool='numbered-list']").await;
    let (text, _) = body_field(&browser).await;
    assert!(
        text.starts_with("Vrijdag gaan")
            && text.ends_with("<h3>Neem mee:</h3>\n\n<ol><li>laarzen</li><li>een jas</li></ol>"),
        "{text}"
    );
    browser.click("#save-post").await;
    browser.wait_for_url(|u| u == url).await;
    let html = post_body().await;
    let html = html.as_str().unwrap_or_default();
    assert!(!html.contains("<strong>"), "{html}");
    for shown in [
        "<h3>Neem mee:</h3>",
        "<ol><li>laarzen</li><li>een jas</li></ol>",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    browser.close().await;
}

/// The id of the school's group named `name`.
async fn group_named(
    app: &schoolplein_tests::TestApp,
    school: tenant_router::TenantId,
    name: &str,
) -> i64 {
    let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school)
        .await
        .unwrap();
    let id = sqlx::query_scalar("SELECT id FROM groups WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    id
}

#[tokio::test]
async fn an_admin_imports_combination_groups_arranges_them_and_invites_a_group_whose_parent_joins_from_the_mail()
 {
    use schoolplein_kernel::Role;
    use schoolplein_registration::{EmailAddress, NewPassword, enroll};
    use schoolplein_tests::edex::EdexSchool;
    use schoolplein_tests::mailbox::Mailbox;

    const PASSWORD: &str = "Kn1kker-Boom-Zeil";
    const PARENT_PASSWORD: &str = "Ouder-Wacht-42!";
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..Default::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    enroll(
        &app.state,
        school.id,
        "Directeur Anja",
        &EmailAddress::parse("anja@klimop.example").unwrap(),
        &[Role::SchoolAdmin],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let origin = format!("http://{}.localhost:{}", school.slug, app.addr.port());
    let shape = EdexSchool {
        classes: 3,
        years_per_class: 2,
        pupils: 18,
        contacts_per_pupil: 1,
        mail_tag: 17,
    };
    let file = std::env::temp_dir().join(format!("edex-{}.xml", uuid::Uuid::new_v4()));
    std::fs::write(&file, shape.xml()).unwrap();

    // The administration's export, with combination groups and teachers, imports whole.
    let browser = Browser::start().await;
    sign_in_with_the_form(&browser, &origin, "anja@klimop.example", PASSWORD).await;
    browser.goto(&format!("{origin}/admin/import")).await;
    browser.fill("#file", &file.display().to_string()).await;
    browser.click("#import").await;
    assert_eq!(browser.text_of("#count-added").await, "18");
    assert_eq!(browser.text_of("#count-groups").await, "3");
    browser.look_at("import-report").await;
    let _ = std::fs::remove_file(&file);

    // The file's teachers are offered, each with their groups.
    browser.click("#invite-teachers").await;
    browser.wait_for("#import-teachers").await;
    assert!(
        browser
            .text_of("#import-teachers")
            .await
            .contains(&shape.class_name(0))
    );
    browser.look_at("import-teachers").await;

    // Year 2 of "1-2 Beren" becomes a group of its own.
    let beren = group_named(&app, school.id, &shape.class_name(0)).await;
    browser.goto(&format!("{origin}/admin/groups")).await;
    assert!(
        browser
            .text_of(&format!("#admin-group-{beren}"))
            .await
            .contains("1, 2")
    );
    browser.look_at("groups-admin").await;
    browser
        .click(&format!("#admin-group-{beren} details.split summary"))
        .await;
    browser
        .set_value(&format!("#split-key-{beren}"), &EdexSchool::group_key(0, 2))
        .await;
    browser
        .fill(&format!("#split-name-{beren}"), "2 Beren")
        .await;
    browser
        .click(&format!("#admin-group-{beren} .split-group button"))
        .await;
    browser.wait_for_text("#admin-groups", "2 Beren").await;

    // "5-6 Uilen" joins "3-4 Vossen", after the admin saw what moves.
    let vossen = group_named(&app, school.id, &shape.class_name(1)).await;
    let uilen = group_named(&app, school.id, &shape.class_name(2)).await;
    browser.set_value("#merge-from", &uilen.to_string()).await;
    browser.set_value("#merge-into", &vossen.to_string()).await;
    browser.click("#merge").await;
    let summary = browser.text_of("#merge-summary").await;
    assert!(summary.contains(&shape.class_name(2)) && summary.contains(&shape.class_name(1)));
    browser.look_at("groups-merge").await;
    browser.click("#merge-confirm").await;
    browser
        .wait_for_url(|url| url.ends_with("/admin/groups"))
        .await;
    assert!(
        !browser.has(&format!("#admin-group-{uilen}")).await,
        "merged away"
    );
    assert!(
        browser
            .text_of(&format!("#admin-group-{vossen}"))
            .await
            .contains("3, 4, 5, 6")
    );

    // Two posts, published with the browser's own session, for the timeline and the home page.
    let mut same_session = schoolplein_tests::client::Client::new(app.addr);
    let host = format!("{}.localhost", school.slug);
    for (name, value) in browser.cookies().await {
        same_session.set_cookie(&host, &name, &value);
    }
    for fields in [
        vec![
            ("kind", "news"),
            ("title", "Schoolreisje naar Artis op vrijdag"),
            (
                "body",
                "Beste ouders,\n\nVrijdag gaan alle groepen met de bus naar Artis. Geef uw kind een \
                 lunchpakket en drinken mee, en kleding voor buiten: we zijn de hele dag op pad.",
            ),
            ("whole_school", "on"),
        ],
        vec![
            ("kind", "news"),
            ("title", "School vandaag om 12 uur dicht"),
            (
                "body",
                "Door de storm sluit de school om 12 uur. Haal uw kind op tijd op.",
            ),
            ("whole_school", "on"),
            ("urgent", "on"),
        ],
    ] {
        schoolplein_tests::school::publish(&mut same_session, &host, &fields).await;
    }
    // A post sent without an audience comes back as it was typed, the mistake at its place.
    browser.goto(&format!("{origin}/posts/new")).await;
    browser
        .fill("#title", "Luizencontrole na de vakantie")
        .await;
    browser
        .fill(
            "#body",
            "Beste ouders,\n\nNa de vakantie kijken we alle kinderen na.",
        )
        .await;
    browser.click("#publish").await;
    browser.wait_for("#form-mistakes").await;
    assert_eq!(
        browser.attribute("#title", "value").await.as_deref(),
        Some("Luizencontrole na de vakantie")
    );
    assert_eq!(
        browser
            .attribute("#form-mistakes a", "href")
            .await
            .as_deref(),
        Some("#audience")
    );
    browser.look_at("post-form-mistake").await;
    browser.goto(&format!("{origin}/timeline")).await;
    browser.wait_for("#timeline .post").await;
    browser.look_at("timeline-admin").await;
    browser.goto(&format!("{origin}/")).await;
    browser.look_at("home-admin").await;

    // From the group's page, the admin invites its parents: three left in "1-2 Beren".
    browser.goto(&format!("{origin}/groups/{beren}")).await;
    browser.click("#invite-group-parents").await;
    browser.wait_for("#send-invitations-button").await;
    assert_eq!(browser.text_of("#total-not-invited").await, "3");
    browser.click("#send-invitations-button").await;
    assert_eq!(
        browser
            .text_of("#invitations-sent")
            .await
            .split_whitespace()
            .last(),
        Some("3")
    );
    assert_eq!(browser.text_of("#total-invited").await, "3");
    assert!(
        browser.has("#nobody-to-invite").await && !browser.has("#send-invitations-button").await,
        "nothing more to send"
    );
    browser.look_at("invitations-admin").await;
    sign_out(&browser, &origin).await;
    browser.wait_for_url(|url| url.ends_with("/sign-in")).await;

    // The parent opens the mail's link, makes a mistake, keeps what they typed, and joins.
    let parent = shape.contact_email(0, 0);
    let mail = mailbox.latest(&parent, 1).await;
    let link = mail.link("/invited/").expect("the invitation link");
    browser.goto(&format!("{origin}{link}")).await;
    assert!(
        browser
            .text_of("#invited-children")
            .await
            .contains("1-2 Beren")
    );
    browser.look_at("parent-invitation").await;
    browser.fill("#name", "Anna Jansen").await;
    browser.fill("#password", PARENT_PASSWORD).await;
    browser.fill("#repeat", "Ouder-Wacht-43!").await;
    browser.click("#create-account").await;
    browser.wait_for("#form-mistakes").await;
    assert_eq!(
        browser.attribute("#name", "value").await.as_deref(),
        Some("Anna Jansen")
    );
    assert_eq!(
        browser
            .attribute("#repeat", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    browser.look_at("parent-invitation-mistake").await;
    browser.fill("#password", PARENT_PASSWORD).await;
    browser.fill("#repeat", PARENT_PASSWORD).await;
    browser.click("#create-account").await;
    browser
        .wait_for_url(|url| url.ends_with("/register/done?status=active"))
        .await;
    browser.look_at("parent-invitation-done").await;
    browser.goto(&format!("{origin}/")).await;
    assert!(browser.has("#member-name").await);
    browser.look_at("home-parent").await;
    browser.goto(&format!("{origin}/children")).await;
    assert_eq!(browser.text_of(".child-group").await, shape.class_name(0));
    browser.look_at("children-parent").await;
    // The frame: on a phone the bottom bar with the main places, on a laptop the full menu.
    let shown = |selector: &'static str| {
        let browser = &browser;
        async move {
            browser
                .run_on(
                    selector,
                    "return getComputedStyle(arguments[0]).display;",
                    &[],
                )
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    browser.resize(390, 844).await;
    assert_ne!(shown(".tab-bar").await, "none");
    assert_eq!(shown(".site-nav").await, "none");
    browser.resize(1280, 800).await;
    assert_eq!(shown(".tab-bar").await, "none");
    assert_ne!(shown(".site-nav").await, "none");
    assert_eq!(
        browser
            .attribute("#nav-children", "aria-current")
            .await
            .as_deref(),
        Some("page")
    );

    // The same link a second time, in this browser or another, does nothing more.
    browser.goto(&format!("{origin}{link}")).await;
    assert!(!browser.has("#invited-account").await);
    browser.close().await;
}
