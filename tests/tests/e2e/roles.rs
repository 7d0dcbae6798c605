//! Who may do what (P3, P4, A6, T5): one table of pages and actions against every role — a
//! parent of the group, a parent of another group, the group's teacher, another teacher
//! without and with "teachers see all groups", an admin, and a member of another school —
//! and the admin's group and parent pages doing what they say.

use schoolplein_kernel::Role;
use schoolplein_tests::school::{id, import_sample, link_child, member, teach};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::{TenantEntry, TenantTx};

const GROUP: &str = "SELECT id FROM groups WHERE import_key = $1";
const PUPIL: &str = "SELECT id FROM pupils WHERE import_key = $1";

async fn set_see_all(app: &TestApp, school: &TenantEntry, see_all: bool) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE school_settings SET teachers_see_all_groups = $1")
        .bind(see_all)
        .execute(&mut *tx)
        .await
        .unwrap();
    schoolplein_kernel::settings::announce_change(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.settings.forget(school.id);
}

/// A request, what each role should get, and what the other teacher gets who sees all groups.
type Case = (
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
    [u16; 6],
    u16,
);

#[tokio::test]
async fn every_role_gets_exactly_what_it_should() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Rollen", "").await;
    let elsewhere = app.create_school("Basisschool Elders", "").await;
    let host = school_host(&school.slug);
    let mut admin = member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    import_sample(&mut admin.client, &school).await;
    let g3b = id(&app, &school, GROUP, "G3B").await;
    let g4 = id(&app, &school, GROUP, "G4").await;
    let sanne = id(&app, &school, PUPIL, "2026001").await;

    let parent_3b = member(&app, &school, "Ouder 3b", &[Role::Parent]).await;
    link_child(&app, &school, parent_3b.person_id, "2026001").await;
    let parent_4 = member(&app, &school, "Ouder 4", &[Role::Parent]).await;
    link_child(&app, &school, parent_4.person_id, "2026003").await;
    let teacher_3b = member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    teach(&app, &school, teacher_3b.person_id, "G3B").await;
    let other_teacher = member(&app, &school, "Meester 4", &[Role::Teacher]).await;
    let outsider = member(&app, &elsewhere, "Ouder Elders", &[Role::Parent]).await;
    let p3b = parent_3b.person_id;

    let mut people = [
        parent_3b,
        parent_4,
        teacher_3b,
        other_teacher,
        admin,
        outsider,
    ];
    let roles = [
        "parent of 3b",
        "parent of 4",
        "teacher of 3b",
        "other teacher",
        "admin",
        "other school",
    ];
    // (method, path, form, expected per role, expected for the other teacher who sees all)
    let table: Vec<Case> = vec![
        (
            "GET",
            format!("/groups/{g3b}"),
            vec![],
            [200, 403, 200, 403, 200, 403],
            200,
        ),
        (
            "GET",
            format!("/api/groups/{g3b}"),
            vec![],
            [200, 403, 200, 403, 200, 403],
            200,
        ),
        (
            "GET",
            format!("/groups/{g4}"),
            vec![],
            [403, 200, 403, 403, 200, 403],
            200,
        ),
        (
            "GET",
            "/groups".into(),
            vec![],
            [200, 200, 200, 200, 200, 403],
            200,
        ),
        (
            "GET",
            "/children".into(),
            vec![],
            [200, 200, 200, 200, 200, 403],
            200,
        ),
        (
            "POST",
            format!("/children/{sanne}/privacy"),
            vec![("name", "group")],
            [303, 404, 404, 404, 404, 403],
            404,
        ),
        (
            "GET",
            format!("/admin/parents/{p3b}"),
            vec![],
            [403, 403, 200, 403, 200, 403],
            200,
        ),
        (
            "POST",
            format!("/admin/parents/{p3b}/details"),
            vec![("name", "Ouder 3b")],
            [403, 403, 403, 403, 303, 403],
            403,
        ),
        (
            "POST",
            format!("/admin/parents/{p3b}/writable"),
            vec![],
            [403, 403, 403, 403, 303, 403],
            403,
        ),
        (
            "GET",
            "/admin/parents".into(),
            vec![],
            [403, 403, 403, 403, 200, 403],
            403,
        ),
        (
            "GET",
            "/admin/people".into(),
            vec![],
            [403, 403, 403, 403, 200, 403],
            403,
        ),
        (
            "GET",
            "/admin/import".into(),
            vec![],
            [403, 403, 403, 403, 200, 403],
            403,
        ),
        (
            "GET",
            "/admin/settings".into(),
            vec![],
            [403, 403, 403, 403, 200, 403],
            403,
        ),
        (
            "GET",
            "/admin/groups".into(),
            vec![],
            [403, 403, 403, 403, 200, 403],
            403,
        ),
        (
            "GET",
            format!("/admin/groups/{g3b}/letters.pdf"),
            vec![],
            [403, 403, 403, 403, 200, 403],
            403,
        ),
        (
            "POST",
            "/admin/groups/move".into(),
            vec![("from", "1"), ("to", "1")],
            [403, 403, 403, 403, 400, 403],
            403,
        ),
        (
            "POST",
            format!("/admin/pupils/{sanne}/code"),
            vec![],
            [403, 403, 403, 403, 303, 403],
            403,
        ),
    ];
    let mut wrong = Vec::new();
    for see_all in [false, true] {
        set_see_all(&app, &school, see_all).await;
        for (method, path, form, expected, expected_see_all) in &table {
            for (i, person) in people.iter_mut().enumerate() {
                if see_all && i != 3 {
                    continue;
                }
                person.client.get(&host, "/account").await;
                let status = match *method {
                    "GET" => person.client.get(&host, path).await.status,
                    _ => person.client.post_form(&host, path, form).await.status,
                };
                let want = if see_all {
                    *expected_see_all
                } else {
                    expected[i]
                };
                if status != want {
                    let who = if see_all {
                        "other teacher (sees all)"
                    } else {
                        roles[i]
                    };
                    wrong.push(format!(
                        "{who}: {method} {path} → {status}, expected {want}"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn admins_manage_groups_and_parents() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Beheer", "").await;
    let host = school_host(&school.slug);
    let mut admin = member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    import_sample(&mut admin.client, &school).await;
    let teacher = member(&app, &school, "Juf Sara", &[Role::Teacher]).await;
    let mut parent = member(&app, &school, "Anna", &[Role::Parent]).await;
    link_child(&app, &school, parent.person_id, "2026001").await;
    let g3b = id(&app, &school, GROUP, "G3B").await;
    let sanne = id(&app, &school, PUPIL, "2026001").await;

    // A group by hand, a teacher for it; names are unique.
    admin.client.get(&host, "/admin/groups").await;
    assert_eq!(
        admin
            .client
            .post_form(
                &host,
                "/admin/groups",
                &[("name", "Groep 5"), ("year", "5")]
            )
            .await
            .status,
        303
    );
    let dup = admin
        .client
        .post_form(&host, "/admin/groups", &[("name", "groep 5"), ("year", "")])
        .await;
    assert_eq!(dup.status, 400);
    assert!(dup.text().contains("name"));
    assert_eq!(
        admin
            .client
            .post_form(
                &host,
                "/admin/groups",
                &[("name", "Groep 9"), ("year", "9")]
            )
            .await
            .status,
        400
    );
    let g5 = id(
        &app,
        &school,
        "SELECT id FROM groups WHERE name = $1",
        "Groep 5",
    )
    .await;
    let added = admin
        .client
        .post_form(
            &host,
            &format!("/admin/groups/{g5}/teachers"),
            &[("person_id", &teacher.person_id.to_string())],
        )
        .await;
    assert_eq!(added.status, 303);
    let not_staff = admin
        .client
        .post_form(
            &host,
            &format!("/admin/groups/{g5}/teachers"),
            &[("person_id", &parent.person_id.to_string())],
        )
        .await;
    assert_eq!(not_staff.status, 400);
    assert!(
        admin
            .client
            .get(&host, "/admin/groups")
            .await
            .text()
            .contains("Juf Sara")
    );

    // End of the year: 3b moves to 5, with the parents' links; the parent follows.
    let moved = admin
        .client
        .post_form(
            &host,
            "/admin/groups/move",
            &[("from", &g3b.to_string()), ("to", &g5.to_string())],
        )
        .await;
    assert_eq!(moved.header("location"), Some("/admin/groups?moved=2"));
    parent.client.get(&host, "/children").await;
    assert_eq!(
        parent
            .client
            .get(&host, &format!("/groups/{g5}"))
            .await
            .status,
        200
    );
    assert_eq!(
        parent
            .client
            .get(&host, &format!("/groups/{g3b}"))
            .await
            .status,
        403
    );

    // Details: the admin edits the school's extra field; bad values are refused by field.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE school_settings SET extra_fields = '{Werkgever}'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.settings.forget(school.id);
    let page = admin
        .client
        .get(&host, &format!("/admin/parents/{}", parent.person_id))
        .await
        .text();
    assert!(
        page.contains("Werkgever") && page.contains("Sanne de Vries"),
        "{page}"
    );
    let saved = admin
        .client
        .post_form(
            &host,
            &format!("/admin/parents/{}/details", parent.person_id),
            &[
                ("name", "Anna de Vries"),
                ("address", "Dorpsstraat 1"),
                ("phone_mobile", "06-12121212"),
                ("phone_other", ""),
                ("extra_0", "Bakkerij Zoet"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    assert!(
        admin
            .client
            .get(&host, &format!("/admin/parents/{}", parent.person_id))
            .await
            .text()
            .contains("Bakkerij Zoet")
    );
    let refused = admin
        .client
        .post_form(
            &host,
            &format!("/admin/parents/{}/details", parent.person_id),
            &[("name", "Anna"), ("phone_mobile", "bel me")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("phone_mobile"));

    // Read-only: the parent still reads, changes nothing; then writes again.
    assert_eq!(
        admin
            .client
            .post_form(
                &host,
                &format!("/admin/parents/{}/read-only", parent.person_id),
                &[]
            )
            .await
            .status,
        303
    );
    assert_eq!(parent.client.get(&host, "/children").await.status, 200);
    let blocked = parent
        .client
        .post_form(
            &host,
            &format!("/children/{sanne}/privacy"),
            &[("name", "group")],
        )
        .await;
    assert_eq!(blocked.status, 403);
    assert!(
        blocked.text().contains("alleen-lezen"),
        "{}",
        blocked.text()
    );
    admin
        .client
        .post_form(
            &host,
            &format!("/admin/parents/{}/writable", parent.person_id),
            &[],
        )
        .await;
    assert_eq!(
        parent
            .client
            .post_form(
                &host,
                &format!("/children/{sanne}/privacy"),
                &[("name", "group")]
            )
            .await
            .status,
        303
    );

    // Removed: no longer a member here, their children unlinked; the account remains.
    assert_eq!(
        admin
            .client
            .post_form(
                &host,
                &format!("/admin/parents/{}/remove", parent.person_id),
                &[]
            )
            .await
            .status,
        303
    );
    assert_eq!(parent.client.get(&host, "/children").await.status, 403);
    assert_eq!(parent.client.get(&host, "/account").await.status, 200);
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let (links, changes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM guardians WHERE person_id = $1),
                (SELECT count(*) FROM access_changes WHERE person_id = $1)",
    )
    .bind(parent.person_id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(links, 0);
    assert_eq!(
        changes, 4,
        "details, read-only, writable and removal are on record"
    );
}
