//! Invitations (A3): an admin invites a teacher by mail; the mailed link is single-use and
//! expires; accepting makes the account (or links the one the person has) and the
//! membership; the operator invites from the command line too.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, Invitee, NewPassword, enroll, invite};
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::{
    BASE_DOMAIN, TestApp, TestAppOptions, TestDb, school_host, schoolplein_command, unique_slug,
};
use tenant_router::{TenantEntry, TenantTx};

const PASSWORD: &str = "Kn1kker-Boom-Zeil";
const TEACHER_PASSWORD: &str = "Krijt-Bord-88!";

/// A fresh database (mail workers must not meet other tests' mail), its app and its mailbox.
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

fn address() -> String {
    format!("{}@example.nl", unique_slug())
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

async fn count(app: &TestApp, school: &TenantEntry, sql: &'static str) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test]
async fn an_admin_invites_a_teacher_who_chooses_a_password_and_signs_in() {
    let (app, mailbox) = setup().await;
    let school = app.create_school("OBS De Klimop", "").await;
    let host = school_host(&school.slug);
    let admin = address();
    enroll_as(
        &app,
        &school,
        "Directeur Anja",
        &admin,
        &[Role::SchoolAdmin],
    )
    .await;

    let mut office = Client::new(app.addr);
    assert_eq!(
        office.sign_in(&host, &admin, PASSWORD, false).await.status,
        303
    );
    let people = office.get(&host, "/admin/people").await;
    assert!(people.text().contains("id=\"invite-form\""));
    let teacher = address();
    let invited = office
        .post_form(
            &host,
            "/admin/people/invite",
            &[
                ("name", "Meester Tim"),
                ("email", &teacher),
                ("role", "teacher"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.text());
    let people = office
        .get(&host, "/admin/people?notice=invited")
        .await
        .text();
    assert!(people.contains("De uitnodiging is verstuurd"), "{people}");
    assert!(people.contains("Meester Tim") && people.contains("Nog niet geregistreerd"));

    // The mail: the school's letterhead, who invites, and a link on the school's own host.
    let mail = mailbox.latest(&teacher, 1).await;
    assert!(mail.subject.contains("OBS De Klimop"), "{}", mail.subject);
    assert!(mail.text.contains("Directeur Anja"), "{}", mail.text);
    assert!(mail.text.contains("leerkracht"), "{}", mail.text);
    assert_eq!(
        mail.link_host().as_deref(),
        Some(format!("{}.{BASE_DOMAIN}", school.slug).as_str())
    );
    let link = mail.link("/invitation/").expect("an invitation link");

    let mut newcomer = Client::new(app.addr);
    let form = newcomer.get(&host, &link).await;
    assert_eq!(form.status, 200);
    assert!(form.text().contains(&teacher));
    // Wrong input: the field is named, nothing is written, the link still works.
    for (fields, field) in [
        (
            vec![("name", "Tim"), ("password", "kort"), ("repeat", "kort")],
            "password",
        ),
        (
            vec![
                ("name", "Tim"),
                ("password", TEACHER_PASSWORD),
                ("repeat", "Anders-88!x"),
            ],
            "repeat",
        ),
        (
            vec![
                ("name", " "),
                ("password", TEACHER_PASSWORD),
                ("repeat", TEACHER_PASSWORD),
            ],
            "name",
        ),
    ] {
        let refused = newcomer.post_form(&host, &link, &fields).await;
        assert_eq!(refused.status, 400, "{field}");
        assert!(
            refused.text().contains(&format!("id=\"{field}\"")),
            "{field}: {}",
            refused.text()
        );
    }
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.accounts WHERE lower(email) = lower($1)")
            .bind(&teacher)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(accounts, 0, "a refused form writes no account");

    let accepted = newcomer
        .post_form(
            &host,
            &link,
            &[
                ("name", "Tim de Vries"),
                ("password", TEACHER_PASSWORD),
                ("repeat", TEACHER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.text());
    assert_eq!(accepted.header("location"), Some("/sign-in?notice=joined"));
    let welcome = newcomer.get(&host, "/sign-in?notice=joined").await.text();
    assert!(welcome.contains("Uw account is klaar"), "{welcome}");

    // Single use: the link now says so and offers sign-in.
    for response in [
        newcomer.get(&host, &link).await,
        newcomer
            .post_form(
                &host,
                &link,
                &[
                    ("name", "X"),
                    ("password", TEACHER_PASSWORD),
                    ("repeat", TEACHER_PASSWORD),
                ],
            )
            .await,
    ] {
        assert_eq!(response.status, 410);
        let html = response.text();
        assert!(
            html.contains("al gebruikt") && html.contains("href=\"/sign-in\""),
            "{html}"
        );
    }

    // Signs in with the chosen password, as a teacher of this school only.
    assert_eq!(
        newcomer
            .sign_in(&host, &teacher, TEACHER_PASSWORD, false)
            .await
            .status,
        303
    );
    let account = newcomer.get(&host, "/account").await;
    assert_eq!(account.status, 200);
    assert!(account.text().contains("Tim de Vries"));
    assert_eq!(newcomer.get(&host, "/admin/people").await.status, 403);
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(m.roles) FROM platform.memberships m
           JOIN platform.accounts a ON a.id = m.account_id WHERE lower(a.email) = lower($1)",
    )
    .bind(&teacher)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(roles, ["teacher"]);

    // The admin is told, in this school's notices; reading them clears the count.
    let home = office.get(&host, "/").await.text();
    assert!(
        home.contains("id=\"unread-count\">2<"),
        "welcome and acceptance: {home}"
    );
    let notices = office.get(&host, "/notices").await.text();
    assert!(
        notices.contains("Tim de Vries heeft uw uitnodiging aangenomen"),
        "{notices}"
    );
    let home = office.get(&host, "/").await.text();
    assert!(!home.contains("unread-count"), "{home}");
}

#[tokio::test]
async fn expired_superseded_unknown_and_foreign_links_say_why_and_change_nothing() {
    let (app, mailbox) = setup().await;
    let school = app.create_school("Basisschool Oost", "").await;
    let other = app.create_school("Basisschool West", "").await;
    let host = school_host(&school.slug);
    let outbox =
        schoolplein_mailing::Outbox::new(app.state.templates.clone(), &app.state.config.mail);
    let email = EmailAddress::parse(&address()).unwrap();
    let invitee = Invitee {
        name: None,
        email: &email,
        role: Role::Teacher,
    };
    invite(
        &app.db.pool,
        &outbox,
        &app.state.config,
        &school,
        &invitee,
        None,
    )
    .await
    .unwrap();
    let first = mailbox
        .latest(email.as_str(), 1)
        .await
        .link("/invitation/")
        .unwrap();
    // Invited again: only the newest link works.
    invite(
        &app.db.pool,
        &outbox,
        &app.state.config,
        &school,
        &invitee,
        None,
    )
    .await
    .unwrap();
    let second = mailbox
        .latest(email.as_str(), 2)
        .await
        .link("/invitation/")
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        count(&app, &school, "SELECT count(*) FROM people").await,
        1,
        "one person"
    );

    let mut browser = Client::new(app.addr);
    let superseded = browser.get(&host, &first).await;
    assert_eq!(superseded.status, 410);
    assert!(superseded.text().contains("verlopen"));
    assert_eq!(browser.get(&host, &second).await.status, 200);

    // Another school's host does not know the link at all.
    let foreign = browser.get(&school_host(&other.slug), &second).await;
    assert_eq!(foreign.status, 404);
    assert!(foreign.text().contains("kennen we niet"));
    for bad in [
        "/invitation/abc",
        "/invitation/%00%27",
        &format!("/invitation/{}", "A".repeat(43)),
    ] {
        assert_eq!(browser.get(&host, bad).await.status, 404, "{bad}");
    }

    let days: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let d = sqlx::query_scalar(
            "SELECT round(extract(epoch FROM expires_at - created_at) / 86400)::bigint
               FROM invitations ORDER BY id DESC LIMIT 1",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        d
    };
    assert_eq!(days, 14, "an invitation lasts 14 days");

    // Fourteen days later.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 second'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let expired = browser.get(&host, &second).await;
    assert_eq!(expired.status, 410);
    let accept = browser
        .post_form(
            &host,
            &second,
            &[
                ("name", "Laat"),
                ("password", TEACHER_PASSWORD),
                ("repeat", TEACHER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(accept.status, 410);
    assert_eq!(
        count(
            &app,
            &school,
            "SELECT count(*) FROM people WHERE account_id IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_person_with_an_account_joins_another_school_without_a_new_password() {
    let (app, mailbox) = setup().await;
    let first = app.create_school("School Een", "").await;
    let second = app.create_school("School Twee", "").await;
    let person = address();
    enroll_as(&app, &first, "Juf Lisa", &person, &[Role::Teacher]).await;
    let admin = address();
    enroll_as(
        &app,
        &second,
        "Directeur Twee",
        &admin,
        &[Role::SchoolAdmin],
    )
    .await;

    let host = school_host(&second.slug);
    let mut office = Client::new(app.addr);
    office.sign_in(&host, &admin, PASSWORD, false).await;
    office.get(&host, "/admin/people").await;
    // The address typed in capitals still finds the same account.
    let invited = office
        .post_form(
            &host,
            "/admin/people/invite",
            &[
                ("name", "Lisa"),
                ("email", &person.to_uppercase()),
                ("role", "school_admin"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.text());
    let link = mailbox
        .latest(&person.to_uppercase(), 1)
        .await
        .link("/invitation/")
        .unwrap();

    let mut lisa = Client::new(app.addr);
    let page = lisa.get(&host, &link).await.text();
    assert!(
        page.contains("al een account") && !page.contains("name=\"password\""),
        "{page}"
    );
    assert_eq!(lisa.post_form(&host, &link, &[]).await.status, 303);
    // Her old password, now in both schools, with the new role in the second.
    assert_eq!(
        lisa.sign_in(&host, &person, PASSWORD, false).await.status,
        303
    );
    assert_eq!(lisa.get(&host, "/admin/people").await.status, 200);
    assert_eq!(
        lisa.get(&school_host(&first.slug), "/account").await.status,
        200
    );
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.accounts WHERE lower(email) = lower($1)")
            .bind(&person)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn bad_invitations_are_refused_by_field_and_write_nothing() {
    let (app, _mailbox) = setup().await;
    let school = app.create_school("Basisschool Zuid", "").await;
    let host = school_host(&school.slug);
    let admin = address();
    enroll_as(&app, &school, "Directeur", &admin, &[Role::SchoolAdmin]).await;
    let parent = address();
    enroll_as(&app, &school, "Ouder", &parent, &[Role::Parent]).await;

    let mut office = Client::new(app.addr);
    office.sign_in(&host, &admin, PASSWORD, false).await;
    office.get(&host, "/admin/people").await;
    let huge = "x".repeat(1024 * 1024);
    for (fields, field) in [
        (
            vec![
                ("name", "Een"),
                ("email", "geen-adres"),
                ("role", "teacher"),
            ],
            "email",
        ),
        (
            vec![
                ("name", "Een"),
                ("email", "juf@exаmple.nl"),
                ("role", "teacher"),
            ],
            "email",
        ),
        (
            vec![("name", ""), ("email", "a@example.nl"), ("role", "teacher")],
            "name",
        ),
        (
            vec![
                ("name", "Een"),
                ("email", "a@example.nl"),
                ("role", "parent"),
            ],
            "role",
        ),
        (
            vec![("name", "Een"), ("email", "a@example.nl"), ("role", "god")],
            "role",
        ),
    ] {
        let refused = office
            .post_form(&host, "/admin/people/invite", &fields)
            .await;
        assert_eq!(refused.status, 400, "{field}");
        assert!(
            refused.text().contains(field),
            "{field}: {}",
            refused.text()
        );
    }
    let too_big = office
        .post_form(
            &host,
            "/admin/people/invite",
            &[
                ("name", &huge),
                ("email", "a@example.nl"),
                ("role", "teacher"),
            ],
        )
        .await;
    assert!(matches!(too_big.status, 400 | 413), "{}", too_big.status);
    // A forged form and a parent are refused too.
    let forged = office
        .post_raw(
            &host,
            "/admin/people/invite",
            "csrf=wrong&name=Een&email=a%40example.nl&role=teacher",
        )
        .await;
    assert_eq!(forged.status, 403);
    let mut ouder = Client::new(app.addr);
    ouder.sign_in(&host, &parent, PASSWORD, false).await;
    ouder.get(&host, "/account").await;
    let not_admin = ouder
        .post_form(
            &host,
            "/admin/people/invite",
            &[
                ("name", "Een"),
                ("email", "a@example.nl"),
                ("role", "teacher"),
            ],
        )
        .await;
    assert_eq!(not_admin.status, 403);

    assert_eq!(
        count(&app, &school, "SELECT count(*) FROM invitations").await,
        0
    );
    assert_eq!(count(&app, &school, "SELECT count(*) FROM people").await, 2);
    let mails: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.outbox")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(mails, 0);
}

#[tokio::test]
async fn the_operator_invites_from_the_command_line() {
    let db = TestDb::fresh().await;
    let slug = unique_slug();
    let admin = address();
    let created = schoolplein_command(&db)
        .args([
            "tenant",
            "create",
            &slug,
            "--name",
            "Nieuwe School",
            "--admin",
            &admin,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let teacher = address();
    let invited = schoolplein_command(&db)
        .args([
            "tenant", "invite", &slug, &teacher, "--role", "teacher", "--name", "Juf Ans",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        invited.status.success(),
        "{}",
        String::from_utf8_lossy(&invited.stderr)
    );
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT recipient, subject FROM platform.outbox ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, admin);
    assert_eq!(rows[1].0, teacher);
    assert!(
        rows.iter()
            .all(|(_, subject)| subject.contains("Nieuwe School"))
    );
    let school = tenant_router::provision::find_school(
        &db.pool,
        &tenant_router::TenantSlug::parse(&slug).unwrap(),
    )
    .await
    .unwrap();
    let mut tx = TenantTx::begin(&db.pool, school.id).await.unwrap();
    let people: Vec<(String, Vec<String>)> =
        sqlx::query_as("SELECT name, roles FROM people ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(people[0].1, ["school_admin"]);
    assert_eq!(
        people[1],
        ("Juf Ans".to_owned(), vec!["teacher".to_owned()])
    );

    // Bad arguments: a clear message and exit code 2, nothing written.
    for args in [
        vec!["tenant", "invite", &slug, "geen-adres", "--role", "teacher"],
        vec![
            "tenant",
            "invite",
            &slug,
            "a@example.nl",
            "--role",
            "parent",
        ],
        vec![
            "tenant",
            "invite",
            "bestaat-niet",
            "a@example.nl",
            "--role",
            "teacher",
        ],
    ] {
        let out = schoolplein_command(&db).args(&args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    let mails: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(mails, 2);
}
