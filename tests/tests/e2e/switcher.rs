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

/// The path and host of an absolute `Location`.
fn split_location(location: &str) -> (String, String) {
    let rest = location
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("an absolute address: {location}"));
    let at = rest.find('/').unwrap_or(rest.len());
    (rest[..at].to_owned(), rest[at..].to_owned())
}

/// Follows a switch from `host_a` to school `b` as a browser does, up to (not including)
/// redeeming the hand-off: the school switched to marks the browser, the school switched
/// from grants a hand-off bound to that mark. Returns the hand-off's path on B.
async fn hand_off_link(
    browser: &mut Client,
    host_a: &str,
    host_b: &str,
    b: &TenantEntry,
) -> String {
    let open = browser
        .get(host_a, &format!("/schools/{}/open", b.id))
        .await;
    assert_eq!(open.status, 303, "{}", open.text());
    let (host, begin) = split_location(open.header("location").unwrap());
    assert_eq!(host, host_b);
    assert!(begin.starts_with("/session/handoff/begin?from="), "{begin}");
    let marked = browser.get(host_b, &begin).await;
    assert_eq!(marked.status, 303, "{}", marked.text());
    let (host, grant) = split_location(marked.header("location").unwrap());
    assert_eq!(host, host_a, "back to the school the switch came from");
    let granted = browser.get(host_a, &grant).await;
    assert_eq!(granted.status, 303, "{}", granted.text());
    let (host, path) = split_location(granted.header("location").unwrap());
    assert_eq!(host, host_b);
    assert!(path.starts_with("/session/handoff/"), "{path}");
    path
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
    let host_c = format!("{}.localhost:8123", c.slug);
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

    // A hand-off link is for B only, in this browser only: at C it is worthless, and it is
    // then used up.
    let path = hand_off_link(&mut browser, &host_a, &host_b, &b).await;
    let mut thief = Client::new(app.addr);
    let stolen = thief.get(&host_c, &path).await;
    assert_eq!(stolen.header("location"), Some("/sign-in"));
    let taken = browser.get(&host_b, &path).await;
    assert_eq!(
        taken.header("location"),
        Some("/sign-in"),
        "used up by the attempt at C"
    );

    // Opened in another browser — which may even have a binding of its own from B — the
    // link signs nobody in, and is then used up.
    let path = hand_off_link(&mut browser, &host_a, &host_b, &b).await;
    let mut other = Client::new(app.addr);
    let begin = format!(
        "/session/handoff/begin?from=http%3A%2F%2F{}",
        host_a.replace(':', "%3A")
    );
    assert_eq!(other.get(&host_b, &begin).await.status, 303);
    let elsewhere = other.get(&host_b, &path).await;
    assert_eq!(elsewhere.header("location"), Some("/sign-in"));
    assert!(
        !elsewhere
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("sp_session=")),
        "no session for the other browser"
    );
    assert_eq!(other.get(&host_b, "/account").await.status, 303);
    assert_eq!(
        browser.get(&host_b, &path).await.header("location"),
        Some("/sign-in"),
        "used up by the other browser's attempt"
    );

    // The browser that asked switches: one click, several redirects.
    let path = hand_off_link(&mut browser, &host_a, &host_b, &b).await;
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

    // A hand-off only returns to one of our schools.
    for from in ["http%3A%2F%2Fevil.example", "javascript%3Aalert(1)", ""] {
        let refused = other
            .get(&host_b, &format!("/session/handoff/begin?from={from}"))
            .await;
        assert_eq!(refused.status, 400, "{from}");
        assert!(refused.text().contains("from"), "{from}");
    }

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

#[tokio::test]
async fn a_hand_off_never_replaces_another_accounts_session_without_asking() {
    let app = TestApp::spawn().await;
    let a = app.create_school("School Voor", "").await;
    let b = app.create_school("School Achter", "").await;
    let mother = format!("{}@example.nl", unique_slug());
    let father = format!("{}@example.nl", unique_slug());
    member(&app, &a, &mother, &[Role::Parent]).await;
    member(&app, &b, &mother, &[Role::Parent]).await;
    member(&app, &b, &father, &[Role::Parent]).await;
    let host_a = format!("{}.localhost:8123", a.slug);
    let host_b = format!("{}.localhost:8123", b.slug);

    // One browser: the father is signed in at B, the mother at A.
    let mut browser = Client::new(app.addr);
    assert_eq!(
        browser
            .sign_in(&host_b, &father, PASSWORD, false)
            .await
            .status,
        303
    );
    assert_eq!(
        browser
            .sign_in(&host_a, &mother, PASSWORD, false)
            .await
            .status,
        303
    );
    let path = hand_off_link(&mut browser, &host_a, &host_b, &b).await;
    let asked = browser.get(&host_b, &path).await;
    assert_eq!(asked.status, 200, "a question, not a silent switch");
    let page = asked.text();
    assert!(page.contains(&father) && page.contains(&mother), "{page}");
    assert!(page.contains("id=\"handoff-switch\""));
    // Staying keeps the father signed in; the question did not use the link up.
    let account = browser.get(&host_b, "/account").await.text();
    assert!(account.contains(&father), "{account}");
    // Going on as the mother replaces the father's session here, and ends it.
    let father_session = browser.cookie(&host_b, "sp_session").unwrap();
    let switched = browser.post_form(&host_b, &path, &[]).await;
    assert_eq!(switched.status, 303, "{}", switched.text());
    assert_eq!(switched.header("location"), Some("/"));
    let account = browser.get(&host_b, "/account").await.text();
    assert!(account.contains(&mother), "{account}");
    let mut replay = Client::new(app.addr);
    replay.set_cookie(&host_b, "sp_session", &father_session);
    assert_eq!(replay.get(&host_b, "/account").await.status, 303, "ended");
    // The link is used up.
    assert_eq!(
        browser
            .post_form(&host_b, &path, &[])
            .await
            .header("location"),
        Some("/sign-in")
    );
}
