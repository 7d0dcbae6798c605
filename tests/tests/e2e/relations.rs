//! How many of a school's relations (tables and their indexes) each page's statements open,
//! counted by PostgreSQL itself on the demo school with nothing kept in memory. Each relation
//! is a catalog entry a database backend loads per school it serves, so with thousands of
//! schools the count decides how warm a backend stays (docs/ARCHITECTURE.md, "Relations per
//! page"). A page may not open more than its budget; one that needs more says why there.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;

use chrono::Utc;
use schoolplein_server::demo::{DEMO_PASSWORD, DEMO_SCHOOL, seed};
use schoolplein_tests::client::Client;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host};
use tenant_router::{TenantEntry, TenantSlug, TenantTx};

/// Per table of the school: how often it was scanned or written, and its indexes (the planner
/// opens every index of a table it plans for).
async fn table_uses(db: &TestDb, school: &TenantEntry) -> BTreeMap<String, (i64, i64)> {
    sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT t.relname::text,
                t.seq_scan + coalesce(t.idx_scan, 0) + t.n_tup_ins + t.n_tup_upd + t.n_tup_del,
                (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid)
           FROM pg_stat_user_tables t
          WHERE t.schemaname = $1",
    )
    .bind(school.id.schema_name())
    .fetch_all(&db.pool)
    .await
    .expect("the statistics")
    .into_iter()
    .map(|(table, uses, indexes)| (table, (uses, indexes)))
    .collect()
}

/// The tables `path` used, as `who`, and the relations they make with their indexes.
async fn census(
    app: &TestApp,
    school: &TenantEntry,
    who: &mut Client,
    path: &str,
) -> (Vec<String>, i64) {
    let before = table_uses(&app.db, school).await;
    let page = who.get(&school_host(&school.slug), path).await;
    assert_eq!(page.status, 200, "{path}");
    settle(app).await;
    let after = table_uses(&app.db, school).await;
    let mut tables = Vec::new();
    let mut relations = 0;
    for (table, (uses, indexes)) in &after {
        if before.get(table).is_none_or(|(was, _)| was < uses) {
            tables.push(table.clone());
            relations += 1 + indexes;
        }
    }
    (tables, relations)
}

/// Waits until every backend has published what it counted: a backend that has nothing to
/// do publishes within ten seconds, one that ends at once, so the school's connections are
/// closed (the pools open new ones, which meet the school cold, as the count wants).
async fn settle(app: &TestApp) {
    for pool in app.state.schools.shards() {
        let connection = pool.acquire().await.expect("a school connection");
        connection.close().await.expect("closed");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Each page, who opens it, and how many relations it may open, as measured when the count
/// began (docs/ARCHITECTURE.md, "Relations per page"). Every member page pays for the frame:
/// who the member is and the navigation's unread counts, about 35 relations.
const BUDGETS: &[(&str, &str, i64)] = &[
    // The school's profile and public events, and nothing of who wrote them.
    ("visitor", "/", 7),
    // The member's day: urgent and unread news, the week's events, talks to book. Every
    // member's page also counts the unread messages for the menu (message_recipients and its
    // four indexes: five relations).
    ("parent", "/", 69),
    ("parent", "/timeline", 48),
    ("parent", "/groups/{group}", 46),
    // The month also shows the school's holidays and the family's approved leave (D2): their
    // three tables and six indexes, twelve relations.
    ("parent", "/calendar", 60),
    ("parent", "/children", 47),
    // A teacher's day also lists today's absences of their groups (D1): the absences table and
    // its five indexes; and the children on leave (D2): the leave requests and their children,
    // two tables and six indexes.
    ("teacher", "/", 72),
    ("teacher", "/groups/{group}", 43),
];

#[tokio::test]
async fn each_page_opens_no_more_relations_than_its_budget() {
    let db = TestDb::fresh().await;
    for (slug, name) in [
        (DEMO_SCHOOL, "Basisschool De Klimop"),
        ("tweede", "Kindcentrum Het Tweede Plein"),
    ] {
        db.create_school(Some(slug), name, "Welkom").await;
    }
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        // Two connections (seeding nests a transaction), nothing kept: every page reads.
        max_connections: Some(2),
        configure: Some(|config| config.database.school_cache_mib = 0),
        ..TestAppOptions::default()
    })
    .await;
    let slug = TenantSlug::parse(DEMO_SCHOOL).unwrap();
    app.wait_for_school(&slug).await;
    let demo = (*app.state.tenants.by_slug(&slug).expect("the demo school")).clone();
    seed(&app.state, Utc::now()).await.expect("seeded");
    let host = school_host(&demo.slug);
    // On a connection the count closes (see `settle`).
    let mut tx = TenantTx::begin(&app.state.schools, demo.id).await.unwrap();
    let group: i64 = sqlx::query_scalar("SELECT group_id FROM group_keys WHERE key = 'G3B'")
        .fetch_one(&mut *tx)
        .await
        .expect("groep 3b");
    tx.rollback().await.unwrap();
    let mut visitor = Client::new(app.addr);
    let mut parent = Client::new(app.addr);
    let mut teacher = Client::new(app.addr);
    for (client, email) in [
        (&mut parent, "ouder@demo.example"),
        (&mut teacher, "leerkracht@demo.example"),
    ] {
        let answer = client.sign_in(&host, email, DEMO_PASSWORD, false).await;
        assert_eq!(answer.status, 303, "{email}");
    }
    // What seeding and signing in counted is published before the first page is counted.
    settle(&app).await;
    let mut report = String::new();
    let mut over = Vec::new();
    for (who, path, budget) in BUDGETS {
        let client = match *who {
            "visitor" => &mut visitor,
            "parent" => &mut parent,
            _ => &mut teacher,
        };
        let path = path.replace("{group}", &group.to_string());
        let (tables, relations) = census(&app, &demo, client, &path).await;
        report.push_str(&format!(
            "{who} {path}: {relations} relations, {} tables: {}\n",
            tables.len(),
            tables.join(", ")
        ));
        if relations > *budget {
            over.push(format!("{who} {path}: {relations} > {budget}"));
        }
    }
    // The counts, for `--no-capture` (and docs/ARCHITECTURE.md).
    writeln!(std::io::stdout(), "{report}").expect("stdout");
    assert!(over.is_empty(), "over budget: {over:?}\n{report}");
}
