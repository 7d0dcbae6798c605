//! The demo of `scripts/dev`: the two demo schools made by `tenant create`, then `dev
//! seed-demo` — De Klimop becomes a school in use (a roster, a parent with two children, a
//! teacher with a group, events, posts, a conference round to book) and a second run adds
//! nothing; the second school keeps its people and first post.

use std::process::Output;

use chrono::Utc;
use schoolplein_server::demo::{DEMO_PASSWORD, DEMO_SCHOOL, seed};
use schoolplein_tests::client::Client;
use schoolplein_tests::{
    TestApp, TestAppOptions, TestDb, school, school_host, schoolplein_command,
};
use sqlx::AssertSqlSafe;
use tenant_router::{TenantEntry, TenantSlug, TenantTx};

/// The schools as `scripts/dev` creates them.
const SCHOOLS: [(&str, &str, &str); 2] = [
    (
        DEMO_SCHOOL,
        "Basisschool De Klimop",
        "Welkom op het ouderportaal van De Klimop!",
    ),
    (
        "tweede",
        "Kindcentrum Het Tweede Plein",
        "Fijn dat u er bent.",
    ),
];

/// What seeding writes, table by table, in a school's schema.
const SEEDED_TABLES: [&str; 16] = [
    "groups",
    "group_keys",
    "pupils",
    "pupil_codes",
    "guardians",
    "group_teachers",
    "imported_teachers",
    "roster_imports",
    "people",
    "notices",
    "events",
    "event_groups",
    "posts",
    "post_groups",
    "conference_rounds",
    "conference_slots",
];

async fn run(db: &TestDb, env: &str, args: &[&str]) -> Output {
    let output = schoolplein_command(db)
        .env("SCHOOLPLEIN_ENV", env)
        .args(args)
        .output()
        .await
        .expect("schoolplein runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A fresh database with the two demo schools, made by the CLI as `scripts/dev` makes them.
async fn demo_database() -> TestDb {
    let db = TestDb::fresh().await;
    for (slug, name, welcome) in SCHOOLS {
        run(
            &db,
            "test",
            &[
                "tenant",
                "create",
                slug,
                "--name",
                name,
                "--welcome",
                welcome,
            ],
        )
        .await;
    }
    db
}

async fn app_on(db: TestDb) -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    for (slug, _, _) in SCHOOLS {
        app.wait_for_school(&TenantSlug::parse(slug).unwrap()).await;
    }
    app
}

fn school_of(app: &TestApp, slug: &str) -> TenantEntry {
    let entry = app
        .state
        .tenants
        .by_slug(&TenantSlug::parse(slug).unwrap())
        .expect("the school is served");
    (*entry).clone()
}

/// Every seeded table's row count in the school.
async fn counts(app: &TestApp, school: &TenantEntry) -> Vec<(&'static str, i64)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id)
        .await
        .expect("a school transaction");
    let mut counts = Vec::new();
    for table in SEEDED_TABLES {
        let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut *tx)
            .await
            .expect(table);
        counts.push((table, count));
    }
    tx.rollback().await.expect("rollback");
    counts
}

fn count(counts: &[(&str, i64)], table: &str) -> i64 {
    counts
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, n)| *n)
        .expect(table)
}

async fn mails_queued(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM platform.outbox")
        .fetch_one(&app.db.pool)
        .await
        .expect("the outbox")
}

#[tokio::test]
async fn seed_demo_makes_de_klimop_a_school_in_use_and_a_second_run_adds_nothing() {
    let db = demo_database().await;
    // The first run as scripts/dev makes it: the command, in the development environment.
    let first = run(&db, "development", &["dev", "seed-demo"]).await;
    let printed = String::from_utf8_lossy(&first.stdout);
    for expected in [
        "ouder@demo.example",
        "leerkracht@demo.example",
        DEMO_PASSWORD,
        "4 groups, 32 pupils",
    ] {
        assert!(printed.contains(expected), "{expected}: {printed}");
    }
    assert!(!printed.contains("nothing added"), "{printed}");

    let app = app_on(db).await;
    let demo = school_of(&app, DEMO_SCHOOL);
    let tweede = school_of(&app, "tweede");
    let demo_before = counts(&app, &demo).await;
    let tweede_before = counts(&app, &tweede).await;
    for (table, expected) in [
        ("groups", 4),
        // Groep 1/2a comes as one entry per year group: two keys, one group.
        ("group_keys", 5),
        ("pupils", 32),
        ("pupil_codes", 32),
        ("guardians", 2),
        ("group_teachers", 1),
        ("imported_teachers", 4),
        ("roster_imports", 1),
        ("events", 6),
        ("event_groups", 2),
        ("posts", 2),
        ("post_groups", 1),
        ("conference_rounds", 1),
        ("conference_slots", 10),
    ] {
        assert_eq!(
            count(&demo_before, table),
            expected,
            "{table}: {demo_before:?}"
        );
    }
    // The second school keeps what it had: its people and its first post, no roster.
    for (table, expected) in [("groups", 0), ("pupils", 0), ("events", 0), ("posts", 1)] {
        assert_eq!(
            count(&tweede_before, table),
            expected,
            "{table}: {tweede_before:?}"
        );
    }
    // Seeding mails nobody: not the parent about the approved links, not the group about the
    // round or the post.
    assert_eq!(mails_queued(&app).await, 0);

    let again = seed(&app.state, Utc::now()).await.expect("seeded again");
    assert!(again.added_nothing(), "{again:?}");
    assert_eq!(again.klimop.groups, 4);
    assert_eq!(again.klimop.pupils, 32);
    assert_eq!(counts(&app, &demo).await, demo_before);
    assert_eq!(counts(&app, &tweede).await, tweede_before);
    assert_eq!(mails_queued(&app).await, 0);
}

#[tokio::test]
async fn the_demo_people_find_their_school_in_use() {
    let app = app_on(demo_database().await).await;
    let first = seed(&app.state, Utc::now()).await.expect("seeded");
    assert!(first.klimop.imported.is_some_and(|i| i.added == 32));
    let demo = school_of(&app, DEMO_SCHOOL);
    let host = school_host(&demo.slug);
    let group_of = |key| {
        school::id(
            &app,
            &demo,
            "SELECT group_id FROM group_keys WHERE key = $1",
            key,
        )
    };
    let groep_3b = group_of("G3B").await;

    // The parent: two children in two groups, the teacher's group page, the week ahead, a talk
    // to book and the group's news.
    let mut parent = Client::new(app.addr);
    let signed_in = parent
        .sign_in(&host, "ouder@demo.example", DEMO_PASSWORD, false)
        .await;
    assert_eq!(signed_in.status, 303);
    let children = parent.get(&host, "/children").await;
    assert_eq!(children.status, 200);
    let children = children.text();
    for expected in ["Mila Jansen", "Lars Jansen", "Groep 3b", "Groep 8"] {
        assert!(children.contains(expected), "{expected}: {children}");
    }
    assert!(
        !children.contains("child-status"),
        "a link still waits: {children}"
    );

    let group = parent.get(&host, &format!("/groups/{groep_3b}")).await;
    assert_eq!(group.status, 200);
    let group = group.text();
    assert!(
        group.contains("Groep 3b") && group.contains("Meester Tim de Vries"),
        "{group}"
    );

    let home = parent.get(&host, "/").await.text();
    // The coffee morning (the next school day) and groep 3b's library visit (the one after)
    // lie in the home page's seven days; the staff meeting is not the parent's.
    assert!(
        home.matches("class=\"busy\"").count() >= 2,
        "fewer than two days with events: {home}"
    );
    assert!(
        home.contains("class=\"booking-due\"") && home.contains("Voortgangsgesprekken"),
        "no talk to book: {home}"
    );
    let upcoming = parent.get(&host, "/calendar/upcoming").await.text();
    for expected in [
        "Koffieochtend voor ouders",
        "Bezoek aan de bibliotheek",
        "Informatieavond voortgezet onderwijs",
        "Studiedag: alle leerlingen vrij",
    ] {
        assert!(upcoming.contains(expected), "{expected}: {upcoming}");
    }
    assert!(!upcoming.contains("Teamvergadering"), "{upcoming}");
    let timeline = parent.get(&host, "/timeline").await.text();
    for expected in [
        "Welkom op het nieuwe ouderportaal",
        "Uit groep 3b: de eerste letters zitten erin",
    ] {
        assert!(timeline.contains(expected), "{expected}: {timeline}");
    }
    let conferences = parent.get(&host, "/conferences").await;
    assert_eq!(conferences.status, 200);
    assert!(conferences.text().contains("Voortgangsgesprekken"));

    // The teacher: their group on the home page, its pupils, and the staff meeting.
    let mut teacher = Client::new(app.addr);
    let signed_in = teacher
        .sign_in(&host, "leerkracht@demo.example", DEMO_PASSWORD, false)
        .await;
    assert_eq!(signed_in.status, 303);
    let home = teacher.get(&host, "/").await.text();
    assert!(
        home.contains("id=\"my-groups\"") && home.contains(&format!("/groups/{groep_3b}")),
        "{home}"
    );
    let group = teacher
        .get(&host, &format!("/groups/{groep_3b}"))
        .await
        .text();
    for expected in ["Mila Jansen", "Zoë de Boer", "Saar van den Berg"] {
        assert!(group.contains(expected), "{expected}: {group}");
    }
    let upcoming = teacher.get(&host, "/calendar/upcoming").await.text();
    assert!(upcoming.contains("Teamvergadering"), "{upcoming}");

    // In the second school the same parent has no children.
    let tweede = school_of(&app, "tweede");
    let children = parent
        .get(&school_host(&tweede.slug), "/children")
        .await
        .text();
    assert!(children.contains("id=\"no-children\""), "{children}");
}
