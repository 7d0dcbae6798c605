//! Mail that cannot arrive (N4): a permanent refusal fails the mail once, marks the address,
//! and the person sees it on every page until they say they fixed it; then what failed is
//! sent again. Staff see the mark next to the parent.

use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, parent};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, eventually, school_host};

/// `(attempts, failed, last error)` of the mails to `address`, oldest first.
async fn mails_to(app: &TestApp, address: &str) -> Vec<(i32, bool, Option<String>)> {
    sqlx::query_as(
        "SELECT attempts, failed_at IS NOT NULL, last_error FROM platform.outbox
          WHERE lower(recipient) = lower($1) ORDER BY id",
    )
    .bind(address)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_address_fails_its_mail_once_is_marked_and_try_again_sends_it() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut petra = parent(&app, &school, "Petra Pieters", &["2026001"]).await;
    mailbox.smtp.refuse_recipient(&petra.email);
    let pool = app.db.pool.clone();
    let queue = |subject: &'static str| {
        let (pool, to, tenant) = (pool.clone(), petra.email.clone(), school.id.get());
        async move {
            sqlx::query(
                "INSERT INTO platform.outbox (tenant_id, recipient, subject, body_text, body_html,
                                              message_id)
                 VALUES ($1, $2, $3, 'x', 'x', '<' || gen_random_uuid() || '@test>')",
            )
            .bind(tenant)
            .bind(to)
            .bind(subject)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query("SELECT pg_notify('schoolplein_outbox', '')")
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    queue("Nieuws van school").await;
    let failed = eventually(Duration::from_secs(10), || async {
        mails_to(&app, &petra.email)
            .await
            .first()
            .is_some_and(|m| m.1)
    })
    .await;
    assert!(failed.is_some(), "{:?}", mails_to(&app, &petra.email).await);
    // Failed once, not retried.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = mails_to(&app, &petra.email).await;
    assert_eq!(mails[0].0, 1, "one attempt: {mails:?}");
    assert!(
        mails[0].2.as_deref().unwrap_or_default().contains("550"),
        "{mails:?}"
    );
    // Another mail to her is not even tried while the address is marked.
    queue("Nog meer nieuws").await;
    let skipped = eventually(Duration::from_secs(10), || async {
        mails_to(&app, &petra.email)
            .await
            .get(1)
            .is_some_and(|m| m.1)
    })
    .await;
    assert!(skipped.is_some());
    assert_eq!(
        mails_to(&app, &petra.email).await[1].2.as_deref(),
        Some("address undeliverable")
    );
    // Her pages say so; the admin sees it next to her name and on the to-do list.
    let home = petra.client.get(&host, "/").await.text();
    assert!(
        home.contains("id=\"mail-undeliverable\"") && home.contains(&petra.email),
        "{home}"
    );
    let parent_page = admin
        .client
        .get(&host, &format!("/admin/parents/{}", petra.person_id))
        .await
        .text();
    assert!(parent_page.contains("id=\"parent-undeliverable\""));
    assert!(
        admin
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("id=\"refused-mail\"")
    );
    // She fixed her mailbox and says so: the mark goes and both mails go out.
    mailbox.smtp.accept_recipient(&petra.email);
    let fixed = petra
        .client
        .post_form(&host, "/account/mail-works", &[])
        .await;
    assert_eq!(fixed.status, 303, "{}", fixed.text());
    assert!(
        !petra
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("id=\"mail-undeliverable\"")
    );
    let arrived = mailbox.wait_for(&petra.email, 2).await;
    assert_eq!(arrived.len(), 2, "each once");
    let parent_page = admin
        .client
        .get(&host, &format!("/admin/parents/{}", petra.person_id))
        .await
        .text();
    assert!(!parent_page.contains("id=\"parent-undeliverable\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_for_now_backs_off_and_fails_for_good_after_the_configured_time() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    mailbox.smtp.refuse_mail(true);
    // One mail queued now, one queued (as if) four days ago, to two addresses (the one that
    // gives up marks its address, which would fail the other at once).
    for (to, age) in [
        ("vers@example.nl", "0 hours"),
        ("oud@example.nl", "96 hours"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO platform.outbox (recipient, subject, body_text, body_html, message_id,
                                          created_at)
             VALUES ('{to}', 'Nieuws', 'x', 'x',
                     '<' || gen_random_uuid() || '@test>', now() - interval '{age}')"
        )))
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_notify('schoolplein_outbox', '')")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let settled = eventually(Duration::from_secs(10), || async {
        let fresh = mails_to(&app, "vers@example.nl").await;
        let old = mails_to(&app, "oud@example.nl").await;
        fresh.iter().all(|m| m.0 >= 1) && old.iter().all(|m| m.1)
    })
    .await;
    assert!(settled.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = mails_to(&app, "vers@example.nl").await;
    assert!(
        !fresh[0].1,
        "a fresh mail refused for now waits for its next try: {fresh:?}"
    );
    let old = mails_to(&app, "oud@example.nl").await;
    assert!(
        old[0]
            .2
            .as_deref()
            .unwrap_or_default()
            .starts_with("gave up"),
        "one refused for longer than allowed fails for good: {old:?}"
    );
}
