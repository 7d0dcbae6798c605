//! The frame of every school page: the school's name as the way home, the places this person
//! may go under the school's own module settings, the current place marked, "Beheer" with its
//! own places for admins, and the person's menu that signs out with the page's own token.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::{TestApp, school_host};
use schoolplein_tests::{http, school};

/// The ids of the main navigation's places on `html`, in order.
fn places(html: &str) -> Vec<String> {
    let Some(start) = html.find("class=\"site-nav\"") else {
        return Vec::new();
    };
    let nav = &html[start..start + html[start..].find("</nav>").unwrap()];
    nav.split("id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The id of the place marked as the current page in the nav that starts at `class`.
fn current(html: &str, class: &str) -> Option<String> {
    let start = html.find(&format!("class=\"{class}\""))?;
    let nav = &html[start..start + html[start..].find("</nav>")?];
    let at = nav.find("aria-current=\"page\"")?;
    let before = &nav[..at];
    let id = &before[before.rfind("id=\"")? + 4..];
    Some(id[..id.find('"')?].to_owned())
}

#[tokio::test]
async fn each_person_gets_the_places_that_fit_them_with_the_current_one_marked() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);

    // A visitor: the school's name leads home, and there is a way to sign in.
    let mut visitor = Client::new(app.addr);
    let home = visitor.get(&host, "/").await.text();
    assert!(home.contains("id=\"school-home\""));
    assert!(home.contains("id=\"menu-sign-in\""));
    assert!(places(&home).is_empty());
    assert!(home.contains("href=\"/static/favicon.svg\""));
    let icon = visitor.get(&host, "/static/favicon.svg").await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));

    let mut parent = school::member(&app, &school, "Ouder", &[Role::Parent])
        .await
        .client;
    let timeline = parent.get(&host, "/timeline").await.text();
    let parent_places = places(&timeline);
    for id in [
        "nav-home",
        "nav-news",
        "nav-calendar",
        "nav-children",
        "nav-conferences",
    ] {
        assert!(
            parent_places.iter().any(|p| p == id),
            "{id} in {parent_places:?}"
        );
    }
    for id in ["nav-admin", "nav-conference-rounds"] {
        assert!(
            !parent_places.iter().any(|p| p == id),
            "{id} in {parent_places:?}"
        );
    }
    assert_eq!(current(&timeline, "site-nav").as_deref(), Some("nav-news"));
    assert!(timeline.contains("id=\"person-menu\""));
    assert!(timeline.contains("id=\"menu-sign-out\""));
    assert!(!timeline.contains("class=\"admin-nav"));

    let mut teacher = school::member(&app, &school, "Juf", &[Role::Teacher])
        .await
        .client;
    let teacher_places = places(&teacher.get(&host, "/").await.text());
    assert!(teacher_places.iter().any(|p| p == "nav-conference-rounds"));
    assert!(!teacher_places.iter().any(|p| p == "nav-children"));

    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin])
        .await
        .client;
    let groups = admin.get(&host, "/admin/groups").await.text();
    assert_eq!(current(&groups, "site-nav").as_deref(), Some("nav-admin"));
    assert_eq!(
        current(&groups, "admin-nav wrap").as_deref(),
        Some("nav-admin-groups")
    );
    let admin_timeline = admin.get(&host, "/timeline").await.text();
    assert!(places(&admin_timeline).iter().any(|p| p == "nav-admin"));
    assert!(
        !admin_timeline.contains("class=\"admin-nav"),
        "Beheer's places only in Beheer"
    );
}

/// The number shown at the place with `id` in the main navigation, if any.
fn count_at(html: &str, id: &str) -> Option<u32> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let link = &html[start..start + html[start..].find("</a>")?];
    let count = &link[link.find("class=\"nav-count\">")? + 18..];
    count[..count.find('<')?].parse().ok()
}

/// Waits (a few seconds at most) until `path` shows `expected` at the place `id`: a change
/// by any writer reaches the kept counts through the database's announcements.
async fn counts_become(client: &Client, host: &str, path: &str, id: &str, expected: Option<u32>) {
    let reached = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || {
        let mut client = client.clone();
        let (host, path) = (host.to_owned(), path.to_owned());
        async move { count_at(&client.get(&host, &path).await.text(), id) == expected }
    })
    .await;
    if reached.is_none() {
        let page = client.clone().get(host, path).await.text();
        let nav = page.find("class=\"site-nav\"").map_or("", |at| &page[at..]);
        let nav = &nav[..nav.find("</nav>").unwrap_or(0)];
        panic!(
            "{path}: {id} shows {:?}, not {expected:?}: {nav}",
            count_at(&page, id)
        );
    }
}

#[tokio::test]
async fn the_menu_counts_what_waits_and_follows_every_writer() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let parent = school::member(&app, &school, "Ouder", &[Role::Parent]).await;
    let mut visitor = Client::new(app.addr);
    assert!(!visitor.get(&host, "/").await.text().contains("nav-count"));

    // No post yet: no number at the news.
    let calendar = parent.client.clone().get(&host, "/calendar").await.text();
    assert_eq!(count_at(&calendar, "nav-news"), None, "{calendar}");

    let mut posts = Vec::new();
    for title in ["Schoolreisje naar Artis", "Luizencontrole"] {
        posts.push(
            school::publish(
                &mut admin.client,
                &host,
                &[("kind", "news"), ("title", title), ("whole_school", "on")],
            )
            .await,
        );
    }
    // Shown on every page, not only the news; in the phone's bar too.
    counts_become(&parent.client, &host, "/calendar", "nav-news", Some(2)).await;
    let calendar = parent.client.clone().get(&host, "/calendar").await.text();
    let bar = &calendar[calendar.find("class=\"tab-bar\"").expect("the phone's bar")..];
    assert!(bar.contains("class=\"nav-count\">2<"), "{bar}");
    assert!(calendar.contains("2<span class=\"visually-hidden\"> ongelezen</span>"));

    // Reading one counts it down; reading the other leaves no number.
    parent
        .client
        .clone()
        .get(&host, &format!("/posts/{}", posts[0]))
        .await;
    counts_become(&parent.client, &host, "/calendar", "nav-news", Some(1)).await;
    parent
        .client
        .clone()
        .get(&host, &format!("/posts/{}", posts[1]))
        .await;
    counts_become(&parent.client, &host, "/calendar", "nav-news", None).await;

    // A notice written by another process (here: straight into the school's tables) shows
    // within seconds, and goes when read.
    let in_school = |sql: &'static str, id: i64| {
        let pool = app.db.pool.clone();
        let tenant = school.id;
        async move {
            let mut tx = tenant_router::TenantTx::begin(&pool, tenant).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let page = parent.client.clone().get(&host, "/calendar").await.text();
    let before = count_at(&page, "nav-notices").unwrap_or(0);
    in_school(
        "INSERT INTO notices (person_id, kind) VALUES ($1, 'welcome')",
        parent.person_id,
    )
    .await;
    counts_become(
        &parent.client,
        &host,
        "/calendar",
        "nav-notices",
        Some(before + 1),
    )
    .await;
    in_school(
        "UPDATE notices SET read_at = now() WHERE person_id = $1",
        parent.person_id,
    )
    .await;
    counts_become(&parent.client, &host, "/calendar", "nav-notices", None).await;

    // A parent's link waiting for approval: counted for admins, at "Beheer" and at its
    // "Ouders"; never for the parent.
    in_school(
        "WITH pupil AS (INSERT INTO pupils (import_key, first_name, last_name, date_of_birth)
                        VALUES ('P1', 'Sanne', 'Vries', '2019-05-01') RETURNING id)
         INSERT INTO guardians (pupil_id, person_id, status)
         SELECT id, $1, 'pending' FROM pupil",
        parent.person_id,
    )
    .await;
    counts_become(&admin.client, &host, "/calendar", "nav-admin", Some(1)).await;
    counts_become(
        &admin.client,
        &host,
        "/admin/parents",
        "nav-admin-parents",
        Some(1),
    )
    .await;
    let parent_page = parent.client.clone().get(&host, "/calendar").await.text();
    assert_eq!(count_at(&parent_page, "nav-admin"), None);
}

#[tokio::test]
async fn a_module_switched_off_leaves_the_menu_and_a_renamed_one_shows_the_school_s_name() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin])
        .await
        .client;
    let mut parent = school::member(&app, &school, "Ouder", &[Role::Parent])
        .await
        .client;
    assert!(
        places(&parent.get(&host, "/").await.text())
            .iter()
            .any(|p| p == "nav-news")
    );

    admin.get(&host, "/admin/settings").await;
    // Only groups (as "Klassen"), children and notices stay on; a checkbox left out is off.
    let saved = admin
        .post_form(
            &host,
            "/admin/settings",
            &[
                ("portal_open", "1"),
                ("module_on_groups", "1"),
                ("module_name_groups", "Klassen"),
                ("module_on_children", "1"),
                ("module_on_notices", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let home = parent.get(&host, "/").await.text();
    let shown = places(&home);
    for gone in [
        "nav-news",
        "nav-calendar",
        "nav-photos",
        "nav-documents",
        "nav-conferences",
    ] {
        assert!(!shown.iter().any(|p| p == gone), "{gone} in {shown:?}");
    }
    assert!(home.contains("id=\"nav-groups\">Klassen</a>"), "{shown:?}");
}

#[tokio::test]
async fn the_menu_signs_out_with_the_same_token_as_the_page_s_own_forms() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut parent = school::member(&app, &school, "Ouder", &[Role::Parent])
        .await
        .client;
    // A browser that holds no form token yet gets exactly one, used by the page and the menu.
    parent.set_cookie(&host, "sp_csrf", "gone; Max-Age=0");
    assert_eq!(parent.cookie(&host, "sp_csrf"), None);
    let account = parent.get(&host, "/account").await;
    let set: Vec<&str> = account
        .headers
        .iter()
        .filter(|(name, value)| {
            name.eq_ignore_ascii_case("set-cookie") && value.starts_with("sp_csrf=")
        })
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(set.len(), 1, "{set:?}");
    let token = parent.cookie(&host, "sp_csrf").expect("a form token");
    let page = account.text();
    assert_eq!(
        page.matches(&format!("name=\"csrf\" value=\"{token}\""))
            .count(),
        page.matches("name=\"csrf\"").count(),
        "every form of the page carries the one token"
    );
    let out = parent.post_form(&host, "/sign-out", &[]).await;
    assert_eq!(out.status, 303, "{}", out.text());
    let after = parent.get(&host, "/account").await;
    assert_ne!(after.status, 200, "signed out");
}

/// Every route of each module, as (method, path) with ids filled in: they answer 404 while
/// the module is off, whatever the id.
const MODULE_ROUTES: &[(&str, &[(&str, &str)])] = &[
    (
        "children",
        &[
            ("GET", "/children"),
            ("POST", "/children/details"),
            ("POST", "/children/contacts"),
            ("POST", "/children/photo"),
            ("POST", "/children/photo/remove"),
            ("POST", "/children/1/medical"),
            ("POST", "/children/1/primary"),
            ("POST", "/children/1/privacy"),
        ],
    ),
    (
        "documents",
        &[
            ("GET", "/documents"),
            ("POST", "/documents"),
            ("GET", "/documents/1"),
            ("GET", "/documents/1/delete"),
            ("POST", "/documents/1/delete"),
            ("POST", "/documents/1/files"),
            ("GET", "/documents/1/files/1"),
            ("POST", "/documents/1/files/1/delete"),
        ],
    ),
    (
        "photos",
        &[
            ("GET", "/albums"),
            ("POST", "/albums"),
            ("GET", "/albums/1"),
            ("POST", "/albums/1/settings"),
            ("GET", "/albums/1/delete"),
            ("POST", "/albums/1/delete"),
            ("GET", "/albums/1/download"),
            ("POST", "/albums/1/photos"),
            ("GET", "/albums/1/photos/1"),
            ("GET", "/albums/1/photos/1/thumbnail"),
            ("GET", "/albums/1/photos/1/original"),
            ("POST", "/albums/1/photos/1/tags"),
            ("POST", "/albums/1/photos/1/delete"),
        ],
    ),
    (
        "groups",
        &[
            ("GET", "/groups"),
            ("GET", "/groups/1"),
            ("GET", "/groups/1/address-list.pdf"),
            ("GET", "/groups/1/class-list.pdf"),
            ("GET", "/api/groups/1"),
        ],
    ),
    (
        "calendar",
        &[
            ("GET", "/calendar"),
            ("GET", "/calendar/upcoming"),
            ("POST", "/calendar/events"),
            ("GET", "/calendar/events/new"),
            ("GET", "/calendar/events/1"),
            ("GET", "/calendar/events/1/edit"),
            ("POST", "/calendar/events/1/edit"),
            ("GET", "/calendar/events/1/delete"),
            ("POST", "/calendar/events/1/delete"),
            ("GET", "/calendar/feeds"),
            ("POST", "/calendar/feeds/renew"),
            ("POST", "/calendar/feeds/revoke"),
        ],
    ),
    (
        "conferences",
        &[
            ("GET", "/conference-rounds"),
            ("POST", "/conference-rounds"),
            ("GET", "/conference-rounds/invitation"),
            ("GET", "/conference-rounds/1"),
            ("POST", "/conference-rounds/1/settings"),
            ("POST", "/conference-rounds/1/slots"),
            ("POST", "/conference-rounds/1/slots/1/delete"),
            ("POST", "/conference-rounds/1/publish"),
            ("POST", "/conference-rounds/1/close"),
            ("GET", "/conference-rounds/1/overview.pdf"),
            ("GET", "/conference-rounds/1/delete"),
            ("POST", "/conference-rounds/1/delete"),
            ("GET", "/conferences"),
            ("POST", "/conferences/book"),
            ("POST", "/conferences/cancel"),
        ],
    ),
    ("notices", &[("GET", "/notices")]),
];

#[tokio::test]
async fn with_a_module_off_every_route_of_it_answers_404_for_every_role_and_comes_back_when_on() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin])
        .await
        .client;
    let mut people = vec![
        ("admin", admin.clone()),
        (
            "teacher",
            school::member(&app, &school, "Juf", &[Role::Teacher])
                .await
                .client,
        ),
        (
            "parent",
            school::member(&app, &school, "Ouder", &[Role::Parent])
                .await
                .client,
        ),
    ];
    admin.get(&host, "/admin/settings").await;
    // Every module off at once (a checkbox left out is off).
    let off = admin
        .post_form(&host, "/admin/settings", &[("portal_open", "1")])
        .await;
    assert_eq!(off.status, 303, "{}", off.text());
    for (role, client) in &mut people {
        for (module, routes) in MODULE_ROUTES {
            for (method, path) in *routes {
                let answer = if *method == "GET" {
                    client.get(&host, path).await
                } else {
                    client.post_form(&host, path, &[]).await
                };
                assert_eq!(answer.status, 404, "{role}: {method} {path} ({module} off)");
            }
        }
    }
    // On again: the pages answer (the first of each module, as the admin).
    let mut all_on = vec![("portal_open", "1")];
    let names: Vec<String> = MODULE_ROUTES
        .iter()
        .map(|(module, _)| format!("module_on_{module}"))
        .collect();
    all_on.extend(names.iter().map(|name| (name.as_str(), "1")));
    let on = admin.post_form(&host, "/admin/settings", &all_on).await;
    assert_eq!(on.status, 303, "{}", on.text());
    for path in [
        "/documents",
        "/albums",
        "/groups",
        "/calendar",
        "/conference-rounds",
        "/notices",
    ] {
        assert_eq!(admin.get(&host, path).await.status, 200, "{path}");
    }
}

#[tokio::test]
async fn files_and_feeds_carry_no_form_token_cookie() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut parent = school::member(&app, &school, "Ouder", &[Role::Parent])
        .await
        .client;
    parent.set_cookie(&host, "sp_csrf", "gone; Max-Age=0");
    // A feed that does not exist still answers without a cookie a cache could keep.
    let feed = parent.get(&host, "/feeds/onbekend.ics").await;
    assert!(
        !feed
            .headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("set-cookie")
                && value.starts_with("sp_csrf=")),
        "{:?}",
        feed.headers
    );
}

/// A page without a form hands a new browser no form token (the visitor's home page: nothing
/// to forge, and the same bytes for every visitor); a page with one does, once, and the token
/// in its form is the cookie's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_page_with_a_form_hands_out_a_form_token() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let token_cookie = |answer: &http::RawResponse| {
        answer
            .headers
            .iter()
            .filter(|(name, value)| {
                name.eq_ignore_ascii_case("set-cookie") && value.starts_with("sp_csrf=")
            })
            .map(|(_, value)| value.clone())
            .collect::<Vec<_>>()
    };
    let home = http::get(app.addr, &host, "/", &[]).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(token_cookie(&home).is_empty(), "{:?}", home.headers);
    assert!(!home.text().contains("name=\"csrf\""));
    let sign_in = http::get(app.addr, &host, "/sign-in", &[]).await.unwrap();
    assert_eq!(sign_in.status, 200);
    let cookies = token_cookie(&sign_in);
    assert_eq!(cookies.len(), 1, "{:?}", sign_in.headers);
    let token = cookies[0]
        .trim_start_matches("sp_csrf=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        sign_in
            .text()
            .contains(&format!("name=\"csrf\" value=\"{token}\"")),
        "the form carries the cookie's token"
    );
}
