//! Every page each person can reach, as they see it in Chromium at a phone's and a laptop's
//! size: it fits the width, shows the navigation, logs no console error, and breaks none of
//! axe-core's WCAG 2.1 A and AA rules. The pages are found as a person finds them: by
//! following the links from the home page, one page of each kind.

use std::collections::{BTreeSet, VecDeque};

use chrono::Duration;
use schoolplein_kernel::Role;
use schoolplein_tests::browser::Browser;
use schoolplein_tests::school::{self, PASSWORD, publish};
use schoolplein_tests::{RawResponse, TestApp, school_host};
use serde_json::Value;

/// How many pages one person's walk may open at most (a safety stop, not a target).
const MAX_PAGES: usize = 60;

/// The kind of a page: its path with each number as `#` and its query's keys without values
/// (`/posts/#`, `/calendar?month`), so that one post stands for all.
fn kind_of(path: &str) -> String {
    let (bare, query) = path.split_once('?').unwrap_or((path, ""));
    let mut kind = String::new();
    for c in bare.chars() {
        if c.is_ascii_digit() {
            if !kind.ends_with('#') {
                kind.push('#');
            }
        } else {
            kind.push(c);
        }
    }
    let mut keys: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|key| !key.is_empty())
        .collect();
    keys.sort_unstable();
    if !keys.is_empty() {
        kind.push('?');
        kind.push_str(&keys.join("&"));
    }
    kind
}

/// Whether a link leads to a page (not a file, a feed, a download or signing out).
fn is_page(path: &str) -> bool {
    const NOT_PAGES: [&str; 12] = [
        "/sign-out",
        ".pdf",
        ".ics",
        ".svg",
        ".css",
        ".js",
        "/download",
        "/thumbnail",
        "/original",
        "/feeds/",
        "/api/",
        "/dev/",
    ];
    path.starts_with('/')
        && !NOT_PAGES.iter().any(|part| path.contains(part))
        && !path.contains("/files/")
        && !path.contains("/attachments/")
}

fn created(answer: &RawResponse, prefix: &str) -> i64 {
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix(prefix))
        .and_then(|id| id.split(['?', '#']).next()?.parse().ok())
        .expect("the new thing's address")
}

/// Walks the pages `email` reaches from the home page and looks at each; returns the kinds
/// it saw, and what it found wrong.
async fn walk(origin: &str, email: &str, who: &str) -> (BTreeSet<String>, Vec<String>) {
    let browser = Browser::start().await;
    browser.goto(&format!("{origin}/sign-in")).await;
    let mut problems = browser.problems(&format!("{who}-sign-in")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("#sign-in").await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::from(["/".to_owned()]);
    let mut opened = 0;
    while let Some(path) = queue.pop_front() {
        if !seen.insert(kind_of(&path)) {
            continue;
        }
        opened += 1;
        assert!(
            opened <= MAX_PAGES,
            "{who}: more than {MAX_PAGES} kinds of page"
        );
        browser.goto(&format!("{origin}{path}")).await;
        let name = format!("{who}{}", kind_of(&path).replace(['/', '?', '#', '&'], "_"));
        problems.extend(browser.problems(&name).await);
        if !browser.has("#school-home").await || !browser.has("#person-menu").await {
            problems.push(format!(
                "{who} {path}: no navigation (home link, person's menu)"
            ));
        }
        let links = browser
            .run_on(
                "body",
                "return Array.from(document.querySelectorAll('a[href]'))
                    .filter(a => a.origin === location.origin)
                    .map(a => a.pathname + a.search);",
                &[],
            )
            .await;
        for link in links
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if is_page(link) && !seen.contains(&kind_of(link)) {
                queue.push_back(link.to_owned());
            }
        }
    }
    browser.close().await;
    (seen, problems)
}

#[tokio::test]
async fn every_page_each_person_reaches_fits_a_phone_has_the_menu_and_passes_axe() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let origin = format!("http://{}.localhost:{}", school.slug, app.addr.port());
    let mut admin = school::member(&app, &school, "Directeur Anja", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher = school::member(&app, &school, "Juf Fenna", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let parent = school::parent(&app, &school, "Anna de Vries", &["2026001"]).await;
    let group = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    // What a school has after a few weeks: news with questions, an urgent message, an event,
    // an album, a folder, a conference round open for booking, a special group.
    let day = (chrono::Utc::now() + Duration::days(20))
        .format("%Y-%m-%d")
        .to_string();
    let until = format!("{day}T12:00");
    publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Kijkavond groep 3"),
            (
                "body",
                "Beste ouders,\n\nKomt u kijken naar het werk van uw kind?",
            ),
            ("groups", &group),
            ("q1_kind", "yes_no"),
            ("q1_prompt", "Komt u?"),
            ("q2_kind", "one_choice"),
            ("q2_prompt", "Hoe laat?"),
            ("q2_options", "17:00\n18:00"),
            ("answers_until", &until),
        ],
    )
    .await;
    publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "School dicht door storm"),
            ("body", "Morgen is de school dicht."),
            ("whole_school", "on"),
            ("urgent", "on"),
        ],
    )
    .await;
    admin.client.get(&host, "/calendar/events/new").await;
    created(
        &admin
            .client
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
    admin.client.get(&host, "/albums").await;
    created(
        &admin
            .client
            .post_form(
                &host,
                "/albums",
                &[("title", "Schoolreis"), ("group_id", "")],
            )
            .await,
        "/albums/",
    );
    admin.client.get(&host, "/documents").await;
    created(
        &admin
            .client
            .post_form(
                &host,
                "/documents",
                &[("name", "Formulieren"), ("group_id", "")],
            )
            .await,
        "/documents/",
    );
    admin.client.get(&host, "/conference-rounds").await;
    let round = created(
        &admin
            .client
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
    admin
        .client
        .get(&host, &format!("/conference-rounds/{round}"))
        .await;
    let published = admin
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{round}/publish"),
            &[("invitation", ""), ("invitation_en", "")],
        )
        .await;
    assert_eq!(published.status, 303, "{}", published.text());

    let mut kinds = BTreeSet::new();
    let mut problems = Vec::new();
    for (who, email) in [
        ("parent", &parent.email),
        ("teacher", &teacher.email),
        ("admin", &admin.email),
    ] {
        let (seen, found) = walk(&origin, email, who).await;
        assert!(seen.len() >= 5, "{who} reached only {seen:?}");
        kinds.extend(seen);
        problems.extend(found);
    }
    assert!(
        problems.is_empty(),
        "{} problems: {problems:#?}",
        problems.len()
    );
    for expected in [
        "/",
        "/timeline",
        "/posts/#",
        "/calendar",
        "/albums",
        "/admin/settings",
    ] {
        assert!(kinds.contains(expected), "{expected} among {kinds:?}");
    }
}
