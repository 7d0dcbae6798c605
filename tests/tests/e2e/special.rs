//! Special groups (P5): staff make them with or without an activity; parents of the allowed
//! groups sign up until the last day; the maximum holds when fifty parents press the button
//! at once; staff print who joined.

use futures_util::StreamExt;
use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, id as scalar};
use schoolplein_tests::{TestApp, pdf_text, school_host};
use tenant_router::TenantEntry;

/// A signed-in member; parents get the pupil with this key as their child.
async fn member(
    app: &TestApp,
    school: &TenantEntry,
    name: &str,
    roles: &[Role],
    child: Option<&str>,
) -> Client {
    let member = school::member(app, school, name, roles).await;
    if let Some(key) = child {
        school::link_child(app, school, member.person_id, key).await;
    }
    member.client
}

async fn school_with_roster(app: &TestApp) -> (TenantEntry, Client) {
    let school = app.create_school("Basisschool Speciaal", "").await;
    let mut admin = member(app, &school, "Directeur", &[Role::SchoolAdmin], None).await;
    school::import_sample(&mut admin, &school).await;
    (school, admin)
}

#[tokio::test]
async fn ten_places_and_fifty_parents_at_once_make_exactly_ten() {
    let app = TestApp::spawn().await;
    let (school, mut admin) = school_with_roster(&app).await;
    let host = school_host(&school.slug);
    let made = admin
        .post_form(
            &host,
            "/special-groups",
            &[
                ("name", "Voorleesouders"),
                ("activity", "1"),
                ("max_participants", "10"),
                ("description", "Elke vrijdag"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let id = scalar(
        &app,
        &school,
        "SELECT id FROM special_groups WHERE name = $1",
        "Voorleesouders",
    )
    .await;

    let keys = ["2026001", "2026002", "2026003", "2026004", "2026005"];
    let mut parents = Vec::new();
    for n in 0..50 {
        parents.push(
            member(
                &app,
                &school,
                &format!("Ouder {n}"),
                &[Role::Parent],
                Some(keys[n % keys.len()]),
            )
            .await,
        );
    }
    let path = format!("/special-groups/{id}/join");
    let statuses: Vec<u16> = futures_util::stream::iter(parents.iter_mut())
        .map(|parent| {
            let (host, path) = (host.clone(), path.clone());
            async move { parent.post_form(&host, &path, &[]).await.status }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        40,
        "{statuses:?}"
    );
    let members = scalar(
        &app,
        &school,
        "SELECT count(*) FROM special_group_members WHERE special_group_id = $1::int8",
        &id.to_string(),
    )
    .await;
    assert_eq!(members, 10);
    // Those turned away are told why; pressing again does not add anyone.
    for parent in &mut parents {
        let again = parent.post_form(&host, &path, &[]).await;
        assert!(
            again.status == 303 || (again.status == 400 && again.text().contains("vol")),
            "{}",
            again.text()
        );
    }
    let members = scalar(
        &app,
        &school,
        "SELECT count(*) FROM special_group_members WHERE special_group_id = $1::int8",
        &id.to_string(),
    )
    .await;
    assert_eq!(members, 10);

    let pdf = admin
        .get(&host, &format!("/special-groups/{id}/list.pdf"))
        .await;
    assert_eq!(pdf.status, 200);
    let text = pdf_text(&pdf.body).await;
    assert!(
        text.contains("Voorleesouders") && text.contains("10. Ouder"),
        "{text}"
    );
}

#[tokio::test]
async fn who_may_join_depends_on_the_groups_and_the_last_day() {
    let app = TestApp::spawn().await;
    let (school, mut admin) = school_with_roster(&app).await;
    let host = school_host(&school.slug);
    let g3b = scalar(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    // Only group 3b's parents, without an activity; and one whose last day has passed.
    assert_eq!(
        admin
            .post_form(
                &host,
                "/special-groups",
                &[
                    ("name", "Luizenpluizers 3b"),
                    ("main_group", &g3b.to_string())
                ]
            )
            .await
            .status,
        303
    );
    assert_eq!(
        admin
            .post_form(
                &host,
                "/special-groups",
                &[
                    ("name", "Schoolreis"),
                    ("activity", "1"),
                    ("signup_until", "2020-01-01"),
                    ("groups", &g3b.to_string())
                ]
            )
            .await
            .status,
        303
    );
    let lice = scalar(
        &app,
        &school,
        "SELECT id FROM special_groups WHERE name = $1",
        "Luizenpluizers 3b",
    )
    .await;
    let trip = scalar(
        &app,
        &school,
        "SELECT id FROM special_groups WHERE name = $1",
        "Schoolreis",
    )
    .await;
    let mut of_3b = member(&app, &school, "Ouder 3b", &[Role::Parent], Some("2026001")).await;
    let mut of_4 = member(&app, &school, "Ouder 4", &[Role::Parent], Some("2026003")).await;

    let page = of_4.get(&host, "/special-groups").await.text();
    assert!(
        !page.contains("Luizenpluizers"),
        "not offered to another group: {page}"
    );
    let refused = of_4
        .post_form(&host, &format!("/special-groups/{lice}/join"), &[])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("niet voor de ouders"));
    assert_eq!(
        of_3b
            .post_form(&host, &format!("/special-groups/{lice}/join"), &[])
            .await
            .status,
        303
    );
    let closed = of_3b
        .post_form(&host, &format!("/special-groups/{trip}/join"), &[])
        .await;
    assert_eq!(closed.status, 400);
    assert!(closed.text().contains("gesloten"));
    let page = of_3b.get(&host, "/special-groups").await.text();
    assert!(
        page.contains("U doet mee") && page.contains("inschrijving gesloten"),
        "{page}"
    );
    assert_eq!(
        of_3b
            .post_form(&host, &format!("/special-groups/{lice}/leave"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        scalar(
            &app,
            &school,
            "SELECT count(*) FROM special_group_members WHERE special_group_id = $1::int8",
            &lice.to_string()
        )
        .await,
        0
    );

    // Bad input names the field; parents cannot make or print special groups.
    for (fields, field) in [
        (vec![("name", "")], "name"),
        (
            vec![("name", "X"), ("activity", "1"), ("max_participants", "0")],
            "max_participants",
        ),
        (
            vec![("name", "X"), ("activity", "1"), ("signup_until", "morgen")],
            "signup_until",
        ),
        (
            vec![("name", "X"), ("activity", "1"), ("groups", "999999")],
            "groups",
        ),
    ] {
        let refused = admin.post_form(&host, "/special-groups", &fields).await;
        assert_eq!(refused.status, 400, "{field}");
        assert!(refused.text().contains(field), "{field}");
    }
    assert_eq!(
        of_3b
            .post_form(&host, "/special-groups", &[("name", "Eigen groep")])
            .await
            .status,
        403
    );
    assert_eq!(
        of_3b
            .get(&host, &format!("/special-groups/{lice}/list.pdf"))
            .await
            .status,
        403
    );
}
