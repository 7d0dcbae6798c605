//! What a parent keeps in the school (P8, A8): extra contacts and a child's medical details,
//! seen by staff and never by other parents; every change mailed to the school's admins;
//! one primary contact per child.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, SAMPLE_EDEXML as EDEXML};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};

/// A signed-in member; a parent gets the pupil with this key as their child and shows their
/// name to its group, so listings are not empty for that reason.
async fn member(
    app: &TestApp,
    school: &TenantEntry,
    name: &str,
    email: &str,
    roles: &[Role],
    child: Option<&str>,
) -> (Client, i64) {
    let member = school::member_with_email(app, school, name, email, roles).await;
    if let Some(key) = child {
        school::link_child(app, school, member.person_id, key).await;
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        sqlx::query(
            "INSERT INTO privacy_choices (person_id, pupil_id, field, audience)
             SELECT $1, id, 'name', 'group' FROM pupils WHERE import_key = $2",
        )
        .bind(member.person_id)
        .bind(key)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    (member.client, member.person_id)
}

#[tokio::test]
async fn contacts_and_medical_details_reach_staff_only_and_every_change_is_mailed_to_the_admins() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Bereikbaar", "").await;
    let host = school_host(&school.slug);
    let admin_email = format!("{}@example.nl", unique_slug());
    let (mut admin, _) = member(
        &app,
        &school,
        "Directeur",
        &admin_email,
        &[Role::SchoolAdmin],
        None,
    )
    .await;
    admin.get(&host, "/admin/import").await;
    assert_eq!(
        admin
            .post_file(&host, "/admin/import", "e.xml", EDEXML.as_bytes(), None)
            .await
            .status,
        200
    );
    let teacher_email = format!("{}@example.nl", unique_slug());
    let (mut teacher, teacher_id) =
        member(&app, &school, "Juf", &teacher_email, &[Role::Teacher], None).await;
    let (mut anna, anna_id) = member(
        &app,
        &school,
        "Anna",
        &format!("{}@example.nl", unique_slug()),
        &[Role::Parent],
        Some("2026001"),
    )
    .await;
    let (mut mark, mark_id) = member(
        &app,
        &school,
        "Mark",
        &format!("{}@example.nl", unique_slug()),
        &[Role::Parent],
        Some("2026001"),
    )
    .await;
    let (mut other, _) = member(
        &app,
        &school,
        "Ouder Daan",
        &format!("{}@example.nl", unique_slug()),
        &[Role::Parent],
        Some("2026002"),
    )
    .await;
    let (g3b, sanne, daan): (i64, i64, i64) = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let ids: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT id FROM groups WHERE import_key = 'G3B'),
                    (SELECT id FROM pupils WHERE import_key = '2026001'),
                    (SELECT id FROM pupils WHERE import_key = '2026002')",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        sqlx::query("INSERT INTO group_teachers (group_id, person_id) VALUES ($1, $2)")
            .bind(ids.0)
            .bind(teacher_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ids
    };

    // Extra contacts: a bad number names its field and saves nothing; good ones are kept.
    let refused = anna
        .post_form(
            &host,
            "/children/contacts",
            &[
                ("label_0", "Oppas"),
                ("name_0", "Lies"),
                ("phone_0", "06-55554444"),
                ("label_1", "Werk"),
                ("phone_1", "bel me"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("phone_1"));
    let long_name = "x".repeat(101);
    let too_long = anna
        .post_form(
            &host,
            "/children/contacts",
            &[
                ("label_0", "Oppas"),
                ("name_0", &long_name),
                ("phone_0", "06-55554444"),
            ],
        )
        .await;
    assert_eq!(too_long.status, 400);
    // The form comes back with the message at the name's own field, not at the label's.
    assert!(
        too_long.text().contains("id=\"cname_0-error\""),
        "{}",
        too_long.text()
    );
    assert!(
        !too_long.text().contains("id=\"label_0-error\""),
        "the name's own field is named"
    );
    let nameless = anna
        .post_form(
            &host,
            "/children/contacts",
            &[("label_0", ""), ("phone_0", "06-55554444")],
        )
        .await;
    assert_eq!(nameless.status, 400);
    assert!(nameless.text().contains("label_0"));
    let saved = anna
        .post_form(
            &host,
            "/children/contacts",
            &[
                ("label_0", "Oppas"),
                ("name_0", "Lies"),
                ("phone_0", "06-55554444"),
                ("label_1", "Opa en oma"),
                ("phone_1", "0318-123456"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let mail = mailbox.latest(&admin_email, 1).await;
    assert!(
        mail.subject.contains("Anna") && mail.text.contains("contactpersonen"),
        "{}",
        mail.text
    );
    assert!(
        mail.link(&format!("/admin/parents/{anna_id}")).is_some(),
        "{}",
        mail.text
    );

    // Medical details of her own child only; the teacher sees them on the group page.
    let medical = anna
        .post_form(
            &host,
            &format!("/children/{sanne}/medical"),
            &[
                ("medical", "Astma, puffer in de tas"),
                ("allergies", "Pinda's"),
            ],
        )
        .await;
    assert_eq!(medical.status, 303, "{}", medical.text());
    assert_eq!(
        anna.post_form(
            &host,
            &format!("/children/{daan}/medical"),
            &[("medical", "x"), ("allergies", "")]
        )
        .await
        .status,
        404
    );
    mailbox.wait_for(&admin_email, 2).await;
    let staff_view = teacher.get(&host, &format!("/groups/{g3b}")).await.text();
    assert!(
        staff_view.contains("Pinda") && staff_view.contains("Astma"),
        "{staff_view}"
    );
    let staff_parent = admin
        .get(&host, &format!("/admin/parents/{anna_id}"))
        .await
        .text();
    assert!(
        staff_parent.contains("06-55554444")
            && staff_parent.contains("Opa en oma")
            && staff_parent.contains("Pinda"),
        "{staff_parent}"
    );

    // Another parent of the group sees neither, on the page or in JSON.
    for path in [format!("/groups/{g3b}"), format!("/api/groups/{g3b}")] {
        let seen = other.get(&host, &path).await;
        assert_eq!(seen.status, 200);
        let text = seen.text();
        assert!(
            text.contains("Anna"),
            "names are shown to the group: {text}"
        );
        for secret in ["Pinda", "Astma", "06-55554444", "Oppas", "health"] {
            assert!(
                !text.contains(secret),
                "{secret} leaked to another parent: {text}"
            );
        }
    }

    // Details changes are mailed too.
    anna.post_form(
        &host,
        "/children/details",
        &[
            ("address", "Kerkstraat 3"),
            ("phone_mobile", ""),
            ("phone_other", ""),
            ("about", ""),
        ],
    )
    .await;
    let mails = mailbox.wait_for(&admin_email, 3).await;
    assert!(mails.iter().any(|m| m.text.contains("adres")), "{mails:?}");

    // One primary contact per child: the last to claim it.
    assert_eq!(
        anna.post_form(&host, &format!("/children/{sanne}/primary"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        mark.post_form(&host, &format!("/children/{sanne}/primary"), &[])
            .await
            .status,
        303
    );
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let primary: Vec<i64> =
        sqlx::query_scalar("SELECT person_id FROM guardians WHERE pupil_id = $1 AND is_primary")
            .bind(sanne)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(primary, [mark_id]);
    assert!(
        anna.get(&host, "/children")
            .await
            .text()
            .contains("make-primary")
    );
    assert_eq!(
        other
            .post_form(&host, &format!("/children/{sanne}/primary"), &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_profile_photo_is_shown_only_as_its_owner_chose_and_only_real_images_are_taken() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Foto", "").await;
    let host = school_host(&school.slug);
    let (mut admin, _) = member(
        &app,
        &school,
        "Directeur",
        &format!("{}@example.nl", unique_slug()),
        &[Role::SchoolAdmin],
        None,
    )
    .await;
    admin.get(&host, "/admin/import").await;
    assert_eq!(
        admin
            .post_file(&host, "/admin/import", "e.xml", EDEXML.as_bytes(), None)
            .await
            .status,
        200
    );
    let (mut anna, anna_id) = member(
        &app,
        &school,
        "Anna",
        &format!("{}@example.nl", unique_slug()),
        &[Role::Parent],
        Some("2026001"),
    )
    .await;
    let (mut same_group, _) = member(
        &app,
        &school,
        "Ouder Daan",
        &format!("{}@example.nl", unique_slug()),
        &[Role::Parent],
        Some("2026002"),
    )
    .await;
    let (mut other_group, _) = member(
        &app,
        &school,
        "Ouder Elif",
        &format!("{}@example.nl", unique_slug()),
        &[Role::Parent],
        Some("2026003"),
    )
    .await;
    let sanne: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar("SELECT id FROM pupils WHERE import_key = '2026001'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    // Files that lie about being photos are refused, naming the field; nothing is stored.
    for (name, bytes) in [
        (
            "foto.png",
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"[..],
        ),
        ("foto.jpg", b"<html><body>hi</body></html>"),
        ("foto.png", b"GIF89a...."),
    ] {
        let refused = anna
            .post_file_as(&host, "/children/photo", "photo", name, bytes, None)
            .await;
        assert_eq!(refused.status, 400, "{name}");
        assert!(refused.text().contains("photo"), "{}", refused.text());
    }
    let too_big = vec![0xFFu8; 3 * 1024 * 1024];
    let refused = anna
        .post_file_as(
            &host,
            "/children/photo",
            "photo",
            "groot.jpg",
            &too_big,
            None,
        )
        .await;
    assert!(matches!(refused.status, 400 | 413), "{}", refused.status);
    assert_eq!(
        anna.get(&host, &format!("/people/{anna_id}/photo"))
            .await
            .status,
        404,
        "no photo yet"
    );

    let saved = anna
        .post_file_as(&host, "/children/photo", "photo", "ik.png", png, None)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let own = anna.get(&host, &format!("/people/{anna_id}/photo")).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.header("content-type"), Some("image/png"));
    assert_eq!(own.body, png);
    assert_eq!(
        admin
            .get(&host, &format!("/people/{anna_id}/photo"))
            .await
            .status,
        200,
        "staff see it"
    );
    // Nobody else, until Anna shows it to Sanne's group.
    assert_eq!(
        same_group
            .get(&host, &format!("/people/{anna_id}/photo"))
            .await
            .status,
        404
    );
    anna.post_form(
        &host,
        &format!("/children/{sanne}/privacy"),
        &[("name", "group"), ("photo", "group")],
    )
    .await;
    let shown = same_group
        .get(&host, &format!("/people/{anna_id}/photo"))
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body, png);
    let g3b: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar("SELECT group_id FROM pupils WHERE id = $1")
            .bind(sanne)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    let group_page = same_group
        .get(&host, &format!("/groups/{g3b}"))
        .await
        .text();
    assert!(
        group_page.contains(&format!("src=\"/people/{anna_id}/photo\"")),
        "{group_page}"
    );
    assert_eq!(
        other_group
            .get(&host, &format!("/people/{anna_id}/photo"))
            .await
            .status,
        404
    );
    // Removed, it is gone for everyone.
    assert_eq!(
        anna.post_form(&host, "/children/photo/remove", &[])
            .await
            .status,
        303
    );
    assert_eq!(
        same_group
            .get(&host, &format!("/people/{anna_id}/photo"))
            .await
            .status,
        404
    );
    assert_eq!(
        anna.get(&host, &format!("/people/{anna_id}/photo"))
            .await
            .status,
        404
    );
}
