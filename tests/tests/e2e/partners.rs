//! Partners and joint use (A8): two parents of one child link by asking and accepting; each
//! changes the other's details only while both keep joint use on; either ends the link; a
//! link is always both ways, even for a statement that tries otherwise.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, Member};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};

async fn parent(app: &TestApp, school: &TenantEntry, name: &str, child: &str) -> Member {
    let member = school::member(app, school, name, &[Role::Parent]).await;
    school::link_child(app, school, member.person_id, child).await;
    member
}

/// `(partner_id, joint_use)` of a person.
async fn link_of(app: &TestApp, school: &TenantEntry, person: i64) -> (Option<i64>, bool) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let row = sqlx::query_as("SELECT partner_id, joint_use FROM people WHERE id = $1")
        .bind(person)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    row
}

async fn notices_of(app: &TestApp, school: &TenantEntry, person: i64) -> Vec<(String, i64)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT kind, subject_id FROM notices WHERE person_id = $1 AND kind LIKE 'partner%'
          ORDER BY id",
    )
    .bind(person)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

async fn mails_queued_to(app: &TestApp, address: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM platform.outbox WHERE recipient = $1")
        .bind(address)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn post(
    client: &mut Client,
    host: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let answer = client.post_form(host, path, fields).await;
    let location = answer.header("location").unwrap_or_default().to_owned();
    (
        answer.status,
        if answer.status == 303 {
            location
        } else {
            answer.text()
        },
    )
}

#[tokio::test]
async fn partners_link_by_consent_change_each_others_details_only_with_joint_use_and_either_ends_it()
 {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Samen", "").await;
    let host = school_host(&school.slug);
    let admin_email = format!("{}@example.nl", unique_slug());
    let mut admin = school::member_with_email(
        &app,
        &school,
        "Directeur",
        &admin_email,
        &[Role::SchoolAdmin],
    )
    .await;
    school::import_sample(&mut admin.client, &school).await;
    let mut anna = parent(&app, &school, "Anna Jansen", "2026001").await;
    let mut mark = parent(&app, &school, "Mark Jansen", "2026001").await;
    let mut daan = parent(&app, &school, "Daan de Vries", "2026002").await;
    let (anna_id, mark_id, daan_id) = (anna.person_id, mark.person_id, daan.person_id);

    // Only the other parent of her own child is offered.
    let page = anna.client.get(&host, "/partner").await.text();
    assert!(
        page.contains(&format!("<option value=\"{mark_id}\">Mark Jansen")),
        "{page}"
    );
    assert!(!page.contains("Daan de Vries"), "{page}");

    // Bad requests name the field and change nothing.
    for bad in [
        daan_id.to_string(),
        anna_id.to_string(),
        "abc".into(),
        "999999".into(),
    ] {
        let (status, body) = post(
            &mut anna.client,
            &host,
            "/partner/request",
            &[("partner", &bad)],
        )
        .await;
        assert_eq!(status, 400, "partner={bad}: {body}");
        assert!(body.contains("partner"), "{body}");
    }
    assert_eq!(mails_queued_to(&app, &daan.email).await, 0);

    // Asking: a notice and one mail, however often she asks.
    let (status, location) = post(
        &mut anna.client,
        &host,
        "/partner/request",
        &[("partner", &mark_id.to_string())],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/partner?done=asked"));
    let (_, again) = post(
        &mut anna.client,
        &host,
        "/partner/request",
        &[("partner", &mark_id.to_string())],
    )
    .await;
    assert_eq!(again, "/partner?done=already_asked");
    let mail = mailbox.latest(&mark.email, 1).await;
    assert!(mail.text.contains("Anna Jansen"), "{}", mail.text);
    assert!(mail.link("/partner").is_some(), "{}", mail.text);
    assert_eq!(mails_queued_to(&app, &mark.email).await, 1);
    assert_eq!(
        notices_of(&app, &school, mark_id).await,
        [("partner_request".to_owned(), anna_id)]
    );
    assert!(
        anna.client
            .get(&host, "/partner")
            .await
            .text()
            .contains("id=\"partner-asked\"")
    );

    // Only the parent asked can accept.
    let (status, body) = post(
        &mut daan.client,
        &host,
        "/partner/accept",
        &[("from", &anna_id.to_string())],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("from"), "{body}");
    assert_eq!(link_of(&app, &school, anna_id).await.0, None);

    let page = mark.client.get(&host, "/partner").await.text();
    assert!(page.contains(&format!("id=\"asking-{anna_id}\"")), "{page}");
    let (_, location) = post(
        &mut mark.client,
        &host,
        "/partner/accept",
        &[("from", &anna_id.to_string())],
    )
    .await;
    assert_eq!(location, "/partner?done=linked");
    assert_eq!(link_of(&app, &school, anna_id).await, (Some(mark_id), true));
    assert_eq!(link_of(&app, &school, mark_id).await, (Some(anna_id), true));
    assert_eq!(
        notices_of(&app, &school, anna_id).await,
        [("partner_linked".to_owned(), mark_id)]
    );
    let staff_view = admin
        .client
        .get(&host, &format!("/admin/parents/{anna_id}"))
        .await
        .text();
    assert!(staff_view.contains("Mark Jansen"), "{staff_view}");

    // With joint use on (both), she changes his details; a bad field changes nothing.
    let page = anna.client.get(&host, "/partner").await.text();
    assert!(page.contains("id=\"partner-details\""), "{page}");
    let details = |phone: &'static str| {
        [
            ("address", "Dorpsstraat 1, Ede"),
            ("phone_mobile", phone),
            ("phone_other", ""),
            ("about", "Vader van Sanne"),
        ]
    };
    let (status, body) = post(
        &mut anna.client,
        &host,
        "/partner/details",
        &details("bel me"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("phone_mobile"), "{body}");
    let (_, location) = post(
        &mut anna.client,
        &host,
        "/partner/details",
        &details("06-12345678"),
    )
    .await;
    assert_eq!(location, "/partner?done=details");
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let (address, phone): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT address, phone_mobile FROM people WHERE id = $1")
            .bind(mark_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        (address.as_deref(), phone.as_deref()),
        (Some("Dorpsstraat 1, Ede"), Some("06-12345678"))
    );
    assert!(
        notices_of(&app, &school, mark_id)
            .await
            .contains(&("partner_changed_details".to_owned(), anna_id))
    );
    let admin_mail = mailbox.latest(&admin_email, 1).await;
    assert!(
        admin_mail.subject.contains("Mark Jansen"),
        "{}",
        admin_mail.subject
    );

    // He turns joint use off: no more changes from her, and no form.
    let (status, body) = post(
        &mut mark.client,
        &host,
        "/partner/joint-use",
        &[("joint_use", "maybe")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("joint_use"), "{body}");
    post(
        &mut mark.client,
        &host,
        "/partner/joint-use",
        &[("joint_use", "off")],
    )
    .await;
    let (status, _) = post(
        &mut anna.client,
        &host,
        "/partner/details",
        &details("06-87654321"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        !anna
            .client
            .get(&host, "/partner")
            .await
            .text()
            .contains("id=\"partner-details\"")
    );

    // Back on, but the school made him read-only: his details are not hers to change either.
    post(
        &mut mark.client,
        &host,
        "/partner/joint-use",
        &[("joint_use", "on")],
    )
    .await;
    let (status, _) = post(
        &mut admin.client,
        &host,
        &format!("/admin/parents/{mark_id}/read-only"),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = post(
        &mut anna.client,
        &host,
        "/partner/details",
        &details("06-87654321"),
    )
    .await;
    assert_eq!(status, 403);

    // Either ends it alone; the other is told.
    let (_, location) = post(&mut anna.client, &host, "/partner/end", &[]).await;
    assert_eq!(location, "/partner?done=ended");
    assert_eq!(link_of(&app, &school, anna_id).await.0, None);
    assert_eq!(link_of(&app, &school, mark_id).await.0, None);
    assert!(
        notices_of(&app, &school, mark_id)
            .await
            .contains(&("partner_ended".to_owned(), anna_id))
    );
    let (status, _) = post(
        &mut anna.client,
        &host,
        "/partner/details",
        &details("06-87654321"),
    )
    .await;
    assert_eq!(status, 403);

    // A one-sided link never commits.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE people SET partner_id = $2 WHERE id = $1")
        .bind(daan_id)
        .bind(anna_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused = tx.commit().await.expect_err("a one-sided link");
    assert!(refused.to_string().contains("one-sided"), "{refused}");
    assert_eq!(link_of(&app, &school, daan_id).await.0, None);

    // Another school's parent cannot reach these people by their ids.
    let other = app.create_school("Andere school", "").await;
    let other_host = school_host(&other.slug);
    let mut stranger = school::member(&app, &other, "Vreemde", &[Role::Parent]).await;
    for id in [anna_id, mark_id] {
        let (status, _) = post(
            &mut stranger.client,
            &other_host,
            "/partner/request",
            &[("partner", &id.to_string())],
        )
        .await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn two_parents_asking_each_other_at_once_end_up_linked_once() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Tegelijk", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut anna = parent(&app, &school, "Anna", "2026001").await;
    let mut mark = parent(&app, &school, "Mark", "2026001").await;
    let (anna_id, mark_id) = (anna.person_id, mark.person_id);
    let (mark_field, anna_field) = (mark_id.to_string(), anna_id.to_string());
    let (ask_mark, ask_anna) = (
        [("partner", mark_field.as_str())],
        [("partner", anna_field.as_str())],
    );
    for _ in 0..5 {
        let (a, m) = tokio::join!(
            post(&mut anna.client, &host, "/partner/request", &ask_mark),
            post(&mut mark.client, &host, "/partner/request", &ask_anna),
        );
        let mut outcomes = [a.1, m.1];
        outcomes.sort();
        assert_eq!(outcomes, ["/partner?done=asked", "/partner?done=linked"]);
        assert_eq!(link_of(&app, &school, anna_id).await.0, Some(mark_id));
        assert_eq!(link_of(&app, &school, mark_id).await.0, Some(anna_id));
        let (status, _) = post(&mut mark.client, &host, "/partner/end", &[]).await;
        assert_eq!(status, 303);
        assert_eq!(link_of(&app, &school, anna_id).await.0, None);
    }
}
