//! Destructive actions ask first: for each, a page names what will be lost, with a red button
//! that does it and a way back; opening the page changes nothing, and who may not do the
//! action may not open it either.

use chrono::Duration;
use schoolplein_kernel::Role;
use schoolplein_tests::school;
use schoolplein_tests::{RawResponse, TestApp, school_host};

/// The id of the created thing from a 303 to `{prefix}{id}`.
fn created(answer: &RawResponse, prefix: &str) -> i64 {
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix(prefix))
        .and_then(|id| id.parse().ok())
        .expect("the new thing's address")
}

async fn count(app: &TestApp, school: &tenant_router::TenantEntry, sql: &'static str) -> i64 {
    let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test]
async fn every_destructive_action_asks_first_and_says_what_goes_with_it() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin])
        .await
        .client;
    school::import_sample(&mut admin, &school).await;
    let group = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    admin.get(&host, "/albums").await;
    let album = created(
        &admin
            .post_form(
                &host,
                "/albums",
                &[("title", "Schoolreis"), ("group_id", "")],
            )
            .await,
        "/albums/",
    );
    admin.get(&host, "/documents").await;
    let folder = created(
        &admin
            .post_form(
                &host,
                "/documents",
                &[("name", "Formulieren"), ("group_id", "")],
            )
            .await,
        "/documents/",
    );
    let day = (chrono::Utc::now() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    admin.get(&host, "/calendar/events/new").await;
    let event = created(
        &admin
            .post_form(
                &host,
                "/calendar/events",
                &[
                    ("title", "Sinterklaasfeest"),
                    ("start_date", &day),
                    ("start_time", "09:00"),
                    ("end_time", "12:00"),
                    ("whole_school", "on"),
                    ("visibility", "members"),
                ],
            )
            .await,
        "/calendar/events/",
    );
    admin.get(&host, "/conference-rounds").await;
    let round = created(
        &admin
            .post_form(
                &host,
                "/conference-rounds",
                &[
                    ("group", &group),
                    ("title", "Rapportgesprekken"),
                    ("talks", "6"),
                    ("talk_minutes", "10"),
                    ("start_date", &day),
                    ("day_start", "15:00"),
                    ("day_end", "18:00"),
                ],
            )
            .await,
        "/conference-rounds/",
    );
    let pupil = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await;
    admin.get(&host, "/admin/parents").await;
    let made = admin
        .post_form(&host, "/admin/parents/school-code/new", &[])
        .await;
    assert_eq!(made.status, 303, "a first school code is made at once");

    // (page that offers it, the link's id, the confirmation page, its button's id, what it
    // must name)
    let cases: Vec<(String, String, String, &str, Vec<&str>)> = vec![
        (
            format!("/albums/{album}"),
            "delete-album".into(),
            format!("/albums/{album}/delete"),
            "delete-album",
            vec!["Schoolreis"],
        ),
        (
            format!("/documents/{folder}"),
            "delete-folder".into(),
            format!("/documents/{folder}/delete"),
            "delete-folder",
            vec!["Formulieren"],
        ),
        (
            format!("/calendar/events/{event}"),
            "delete-event".into(),
            format!("/calendar/events/{event}/delete"),
            "delete-event",
            vec!["Sinterklaasfeest"],
        ),
        (
            format!("/conference-rounds/{round}"),
            "delete-round".into(),
            format!("/conference-rounds/{round}/delete"),
            "delete-round",
            vec!["Rapportgesprekken", "6 tijdsloten"],
        ),
        (
            "/admin/parents".to_owned(),
            format!("regenerate-{pupil}"),
            format!("/admin/pupils/{pupil}/code"),
            "regenerate-code",
            vec!["Sanne de Vries", "brief"],
        ),
        (
            "/admin/parents".to_owned(),
            "remove-school-code".into(),
            "/admin/parents/school-code/remove".to_owned(),
            "remove-school-code",
            vec!["niet meer aanmelden"],
        ),
        (
            "/admin/parents".to_owned(),
            "new-school-code".into(),
            "/admin/parents/school-code/new".to_owned(),
            "new-school-code",
            vec!["niet meer aanmelden"],
        ),
    ];
    let before = (
        count(&app, &school, "SELECT count(*) FROM albums").await,
        count(&app, &school, "SELECT count(*) FROM document_folders").await,
        count(&app, &school, "SELECT count(*) FROM events").await,
        count(&app, &school, "SELECT count(*) FROM conference_slots").await,
        count(&app, &school, "SELECT count(*) FROM pupil_codes").await,
    );
    let mut parent = school::parent(&app, &school, "Ouder", &["2026001"])
        .await
        .client;
    for (offered_on, link_id, path, confirm_id, names) in &cases {
        let offer = admin.get(&host, offered_on).await.text();
        assert!(
            offer.contains(&format!("href=\"{path}\""))
                && offer.contains(&format!("id=\"{link_id}\"")),
            "{offered_on} links to {path}"
        );
        let page = admin.get(&host, path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        let page = page.text();
        assert!(
            page.contains(&format!("class=\"danger\" id=\"{confirm_id}-confirm\"")),
            "{path}: the red button"
        );
        assert!(
            page.contains(&format!("action=\"{path}\"")),
            "{path}: posts to the action"
        );
        assert!(
            page.contains(&format!("id=\"{confirm_id}-cancel\"")),
            "{path}: a way back"
        );
        for name in names {
            assert!(page.contains(name), "{path} names {name}: {page}");
        }
        // A parent may not even ask.
        let refused = parent.get(&host, path).await.status;
        assert!(
            matches!(refused, 403 | 404),
            "{path}: a parent gets {refused}"
        );
    }
    let after = (
        count(&app, &school, "SELECT count(*) FROM albums").await,
        count(&app, &school, "SELECT count(*) FROM document_folders").await,
        count(&app, &school, "SELECT count(*) FROM events").await,
        count(&app, &school, "SELECT count(*) FROM conference_slots").await,
        count(&app, &school, "SELECT count(*) FROM pupil_codes").await,
    );
    assert_eq!(before, after, "asking changes nothing");

    // The red button does it.
    let page = admin.get(&host, &format!("/albums/{album}/delete")).await;
    assert_eq!(page.status, 200);
    let done = admin
        .post_form(&host, &format!("/albums/{album}/delete"), &[])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(count(&app, &school, "SELECT count(*) FROM albums").await, 0);
}
