//! Privacy (P7): for every field and every choice, what another parent sees of a parent on a
//! group page — as HTML and as JSON — is exactly what the choice allows: per child, the
//! child's group's parents or all the school's parents; nobody by default; staff see all.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{id, import_sample, link_child as link, member, teach};
use schoolplein_tests::{TestApp, pdf_text, school_host};
use serde_json::Value;
use tenant_router::TenantTx;

const GROUP: &str = "SELECT id FROM groups WHERE import_key = $1";
const PUPIL: &str = "SELECT id FROM pupils WHERE import_key = $1";

/// What `viewer` sees of the parent named "Anna Privé" on a group page: (JSON entry, HTML).
async fn seen(viewer: &mut Client, host: &str, group: i64) -> (Option<Value>, String) {
    let json = viewer.get(host, &format!("/api/groups/{group}")).await;
    assert_eq!(json.status, 200, "{}", json.text());
    let view: Value = serde_json::from_str(&json.text()).unwrap();
    let anna = view["families"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["parents"].as_array().unwrap().iter())
        .find(|p| p["name"] == "Anna Privé")
        .cloned();
    let html = viewer.get(host, &format!("/groups/{group}")).await;
    assert_eq!(html.status, 200);
    let pdf = viewer
        .get(host, &format!("/groups/{group}/address-list.pdf"))
        .await;
    assert_eq!(pdf.status, 200);
    // The page and the address list, together: every check below holds for both.
    (
        anna,
        format!("{}\n{}", html.text(), pdf_text(&pdf.body).await),
    )
}

/// The value Anna stored for a field, as it would appear.
fn value_of(field: &str) -> Option<&'static str> {
    match field {
        "email" => Some("@example.nl"),
        "address" => Some("Lindelaan 12, Utrecht"),
        "phone_mobile" => Some("06-98765432"),
        "phone_other" => Some("030-1234567"),
        _ => None,
    }
}

#[tokio::test]
async fn every_field_and_choice_shows_exactly_what_it_allows_on_the_page_and_in_json() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Privé", "").await;
    let host = school_host(&school.slug);
    let mut admin = member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    import_sample(&mut admin.client, &school).await;
    let (g3b, g4) = (
        id(&app, &school, GROUP, "G3B").await,
        id(&app, &school, GROUP, "G4").await,
    );
    let sanne = id(&app, &school, PUPIL, "2026001").await;
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE school_settings SET parents_download_address_list = true")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.settings.forget(school.id);

    // Anna: parent of Sanne (3b) and Lotte (4); her choices are made for Sanne only.
    let mut anna = member(&app, &school, "Anna Privé", &[Role::Parent]).await;
    link(&app, &school, anna.person_id, "2026001").await;
    link(&app, &school, anna.person_id, "2026005").await;
    let details = anna
        .client
        .post_form(
            &host,
            "/children/details",
            &[
                ("address", "Lindelaan 12, Utrecht"),
                ("phone_mobile", "06-98765432"),
                ("phone_other", "030-1234567"),
                ("about", ""),
            ],
        )
        .await;
    assert_eq!(details.status, 303, "{}", details.text());
    let mut same_group = member(&app, &school, "Ouder 3b", &[Role::Parent]).await;
    link(&app, &school, same_group.person_id, "2026002").await;
    let mut other_group = member(&app, &school, "Ouder 4", &[Role::Parent]).await;
    link(&app, &school, other_group.person_id, "2026003").await;
    let mut teacher = member(&app, &school, "Juf", &[Role::Teacher]).await;
    teach(&app, &school, teacher.person_id, "G3B").await;

    // Nobody by default: Anna is not even listed to other parents; staff see all.
    let (entry, html) = seen(&mut same_group.client, &host, g3b).await;
    assert!(entry.is_none() && !html.contains("Anna"), "{html}");
    let (entry, _) = seen(&mut teacher.client, &host, g3b).await;
    assert_eq!(entry.unwrap()["phone_mobile"], "06-98765432");

    for field in [
        "name",
        "address",
        "phone_mobile",
        "phone_other",
        "email",
        "photo",
    ] {
        for audience in ["nobody", "group", "school"] {
            let mut form: Vec<(&str, &str)> = vec![(field, audience)];
            if field != "name" {
                form.push(("name", "school"));
            }
            let saved = anna
                .client
                .post_form(&host, &format!("/children/{sanne}/privacy"), &form)
                .await;
            assert_eq!(saved.status, 303, "{field} {audience}: {}", saved.text());
            let name_audience = if field == "name" { audience } else { "school" };
            for (who, viewer, group, allowed) in [
                (
                    "a parent of 3b",
                    &mut same_group.client,
                    g3b,
                    ["group", "school"].as_slice(),
                ),
                (
                    "a parent of 4",
                    &mut other_group.client,
                    g4,
                    ["school"].as_slice(),
                ),
            ] {
                let (entry, html) = seen(viewer, &host, group).await;
                let listed = allowed.contains(&name_audience);
                assert_eq!(entry.is_some(), listed, "{field}={audience}, {who}: listed");
                assert_eq!(
                    html.contains("Anna Privé"),
                    listed,
                    "{field}={audience}, {who}: html"
                );
                let Some(entry) = entry else { continue };
                let shows = allowed.contains(&audience);
                let shown: Vec<&str> = entry["shown"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(
                    shown.contains(&field),
                    shows,
                    "{field}={audience}, {who}: {shown:?}"
                );
                for other in ["address", "phone_mobile", "phone_other", "email"] {
                    let expected = other == field && shows;
                    assert_eq!(
                        !entry[other].is_null(),
                        expected,
                        "{field}={audience}, {who}: {other} in JSON"
                    );
                    if let Some(value) = value_of(other)
                        && other != "email"
                    {
                        assert_eq!(
                            html.contains(value),
                            expected,
                            "{field}={audience}, {who}: {other} in HTML"
                        );
                    }
                }
            }
            // Staff always see everything.
            let (entry, _) = seen(&mut teacher.client, &host, g3b).await;
            let entry = entry.expect("staff see Anna");
            assert_eq!(entry["address"], "Lindelaan 12, Utrecht");
        }
    }

    // Without the school's leave, parents get no address list; staff always get both lists.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE school_settings SET parents_download_address_list = false")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.settings.forget(school.id);
    assert_eq!(
        same_group
            .client
            .get(&host, &format!("/groups/{g3b}/address-list.pdf"))
            .await
            .status,
        403
    );
    assert_eq!(
        same_group
            .client
            .get(&host, &format!("/groups/{g3b}/class-list.pdf"))
            .await
            .status,
        403
    );
    assert_eq!(
        teacher
            .client
            .get(&host, &format!("/groups/{g3b}/address-list.pdf"))
            .await
            .status,
        200
    );
    let class_list = teacher
        .client
        .get(&host, &format!("/groups/{g3b}/class-list.pdf"))
        .await;
    assert_eq!(class_list.status, 200);
    let class_text = pdf_text(&class_list.body).await;
    assert!(
        class_text.contains("Sanne de Vries")
            && class_text.contains("14-03-2019")
            && class_text.contains("Daan Bakker"),
        "{class_text}"
    );
    assert!(
        class_text.contains("Anna Privé"),
        "staff see every parent: {class_text}"
    );

    // A parent without a child in a group cannot open it; a stranger cannot at all.
    assert_eq!(
        other_group
            .client
            .get(&host, &format!("/groups/{g3b}"))
            .await
            .status,
        403
    );
    assert_eq!(
        other_group
            .client
            .get(&host, &format!("/api/groups/{g3b}"))
            .await
            .status,
        403
    );
    let mut stranger = Client::new(app.addr);
    assert_eq!(
        stranger.get(&host, &format!("/groups/{g3b}")).await.status,
        303
    );
    assert_eq!(admin.client.get(&host, "/groups/999999").await.status, 404);
    // Bad choices are refused by field, and change nothing.
    for (key, value) in [("password", "school"), ("email", "everyone")] {
        let refused = anna
            .client
            .post_form(
                &host,
                &format!("/children/{sanne}/privacy"),
                &[(key, value)],
            )
            .await;
        assert_eq!(refused.status, 400, "{key}");
        assert!(refused.text().contains(key), "{}", refused.text());
    }
    // Only for one's own child.
    let daan = id(&app, &school, PUPIL, "2026002").await;
    assert_eq!(
        anna.client
            .post_form(
                &host,
                &format!("/children/{daan}/privacy"),
                &[("name", "school")]
            )
            .await
            .status,
        404
    );
}
