//! Parents invited by mail (A3): from the administration's file, one invitation per address,
//! each once even when two admins press at once, never again while open or linked; accepting
//! links exactly the children named, with a new account or the one the parent has; a refused
//! address shows as bounced; one reminder a week later.

use std::collections::HashMap;
use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::edex::EdexSchool;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, eventually, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};

const PASSWORD: &str = "Kn1kker-Boom-Zeil";

async fn setup() -> (TestApp, Mailbox) {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    (app, mailbox)
}

async fn signed_in(app: &TestApp, school: &TenantEntry, email: &str, roles: &[Role]) -> Client {
    enroll(
        &app.state,
        school.id,
        "Iemand",
        &EmailAddress::parse(email).unwrap(),
        roles,
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let mut client = Client::new(app.addr);
    let host = school_host(&school.slug);
    assert_eq!(
        client.sign_in(&host, email, PASSWORD, false).await.status,
        303
    );
    client.get(&host, "/admin/invitations").await;
    client
}

/// The import keys of the pupils `email`'s person is an active guardian of.
async fn children_of(app: &TestApp, school: &TenantEntry, email: &str) -> Vec<String> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let keys = sqlx::query_scalar(
        "SELECT p.import_key FROM guardians g JOIN pupils p ON p.id = g.pupil_id
           JOIN people pe ON pe.id = g.person_id
          WHERE lower(pe.email) = lower($1) AND g.status = 'active' ORDER BY p.import_key",
    )
    .bind(email)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    keys
}

fn total(html: &str, id: &str) -> i64 {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("{id}"));
    let rest = &html[start + id.len() + 6..];
    rest[..rest.find('<').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn two_hundred_contacts_get_one_invitation_each_and_accepting_links_exactly_that_child() {
    let (app, mailbox) = setup().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let admin_address = format!("{}@example.nl", unique_slug());
    let mut admin = signed_in(&app, &school, &admin_address, &[Role::SchoolAdmin]).await;
    let mut colleague = Client::new(app.addr);
    assert_eq!(
        colleague
            .sign_in(&host, &admin_address, PASSWORD, false)
            .await
            .status,
        303
    );
    colleague.get(&host, "/admin/invitations").await;
    let shape = EdexSchool {
        classes: 10,
        years_per_class: 2,
        pupils: 100,
        contacts_per_pupil: 2,
        mail_tag: 17,
    };
    let imported = admin
        .post_file(
            &host,
            "/admin/import",
            "export.xml",
            shape.xml().as_bytes(),
            None,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text());
    assert!(imported.text().contains("id=\"invite-parents\""));
    let bouncing = shape.contact_email(5, 1);
    mailbox.smtp.refuse_recipient(&bouncing);

    // Two admins press at the same moment: every address is invited once.
    let (first, second) = tokio::join!(
        admin.post_form(&host, "/admin/invitations", &[]),
        colleague.post_form(&host, "/admin/invitations", &[]),
    );
    assert_eq!((first.status, second.status), (303, 303));
    let sent: Vec<String> = [first, second]
        .iter()
        .map(|r| r.header("location").unwrap_or_default().to_owned())
        .collect();
    assert!(
        sent.contains(&"/admin/invitations?sent=200".to_owned())
            && sent.contains(&"/admin/invitations?sent=0".to_owned()),
        "{sent:?}"
    );
    let ours = |to: &str| to.ends_with(".t17@example.nl");
    let arrived = eventually(Duration::from_secs(20), || async {
        mailbox.delivered_count(ours) >= 199
    })
    .await;
    assert!(
        arrived.is_some(),
        "{} arrived",
        mailbox.delivered_count(ours)
    );
    let mut per_address: HashMap<String, usize> = HashMap::new();
    for mail in mailbox.smtp.received() {
        for to in mail.rcpt_to.iter().filter(|to| ours(to)) {
            *per_address.entry(to.to_ascii_lowercase()).or_default() += 1;
        }
    }
    assert_eq!(per_address.len(), 199, "every address but the bouncing one");
    assert!(per_address.values().all(|n| *n == 1), "each once");
    assert!(!per_address.contains_key(&bouncing));

    // A second run sends nothing new.
    let again = admin.post_form(&host, "/admin/invitations", &[]).await;
    assert_eq!(again.header("location"), Some("/admin/invitations?sent=0"));

    // The refused address shows as bounced once the mail server has refused it.
    let bounced = eventually(Duration::from_secs(20), || async {
        let page = Client::get(&mut admin.clone(), &host, "/admin/invitations").await;
        total(&page.text(), "total-bounced") == 1
    })
    .await;
    assert!(bounced.is_some(), "the bounce is shown");
    let page = admin.get(&host, "/admin/invitations").await.text();
    assert_eq!(total(&page, "total-invited"), 199);
    assert_eq!(total(&page, "total-linked"), 0);

    // A parent without an account accepts: a mistake first, then for real.
    let sanne_mother = shape.contact_email(0, 0);
    let mail = mailbox.latest(&sanne_mother, 1).await;
    assert!(
        mail.subject.contains("Basisschool De Klimop"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text.contains(&shape.class_name(0)),
        "names the child's group"
    );
    let link = mail.link("/invited/").expect("a link");
    let mut parent = Client::new(app.addr);
    let shown = parent.get(&host, &link).await;
    assert_eq!(shown.status, 200);
    assert!(shown.text().contains("Sanne"), "{}", shown.text());
    let mistake = parent
        .post_form(
            &host,
            &format!("{link}/account"),
            &[
                ("name", "Anna de Vries"),
                ("password", PASSWORD),
                ("repeat", "anders"),
            ],
        )
        .await;
    assert_eq!(mistake.status, 400);
    assert!(
        mistake.text().contains("Anna de Vries"),
        "what was typed stays"
    );
    assert!(
        mistake.text().contains("id=\"form-mistakes\"")
            && mistake.text().contains("id=\"repeat-error\""),
        "the mistake is named on top and at its field"
    );
    assert!(children_of(&app, &school, &sanne_mother).await.is_empty());
    let accepted = parent
        .post_form(
            &host,
            &format!("{link}/account"),
            &[
                ("name", "Anna de Vries"),
                ("password", PASSWORD),
                ("repeat", PASSWORD),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.text());
    assert_eq!(children_of(&app, &school, &sanne_mother).await, ["3000000"]);
    let home = parent.get(&host, "/children").await;
    assert_eq!(home.status, 200, "signed in at once");
    // Single use: in a second browser the link is spent.
    let spent = Client::new(app.addr).get(&host, &link).await;
    assert_eq!(spent.status, 410);

    // A parent with an account accepts signed in.
    let daan_mother = shape.contact_email(1, 0);
    let mut existing = signed_in(&app, &school, &daan_mother, &[Role::Parent]).await;
    let link = mailbox
        .latest(&daan_mother, 1)
        .await
        .link("/invited/")
        .unwrap();
    existing.get(&host, &link).await;
    let linked = existing.post_form(&host, &link, &[]).await;
    assert_eq!(linked.status, 303, "{}", linked.text());
    assert_eq!(children_of(&app, &school, &daan_mother).await, ["3000001"]);

    let page = admin.get(&host, "/admin/invitations").await.text();
    assert_eq!(total(&page, "total-linked"), 2);
    // Nobody linked or invited is invited again.
    let third = admin.post_form(&host, "/admin/invitations", &[]).await;
    assert_eq!(third.header("location"), Some("/admin/invitations?sent=0"));
}

#[tokio::test]
async fn who_did_not_react_after_a_week_is_reminded_once_and_both_links_work() {
    let (app, mailbox) = setup().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let admin_address = format!("{}@example.nl", unique_slug());
    let mut admin = signed_in(&app, &school, &admin_address, &[Role::SchoolAdmin]).await;
    let shape = EdexSchool {
        classes: 1,
        years_per_class: 2,
        pupils: 3,
        contacts_per_pupil: 1,
        mail_tag: 18,
    };
    admin
        .post_file(
            &host,
            "/admin/import",
            "export.xml",
            shape.xml().as_bytes(),
            None,
        )
        .await;
    let sent = admin.post_form(&host, "/admin/invitations", &[]).await;
    assert_eq!(sent.header("location"), Some("/admin/invitations?sent=3"));
    let first = mailbox.latest(&shape.contact_email(0, 0), 1).await;
    let first_link = first.link("/invited/").unwrap();

    let run = |days: i64| {
        let app = &app;
        async move {
            schoolplein_mailing::schedule::run_due(
                &app.db.pool,
                &app.db.pool,
                app.state.templates.clone(),
                &app.state.config,
                chrono::Utc::now() + chrono::Duration::days(days),
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(run(3).await.invitation_reminders, 0, "not before a week");
    assert_eq!(run(8).await.invitation_reminders, 3);
    assert_eq!(run(9).await.invitation_reminders, 0, "once");
    let reminder = mailbox.latest(&shape.contact_email(0, 0), 2).await;
    assert!(
        reminder.subject.starts_with("Herinnering"),
        "{}",
        reminder.subject
    );
    let second_link = reminder.link("/invited/").unwrap();
    assert_ne!(first_link, second_link);
    let mut parent = Client::new(app.addr);
    assert_eq!(parent.get(&host, &first_link).await.status, 200);
    assert_eq!(parent.get(&host, &second_link).await.status, 200);
}

#[tokio::test]
async fn a_parent_with_an_english_account_is_invited_in_english_and_one_without_in_dutch_with_an_english_line()
 {
    let (app, mailbox) = setup().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let admin_address = format!("{}@example.nl", unique_slug());
    let mut admin = signed_in(&app, &school, &admin_address, &[Role::SchoolAdmin]).await;
    let shape = EdexSchool {
        classes: 1,
        years_per_class: 1,
        pupils: 2,
        contacts_per_pupil: 1,
        mail_tag: 19,
    };
    // The second pupil's parent has an account already (from another school), in English.
    let english = shape.contact_email(1, 0);
    sqlx::query("INSERT INTO platform.accounts (email, name, language) VALUES ($1, 'Sam', 'en')")
        .bind(&english)
        .execute(&app.db.pool)
        .await
        .unwrap();
    admin
        .post_file(
            &host,
            "/admin/import",
            "export.xml",
            shape.xml().as_bytes(),
            None,
        )
        .await;
    let sent = admin.post_form(&host, "/admin/invitations", &[]).await;
    assert_eq!(sent.header("location"), Some("/admin/invitations?sent=2"));

    let dutch = mailbox.latest(&shape.contact_email(0, 0), 1).await;
    assert!(
        dutch.subject.starts_with("Uitnodiging"),
        "{}",
        dutch.subject
    );
    assert!(dutch.text.contains("In English:"), "{}", dutch.text);
    let in_english = mailbox.latest(&english, 1).await;
    assert!(
        in_english.subject.starts_with("Invitation"),
        "{}",
        in_english.subject
    );
    assert!(!in_english.text.contains("In het Nederlands"));
}
