//! What group pages, timelines and inboxes keep in memory (`AppState::school_data`): every
//! table they are read from announces changes at commit, whoever writes, and a change shows on
//! the next pages; read marks and conversations announce the people they concern alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use schoolplein_calendar::month::{self, Month};
use schoolplein_kernel::Role;
use schoolplein_kernel::school_cache::{
    GROUP as GROUP_KIND, INBOX, MAX_AGE, MONTH, READS_CHANNEL, SCHOOL_CHANNEL, SchoolCache, THREAD,
    TIMELINE, Weighed,
};
use schoolplein_portal::conversations::inbox::FolderPage;
use schoolplein_portal::conversations::thread::Thread;
use schoolplein_portal::group_view::GroupRoster;
use schoolplein_portal::posts::timeline::ReadPage;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{Member, id, import_sample, link_child, member};
use schoolplein_tests::{TestApp, school_host};
use sqlx::postgres::PgListener;
use tenant_router::{TenantEntry, TenantTx};
use tokio::sync::Barrier;

const GROUP: &str = "SELECT id FROM groups WHERE import_key = $1";

/// Runs `statement` in the school's transaction and says whether the school announced a
/// change at its commit (other tests' schools announce on the same channel).
async fn announces(app: &TestApp, school: &TenantEntry, statement: &str) -> bool {
    let ours = school.id.get().to_string();
    announces_on(app, school, statement, SCHOOL_CHANNEL, &ours).await
}

/// Runs `statement` in the school's transaction and says whether `payload` was announced on
/// `channel` at its commit.
async fn announces_on(
    app: &TestApp,
    school: &TenantEntry,
    statement: &str,
    channel: &str,
    payload: &str,
) -> bool {
    let mut listener = PgListener::connect_with(&app.db.pool).await.unwrap();
    listener.listen(channel).await.unwrap();
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    tx.commit().await.unwrap();
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, listener.recv()).await {
            Ok(Ok(notification)) if notification.payload() == payload => return true,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("listener: {e}"),
            Err(_) => break,
        }
    }
    false
}

/// Asks for `path` until what it read is kept (nothing is kept until the app's listener
/// listens, which it starts doing as the app starts).
async fn kept_after(app: &TestApp, client: &mut Client, host: &str, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.school_data.is_empty() {
        assert!(Instant::now() < deadline, "{path}: nothing kept");
        assert_eq!(client.get(host, path).await.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_table_a_group_page_or_timeline_reads_announces_its_changes_and_nothing_else_does() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Aankondiging", "").await;
    let mut admin = member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    import_sample(&mut admin.client, &school).await;
    // Statement triggers fire even when no row matches: the statements need not change data.
    for statement in [
        "UPDATE groups SET name = name WHERE false",
        "DELETE FROM group_teachers WHERE false",
        "UPDATE pupils SET first_name = first_name WHERE false",
        "UPDATE guardians SET status = status WHERE false",
        "DELETE FROM privacy_choices WHERE false",
        "DELETE FROM person_photos WHERE false",
        "UPDATE pupil_medical SET allergies = allergies WHERE false",
        "DELETE FROM people WHERE false",
        "UPDATE people SET phone_mobile = phone_mobile WHERE false",
        "UPDATE people SET blocked_at = blocked_at WHERE false",
        "UPDATE special_groups SET name = name WHERE false",
        "DELETE FROM special_group_members WHERE false",
        // The calendar's month (0035, 0045).
        "UPDATE events SET title = title WHERE false",
        "DELETE FROM event_groups WHERE false",
        "UPDATE school_holidays SET name = name WHERE false",
        "DELETE FROM leave_requests WHERE false",
        "UPDATE leave_requests SET state = state WHERE false",
        "UPDATE leave_requests SET last_day = last_day WHERE false",
        "DELETE FROM leave_request_children WHERE false",
    ] {
        assert!(
            announces(&app, &school, statement).await,
            "no announcement after: {statement}"
        );
    }
    // Posts name their part (0046), so what reads the roster alone stays kept.
    let posts = format!("posts:{}", school.id.get());
    for statement in [
        "UPDATE posts SET title = title WHERE false",
        "DELETE FROM post_groups WHERE false",
        "DELETE FROM post_special_groups WHERE false",
        "DELETE FROM post_recipients WHERE false",
        "DELETE FROM post_attachments WHERE false",
        "DELETE FROM post_answers WHERE false",
    ] {
        assert!(
            announces_on(&app, &school, statement, SCHOOL_CHANNEL, &posts).await,
            "no announcement of posts after: {statement}"
        );
        assert!(
            !announces(&app, &school, statement).await,
            "the whole school announced after: {statement}"
        );
    }
    // The digest's bookkeeping, twice a day in every school, leaves the roster be; a leave
    // request's reason or decision text is not on the month.
    for statement in [
        "UPDATE people SET digest_through = digest_through WHERE false",
        "UPDATE leave_requests SET decision_reason = decision_reason WHERE false",
        "SELECT count(*) FROM pupils",
    ] {
        assert!(
            !announces(&app, &school, statement).await,
            "an announcement after: {statement}"
        );
    }
    // A read mark announces its reader, not the school.
    let reader = member(&app, &school, "Ouder Lezer", &[Role::Parent]).await;
    let post: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar(
            "INSERT INTO posts (kind, title, body, whole_school, author_id)
             VALUES ('news', 'Nieuws', 'Tekst', true, $1) RETURNING id",
        )
        .bind(admin.person_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let read = format!(
        "INSERT INTO post_reads (post_id, person_id) VALUES ({post}, {})",
        reader.person_id
    );
    let whose = format!("{}:{}", school.id.get(), reader.person_id);
    assert!(announces_on(&app, &school, &read, READS_CHANNEL, &whose).await);
    // A mark moved to someone else (by hand: the app never does) announces both.
    let other = member(&app, &school, "Ouder Ander", &[Role::Parent]).await;
    let theirs = format!("{}:{}", school.id.get(), other.person_id);
    let moved = format!(
        "UPDATE post_reads SET person_id = {} WHERE post_id = {post}",
        other.person_id
    );
    assert!(announces_on(&app, &school, &moved, READS_CHANNEL, &whose).await);
    let moved_back = format!(
        "UPDATE post_reads SET person_id = {} WHERE post_id = {post}",
        reader.person_id
    );
    assert!(announces_on(&app, &school, &moved_back, READS_CHANNEL, &whose).await);
    assert!(announces_on(&app, &school, &moved, READS_CHANNEL, &theirs).await);
    assert!(announces_on(&app, &school, &moved_back, READS_CHANNEL, &theirs).await);
    let unread = format!(
        "DELETE FROM post_reads WHERE person_id = {}",
        reader.person_id
    );
    assert!(announces_on(&app, &school, &unread, READS_CHANNEL, &whose).await);
    assert!(
        !announces(&app, &school, &read).await,
        "a read mark is not the school's change"
    );
}

#[tokio::test]
async fn a_change_by_any_writer_reaches_the_group_page_kept_in_memory() {
    let app = TestApp::spawn().await;
    let (school, host, mut viewer, g3b) = school_with_viewer(&app, "Basisschool Geheugen").await;
    let mut shown = member(&app, &school, "Ouder Zichtbaar", &[Role::Parent]).await;
    link_child(&app, &school, shown.person_id, "2026001").await;
    let saved = shown
        .client
        .post_form(
            &host,
            "/children/details",
            &[
                ("address", ""),
                ("phone_mobile", "06-11112222"),
                ("phone_other", ""),
                ("about", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let sanne = id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await;
    let saved = shown
        .client
        .post_form(
            &host,
            &format!("/children/{sanne}/privacy"),
            &[("name", "group"), ("phone_mobile", "group")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());

    let page = viewer.client.get(&host, &format!("/groups/{g3b}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("06-11112222"), "{}", page.text());
    kept_after(&app, &mut viewer.client, &host, &format!("/groups/{g3b}")).await;

    // Another process (here: plain SQL, not the app) changes the number: the page follows.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE people SET phone_mobile = '06-33334444' WHERE id = $1")
        .bind(shown.person_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let text = viewer
            .client
            .get(&host, &format!("/groups/{g3b}"))
            .await
            .text();
        if text.contains("06-33334444") {
            assert!(!text.contains("06-11112222"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page still shows the old number: {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The viewer's own place in the roster is kept too: their child leaves the group, and the
    // page is theirs no more.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("DELETE FROM guardians WHERE person_id = $1")
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while viewer
        .client
        .get(&host, &format!("/groups/{g3b}"))
        .await
        .status
        != 403
    {
        assert!(
            Instant::now() < deadline,
            "the page stays open to a former parent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_new_post_and_a_read_mark_reach_the_timeline_kept_in_memory() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Tijdlijn", "").await;
    let host = school_host(&school.slug);
    let admin = member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let mut parent = member(&app, &school, "Ouder Lezer", &[Role::Parent]).await;
    let first = parent.client.get(&host, "/timeline").await;
    assert_eq!(first.status, 200);
    kept_after(&app, &mut parent.client, &host, "/timeline").await;

    // A post written by another process (plain SQL here) appears, unread.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let post: i64 = sqlx::query_scalar(
        "INSERT INTO posts (kind, title, body, whole_school, author_id)
         VALUES ('news', 'Schoolreisje naar de Efteling', 'Tekst', true, $1) RETURNING id",
    )
    .bind(admin.person_id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let page = parent.client.get(&host, "/timeline").await.text();
        if page.contains("Schoolreisje naar de Efteling") {
            assert!(page.contains("class=\"post unread"), "{page}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new post does not show: {page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Opening it marks it read; the timeline follows.
    assert_eq!(
        parent
            .client
            .get(&host, &format!("/posts/{post}"))
            .await
            .status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let page = parent.client.get(&host, "/timeline").await.text();
        if !page.contains("class=\"post unread") {
            assert!(page.contains("Schoolreisje naar de Efteling"));
            break;
        }
        assert!(Instant::now() < deadline, "the post stays unread: {page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lost_listener_forgets_what_was_kept_so_a_change_missed_meanwhile_still_shows() {
    let app = TestApp::spawn().await;
    let (school, host, mut viewer, g3b) = school_with_viewer(&app, "Basisschool Doof").await;
    let page = format!("/groups/{g3b}");
    kept_after(&app, &mut viewer.client, &host, &page).await;

    // The group is renamed in the transaction that ends the app's listening connections: its
    // announcement finds no listener, so only noticing the loss can drop the old name.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    rename_group(&mut tx, g3b, "Groep Onderweg").await;
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) \
         FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(schoolplein_kernel::school_cache::listener_name())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert!(ended >= 1, "no listening connection of this process found");
    tx.commit().await.unwrap();
    shows_within(&mut viewer.client, &host, &page, "Groep Onderweg").await;

    // Listening again, the page is kept again, and the next change arrives as before.
    kept_after(&app, &mut viewer.client, &host, &page).await;
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    rename_group(&mut tx, g3b, "Groep Terug").await;
    tx.commit().await.unwrap();
    shows_within(&mut viewer.client, &host, &page, "Groep Terug").await;
}

/// A school with the sample roster and a signed-in parent of a pupil in group 3B: the
/// school, its host, the parent and the group's id.
/// A post changed by any writer drops what shows posts (the timeline) at once and leaves the
/// group page kept, the very value: a post touches nothing of the roster (0046). A change to
/// the roster still drops it.
#[tokio::test]
async fn a_post_drops_the_timeline_and_leaves_the_group_page_kept() {
    let app = TestApp::spawn().await;
    let (school, host, mut viewer, g3b) = school_with_viewer(&app, "Basisschool Delen").await;
    let group_page = format!("/groups/{g3b}");
    let cache = &app.state.school_data;
    let (group_key, timeline_key) = ((GROUP_KIND, g3b), (TIMELINE, viewer.person_id));
    let deadline = Instant::now() + Duration::from_secs(5);
    while cache.get::<GroupRoster>(school.id, group_key).is_none()
        || cache.get::<ReadPage>(school.id, timeline_key).is_none()
    {
        assert!(Instant::now() < deadline, "the pages are not kept");
        assert_eq!(viewer.client.get(&host, &group_page).await.status, 200);
        assert_eq!(viewer.client.get(&host, "/timeline").await.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kept = cache.get::<GroupRoster>(school.id, group_key).unwrap();

    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query(
        "INSERT INTO posts (kind, title, body, whole_school, author_id)
         VALUES ('news', 'Schoolreis naar het bos', 'Tekst', true, (SELECT min(id) FROM people))",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    shows_within(
        &mut viewer.client,
        &host,
        "/timeline",
        "Schoolreis naar het bos",
    )
    .await;
    let still = cache
        .get::<GroupRoster>(school.id, group_key)
        .expect("the group page is kept across a post");
    assert!(Arc::ptr_eq(&kept, &still), "the group page was read again");
    assert_eq!(viewer.client.get(&host, &group_page).await.status, 200);

    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    rename_group(&mut tx, g3b, "Groep Delen").await;
    tx.commit().await.unwrap();
    shows_within(&mut viewer.client, &host, &group_page, "Groep Delen").await;
}

async fn school_with_viewer(app: &TestApp, name: &str) -> (TenantEntry, String, Member, i64) {
    let school = app.create_school(name, "").await;
    let host = school_host(&school.slug);
    let mut admin = member(app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    import_sample(&mut admin.client, &school).await;
    let g3b = id(app, &school, GROUP, "G3B").await;
    let viewer = member(app, &school, "Ouder Kijker", &[Role::Parent]).await;
    link_child(app, &school, viewer.person_id, "2026002").await;
    (school, host, viewer, g3b)
}

async fn rename_group(tx: &mut TenantTx, group_id: i64, name: &str) {
    sqlx::query("UPDATE groups SET name = $2 WHERE id = $1")
        .bind(group_id)
        .bind(name)
        .execute(&mut **tx)
        .await
        .unwrap();
}

/// Asks for `path` until it shows `text`, for at most two seconds (entries live a minute).
async fn shows_within(client: &mut Client, host: &str, path: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let page = client.get(host, path).await;
        assert_eq!(page.status, 200);
        if page.text().contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still does not show {text}: {}",
            page.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the burst tests keep: the number of the read that made it.
struct Probe(usize);

impl Weighed for Probe {
    fn bytes(&self) -> usize {
        64
    }
}

/// Waits until `cache` keeps what is read (the app's listener listens).
async fn cache_keeps(app: &TestApp, cache: &SchoolCache, school: &TenantEntry) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let key = ("probe", -1);
    while cache.get::<Probe>(school.id, key).is_none() {
        assert!(Instant::now() < deadline, "nothing is kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _: Result<_, sqlx::Error> = cache
            .get_or_read(
                &app.state.schools,
                school.id,
                key,
                |_| true,
                |_| Box::pin(async { Ok(Probe(0)) }),
            )
            .await;
    }
}

/// What each read of a burst does once it has read (given the read's number, from 1):
/// fail, or not.
type AfterRead = Arc<dyn Fn(usize) -> Result<(), sqlx::Error> + Send + Sync>;

/// Fifty requests released at once, all missing `key`, each asking `cache` for it the way
/// pages do; every read takes 200 ms in the school's database and counts itself in `reads`
/// and, while under way, in `under_way` (the most at once in `most`). What each request got.
async fn burst(
    app: &TestApp,
    cache: &SchoolCache,
    school: &TenantEntry,
    key: (&'static str, i64),
    after_read: AfterRead,
) -> (Vec<Result<Arc<Probe>, sqlx::Error>>, usize, usize) {
    const REQUESTS: usize = 50;
    let barrier = Arc::new(Barrier::new(REQUESTS));
    let reads = Arc::new(AtomicUsize::new(0));
    let under_way = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..REQUESTS {
        let (cache, schools, tenant) = (cache.clone(), app.state.schools.clone(), school.id);
        let (barrier, after_read) = (barrier.clone(), after_read.clone());
        let (reads, under_way, most) = (reads.clone(), under_way.clone(), most.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            cache
                .get_or_read(
                    &schools,
                    tenant,
                    key,
                    |_| true,
                    move |tx| {
                        Box::pin(async move {
                            let number = reads.fetch_add(1, Ordering::SeqCst) + 1;
                            let now = under_way.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            let slept =
                                sqlx::query("SELECT pg_sleep(0.2)").execute(&mut **tx).await;
                            under_way.fetch_sub(1, Ordering::SeqCst);
                            slept?;
                            after_read(number).map(|()| Probe(number))
                        })
                    },
                )
                .await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a request"));
    }
    (
        answers,
        reads.load(Ordering::SeqCst),
        most.load(Ordering::SeqCst),
    )
}

#[tokio::test]
async fn a_burst_that_misses_an_entry_reads_it_once_and_a_failed_or_overtaken_read_leaves_nobody_waiting()
 {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Tegelijk", "").await;
    let cache = app.state.school_data.clone();
    cache_keeps(&app, &cache, &school).await;

    // Fifty misses of one entry: one read, and all fifty get what it read.
    let (answers, reads, _) =
        burst(&app, &cache, &school, ("probe", 1), Arc::new(|_| Ok(()))).await;
    assert_eq!(reads, 1, "one read for the burst");
    let first = answers[0].as_ref().expect("an answer");
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|a| Arc::ptr_eq(a, first))),
        "every request got the one read"
    );

    // The first read fails: only its own request gets the error; the others read again.
    let fails_first: AfterRead = Arc::new(|number| match number {
        1 => Err(sqlx::Error::Protocol("the first read fails".to_owned())),
        _ => Ok(()),
    });
    let (answers, reads, _) = burst(&app, &cache, &school, ("probe", 2), fails_first).await;
    assert_eq!(answers.iter().filter(|a| a.is_err()).count(), 1);
    assert!((2..=50).contains(&reads), "{reads} reads");

    // A change is announced while the first read runs: what it read is not kept, and those
    // who waited for it read again instead of taking it.
    let overtaken = cache.clone();
    let tenant = school.id;
    let change_during_first: AfterRead = Arc::new(move |number| {
        if number == 1 {
            overtaken.forget(tenant);
        }
        Ok(())
    });
    let (answers, reads, _) = burst(&app, &cache, &school, ("probe", 3), change_during_first).await;
    let got_the_first = answers
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|a| a.0 == 1))
        .count();
    assert_eq!(got_the_first, 1, "only the first read's own request");
    assert!(answers.iter().all(Result::is_ok));
    assert!(reads >= 2, "{reads} reads");
}

#[tokio::test]
async fn with_nothing_kept_every_request_of_a_burst_reads_for_itself_without_waiting_in_line() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Zonder Geheugen", "").await;
    // No room (`school_cache_mib = 0`) though announcements are heard, and a cache nobody
    // listens for.
    let no_room = SchoolCache::new(0, MAX_AGE);
    let listener = no_room
        .spawn_listener(&app.state.config.database)
        .expect("a listener");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !no_room.is_listening() {
        assert!(Instant::now() < deadline, "the listener does not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for cache in [no_room, SchoolCache::default()] {
        let (answers, reads, most) =
            burst(&app, &cache, &school, ("probe", 1), Arc::new(|_| Ok(()))).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(reads, 50, "each request reads");
        assert!(
            most >= 2,
            "the reads ran side by side, not in line: at most {most} at once"
        );
    }
    listener.abort();
}

/// Runs `statements` in one transaction of the school and returns the people announced on
/// the read marks' channel at its commit (as `<school>:<person>`), within half a second.
async fn people_announced(
    app: &TestApp,
    school: &TenantEntry,
    statements: &str,
) -> std::collections::BTreeSet<String> {
    let mut listener = PgListener::connect_with(&app.db.pool).await.unwrap();
    listener.listen(READS_CHANNEL).await.unwrap();
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statements.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{statements}: {e}"));
    tx.commit().await.unwrap();
    let ours = format!("{}:", school.id.get());
    let mut heard = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_millis(500);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, listener.recv()).await {
            Ok(Ok(n)) if n.payload().starts_with(&ours) => {
                heard.insert(n.payload().to_owned());
            }
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("listener: {e}"),
            Err(_) => break,
        }
    }
    heard
}

#[tokio::test]
async fn every_table_an_inbox_page_reads_announces_its_changes_for_the_people_it_concerns() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Postvak", "").await;
    let teacher = member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let parent = member(&app, &school, "Petra Ouder", &[Role::Parent]).await;
    let partner = member(&app, &school, "Paul Ouder", &[Role::Parent]).await;
    let admins = [
        member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await,
        member(&app, &school, "Bert Admin", &[Role::SchoolAdmin]).await,
    ];
    let who = |people: &[&Member]| -> std::collections::BTreeSet<String> {
        people
            .iter()
            .map(|m| format!("{}:{}", school.id.get(), m.person_id))
            .collect()
    };
    let (t, p, q) = (teacher.person_id, parent.person_id, partner.person_id);
    const NEWEST: &str = "(SELECT max(id) FROM conversations)";
    const NEWEST_MESSAGE: &str = "(SELECT max(id) FROM messages)";

    // A parent writes to the teacher: both folders change, the writer's too.
    let write = format!(
        "INSERT INTO conversations (subject) VALUES ('Vraag over het schoolreisje');
         INSERT INTO messages (conversation_id, author_id, body, sent_at)
              VALUES ({NEWEST}, {p}, 'Mag hij mee?', now());
         INSERT INTO message_recipients (message_id, person_id) VALUES ({NEWEST_MESSAGE}, {t});"
    );
    assert_eq!(
        people_announced(&app, &school, &write).await,
        who(&[&teacher, &parent])
    );
    // The teacher reads it: the teacher's folder changes, and the parent sees who read it.
    let read = format!("UPDATE message_recipients SET read_at = now() WHERE person_id = {t}");
    assert_eq!(
        people_announced(&app, &school, &read).await,
        who(&[&teacher, &parent])
    );
    // The teacher answers: both again.
    let answer = format!(
        "INSERT INTO messages (conversation_id, author_id, body, sent_at)
              VALUES ({NEWEST}, {t}, 'Ja hoor.', now());
         INSERT INTO message_recipients (message_id, person_id) VALUES ({NEWEST_MESSAGE}, {p});"
    );
    assert_eq!(
        people_announced(&app, &school, &answer).await,
        who(&[&teacher, &parent])
    );
    // The answer's notice mail: the recipient, and the author, who sees it noticed, queued
    // and sent (N7).
    let noticed = format!("UPDATE message_recipients SET noticed_at = now() WHERE person_id = {p}");
    assert_eq!(
        people_announced(&app, &school, &noticed).await,
        who(&[&teacher, &parent])
    );
    let tenant = school.id.get();
    let queued = format!(
        "INSERT INTO platform.outbox (tenant_id, recipient, subject, body_text, body_html,
                                      message_id, person_id, about)
         VALUES ({tenant}, 'ouder@example.nl', 'Nieuw bericht', 'Tekst', '<p>Tekst</p>',
                 '<bericht-{tenant}@schoolplein.test>', {p}, 'message:' || {NEWEST_MESSAGE})"
    );
    assert_eq!(
        people_announced(&app, &school, &queued).await,
        who(&[&teacher])
    );
    let sent = format!(
        "UPDATE platform.outbox SET sent_at = now() WHERE message_id = '<bericht-{tenant}@schoolplein.test>'"
    );
    assert_eq!(
        people_announced(&app, &school, &sent).await,
        who(&[&teacher])
    );
    // An address that stops taking mail: the schools of its account, whole.
    let bounced = format!(
        "INSERT INTO platform.undeliverable_addresses (address, reason)
         VALUES (lower('{}'), 'smtp permanent rejection 550')",
        parent.email
    );
    assert!(announces(&app, &school, &bounced).await);
    let fixed = format!(
        "DELETE FROM platform.undeliverable_addresses WHERE address = lower('{}')",
        parent.email
    );
    assert!(announces(&app, &school, &fixed).await);
    // Archiving and taking it back: the one who does it.
    let archive = format!(
        "INSERT INTO conversation_archive (person_id, conversation_id) VALUES ({p}, {NEWEST})"
    );
    assert_eq!(
        people_announced(&app, &school, &archive).await,
        who(&[&parent])
    );
    let unarchive = format!("DELETE FROM conversation_archive WHERE person_id = {p}");
    assert_eq!(
        people_announced(&app, &school, &unarchive).await,
        who(&[&parent])
    );
    // A new subject: everyone whose folder lists it; the same subject: nobody.
    let subject = format!("UPDATE conversations SET subject = 'Schoolreisje' WHERE id = {NEWEST}");
    assert_eq!(
        people_announced(&app, &school, &subject).await,
        who(&[&teacher, &parent])
    );
    assert!(people_announced(&app, &school, &subject).await.is_empty());
    // A message to the office: every admin reads for it.
    let to_office = format!(
        "INSERT INTO conversations (subject) VALUES ('Ziekmelding');
         INSERT INTO messages (conversation_id, author_id, body, sent_at)
              VALUES ({NEWEST}, {p}, 'Hij is ziek.', now());
         INSERT INTO message_recipients (message_id, person_id) VALUES ({NEWEST_MESSAGE}, NULL);"
    );
    assert_eq!(
        people_announced(&app, &school, &to_office).await,
        who(&[&parent, &admins[0], &admins[1]])
    );
    // Partners and their sharing: both partners, old and new.
    let link = format!(
        "UPDATE people SET partner_id = {q}, joint_use = true WHERE id = {p};
         UPDATE people SET partner_id = {p}, joint_use = true WHERE id = {q};"
    );
    assert_eq!(
        people_announced(&app, &school, &link).await,
        who(&[&parent, &partner])
    );
    let share = format!("UPDATE people SET share_conversations = true WHERE id = {q}");
    assert_eq!(
        people_announced(&app, &school, &share).await,
        who(&[&parent, &partner])
    );
    // What no inbox shows announces nobody: a draft, the digest's bookkeeping, a setting left
    // as it was.
    for quiet in [
        format!(
            "INSERT INTO messages (conversation_id, author_id, body) VALUES ({NEWEST}, {t}, 'Concept')"
        ),
        format!("UPDATE people SET digest_through = digest_through WHERE id = {p}"),
        share.clone(),
    ] {
        assert!(
            people_announced(&app, &school, &quiet).await.is_empty(),
            "an announcement after: {quiet}"
        );
    }
}

#[tokio::test]
async fn a_message_a_read_and_an_archive_reach_the_inbox_kept_in_memory() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Brievenbus", "").await;
    let host = school_host(&school.slug);
    let mut teacher = member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let parent = member(&app, &school, "Petra Ouder", &[Role::Parent]).await;
    let mut admins = [
        member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await,
        member(&app, &school, "Bert Admin", &[Role::SchoolAdmin]).await,
    ];
    inbox_kept(&app, &school, &mut teacher, &host).await;

    // Written by another process (plain SQL here): it shows, unread.
    let write = |subject: &str, to: &str| {
        format!(
            "INSERT INTO conversations (subject) VALUES ('{subject}');
             INSERT INTO messages (conversation_id, author_id, body, sent_at)
                  SELECT max(id), {}, 'Tekst', now() FROM conversations;
             INSERT INTO message_recipients (message_id, person_id)
                  SELECT max(id), {to} FROM messages;",
            parent.person_id
        )
    };
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(write(
        "Gymspullen vergeten",
        &teacher.person_id.to_string(),
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    shows_within(
        &mut teacher.client,
        &host,
        "/messages",
        "Gymspullen vergeten",
    )
    .await;
    let page = teacher.client.get(&host, "/messages").await.text();
    assert!(page.contains("class=\"conversation unread\""), "{page}");
    let conversation: i64 = page
        .split("id=\"conversation-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the conversation's id");
    // The page is kept again, not read per request.
    inbox_kept(&app, &school, &mut teacher, &host).await;

    // Opening it reads it: the very next inbox page says so.
    let thread = format!("/messages/{conversation}");
    assert_eq!(teacher.client.get(&host, &thread).await.status, 200);
    let page = teacher.client.get(&host, "/messages").await.text();
    assert!(!page.contains("conversation unread"), "{page}");
    // Archived, it leaves the inbox at once.
    let archived = teacher
        .client
        .post_form(&host, &format!("{thread}/archive"), &[("archived", "true")])
        .await;
    assert_eq!(archived.status, 303);
    let page = teacher.client.get(&host, "/messages").await.text();
    assert!(!page.contains("Gymspullen vergeten"), "{page}");

    // The office: both admins' inboxes kept; one reads the message, the other sees it read.
    for admin in &mut admins {
        inbox_kept(&app, &school, admin, &host).await;
    }
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(write("Verhuizing", "NULL")))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for admin in &mut admins {
        shows_within(&mut admin.client, &host, "/messages", "Verhuizing").await;
    }
    let office: i64 = {
        let page = admins[0].client.get(&host, "/messages").await.text();
        assert!(page.contains("class=\"conversation unread\""), "{page}");
        page.split("id=\"conversation-")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|id| id.parse().ok())
            .expect("the office conversation's id")
    };
    assert_eq!(
        admins[0]
            .client
            .get(&host, &format!("/messages/{office}"))
            .await
            .status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let page = admins[1].client.get(&host, "/messages").await.text();
        if page.contains("Verhuizing") && !page.contains("conversation unread") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other admin still sees it unread: {page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn rows_kept_rendered_speak_the_language_the_reader_has_now() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Twee Talen", "").await;
    let host = school_host(&school.slug);
    let teacher = member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut parent = member(&app, &school, "Petra Ouder", &[Role::Parent]).await;
    // A post to the whole school and two unread messages to the parent, by plain SQL.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO posts (kind, title, body, whole_school, author_id)
              VALUES ('news', 'Kerstviering', 'Tekst', true, {teacher});
         INSERT INTO conversations (subject) VALUES ('Zwemles');
         INSERT INTO messages (conversation_id, author_id, body, sent_at)
              SELECT max(id), {teacher}, 'Tekst', now() FROM conversations;
         INSERT INTO messages (conversation_id, author_id, body, sent_at)
              SELECT max(id), {teacher}, 'Nog iets', now() FROM conversations;
         INSERT INTO message_recipients (message_id, person_id)
              SELECT id, {parent} FROM messages;",
        teacher = teacher.person_id,
        parent = parent.person_id,
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    inbox_kept(&app, &school, &mut parent, &host).await;
    let kept = |app: &TestApp| {
        let cache = &app.state.school_data;
        (
            cache.get::<ReadPage>(school.id, (TIMELINE, parent.person_id)),
            cache.get::<FolderPage>(school.id, (INBOX, parent.person_id)),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while kept(&app).0.is_none() {
        assert!(Instant::now() < deadline, "the timeline is not kept");
        assert_eq!(parent.client.get(&host, "/timeline").await.status, 200);
    }
    let (timeline, inbox) = kept(&app);
    let (timeline, inbox) = (timeline.unwrap(), inbox.unwrap());
    let page = parent.client.get(&host, "/timeline").await.text();
    assert!(
        page.contains("Kerstviering") && page.contains("Hele school"),
        "{page}"
    );
    let page = parent.client.get(&host, "/messages").await.text();
    assert!(
        page.contains("2 berichten") && page.contains("2 ongelezen"),
        "{page}"
    );

    // The same kept pages, read by the same person who now chose English: their rows in English.
    let chosen = parent
        .client
        .post_form(
            &host,
            "/account/profile",
            &[("name", "Petra Ouder"), ("language", "en")],
        )
        .await;
    assert_eq!(chosen.status, 303);
    let page = parent.client.get(&host, "/timeline").await.text();
    assert!(
        page.contains("Whole school") && !page.contains("Hele school"),
        "{page}"
    );
    let page = parent.client.get(&host, "/messages").await.text();
    assert!(
        page.contains("2 messages") && page.contains("2 unread"),
        "{page}"
    );
    assert!(!page.contains("berichten"), "{page}");
    let (timeline_now, inbox_now) = kept(&app);
    assert!(
        Arc::ptr_eq(&timeline, &timeline_now.unwrap()) && Arc::ptr_eq(&inbox, &inbox_now.unwrap()),
        "the pages were read again: this test is about rows kept rendered"
    );
    // And back: the Dutch rows again, still without reading.
    let chosen = parent
        .client
        .post_form(
            &host,
            "/account/profile",
            &[("name", "Petra Ouder"), ("language", "nl")],
        )
        .await;
    assert_eq!(chosen.status, 303);
    let page = parent.client.get(&host, "/timeline").await.text();
    assert!(
        page.contains("Hele school") && !page.contains("Whole school"),
        "{page}"
    );
    let page = parent.client.get(&host, "/messages").await.text();
    assert!(
        page.contains("2 berichten") && page.contains("2 ongelezen"),
        "{page}"
    );
}

#[tokio::test]
async fn this_month_is_kept_and_an_event_holiday_or_leave_from_any_writer_shows_on_it() {
    let app = TestApp::spawn().await;
    let (school, host, mut viewer, _) = school_with_viewer(&app, "Basisschool Kalender").await;
    let key = (MONTH, viewer.person_id);
    let deadline = Instant::now() + Duration::from_secs(5);
    let kept = loop {
        assert_eq!(viewer.client.get(&host, "/calendar").await.status, 200);
        if let Some(kept) = app.state.school_data.get::<Month>(school.id, key) {
            break kept;
        }
        assert!(Instant::now() < deadline, "the month is not kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Another month is read, not kept in its place.
    let next = month::next_month(kept.first).format("%Y-%m").to_string();
    let other = viewer
        .client
        .get(&host, &format!("/calendar?month={next}"))
        .await;
    assert_eq!(other.status, 200);
    let still = app.state.school_data.get::<Month>(school.id, key).unwrap();
    assert!(
        Arc::ptr_eq(&kept, &still),
        "this month's entry was replaced"
    );

    // Written by another process (plain SQL): an event today, a study day, the child's leave.
    let statements = [
        (
            "INSERT INTO events (title, visibility, whole_school, starts_at, ends_at)
             VALUES ('Schoolfotograaf', 'members', true, now(), now() + interval '1 hour')",
            "Schoolfotograaf",
        ),
        (
            "INSERT INTO school_holidays (name, first_day, last_day)
             VALUES ('Studiedag', (now() AT TIME ZONE 'Europe/Amsterdam')::date,
                     (now() AT TIME ZONE 'Europe/Amsterdam')::date)",
            "Studiedag",
        ),
        (
            "WITH r AS (
                 INSERT INTO leave_requests (kind, first_day, last_day, school_days, reason,
                                             school_year, state, decided_at)
                 VALUES ('circumstances', (now() AT TIME ZONE 'Europe/Amsterdam')::date,
                         (now() AT TIME ZONE 'Europe/Amsterdam')::date, 1, 'Bruiloft', 2026,
                         'approved', now())
                 RETURNING id)
             INSERT INTO leave_request_children (request_id, pupil_id)
             SELECT r.id, p.id FROM r, pupils p WHERE p.import_key = '2026002'",
            "class=\"leave-day\"",
        ),
    ];
    for (statement, shows) in statements {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        tx.commit().await.unwrap();
        shows_within(&mut viewer.client, &host, "/calendar", shows).await;
    }
    // Kept again after the changes, not read per request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.school_data.get::<Month>(school.id, key).is_none() {
        assert!(Instant::now() < deadline, "the month is not kept again");
        assert_eq!(viewer.client.get(&host, "/calendar").await.status, 200);
    }
    // A colleague's staff event is not the parent's, kept or not.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO events (title, visibility, whole_school, starts_at, ends_at)
         VALUES ('Teamoverleg', 'staff', true, now(), now() + interval '1 hour')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut teacher = member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    shows_within(&mut teacher.client, &host, "/calendar", "Teamoverleg").await;
    for _ in 0..3 {
        let page = viewer.client.get(&host, "/calendar").await.text();
        assert!(
            page.contains("Schoolfotograaf") && !page.contains("Teamoverleg"),
            "{page}"
        );
    }
}

/// Asks for the member's inbox until its first page is kept in memory.
async fn inbox_kept(app: &TestApp, school: &TenantEntry, member: &mut Member, host: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let key = (INBOX, member.person_id);
    while app
        .state
        .school_data
        .get::<FolderPage>(school.id, key)
        .is_none()
    {
        assert!(Instant::now() < deadline, "the inbox is not kept");
        assert_eq!(member.client.get(host, "/messages").await.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_conversation_opened_last_is_kept_and_a_new_message_subject_or_read_shows_on_it() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Draadje", "").await;
    let host = school_host(&school.slug);
    let mut teacher = member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut parent = member(&app, &school, "Petra Ouder", &[Role::Parent]).await;
    let (t, p) = (teacher.person_id, parent.person_id);
    let run = |sql: String| {
        let pool = app.db.pool.clone();
        let id = school.id;
        async move {
            let mut tx = TenantTx::begin(&pool, id).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };
    // The teacher wrote to the parent (another process: plain SQL).
    run(format!(
        "INSERT INTO conversations (subject) VALUES ('Luizencontrole');
         INSERT INTO messages (conversation_id, author_id, body, sent_at)
              SELECT max(id), {t}, 'Maandag is er luizencontrole.', now() FROM conversations;
         INSERT INTO message_recipients (message_id, person_id) SELECT max(id), {p} FROM messages;"
    ))
    .await;
    let conversation: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar("SELECT max(id) FROM conversations")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let path = format!("/messages/{conversation}");
    let thread_kept = |person: i64| {
        app.state
            .school_data
            .get::<Thread>(school.id, (THREAD, person))
            .is_some_and(|kept| kept.conversation.id == conversation)
    };

    // The first opening shows it new and marks it read; it is not kept as new.
    let first = parent.client.get(&host, &path).await.text();
    assert!(first.contains("class=\"message unread\""), "{first}");
    assert!(!thread_kept(p), "kept while it showed a message as new");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !thread_kept(p) {
        assert!(Instant::now() < deadline, "the conversation is not kept");
        let again = parent.client.get(&host, &path).await.text();
        assert!(!again.contains("class=\"message unread\""), "{again}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The teacher sees who read it; their page is kept too.
    let seen = teacher.client.get(&host, &path).await.text();
    assert!(
        seen.contains("<span class=\"read-count\">1</span>"),
        "{seen}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !thread_kept(t) {
        assert!(Instant::now() < deadline, "the teacher's page is not kept");
        assert_eq!(teacher.client.get(&host, &path).await.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A new subject and a new message from another process show on the kept page.
    run(format!(
        "UPDATE conversations SET subject = 'Luizencontrole maandag' WHERE id = {conversation}"
    ))
    .await;
    shows_within(&mut parent.client, &host, &path, "Luizencontrole maandag").await;
    run(format!(
        "INSERT INTO messages (conversation_id, author_id, body, sent_at)
              VALUES ({conversation}, {t}, 'Graag haren los.', now());
         INSERT INTO message_recipients (message_id, person_id) SELECT max(id), {p} FROM messages;"
    ))
    .await;
    shows_within(&mut parent.client, &host, &path, "Graag haren los.").await;
    // That opening read it: the teacher's count follows at once.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let seen = teacher.client.get(&host, &path).await.text();
        if seen.matches("<span class=\"read-count\">1</span>").count() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "not read twice: {seen}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The parent's address stops taking mail: the teacher's kept page says so, and stops
    // when it is fixed.
    let bounced = |sql: &'static str| {
        let pool = app.db.pool.clone();
        let address = parent.email.to_lowercase();
        async move {
            sqlx::query(sql).bind(address).execute(&pool).await.unwrap();
        }
    };
    bounced(
        "INSERT INTO platform.undeliverable_addresses (address, reason)
         VALUES ($1, 'smtp permanent rejection 550')",
    )
    .await;
    shows_within(&mut teacher.client, &host, &path, "class=\"read bounced\"").await;
    bounced("DELETE FROM platform.undeliverable_addresses WHERE address = $1").await;
    let deadline = Instant::now() + Duration::from_secs(2);
    while teacher
        .client
        .get(&host, &path)
        .await
        .text()
        .contains(" bounced\"")
    {
        assert!(Instant::now() < deadline, "still shown undeliverable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Archiving shows at once on the next opening, and someone else is never served the kept
    // page.
    while !thread_kept(p) {
        assert_eq!(parent.client.get(&host, &path).await.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let archived = parent
        .client
        .post_form(&host, &format!("{path}/archive"), &[("archived", "true")])
        .await;
    assert_eq!(archived.status, 303);
    let page = parent.client.get(&host, &path).await.text();
    assert!(
        page.contains("name=\"archived\" value=\"false\""),
        "not shown archived: {page}"
    );
    let mut stranger = member(&app, &school, "Sam Vreemd", &[Role::Parent]).await;
    assert_eq!(stranger.client.get(&host, &path).await.status, 404);
}

/// A school not yet migrated to the newest announcements (0045: its leave and holidays do not
/// announce, as during a rollout) has nothing kept, so no month can show an old holiday; once
/// the trigger is there, its pages are kept again.
#[tokio::test]
async fn a_school_whose_newest_announcements_are_missing_keeps_nothing_until_they_are_there() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Halfweg", "").await;
    let host = school_host(&school.slug);
    let trigger = |statement: &'static str| {
        let pool = app.db.pool.clone();
        async move {
            let mut tx = TenantTx::begin(&pool, school.id).await.unwrap();
            sqlx::query(statement).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    trigger("DROP TRIGGER leave_days_changed ON leave_requests").await;
    let mut viewer = member(&app, &school, "Ouder Halfweg", &[Role::Parent]).await;
    let key = (MONTH, viewer.person_id);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        assert_eq!(viewer.client.get(&host, "/calendar").await.status, 200);
        assert!(
            app.state.school_data.get::<Month>(school.id, key).is_none(),
            "a month was kept for a school whose leave does not announce"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.state.school_data.is_listening(), "the listener listens");
    trigger(
        "CREATE TRIGGER leave_days_changed AFTER UPDATE OF state, first_day, last_day
             ON leave_requests FOR EACH STATEMENT EXECUTE FUNCTION announce_school_change()",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.school_data.get::<Month>(school.id, key).is_none() {
        assert_eq!(viewer.client.get(&host, "/calendar").await.status, 200);
        assert!(
            Instant::now() < deadline,
            "the month is not kept once it announces"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asks for `path` until it answers `status`, for at most two seconds.
async fn answers_within(client: &mut Client, host: &str, path: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let page = client.get(host, path).await;
        if page.status == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still answers {} instead of {status}",
            page.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Who a session's account is is kept per account and school: a page is answered from memory
/// (a write that announces nothing does not show on it), and a change by any writer to the
/// account, its membership or its address's deliverability shows at once; a request that may
/// write reads afresh.
#[tokio::test]
async fn who_is_signed_in_is_kept_and_a_change_to_account_membership_or_address_shows() {
    let app = TestApp::spawn().await;
    let (school, host, mut viewer, _) = school_with_viewer(&app, "Basisschool Wie").await;
    let account: i64 =
        sqlx::query_scalar("SELECT id FROM platform.accounts WHERE lower(email) = lower($1)")
            .bind(&viewer.email)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let platform = |statement: &'static str| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query(statement)
                .bind(account)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.accounts.is_empty() {
        assert_eq!(viewer.client.get(&host, "/timeline").await.status, 200);
        assert!(Instant::now() < deadline, "the account is not kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Written with the triggers off, the new language announces nothing: the page still
    // speaks Dutch, so it was answered from memory.
    let mut quiet = app.db.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *quiet)
        .await
        .unwrap();
    sqlx::query("UPDATE platform.accounts SET language = 'en' WHERE id = $1")
        .bind(account)
        .execute(&mut *quiet)
        .await
        .unwrap();
    quiet.commit().await.unwrap();
    let page = viewer.client.get(&host, "/timeline").await;
    assert!(
        page.text().contains("<html lang=\"nl\">"),
        "{}",
        page.text()
    );
    // A request that may write reads afresh (and so does the page after it).
    let posted = viewer
        .client
        .post_form(&host, "/account/mail-works", &[])
        .await;
    assert_eq!(posted.status, 303, "{}", posted.text());
    let page = viewer.client.get(&host, "/timeline").await;
    assert!(
        page.text().contains("<html lang=\"en\">"),
        "{}",
        page.text()
    );

    // Every other change, by a writer outside the process, announces itself.
    platform("UPDATE platform.accounts SET language = 'nl' WHERE id = $1").await;
    shows_within(&mut viewer.client, &host, "/timeline", "<html lang=\"nl\">").await;
    platform("UPDATE platform.accounts SET name = 'Ouder Hernoemd' WHERE id = $1").await;
    shows_within(&mut viewer.client, &host, "/timeline", "Ouder Hernoemd").await;
    platform(
        "INSERT INTO platform.undeliverable_addresses (address, reason)
         SELECT lower(email), 'smtp permanent rejection 550' FROM platform.accounts WHERE id = $1",
    )
    .await;
    shows_within(
        &mut viewer.client,
        &host,
        "/timeline",
        "id=\"mail-undeliverable\"",
    )
    .await;
    platform(
        "DELETE FROM platform.undeliverable_addresses
          WHERE address = (SELECT lower(email) FROM platform.accounts WHERE id = $1)",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(2);
    while viewer
        .client
        .get(&host, "/timeline")
        .await
        .text()
        .contains("id=\"mail-undeliverable\"")
    {
        assert!(Instant::now() < deadline, "the banner stays");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    platform("UPDATE platform.memberships SET blocked_at = now() WHERE account_id = $1").await;
    answers_within(&mut viewer.client, &host, "/timeline", 403).await;
    platform("UPDATE platform.memberships SET blocked_at = NULL WHERE account_id = $1").await;
    answers_within(&mut viewer.client, &host, "/timeline", 200).await;
    // The parent's own places in the navigation go with the role.
    platform("UPDATE platform.memberships SET roles = '{}' WHERE account_id = $1").await;
    let deadline = Instant::now() + Duration::from_secs(2);
    while viewer
        .client
        .get(&host, "/timeline")
        .await
        .text()
        .contains("id=\"nav-children\"")
    {
        assert!(Instant::now() < deadline, "the parent's role stays");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    platform("UPDATE platform.memberships SET roles = '{parent}' WHERE account_id = $1").await;
    shows_within(
        &mut viewer.client,
        &host,
        "/timeline",
        "id=\"nav-children\"",
    )
    .await;
    platform("DELETE FROM platform.memberships WHERE account_id = $1").await;
    answers_within(&mut viewer.client, &host, "/timeline", 403).await;
    platform("UPDATE platform.accounts SET disabled = true WHERE id = $1").await;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let page = viewer.client.get(&host, "/timeline").await;
        if page.status == 303
            && page
                .header("location")
                .is_some_and(|l| l.contains("sign-in"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a disabled account stays signed in"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(app.state.accounts.is_listening());
    let _ = school;
}

/// The wait is the school routes' own: a page read sends no mark, and a form sent — even one
/// refused for a mistake — is answered only once both caches heard the mark it sent.
#[tokio::test]
async fn a_form_sent_is_answered_once_both_caches_heard_its_mark_and_a_page_read_sends_none() {
    let app = TestApp::spawn().await;
    let (_school, host, mut viewer, _) = school_with_viewer(&app, "Basisschool Wachtpost").await;
    let marks = || (app.state.school_data.marks(), app.state.accounts.marks());
    let ((school_sent, _), (accounts_sent, _)) = marks();

    assert_eq!(viewer.client.get(&host, "/timeline").await.status, 200);
    let ((sent, _), (sent_accounts, _)) = marks();
    assert_eq!(
        (sent, sent_accounts),
        (school_sent, accounts_sent),
        "a page read sent a mark"
    );

    for (round, phone) in ["06-1234", "geen nummer"].into_iter().enumerate() {
        let sent_form = viewer
            .client
            .post_form(
                &host,
                "/children/details",
                &[
                    ("address", ""),
                    ("phone_mobile", phone),
                    ("phone_other", ""),
                    ("about", ""),
                ],
            )
            .await;
        assert!(sent_form.status < 500, "{}", sent_form.status);
        let ((sent, heard), (sent_accounts, heard_accounts)) = marks();
        let round = round as u64 + 1;
        assert_eq!(sent, school_sent + round, "the school cache's marks");
        assert_eq!(
            sent_accounts,
            accounts_sent + round,
            "the account cache's marks"
        );
        assert!(
            heard >= sent,
            "answered before the school cache heard its mark"
        );
        assert!(
            heard_accounts >= sent_accounts,
            "answered before the account cache heard its mark"
        );
    }
}

/// A request that wrote waits, before its answer, until its process has heard every change
/// committed before: right after `heard_up_to_now` an entry that a write outside the process
/// dropped is gone, without waiting, round after round (each alone could be won by luck).
#[tokio::test]
async fn once_a_process_hears_its_mark_it_has_heard_every_change_committed_before() {
    let app = TestApp::spawn().await;
    let (school, host, mut viewer, g3b) = school_with_viewer(&app, "Basisschool Merkteken").await;
    let key = (TIMELINE, viewer.person_id);
    for round in 0..20 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while app
            .state
            .school_data
            .get::<ReadPage>(school.id, key)
            .is_none()
        {
            assert_eq!(viewer.client.get(&host, "/timeline").await.status, 200);
            assert!(
                Instant::now() < deadline,
                "round {round}: the timeline is not kept"
            );
        }
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        rename_group(&mut tx, g3b, &format!("Groep 3b ronde {round}")).await;
        tx.commit().await.unwrap();
        app.state.school_data.heard_up_to_now(&app.state.db).await;
        assert!(
            app.state
                .school_data
                .get::<ReadPage>(school.id, key)
                .is_none(),
            "round {round}: the change committed before the mark is not heard yet"
        );
    }
}
