//! The school switcher (A1): a person's schools with honest unread counts, switching without
//! signing in again (by the shared cookie, or by a single-use hand-off where the cookie does
//! not reach), and nothing for schools the person is not in or is blocked from.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::{BASE_DOMAIN, TestApp, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};

const PASSWORD: &str = "Kn1kker-Boom-Zeil";

async fn member(app: &TestApp, school: &TenantEntry, email: &str, roles: &[Role]) {
    enroll(
        &app.state,
        school.id,
        "Ouder van Twee",
        &EmailAddress::parse(email).unwrap(),
        roles,
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
}

/// The `<li>` of a school on the switcher page.
fn row<'a>(html: &'a str, school: &TenantEntry) -> Option<&'a str> {
    let start = html.find(&format!("id=\"school-{}\"", school.id))?;
    let end = html[start..].find("</li>")? + start;
    Some(&html[start..end])
}

#[tokio::test]
async fn a_parent_sees_both_schools_with_unread_counts_and_switches_without_signing_in() {
    let app = TestApp::spawn().await;
    let a = app.create_school("Basisschool Anker", "").await;
    let b = app.create_school("Basisschool Boei", "").await;
    let c = app.create_school("Basisschool Kompas", "").await;
    let email = format!("{}@example.nl", unique_slug());
    member(&app, &a, &email, &[Role::Parent]).await;
    member(&app, &b, &email, &[Role::Parent]).await;
    // One more unread notice in B, written as the school would.
    let mut tx = TenantTx::begin(&app.db.pool, b.id).await.unwrap();
    sqlx::query("INSERT INTO notices (person_id, kind) SELECT id, 'welcome' FROM people")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (host_a, host_b) = (school_host(&a.slug), school_host(&b.slug));
    let mut browser = Client::new(app.addr);
    assert_eq!(
        browser
            .sign_in(&host_a, &email, PASSWORD, false)
            .await
            .status,
        303
    );
    let page = browser.get(&host_a, "/schools").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    let (row_a, row_b) = (
        row(&html, &a).expect("A listed"),
        row(&html, &b).expect("B listed"),
    );
    assert!(
        row_a.contains("Basisschool Anker") && row_a.contains("deze school"),
        "{row_a}"
    );
    assert!(row_a.contains("1 ongelezen"), "{row_a}");
    assert!(
        row_b.contains("Basisschool Boei") && row_b.contains("2 ongelezen"),
        "{row_b}"
    );
    assert!(
        row(&html, &c).is_none() && !html.contains("Kompas"),
        "not a member of C"
    );

    // Under the shared base domain the cookie reaches B: a plain link.
    let open = browser
        .get(&host_a, &format!("/schools/{}/open", b.id))
        .await;
    assert_eq!(open.status, 303);
    assert_eq!(
        open.header("location"),
        Some(format!("http://{}.{BASE_DOMAIN}/", b.slug).as_str())
    );
    let home_b = browser.get(&host_b, "/").await.text();
    assert!(home_b.contains("id=\"unread-count\">2<"), "{home_b}");
    // Reading the notices in B clears B's count, and only B's.
    assert!(
        browser
            .get(&host_b, "/notices")
            .await
            .text()
            .contains("Welkom")
    );
    let html = browser.get(&host_a, "/schools").await.text();
    assert!(!row(&html, &b).unwrap().contains("ongelezen"));
    assert!(row(&html, &a).unwrap().contains("1 ongelezen"));

    // Not a member of C: no way in.
    assert_eq!(
        browser
            .get(&host_a, &format!("/schools/{}/open", c.id))
            .await
            .status,
        404
    );
    assert_eq!(
        browser.get(&school_host(&c.slug), "/notices").await.status,
        403
    );
}

#[tokio::test]
async fn where_the_cookie_does_not_reach_the_sign_in_is_handed_over_once() {
    let app = TestApp::spawn().await;
    let a = app.create_school("School Hier", "").await;
    let b = app.create_school("School Daar", "").await;
    let c = app.create_school("School Elders", "").await;
    let email = format!("{}@example.nl", unique_slug());
    member(&app, &a, &email, &[Role::Parent]).await;
    member(&app, &b, &email, &[Role::Parent]).await;
    member(&app, &c, &email, &[Role::Parent]).await;

    // `<slug>.localhost` gets host-only cookies: another school's host never sees them.
    let host_a = format!("{}.localhost:8123", a.slug);
    let host_b = format!("{}.localhost:8123", b.slug);
    let mut browser = Client::new(app.addr);
    assert_eq!(
        browser
            .sign_in(&host_a, &email, PASSWORD, true)
            .await
            .status,
        303
    );
    assert_eq!(
        browser.get(&host_b, "/account").await.status,
        303,
        "not signed in at B yet"
    );

    let open = browser
        .get(&host_a, &format!("/schools/{}/open", b.id))
        .await;
    assert_eq!(open.status, 303);
    let location = open.header("location").unwrap().to_owned();
    let prefix = format!("http://{host_b}/session/handoff/");
    assert!(location.starts_with(&prefix), "{location}");
    let path = &location["http://".len() + host_b.len()..];

    // A hand-off link is for B only: at C it is worthless, and it is then used up.
    let mut thief = Client::new(app.addr);
    let host_c = format!("{}.localhost:8123", c.slug);
    let stolen = thief.get(&host_c, path).await;
    assert_eq!(stolen.header("location"), Some("/sign-in"));
    let taken = browser.get(&host_b, path).await;
    assert_eq!(
        taken.header("location"),
        Some("/sign-in"),
        "used up by the attempt at C"
    );

    let open = browser
        .get(&host_a, &format!("/schools/{}/open", b.id))
        .await;
    let location = open.header("location").unwrap().to_owned();
    let path = location["http://".len() + host_b.len()..].to_owned();
    let taken = browser.get(&host_b, &path).await;
    assert_eq!(taken.status, 303);
    assert_eq!(taken.header("location"), Some("/"));
    let cookie = taken
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("sp_session="))
        .map(|(_, v)| v.clone())
        .expect("a session at B");
    assert!(!cookie.contains("Domain="), "host-only: {cookie}");
    assert!(
        cookie.contains("Max-Age"),
        "a kept session stays kept: {cookie}"
    );
    assert_eq!(browser.get(&host_b, "/account").await.status, 200);
    let again = thief.get(&host_b, &path).await;
    assert_eq!(again.header("location"), Some("/sign-in"), "single use");
    assert_eq!(thief.get(&host_b, "/account").await.status, 303);

    // Blocked in B: listed as such, and switching there is refused.
    let mut tx = TenantTx::begin(&app.db.pool, b.id).await.unwrap();
    let person: i64 = sqlx::query_scalar("SELECT id FROM people")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    schoolplein_registration::db::people::set_blocked(&mut tx, person, true, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let html = browser.get(&host_a, "/schools").await.text();
    assert!(row(&html, &b).unwrap().contains("geblokkeerd"), "{html}");
    assert_eq!(
        browser
            .get(&host_a, &format!("/schools/{}/open", b.id))
            .await
            .status,
        403
    );
    assert_eq!(browser.get(&host_b, "/notices").await.status, 403);
}
