//! Notification preferences and digests (N2), run by the command line at a chosen instant:
//! one digest per person at the school's time with what is new and unread, none when there
//! is nothing new, none twice for one slot; a mail per item for those who want one; the
//! questionnaire reminder the day before its deadline, once.

use chrono::{DateTime, Duration, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, parent, publish};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host, schoolplein_command};

/// `schoolplein jobs run --at <at>`; its report line.
async fn run_jobs(db: &TestDb, at: DateTime<Utc>) -> String {
    let output = schoolplein_command(db)
        .args(["jobs", "run", "--at", &at.to_rfc3339()])
        .output()
        .await
        .expect("schoolplein runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Mails queued for an address whose subject contains `subject`.
async fn queued(app: &TestApp, to: &str, subject: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT body_text FROM platform.outbox
          WHERE recipient = $1 AND position($2 IN subject) > 0 ORDER BY id",
    )
    .bind(to)
    .bind(subject)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn digests_go_out_once_at_the_schools_time_with_what_is_new_and_honour_preferences() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Samenvatting", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut daily = parent(&app, &school, "Ouder Dagelijks", &["2026001"]).await;
    let mut each = parent(&app, &school, "Ouder Per Bericht", &["2026002"]).await;
    let mut nothing = parent(&app, &school, "Ouder Geen", &["2026003"]).await;
    let mut twice = parent(&app, &school, "Ouder Twee Keer", &["2026005"]).await;

    // The school's digest: every day at 17:30 (bad input refused by field).
    admin.client.get(&host, "/admin/settings").await;
    for (fields, field) in [
        (
            vec![("digest_time", "23:00"), ("digest_days", "1")],
            "digest_time",
        ),
        (vec![("digest_time", "17:30")], "digest_days"),
        (
            vec![("digest_time", "17:30"), ("digest_days", "8")],
            "digest_days",
        ),
    ] {
        let answer = admin
            .client
            .post_form(&host, "/admin/settings/digest", &fields)
            .await;
        assert_eq!(answer.status, 400, "{fields:?}");
        assert!(answer.text().contains(field), "{field}: {}", answer.text());
    }
    let every_day: Vec<(&str, &str)> = std::iter::once(("digest_time", "17:30"))
        .chain(["1", "2", "3", "4", "5", "6", "7"].map(|d| ("digest_days", d)))
        .collect();
    let answer = admin
        .client
        .post_form(&host, "/admin/settings/digest", &every_day)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());

    // Preferences: checked as a whole; the default is the daily digest.
    let page = daily.client.get(&host, "/notifications").await.text();
    assert!(page.contains("<option value=\"daily\" selected>"), "{page}");
    assert!(page.contains("id=\"urgent-always\""), "{page}");
    let answer = each
        .client
        .post_form(
            &host,
            "/notifications",
            &[("news", "each"), ("agenda", "hourly"), ("board", "daily")],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("agenda"), "{}", answer.text());
    for (member, news, agenda) in [
        (&mut each, "each", "daily"),
        (&mut nothing, "none", "none"),
        (&mut twice, "twice_daily", "twice_daily"),
    ] {
        member.client.get(&host, "/notifications").await;
        let answer = member
            .client
            .post_form(
                &host,
                "/notifications",
                &[("news", news), ("agenda", agenda), ("board", "none")],
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.text());
    }

    let news = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Nieuws voor iedereen"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let agenda = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "agenda"),
            ("title", "Sinterklaas op school"),
            ("happens_on", "2026-12-05"),
            ("whole_school", "on"),
        ],
    )
    .await;
    // A mail per item at once for the one who asked; nobody else.
    let mail = mailbox.latest(&each.email, 1).await;
    assert!(mail.text.contains("Nieuws voor iedereen"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!("/posts/{news}")),
        "{}",
        mail.text
    );
    assert_eq!(
        queued(&app, &daily.email, "Nieuws voor iedereen")
            .await
            .len(),
        0
    );

    // The daily parent has read the agenda item already: not in their digest.
    assert_eq!(
        daily
            .client
            .get(&host, &format!("/posts/{agenda}"))
            .await
            .status,
        200
    );

    // The next 17:30 in Amsterdam.
    let slot: DateTime<Utc> = sqlx::query_scalar(
        "SELECT s + CASE WHEN s <= now() THEN interval '1 day' ELSE interval '0' END
           FROM (SELECT ((now() AT TIME ZONE 'Europe/Amsterdam')::date + time '17:30')
                          AT TIME ZONE 'Europe/Amsterdam' AS s) x",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    // Run in the evening or at night, the twice-daily parent's morning digest (07:30) would
    // come before the slot and carry both: as far as the digests can tell, the two came in at
    // 15:30 on the slot's day (or now, when that is later), whatever the hour the test runs.
    let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
        .await
        .unwrap();
    sqlx::query("UPDATE posts SET published_at = greatest(published_at, $2) WHERE id = ANY ($1)")
        .bind([news, agenda])
        .bind(slot - Duration::hours(2))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Before the slot: nothing.
    run_jobs(&app.db, slot - Duration::minutes(1)).await;
    let digest = "Nieuw in het ouderportaal";
    let digest_en = "New in the parent portal";
    let digests_of = |email: String| {
        let app = &app;
        async move {
            let mut all = queued(app, &email, digest).await;
            all.extend(queued(app, &email, digest_en).await);
            all
        }
    };
    for member in [&daily, &each, &nothing, &twice] {
        assert!(
            digests_of(member.email.clone()).await.is_empty(),
            "{}",
            member.email
        );
    }

    let report = run_jobs(&app.db, slot).await;
    assert!(report.contains("3 digests"), "{report}");
    let of_daily = digests_of(daily.email.clone()).await;
    assert_eq!(of_daily.len(), 1);
    assert!(
        of_daily[0].contains("Nieuws voor iedereen"),
        "{}",
        of_daily[0]
    );
    assert!(
        !of_daily[0].contains("Sinterklaas"),
        "read already: {}",
        of_daily[0]
    );
    assert!(
        of_daily[0].contains(&format!("/posts/{news}")),
        "{}",
        of_daily[0]
    );
    let of_each = digests_of(each.email.clone()).await;
    assert_eq!(of_each.len(), 1);
    assert!(of_each[0].contains("Sinterklaas"), "{}", of_each[0]);
    assert!(
        !of_each[0].contains("Nieuws voor iedereen"),
        "mailed on its own: {}",
        of_each[0]
    );
    let of_twice = digests_of(twice.email.clone()).await;
    assert_eq!(of_twice.len(), 1);
    assert!(of_twice[0].contains("Sinterklaas") && of_twice[0].contains("Nieuws voor iedereen"));
    assert!(digests_of(nothing.email.clone()).await.is_empty());
    // It says how many are unread.
    let unread_line = of_twice[0]
        .lines()
        .find(|l| l.contains("Ongelezen") || l.contains("Unread"))
        .unwrap_or_else(|| panic!("{}", of_twice[0]))
        .to_owned();
    assert!(unread_line.trim_end().ends_with(" 2"), "{unread_line}");
    mailbox.wait_for(&twice.email, 1).await;

    // The same slot again (a rerun, a second server): nothing more.
    let report = run_jobs(&app.db, slot).await;
    assert!(report.contains("0 digests"), "{report}");
    let again = run_jobs(&app.db, slot + Duration::minutes(5)).await;
    assert!(again.contains("0 digests"), "{again}");
    // News that evening, at 19:30 (its publishing moment set as if it had come then).
    let evening = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Avondnieuws"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
        .await
        .unwrap();
    sqlx::query("UPDATE posts SET published_at = $2 WHERE id = $1")
        .bind(evening)
        .bind(slot + Duration::hours(2))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The next morning, 07:30: only the twice-daily parent gets it.
    let morning = run_jobs(&app.db, slot + Duration::hours(14)).await;
    assert!(morning.contains("1 digests"), "{morning}");
    let of_twice = digests_of(twice.email.clone()).await;
    assert_eq!(of_twice.len(), 2);
    assert!(of_twice[1].contains("Avondnieuws") && !of_twice[1].contains("Sinterklaas"));
    assert_eq!(digests_of(daily.email.clone()).await.len(), 1);
    // That day at 17:30: the daily parent gets it; the twice-daily parent had it already.
    let next = run_jobs(&app.db, slot + Duration::hours(24)).await;
    assert!(next.contains("1 digests"), "{next}");
    let of_daily = digests_of(daily.email.clone()).await;
    assert_eq!(of_daily.len(), 2);
    assert!(of_daily[1].contains("Avondnieuws"), "{}", of_daily[1]);
    assert_eq!(digests_of(twice.email.clone()).await.len(), 2);
    assert!(digests_of(nothing.email.clone()).await.is_empty());
    assert_eq!(digests_of(each.email.clone()).await.len(), 1);
}

#[tokio::test]
async fn the_day_before_its_deadline_a_questionnaire_reminds_those_who_have_not_answered_once() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Deadline", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut answers = parent(&app, &school, "Ouder Antwoordt", &["2026001"]).await;
    let silent = parent(&app, &school, "Ouder Stil", &["2026002"]).await;
    let (deadline, deadline_local): (DateTime<Utc>, String) = sqlx::query_as(
        "SELECT d, to_char(d AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM-DD\"T\"HH24:MI')
           FROM (SELECT date_trunc('minute', now()) + interval '3 days' AS d) x",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();
    let post = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Luizencontrole"),
            ("groups", &g3),
            ("q1_kind", "yes_no"),
            ("q1_prompt", "Mag het?"),
            ("answers_until", &deadline_local),
        ],
    )
    .await;
    let question = school::id(
        &app,
        &school,
        "SELECT id FROM questions WHERE post_id = $1::text::bigint",
        &post.to_string(),
    )
    .await;
    answers.client.get(&host, &format!("/posts/{post}")).await;
    let answered = answers
        .client
        .post_form(
            &host,
            &format!("/posts/{post}/responses"),
            &[(&format!("a_0_{question}"), "yes")],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.text());

    // Two days before: nothing; a day before: the one who has not answered, once.
    let report = run_jobs(&app.db, deadline - Duration::hours(48)).await;
    assert!(report.contains("0 questionnaire reminders"), "{report}");
    let report = run_jobs(&app.db, deadline - Duration::hours(23)).await;
    assert!(report.contains("1 questionnaire reminders"), "{report}");
    let mail = mailbox.latest(&silent.email, 1).await;
    assert!(mail.text.contains("Luizencontrole"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!("/posts/{post}")),
        "{}",
        mail.text
    );
    let report = run_jobs(&app.db, deadline - Duration::hours(22)).await;
    assert!(report.contains("0 questionnaire reminders"), "{report}");
    assert_eq!(
        queued(&app, &answers.email, "Luizencontrole").await.len(),
        0
    );
    assert_eq!(queued(&app, &silent.email, "Luizencontrole").await.len(), 1);
}
