//! The school's settings (T5): saved whole or refused by field, in effect at once in every
//! process (the cache is dropped by a notification), and obeyed by the pages: the portal
//! closed to parents, teachers limited to their groups unless the school says otherwise,
//! modules switched off or renamed in the menu.

use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, SAMPLE_EDEXML as EDEXML};
use schoolplein_tests::{TestApp, TestAppOptions, eventually, school_host};
use tenant_router::{TenantEntry, TenantTx};

async fn member(app: &TestApp, school: &TenantEntry, roles: &[Role]) -> (Client, i64) {
    let member = school::member(app, school, "Iemand", roles).await;
    (member.client, member.person_id)
}

/// Every setting on, with names and fields: the form as a browser sends it.
fn full_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("teachers_manage_parents", "1"),
        ("teachers_see_all_groups", "1"),
        ("activate_parents_at_once", "1"),
        ("parents_download_address_list", "1"),
        ("photo_upload_tile", "1"),
        ("portal_open", "1"),
        ("intranet_url", "https://intranet.example.nl/"),
        ("pdf_header", "OBS De Klimop · Schooljaar 2026-2027"),
        ("extra_fields", "Werkgever\nHuisarts"),
        ("module_on_groups", "1"),
        ("module_name_groups", "Klassen"),
        ("module_on_children", "1"),
        ("module_on_notices", "1"),
    ]
}

#[tokio::test]
async fn settings_are_saved_whole_and_reach_every_process_at_once() {
    let app = TestApp::spawn().await;
    let other_process = TestApp::spawn_with(TestAppOptions {
        db: Some(app.db.clone()),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Instelling", "").await;
    let host = school_host(&school.slug);
    let (mut admin, _) = member(&app, &school, &[Role::SchoolAdmin]).await;
    // The other process reads (and keeps) the defaults first.
    let before = other_process
        .state
        .settings
        .get(&other_process.state.schools, school.id)
        .await
        .unwrap();
    assert!(!before.teachers_see_all_groups && before.portal_open && before.intranet_url.is_none());

    admin.get(&host, "/admin/settings").await;
    let saved = admin
        .post_form(&host, "/admin/settings", &full_form())
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let page = admin.get(&host, "/admin/settings?saved=1").await.text();
    assert!(
        page.contains("id=\"settings-saved\"") && page.contains("Werkgever\nHuisarts"),
        "{page}"
    );
    assert!(page.contains("value=\"Klassen\""));
    // The other process hears of it within a second, without waiting for its cache to age.
    let heard = eventually(Duration::from_secs(1), || async {
        let now = other_process
            .state
            .settings
            .get(&other_process.state.schools, school.id)
            .await
            .unwrap();
        now.teachers_see_all_groups
            && now.intranet_url.as_deref() == Some("https://intranet.example.nl/")
    })
    .await;
    assert!(
        heard.is_some(),
        "the other process still shows the old settings"
    );
    let now = other_process
        .state
        .settings
        .get(&other_process.state.schools, school.id)
        .await
        .unwrap();
    assert_eq!(now.extra_fields, ["Werkgever", "Huisarts"]);
    assert!(
        !now.is_on(schoolplein_kernel::settings::Module::Calendar),
        "unticked is off"
    );
    assert_eq!(
        now.module(schoolplein_kernel::settings::Module::Groups)
            .name
            .as_deref(),
        Some("Klassen")
    );

    // Bad input names the field and changes nothing.
    for (field, value) in [
        ("intranet_url", "http://intranet.example.nl/"),
        ("pdf_header", "a\u{7}b"),
        ("extra_fields", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11"),
        ("module_name_groups", &"x".repeat(41)),
        ("god_mode", "1"),
    ] {
        let mut form = full_form();
        form.retain(|(k, _)| *k != field);
        form.push((field, value));
        form.retain(|(k, _)| *k != "teachers_see_all_groups");
        let refused = admin.post_form(&host, "/admin/settings", &form).await;
        assert_eq!(refused.status, 400, "{field}");
        // The form comes back with the mistake on top and, for a field it has, at the field;
        // a setting it does not have is named on top only.
        let page = refused.text();
        assert!(page.contains("id=\"form-mistakes\""), "{field}: {page}");
        assert!(
            field == "god_mode" || page.contains(&format!("id=\"{field}-error\"")),
            "{field}: {page}"
        );
    }
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let still: bool = sqlx::query_scalar("SELECT teachers_see_all_groups FROM school_settings")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(still, "a refused form changed nothing");
    // Only admins.
    let (mut teacher, _) = member(&app, &school, &[Role::Teacher]).await;
    assert_eq!(teacher.get(&host, "/admin/settings").await.status, 403);
    assert_eq!(
        teacher
            .post_form(&host, "/admin/settings", &full_form())
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn the_pages_obey_the_settings() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Regels", "").await;
    let host = school_host(&school.slug);
    let (mut admin, _) = member(&app, &school, &[Role::SchoolAdmin]).await;
    admin.get(&host, "/admin/import").await;
    assert_eq!(
        admin
            .post_file(&host, "/admin/import", "e.xml", EDEXML.as_bytes(), None)
            .await
            .status,
        200
    );
    let (group_3b, group_4): (i64, i64) = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let ids = sqlx::query_as(
            "SELECT (SELECT id FROM groups WHERE import_key = 'G3B'), (SELECT id FROM groups WHERE import_key = 'G4')",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        ids
    };
    let (mut teacher, teacher_id) = member(&app, &school, &[Role::Teacher]).await;
    let (mut parent, parent_id) = member(&app, &school, &[Role::Parent]).await;
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("INSERT INTO group_teachers (group_id, person_id) VALUES ($1, $2)")
        .bind(group_3b)
        .bind(teacher_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
         SELECT id, $1, 'active', now() FROM pupils WHERE import_key = '2026001'",
    )
    .bind(parent_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Defaults: a teacher sees the group they teach, not another; the parent their child's.
    assert_eq!(
        teacher
            .get(&host, &format!("/groups/{group_3b}"))
            .await
            .status,
        200
    );
    assert_eq!(
        teacher
            .get(&host, &format!("/groups/{group_4}"))
            .await
            .status,
        403
    );
    assert_eq!(
        parent
            .get(&host, &format!("/groups/{group_3b}"))
            .await
            .status,
        200
    );
    let home = parent.get(&host, "/").await.text();
    assert!(home.contains("id=\"nav-groups\">Groepen<"), "{home}");

    // All groups for teachers; groups renamed; the intranet tile.
    admin.get(&host, "/admin/settings").await;
    let mut form = full_form();
    form.retain(|(k, _)| *k != "module_name_groups");
    form.push(("module_name_groups", "Klassen"));
    admin.post_form(&host, "/admin/settings", &form).await;
    assert_eq!(
        teacher
            .get(&host, &format!("/groups/{group_4}"))
            .await
            .status,
        200
    );
    let home = parent.get(&host, "/").await.text();
    assert!(
        home.contains("id=\"nav-groups\">Klassen<") && home.contains("id=\"to-intranet\""),
        "{home}"
    );

    // Groups off: the group pages and the menu item are gone, for parents and staff alike.
    let mut form = full_form();
    form.retain(|(k, _)| *k != "module_on_groups");
    admin.post_form(&host, "/admin/settings", &form).await;
    assert_eq!(
        parent
            .get(&host, &format!("/groups/{group_3b}"))
            .await
            .status,
        404
    );
    assert!(!parent.get(&host, "/").await.text().contains("nav-groups"));
    assert_eq!(
        teacher
            .get(&host, &format!("/groups/{group_3b}"))
            .await
            .status,
        404
    );

    // The portal closed to parents: their pages and registration say so; staff go on.
    let mut form = full_form();
    form.retain(|(k, _)| *k != "portal_open");
    // The modules on, so that what answers is the portal's opening, not a module's switch.
    form.extend([
        ("module_on_news", "1"),
        ("module_on_calendar", "1"),
        ("module_on_conferences", "1"),
        ("module_on_photos", "1"),
        ("module_on_documents", "1"),
    ]);
    admin.post_form(&host, "/admin/settings", &form).await;
    let closed = parent.get(&host, "/children").await;
    assert_eq!(closed.status, 403);
    assert!(closed.text().contains("nog niet open"), "{}", closed.text());
    assert_eq!(
        parent
            .get(&host, &format!("/groups/{group_3b}"))
            .await
            .status,
        403
    );
    for page in [
        "/timeline",
        "/partner",
        "/albums",
        "/documents",
        "/calendar",
        "/calendar/upcoming",
        "/calendar/feeds",
        "/conferences",
        "/special-groups",
    ] {
        let answer = parent.get(&host, page).await;
        assert_eq!(answer.status, 403, "{page}");
        assert!(answer.text().contains("nog niet open"), "{page}");
    }
    for action in ["/children/photo/remove", "/partner/end"] {
        let answer = parent.post_form(&host, action, &[]).await;
        assert_eq!(answer.status, 403, "{action}");
    }
    let mut newcomer = Client::new(app.addr);
    assert_eq!(newcomer.get(&host, "/register").await.status, 403);
    assert_eq!(
        teacher
            .get(&host, &format!("/groups/{group_3b}"))
            .await
            .status,
        200
    );
    assert_eq!(admin.get(&host, "/admin/parents").await.status, 200);
    for page in [
        "/timeline",
        "/albums",
        "/documents",
        "/calendar",
        "/special-groups",
    ] {
        assert_eq!(teacher.get(&host, page).await.status, 200, "{page}");
    }
}

#[tokio::test]
async fn the_schools_contact_comes_back_with_its_mistake_and_its_mails_come_from_the_school() {
    let db = schoolplein_tests::TestDb::fresh().await;
    let mailbox = schoolplein_tests::mailbox::Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let (mut admin, _) = member(&app, &school, &[Role::SchoolAdmin]).await;
    admin.get(&host, "/admin/settings").await;

    // Each mistake: the same page (400), the message at its field, everything typed kept,
    // nothing saved.
    let good = [
        ("contact_email", "info@deklimop.example"),
        ("phone", "030 123 45 67"),
        ("address", "Schoolstraat 1\r\n3511 AB Utrecht"),
    ];
    for (field, bad) in [
        ("contact_email", "info at deklimop"),
        ("phone", "bel ons"),
        ("address", "1\n2\n3\n4\n5"),
    ] {
        let fields: Vec<(&str, &str)> = good
            .iter()
            .map(|&(k, v)| if k == field { (k, bad) } else { (k, v) })
            .collect();
        let answer = admin
            .post_form(&host, "/admin/settings/contact", &fields)
            .await;
        assert_eq!(answer.status, 400, "{field}");
        let page = answer.text();
        assert!(
            page.contains("id=\"form-mistakes\""),
            "{field}: the summary"
        );
        assert!(
            page.contains(&format!("href=\"#{field}\"")),
            "{field}: the summary links to the field"
        );
        assert!(
            page.contains(&format!("id=\"{field}-error\"")),
            "{field}: the message at the field"
        );
        for (name, value) in &fields {
            let shown = value.replace("\r\n", "\n");
            let shown = shown.lines().next().unwrap();
            assert!(page.contains(shown), "{field}: {name} kept");
        }
        assert!(
            page.contains("id=\"settings\""),
            "{field}: the rest of the page too"
        );
    }
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT contact_email FROM school_profile")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(stored, "", "nothing saved");

    let saved = admin
        .post_form(&host, "/admin/settings/contact", &good)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let page = admin.get(&host, "/admin/settings").await.text();
    assert!(page.contains("value=\"info@deklimop.example\""));

    // The school's mail shows the school as sender, answers go to the school, and its
    // contact stands under the mail.
    admin.get(&host, "/admin/people").await;
    let invited = admin
        .post_form(
            &host,
            "/admin/people/invite",
            &[
                ("name", "Meester Tim"),
                ("email", "tim@deklimop.example"),
                ("role", "teacher"),
            ],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.text());
    let mail = mailbox.latest("tim@deklimop.example", 1).await;
    assert!(
        mail.text
            .contains("Schoolstraat 1, 3511 AB Utrecht · 030 123 45 67 · info@deklimop.example"),
        "{}",
        mail.text
    );
    let received = mailbox
        .smtp
        .received()
        .into_iter()
        .find(|r| r.message_id.as_deref() == Some(mail.message_id.as_str()))
        .expect("the mail on the wire");
    let from = received.header("From").expect("a From");
    assert!(
        from.contains("Basisschool De Klimop via Schoolplein"),
        "{from}"
    );
    assert_eq!(
        received.header("Reply-To").as_deref(),
        Some("info@deklimop.example")
    );
}

/// Settings read again once aged, and found the same, stay the very same value: every page
/// kept under them (each checks it was read under the request's settings) still fits, where a
/// new value every minute had all of a school's kept pages read again. A change announced by
/// its writer is a new value at once.
#[tokio::test]
async fn settings_read_again_unchanged_stay_the_same_value_and_a_change_is_a_new_one() {
    use std::sync::Arc;
    use std::time::Instant;

    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Bestendig", "").await;
    let max_age = Duration::from_secs(1);
    let cache = schoolplein_kernel::settings::SettingsCache::with_max_age(max_age);
    let _listener = cache.spawn_listener(&app.state.config.database).unwrap();
    let pool = &app.db.pool;
    // Kept once its listener listens: two reads then give one value.
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let one = cache.get(pool, school.id).await.unwrap();
        if Arc::ptr_eq(&one, &cache.get(pool, school.id).await.unwrap()) {
            break one;
        }
        assert!(Instant::now() < deadline, "the settings are not kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let reads = cache.reads();
    tokio::time::sleep(max_age).await;
    // Aged: served as they are while they are read again in the background.
    assert!(Arc::ptr_eq(
        &first,
        &cache.get(pool, school.id).await.unwrap()
    ));
    let read_again = eventually(Duration::from_secs(5), || async { cache.reads() > reads }).await;
    assert!(
        read_again.is_some(),
        "the aged settings were not read again"
    );
    let now = cache.get(pool, school.id).await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &now),
        "the same settings read again became a new value"
    );

    let mut tx = TenantTx::begin(pool, school.id).await.unwrap();
    sqlx::query("UPDATE school_settings SET portal_open = NOT portal_open")
        .execute(&mut *tx)
        .await
        .unwrap();
    schoolplein_kernel::settings::announce_change(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let changed = eventually(Duration::from_secs(2), || async {
        cache.get(pool, school.id).await.unwrap().portal_open != first.portal_open
    })
    .await;
    assert!(changed.is_some(), "the change does not show");
}
