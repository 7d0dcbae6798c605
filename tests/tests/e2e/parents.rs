//! Parents join with activation codes (A2, T5): a pupil's code links the child, at once or
//! after an admin's approval; a new account exists only once its address is confirmed, and
//! the form never says whether an address has one; signed in, more codes link more
//! children; wrong codes are counted and paused; a replaced code stops working.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, pdf_text, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};

const PASSWORD: &str = "Kn1kker-Boom-Zeil";
const PARENT_PASSWORD: &str = "Ouder-Wacht-42!";
const EDEXML: &str = include_str!("../../../docs/samples/edexml-voorbeeld.xml");

async fn setup() -> (TestApp, Mailbox) {
    setup_with(None).await
}

async fn setup_with(configure: Option<fn(&mut schoolplein_kernel::Config)>) -> (TestApp, Mailbox) {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        configure,
        ..TestAppOptions::default()
    })
    .await;
    (app, mailbox)
}

/// A school with the sample roster imported, and its signed-in admin.
async fn school_with_roster(app: &TestApp, name: &str) -> (TenantEntry, Client) {
    let school = app.create_school(name, "").await;
    let email = format!("{}@example.nl", unique_slug());
    enroll(
        &app.state,
        school.id,
        "Directeur",
        &EmailAddress::parse(&email).unwrap(),
        &[Role::SchoolAdmin],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let host = school_host(&school.slug);
    let mut admin = Client::new(app.addr);
    assert_eq!(
        admin.sign_in(&host, &email, PASSWORD, false).await.status,
        303
    );
    admin.get(&host, "/admin/import").await;
    let imported = admin
        .post_file(
            &host,
            "/admin/import",
            "export.xml",
            EDEXML.as_bytes(),
            None,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text());
    (school, admin)
}

async fn code_of(app: &TestApp, school: &TenantEntry, pupil_key: &str) -> String {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let code: String = sqlx::query_scalar(
        "SELECT c.code FROM pupil_codes c JOIN pupils p ON p.id = c.pupil_id WHERE p.import_key = $1",
    )
    .bind(pupil_key)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    code
}

/// (pupil key, parent address, status) of every link.
async fn links(app: &TestApp, school: &TenantEntry) -> Vec<(String, String, String)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT p.import_key, pe.email, g.status FROM guardians g
           JOIN pupils p ON p.id = g.pupil_id JOIN people pe ON pe.id = g.person_id
          ORDER BY 1, 2",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

/// How the code is typed: lower case, with spaces.
fn typed(code: &str) -> String {
    format!(" {} {} {} ", &code[..4], &code[4..8], &code[8..]).to_lowercase()
}

#[tokio::test]
async fn a_parent_registers_with_a_code_confirms_by_mail_and_waits_for_approval() {
    let (app, mailbox) = setup().await;
    let (school, mut admin) = school_with_roster(&app, "Basisschool De Klimop").await;
    let host = school_host(&school.slug);
    let code = code_of(&app, &school, "2026001").await;
    let email = format!("{}@example.nl", unique_slug());

    let mut parent = Client::new(app.addr);
    assert_eq!(parent.get(&host, "/register").await.status, 200);
    let entered = parent
        .post_form(&host, "/register", &[("code", &typed(&code))])
        .await;
    assert_eq!(entered.status, 303, "{}", entered.text());
    assert_eq!(entered.header("location"), Some("/register/account"));
    let form = parent.get(&host, "/register/account").await.text();
    assert!(
        form.contains("Sanne") && form.contains("Groep 3b"),
        "{form}"
    );
    for (fields, field) in [
        (
            vec![
                ("name", ""),
                ("email", email.as_str()),
                ("password", PARENT_PASSWORD),
                ("repeat", PARENT_PASSWORD),
            ],
            "name",
        ),
        (
            vec![
                ("name", "Anna"),
                ("email", "geen"),
                ("password", PARENT_PASSWORD),
                ("repeat", PARENT_PASSWORD),
            ],
            "email",
        ),
        (
            vec![
                ("name", "Anna"),
                ("email", email.as_str()),
                ("password", "welkom"),
                ("repeat", "welkom"),
            ],
            "password",
        ),
    ] {
        let refused = parent.post_form(&host, "/register/account", &fields).await;
        assert_eq!(refused.status, 400, "{field}");
        assert!(
            refused.text().contains(&format!("id=\"{field}\"")),
            "{field}"
        );
    }
    let sent = parent
        .post_form(
            &host,
            "/register/account",
            &[
                ("name", "Anna de Vries"),
                ("email", &email),
                ("password", PARENT_PASSWORD),
                ("repeat", PARENT_PASSWORD),
            ],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(sent.text().contains("id=\"registration-sent\""));
    // No account until the address is confirmed.
    assert_eq!(
        parent
            .sign_in(&host, &email, PARENT_PASSWORD, false)
            .await
            .status,
        400
    );

    let mail = mailbox.latest(&email, 1).await;
    assert!(
        mail.subject.contains("Basisschool De Klimop"),
        "{}",
        mail.subject
    );
    let link = mail
        .link("/register/confirm/")
        .expect("a confirmation link");
    assert_eq!(
        parent.get(&host, &link).await.status,
        200,
        "opening the link changes nothing"
    );
    assert!(links(&app, &school).await.is_empty());
    // Confirming signs the parent in, in the browser that opened the link, and their home
    // page says what they wait for.
    let confirmed = parent.post_form(&host, &link, &[]).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.text());
    assert_eq!(confirmed.header("location"), Some("/?joined=new"));
    let home = parent.get(&host, "/?joined=new").await.text();
    assert!(home.contains("id=\"joined\""), "{home}");
    let waiting = &home[home
        .find("id=\"waiting-for-school\"")
        .expect("the waiting state")..];
    assert!(waiting[..waiting.find("</section>").unwrap()].contains("Sanne"));
    assert_eq!(
        parent.post_form(&host, &link, &[]).await.status,
        410,
        "single use"
    );
    assert_eq!(
        parent
            .sign_in(&host, &email, PARENT_PASSWORD, false)
            .await
            .status,
        303,
        "the password chosen on the form"
    );
    assert_eq!(
        links(&app, &school).await,
        [("2026001".into(), email.clone(), "pending".into())]
    );

    // The admin sees a counter, and the clock mails every admin once per batch.
    let admin_email = admin_address(&app, &school).await;
    assert!(
        admin
            .get(&host, "/")
            .await
            .text()
            .contains("id=\"pending-signups\">1<")
    );
    let run = |minutes: i64| {
        let app = &app;
        async move {
            schoolplein_mailing::schedule::run_due(
                &app.db.pool,
                &app.db.pool,
                app.state.templates.clone(),
                &app.state.config,
                chrono::Utc::now() + chrono::Duration::minutes(minutes),
            )
            .await
            .unwrap()
            .signup_mails
        }
    };
    assert_eq!(run(0).await, 1, "one admin, one mail");
    let told = mailbox.latest(&admin_email, 1).await;
    assert!(
        told.subject.contains("wacht op uw goedkeuring"),
        "{}",
        told.subject
    );
    assert!(told.text.contains("Anna de Vries") && told.text.contains("Sanne de Vries"));
    assert!(told.link("/admin/parents").is_some());
    assert_eq!(run(1).await, 0, "told once");

    // A second sign-up within the hour waits for the next batch, which names only it.
    let second = format!("{}@example.nl", unique_slug());
    let mut other = Client::new(app.addr);
    other.get(&host, "/register").await;
    let code2 = code_of(&app, &school, "2026002").await;
    other
        .post_form(&host, "/register", &[("code", &code2)])
        .await;
    other.get(&host, "/register/account").await;
    other
        .post_form(
            &host,
            "/register/account",
            &[
                ("name", "Mark Jansen"),
                ("email", &second),
                ("password", PARENT_PASSWORD),
                ("repeat", PARENT_PASSWORD),
            ],
        )
        .await;
    let link2 = mailbox
        .latest(&second, 1)
        .await
        .link("/register/confirm/")
        .unwrap();
    other.get(&host, &link2).await;
    assert_eq!(other.post_form(&host, &link2, &[]).await.status, 303);
    assert_eq!(run(30).await, 0, "not within the hour of the last batch");
    assert_eq!(run(61).await, 1);
    let batch = mailbox.latest(&admin_email, 2).await;
    assert!(
        batch.text.contains("Mark Jansen") && !batch.text.contains("Anna de Vries"),
        "{}",
        batch.text
    );

    // The admin approves; the link is in effect and the parent hears of it.
    let page = admin.get(&host, "/admin/parents").await.text();
    assert!(
        page.contains("Anna de Vries") && page.contains("Sanne de Vries"),
        "{page}"
    );
    let row_start = page.find("id=\"pending-").unwrap();
    let ids = &page[row_start + "id=\"pending-".len()..];
    let ids = &ids[..ids.find('"').unwrap()];
    let approved = admin
        .post_form(
            &host,
            &format!(
                "/admin/parents/pending/{}/approve",
                ids.replacen('-', "/", 1)
            ),
            &[],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.text());
    assert_eq!(links(&app, &school).await[0].2, "active");
    let approval = mailbox.latest(&email, 2).await;
    assert!(
        approval.subject.contains("gekoppeld aan Sanne de Vries"),
        "{}",
        approval.subject
    );
    assert!(approval.link("/").is_some());
    let home = parent.get(&host, "/").await.text();
    assert!(!home.contains("id=\"waiting-for-school\""));

    // Declining the other tells that parent too, and nothing waits any more.
    let page = admin.get(&host, "/admin/parents").await.text();
    let row_start = page.find("id=\"pending-").unwrap();
    let ids = &page[row_start + "id=\"pending-".len()..];
    let ids = &ids[..ids.find('"').unwrap()];
    let declined = admin
        .post_form(
            &host,
            &format!(
                "/admin/parents/pending/{}/reject",
                ids.replacen('-', "/", 1)
            ),
            &[],
        )
        .await;
    assert_eq!(declined.status, 303);
    let refusal = mailbox.latest(&second, 2).await;
    assert!(
        refusal.subject.contains("Geen koppeling"),
        "{}",
        refusal.subject
    );
    assert!(
        admin
            .get(&host, "/admin/parents")
            .await
            .text()
            .contains("id=\"no-pending\"")
    );
}

/// The address of the school's (one) admin.
async fn admin_address(app: &TestApp, school: &TenantEntry) -> String {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let email: String =
        sqlx::query_scalar("SELECT email FROM people WHERE 'school_admin' = ANY(roles)")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    email
}

#[tokio::test]
async fn signed_in_parents_add_children_in_any_school_and_existing_addresses_keep_their_password() {
    let (app, mailbox) = setup().await;
    let (klimop, mut klimop_admin) = school_with_roster(&app, "School Klimop").await;
    let (plein, _) = school_with_roster(&app, "School Plein").await;
    let (klimop_host, plein_host) = (school_host(&klimop.slug), school_host(&plein.slug));
    // Klimop activates new links at once.
    klimop_admin.get(&klimop_host, "/admin/parents").await;
    let saved = klimop_admin
        .post_form(&klimop_host, "/admin/parents/settings", &[("at_once", "1")])
        .await;
    assert_eq!(saved.status, 303);

    // A parent with an account (from Klimop) registers for a child at Plein by mail: the
    // existing account gets the child; the password typed on the form is not taken.
    let email = format!("{}@example.nl", unique_slug());
    enroll(
        &app.state,
        klimop.id,
        "Mark de Vries",
        &EmailAddress::parse(&email).unwrap(),
        &[Role::Parent],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let mut browser = Client::new(app.addr);
    browser.get(&plein_host, "/register").await;
    let code = code_of(&app, &plein, "2026002").await;
    browser
        .post_form(&plein_host, "/register", &[("code", &code)])
        .await;
    browser.get(&plein_host, "/register/account").await;
    let sent = browser
        .post_form(
            &plein_host,
            "/register/account",
            &[
                ("name", "Mark"),
                ("email", &email),
                ("password", PARENT_PASSWORD),
                ("repeat", PARENT_PASSWORD),
            ],
        )
        .await;
    assert!(
        sent.text().contains("id=\"registration-sent\""),
        "the same answer as for a new address"
    );
    let link = mailbox
        .latest(&email, 1)
        .await
        .link("/register/confirm/")
        .unwrap();
    browser.get(&plein_host, &link).await;
    let confirmed = browser.post_form(&plein_host, &link, &[]).await;
    assert_eq!(confirmed.header("location"), Some("/?joined=existing"));
    assert!(
        browser
            .get(&plein_host, "/?joined=existing")
            .await
            .text()
            .contains("id=\"joined\"")
    );
    assert_eq!(
        browser
            .sign_in(&plein_host, &email, PARENT_PASSWORD, false)
            .await
            .status,
        400
    );
    assert_eq!(
        browser
            .sign_in(&plein_host, &email, PASSWORD, false)
            .await
            .status,
        303
    );
    assert_eq!(
        links(&app, &plein).await,
        [("2026002".into(), email.clone(), "pending".into())]
    );

    // Signed in, a code at Klimop links at once (Klimop's setting).
    browser.get(&klimop_host, "/register").await;
    let code = code_of(&app, &klimop, "2026001").await;
    let linked = browser
        .post_form(&klimop_host, "/register", &[("code", &code)])
        .await;
    assert_eq!(
        linked.header("location"),
        Some("/register/done?status=active")
    );
    assert!(
        browser
            .get(&klimop_host, "/register/done?status=active")
            .await
            .text()
            .contains("gekoppeld")
    );
    assert_eq!(
        links(&app, &klimop).await,
        [("2026001".into(), email.clone(), "active".into())]
    );
    // The same code again changes nothing.
    browser
        .post_form(&klimop_host, "/register", &[("code", &code)])
        .await;
    assert_eq!(links(&app, &klimop).await.len(), 1);

    // Entering a code before signing in, then signing in, links as well.
    let mut later = Client::new(app.addr);
    later.get(&klimop_host, "/register").await;
    let code = code_of(&app, &klimop, "2026005").await;
    later
        .post_form(&klimop_host, "/register", &[("code", &code)])
        .await;
    let account_page = later.get(&klimop_host, "/register/account").await.text();
    assert!(account_page.contains("/sign-in?next=/register/link"));
    later.sign_in(&klimop_host, &email, PASSWORD, false).await;
    // Opening the page changes nothing; its button links.
    let page = later.get(&klimop_host, "/register/link").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"link-carried\""));
    assert_eq!(links(&app, &klimop).await.len(), 1);
    let took = later.post_form(&klimop_host, "/register/link", &[]).await;
    assert_eq!(
        took.header("location"),
        Some("/register/done?status=active")
    );
    assert_eq!(links(&app, &klimop).await.len(), 2);
}

#[tokio::test]
async fn wrong_replaced_and_foreign_codes_are_refused_and_guessing_is_paused() {
    // Behind a trusted proxy, each client below has an address of its own.
    let (app, _mailbox) =
        setup_with(Some(|config| config.server.trust_forwarded_host = true)).await;
    let (school, mut admin) = school_with_roster(&app, "School Slot").await;
    let (other, _) = school_with_roster(&app, "School Elders").await;
    let host = school_host(&school.slug);
    let mut guesser = Client::new(app.addr);
    guesser.extra_headers = vec![("X-Forwarded-For".into(), "198.51.100.7".into())];
    guesser.get(&host, "/register").await;

    // Another school's code, a replaced code, nonsense: 400 with a clear message.
    let foreign = code_of(&app, &other, "2026001").await;
    let refused = guesser
        .post_form(&host, "/register", &[("code", &foreign)])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("Deze code kennen we niet"));
    let old = code_of(&app, &school, "2026003").await;
    admin.get(&host, "/admin/parents").await;
    let pupil_id: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar("SELECT id FROM pupils WHERE import_key = '2026003'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    assert_eq!(
        admin
            .post_form(&host, &format!("/admin/pupils/{pupil_id}/code"), &[])
            .await
            .status,
        303
    );
    let new = code_of(&app, &school, "2026003").await;
    assert_ne!(old, new);
    assert_eq!(
        guesser
            .post_form(&host, "/register", &[("code", &old)])
            .await
            .status,
        400
    );
    assert_eq!(
        guesser
            .post_form(&host, "/register", &[("code", "zomaar iets")])
            .await
            .status,
        400
    );
    let huge = "A".repeat(1024 * 1024);
    assert!(matches!(
        guesser
            .post_form(&host, "/register", &[("code", &huge)])
            .await
            .status,
        400 | 413
    ));

    // Ten wrong codes an hour per address: then a pause, even for a right code.
    for _ in 0..6 {
        guesser
            .post_form(&host, "/register", &[("code", "ABCD-EFGH-JKLM")])
            .await;
    }
    let paused = guesser
        .post_form(&host, "/register", &[("code", &new)])
        .await;
    assert_eq!(paused.status, 429, "{}", paused.text());
    // Another address is not paused; the new code works there.
    let mut parent = Client::new(app.addr);
    parent.extra_headers = vec![("X-Forwarded-For".into(), "198.51.100.8".into())];
    parent.get(&host, "/register").await;
    assert_eq!(
        parent
            .post_form(&host, "/register", &[("code", &new)])
            .await
            .status,
        303
    );

    // The school's code registers a parent without a child, with a note for the admin.
    assert_eq!(
        admin
            .post_form(&host, "/admin/parents/school-code/new", &[])
            .await
            .status,
        303
    );
    let page = admin.get(&host, "/admin/parents").await.text();
    let start = page
        .find("id=\"school-code\">")
        .unwrap_or_else(|| panic!("no school code on the page: {page}"))
        + "id=\"school-code\">".len();
    let school_code = page[start..start + 14].to_owned();
    let email = format!("{}@example.nl", unique_slug());
    enroll(
        &app.state,
        other.id,
        "Ouder Elders",
        &EmailAddress::parse(&email).unwrap(),
        &[Role::Parent],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let mut elders = Client::new(app.addr);
    elders.extra_headers = vec![("X-Forwarded-For".into(), "198.51.100.9".into())];
    elders.sign_in(&host, &email, PASSWORD, false).await;
    elders.get(&host, "/register").await;
    let joined = elders
        .post_form(
            &host,
            "/register",
            &[("code", &school_code), ("note", "Tim, groep 4")],
        )
        .await;
    assert_eq!(
        joined.header("location"),
        Some("/register/done?status=school_code")
    );
    let page = admin.get(&host, "/admin/parents").await.text();
    assert!(
        page.contains("Tim, groep 4") && page.contains(&email),
        "{page}"
    );
    // Withdrawn, the school's code stops working.
    admin
        .post_form(&host, "/admin/parents/school-code/remove", &[])
        .await;
    assert_eq!(
        elders
            .post_form(&host, "/register", &[("code", &school_code)])
            .await
            .status,
        400
    );

    // A parent cannot reach the admin's pages.
    assert_eq!(elders.get(&host, "/admin/parents").await.status, 403);
    assert_eq!(
        elders
            .post_form(&host, &format!("/admin/pupils/{pupil_id}/code"), &[])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn the_letters_pdf_has_a_page_per_pupil_with_the_code_and_the_way_to_register() {
    let (app, _mailbox) = setup().await;
    let (school, mut admin) = school_with_roster(&app, "Basisschool Brief").await;
    let host = school_host(&school.slug);
    let page = admin.get(&host, "/admin/parents").await.text();
    let group: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar("SELECT id FROM groups WHERE import_key = 'G3B'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    assert!(page.contains(&format!("/admin/groups/{group}/letters.pdf")));
    // The school's contact stands on every letter.
    admin.get(&host, "/admin/settings").await;
    let saved = admin
        .post_form(
            &host,
            "/admin/settings/contact",
            &[
                ("contact_email", "info@brief.example"),
                ("phone", "030 123 45 67"),
                ("address", "Schoolstraat 1\n3511 AB Utrecht"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let pdf = admin
        .get(&host, &format!("/admin/groups/{group}/letters.pdf"))
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf.body).await;
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 2, "Sanne and Daan: {text}");
    for (key, name) in [("2026002", "Daan Bakker"), ("2026001", "Sanne de Vries")] {
        let code = code_of(&app, &school, key).await;
        let printed = format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]);
        let page = pages
            .iter()
            .find(|p| p.contains(name))
            .unwrap_or_else(|| panic!("{name}: {text}"));
        assert!(
            page.contains(&printed),
            "{name}'s code on their page: {page}"
        );
        assert!(page.contains(&format!("{host}/register")), "{page}");
        // Dated, with how to reach the school.
        let today = schoolplein_kernel::dutch_time::letter_date(
            chrono::Utc::now(),
            schoolplein_kernel::Language::Nl,
        );
        for line in [
            today.as_str(),
            "Schoolstraat 1",
            "3511 AB Utrecht",
            "030 123 45 67",
            "info@brief.example",
        ] {
            assert!(page.contains(line), "{line} on the letter: {page}");
        }
    }
    // Only the admin; and only existing groups.
    let email = format!("{}@example.nl", unique_slug());
    enroll(
        &app.state,
        school.id,
        "Juf",
        &EmailAddress::parse(&email).unwrap(),
        &[Role::Teacher],
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let mut teacher = Client::new(app.addr);
    teacher.sign_in(&host, &email, PASSWORD, false).await;
    assert_eq!(
        teacher
            .get(&host, &format!("/admin/groups/{group}/letters.pdf"))
            .await
            .status,
        403
    );
    assert_eq!(
        admin
            .get(&host, "/admin/groups/999999/letters.pdf")
            .await
            .status,
        404
    );
}
