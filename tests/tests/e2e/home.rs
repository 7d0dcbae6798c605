//! A school's home page, the platform's page, and the pages for unknown and suspended schools.

use schoolplein_tests::{BASE_DOMAIN, TestApp, school_host};
use tenant_router::TenantStatus;
use tenant_router::provision;

#[tokio::test]
async fn home_page_shows_the_schools_own_name_and_welcome_text() {
    let app = TestApp::spawn().await;
    let school = app
        .create_school("OBS De Klimop", "Welkom bij De Klimop & co <b>")
        .await;
    let other = app
        .create_school("Het Kompas", "Welkom bij Het Kompas")
        .await;

    let page = app.get(&school_host(&school.slug), "/").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("OBS De Klimop"), "{html}");
    // Escaped, not interpreted.
    assert!(
        html.contains("Welkom bij De Klimop &amp; co &lt;b&gt;"),
        "{html}"
    );
    assert!(!html.contains("Het Kompas"));
    assert!(html.contains("<html lang=\"nl\">"));

    let other_page = app.get(&school_host(&other.slug), "/").await.text();
    assert!(other_page.contains("Het Kompas") && !other_page.contains("De Klimop"));
}

#[tokio::test]
async fn pages_are_dutch_by_default_and_english_when_asked() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Taalschool", "").await;
    let host = school_host(&school.slug);

    let dutch = app.get(&host, "/").await.text();
    assert!(
        dutch.contains("Deze school heeft nog geen welkomsttekst geschreven."),
        "{dutch}"
    );
    let english = app
        .get_with(
            &host,
            "/",
            &[("Accept-Language", "en-GB,en;q=0.9,nl;q=0.5")],
        )
        .await
        .text();
    assert!(english.contains("<html lang=\"en\">"));
    assert!(
        english.contains("This school has not written a welcome text yet."),
        "{english}"
    );
    let german = app
        .get_with(&host, "/", &[("Accept-Language", "de-DE")])
        .await
        .text();
    assert!(german.contains("<html lang=\"nl\">"));
}

#[tokio::test]
async fn unknown_school_gets_a_page_that_names_no_school() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Zichtbare School", "").await;
    let page = app.get(&format!("bestaat-niet.{BASE_DOMAIN}"), "/").await;
    assert_eq!(page.status, 404);
    let html = page.text();
    assert!(html.contains("School niet gevonden"), "{html}");
    assert!(!html.contains("Zichtbare School"));
    assert!(!html.contains(school.slug.as_str()));
    for reserved in ["api", "operator", "static", "mail", "admin"] {
        let page = app.get(&format!("{reserved}.{BASE_DOMAIN}"), "/").await;
        assert_eq!(page.status, 404, "{reserved}");
    }
}

#[tokio::test]
async fn suspended_school_says_so_and_comes_back_on_resume() {
    let app = TestApp::spawn().await;
    let school = app.create_school("School Op Pauze", "Welkom").await;
    let host = school_host(&school.slug);
    provision::set_status(&app.db.pool, &school.slug, TenantStatus::Suspended)
        .await
        .unwrap();
    let suspended = schoolplein_tests::eventually(std::time::Duration::from_secs(2), || async {
        app.get(&host, "/").await.status == 403
    })
    .await;
    assert!(suspended.is_some(), "suspension did not reach the app");
    let html = app.get(&host, "/").await.text();
    assert!(html.contains("tijdelijk niet beschikbaar"), "{html}");

    provision::set_status(&app.db.pool, &school.slug, TenantStatus::Active)
        .await
        .unwrap();
    let resumed = schoolplein_tests::eventually(std::time::Duration::from_secs(2), || async {
        app.get(&host, "/").await.status == 200
    })
    .await;
    assert!(resumed.is_some(), "resumption did not reach the app");
}

#[tokio::test]
async fn custom_domain_serves_the_school() {
    let app = TestApp::spawn().await;
    let school = app
        .create_school("Eigen Domein School", "Welkom op ons eigen adres")
        .await;
    let domain = format!("ouders.{}.example", school.slug);
    let host = tenant_router::NormalizedHost::parse_name(&domain).unwrap();
    provision::add_domain(&app.db.pool, app.state.tenants.bases(), &school.slug, &host)
        .await
        .unwrap();
    let served = schoolplein_tests::eventually(std::time::Duration::from_secs(2), || async {
        app.get(&domain.to_uppercase(), "/")
            .await
            .text()
            .contains("Welkom op ons eigen adres")
    })
    .await;
    assert!(served.is_some(), "the custom domain was never served");

    let under_base =
        tenant_router::NormalizedHost::parse_name(&format!("x.{BASE_DOMAIN}")).unwrap();
    let refused = provision::add_domain(
        &app.db.pool,
        app.state.tenants.bases(),
        &school.slug,
        &under_base,
    )
    .await;
    assert!(matches!(
        refused,
        Err(provision::ProvisionError::DomainUnderBase(_))
    ));
    let taken =
        provision::add_domain(&app.db.pool, app.state.tenants.bases(), &school.slug, &host).await;
    assert!(matches!(
        taken,
        Err(provision::ProvisionError::DomainTaken(_))
    ));
}

#[tokio::test]
async fn base_domain_shows_the_platform_with_find_your_school() {
    let app = TestApp::spawn().await;
    let marker = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let school = app
        .create_school(&format!("Vindbare School {marker}"), "")
        .await;

    let page = app.get(BASE_DOMAIN, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Vind uw school"));

    let found = app
        .get(&format!("{BASE_DOMAIN}:8443"), &format!("/?q={marker}"))
        .await
        .text();
    assert!(
        found.contains(&format!("Vindbare School {marker}")),
        "{found}"
    );
    assert!(
        found.contains(&format!("//{}.{BASE_DOMAIN}:8443/", school.slug)),
        "{found}"
    );

    let short = app.get(BASE_DOMAIN, "/?q=ab").await.text();
    assert!(short.contains("minstens drie letters"));
    assert!(!short.contains("Vindbare School"));

    let www = app.get(&format!("www.{BASE_DOMAIN}"), "/?q=x").await;
    assert_eq!(www.status, 308);
    assert_eq!(
        www.header("location"),
        Some(&*format!("//{BASE_DOMAIN}/?q=x"))
    );
}

#[tokio::test]
async fn health_readiness_and_security_headers() {
    let app = TestApp::spawn().await;
    let health = app.get("127.0.0.1", "/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    let ready = app.get("anything.example", "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(
        ready.text().contains("\"postgres\":\"ok\"") && ready.text().contains("\"redis\":\"ok\"")
    );

    let school = app.create_school("Veilige School", "").await;
    let page = app.get(&school_host(&school.slug), "/").await;
    for header in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "x-request-id",
    ] {
        assert!(page.header(header).is_some(), "{header} missing");
    }
    let compressed = app
        .get_with(
            &school_host(&school.slug),
            "/",
            &[("Accept-Encoding", "gzip")],
        )
        .await;
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn unknown_path_on_a_school_is_a_404_page() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Padschool", "").await;
    let page = app.get(&school_host(&school.slug), "/bestaat/niet").await;
    assert_eq!(page.status, 404);
    assert!(page.text().contains("Pagina niet gevonden"));
    let api = app
        .get(&school_host(&school.slug), "/api/bestaat-niet")
        .await;
    assert_eq!(api.status, 404);
    assert!(
        api.text().contains("\"error\":\"not_found\""),
        "{}",
        api.text()
    );
}

#[tokio::test]
async fn a_change_made_without_notification_arrives_by_the_periodic_reload() {
    let db = schoolplein_tests::TestDb::fresh().await;
    let app = TestApp::spawn_with(schoolplein_tests::TestAppOptions {
        db: Some(db.clone()),
        full_reload_secs: Some(1),
        ..Default::default()
    })
    .await;
    // Written behind the platform's back: no NOTIFY, as if a notification had been lost.
    sqlx::query("INSERT INTO platform.tenants (slug, display_name) VALUES ('stille-school', 'Stille School')")
        .execute(&db.pool)
        .await
        .unwrap();
    let slug = tenant_router::TenantSlug::parse("stille-school").unwrap();
    let arrived = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || async {
        app.state.tenants.by_slug(&slug).is_some()
    })
    .await;
    assert!(
        arrived.is_some(),
        "the periodic reload never picked the school up"
    );
}

#[tokio::test]
async fn an_overlong_search_is_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let page = app
        .get(BASE_DOMAIN, &format!("/?q={}", "a".repeat(101)))
        .await;
    assert_eq!(page.status, 400);
    let html = page.text();
    assert!(
        html.contains("id=\"q-error\"")
            && html.contains("id=\"form-mistakes\"")
            && html.contains("hoogstens 100 tekens"),
        "{html}"
    );
    let english = app
        .get_with(
            BASE_DOMAIN,
            &format!("/?q={}", "a".repeat(101)),
            &[("Accept-Language", "en")],
        )
        .await
        .text();
    assert!(english.contains("at most 100 characters"), "{english}");
}

#[tokio::test]
async fn a_member_s_home_is_their_day_urgent_messages_first_then_what_waits_and_the_newest_news() {
    use schoolplein_kernel::Role;
    use schoolplein_tests::school::{self, publish};

    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = schoolplein_tests::school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let mut parent = school::member(&app, &school, "Ouder", &[Role::Parent]).await;
    publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Schoolreisje naar Artis"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let urgent = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "School dicht door stormschade"),
            ("whole_school", "on"),
            ("urgent", "on"),
        ],
    )
    .await;
    let home = parent.client.get(&host, "/").await.text();
    let urgent_at = home.find("id=\"urgent\"").expect("the urgent box");
    assert!(home[urgent_at..].contains("School dicht door stormschade"));
    let news_at = home.find("id=\"home-news\"").expect("the news");
    assert!(urgent_at < news_at, "urgent first");
    assert!(home[news_at..].contains("Schoolreisje naar Artis"));
    assert!(home.contains("id=\"unread-posts\">2<"), "{home}");
    assert!(
        !home.contains("id=\"pending-signups\""),
        "parents see no admin work"
    );

    // Read, it leaves the urgent box (and stays in the news).
    parent.client.get(&host, &format!("/posts/{urgent}")).await;
    let gone = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || {
        let mut client = parent.client.clone();
        let host = host.clone();
        async move {
            !client
                .get(&host, "/")
                .await
                .text()
                .contains("id=\"urgent\"")
        }
    })
    .await;
    assert!(gone.is_some(), "the urgent box gone once read");
    let home = parent.client.get(&host, "/").await.text();
    assert!(home.contains("School dicht door stormschade"));

    // The admin is told of parents waiting for approval.
    let pupil: i64 = {
        let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
            .await
            .unwrap();
        let pupil = sqlx::query_scalar(
            "INSERT INTO pupils (import_key, first_name, last_name, date_of_birth)
             VALUES ('P1', 'Sanne', 'Vries', '2019-05-01')
             RETURNING id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO guardians (pupil_id, person_id, status) VALUES ($1, $2, 'pending')",
        )
        .bind(pupil)
        .bind(parent.person_id)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        pupil
    };
    assert!(pupil > 0);
    let home = admin.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"pending-signups\">1<"), "{home}");
}

/// Runs `sql` in the school's schema, binding `id`.
async fn in_school(app: &TestApp, school: &tenant_router::TenantEntry, sql: &str, id: i64) {
    let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_home_page_lists_what_needs_doing_for_each_person() {
    use schoolplein_kernel::Role;
    use schoolplein_tests::school;

    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut parent = school::parent(&app, &school, "Ouder van Sanne", &["2026001"]).await;
    let mut teacher = school::member(&app, &school, "Juf Anna", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let group_3b = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;

    // Nothing to do yet: no conference, no activity.
    let home = parent.client.get(&host, "/").await.text();
    assert!(!home.contains("class=\"booking-due\""), "{home}");
    assert!(!home.contains("class=\"signup-closing\""), "{home}");

    // A round of Sanne's group is open for booking; one of another group is not hers.
    in_school(
        &app,
        &school,
        "INSERT INTO conference_rounds (group_id, title, talks, talk_minutes, talks_before_break,
                                        break_minutes, days, day_start, day_end, status,
                                        published_at)
         SELECT g.id, 'Rapportgesprekken ' || g.name, 10, 10, 0, 0,
                ARRAY[(now() AT TIME ZONE 'Europe/Amsterdam')::date + 14], '15:00', '17:00',
                'published', now()
           FROM groups g WHERE g.id = $1 OR g.import_key = 'G4'",
        group_3b,
    )
    .await;
    // An activity closing in two days is listed; one closing next month, one already joined
    // and one for another group's parents are not.
    in_school(
        &app,
        &school,
        "WITH made AS (
             INSERT INTO special_groups (name, has_activity, signup_until)
             VALUES ('Schoolreis Artis', true, (now() AT TIME ZONE 'Europe/Amsterdam')::date + 2),
                    ('Kerstmarkt', true, (now() AT TIME ZONE 'Europe/Amsterdam')::date + 30),
                    ('Voorleesouders', true, (now() AT TIME ZONE 'Europe/Amsterdam')::date + 1),
                    ('Excursie groep 4', true, (now() AT TIME ZONE 'Europe/Amsterdam')::date + 1)
             RETURNING id, name)
         , joined AS (INSERT INTO special_group_members (special_group_id, person_id)
                      SELECT id, $1 FROM made WHERE name = 'Voorleesouders')
         INSERT INTO special_group_groups (special_group_id, group_id)
         SELECT made.id, g.id FROM made, groups g
          WHERE made.name = 'Excursie groep 4' AND g.import_key = 'G4'",
        parent.person_id,
    )
    .await;
    let home = parent.client.get(&host, "/").await.text();
    let todo = &home[home.find("id=\"todo\"").expect("the to-do list")..];
    let todo = &todo[..todo.find("</section>").unwrap()];
    assert!(
        todo.contains("Plan een oudergesprek voor Sanne: Rapportgesprekken"),
        "{todo}"
    );
    assert_eq!(todo.matches("class=\"booking-due\"").count(), 1, "{todo}");
    assert!(todo.contains("Aanmelden voor Schoolreis Artis"), "{todo}");
    assert_eq!(
        todo.matches("class=\"signup-closing\"").count(),
        1,
        "{todo}"
    );
    // The link leads to the round's card on the conference page.
    let link = &todo[todo.find("href=\"/conferences#").unwrap() + 19..];
    let anchor = &link[..link.find('"').unwrap()];
    let conferences = parent.client.get(&host, "/conferences").await.text();
    assert!(
        conferences.contains(&format!("id=\"{anchor}\"")),
        "{anchor} on the conference page"
    );

    // Booked (here by the other parent, in a shared round) and joined: both gone.
    in_school(
        &app,
        &school,
        "WITH round AS (SELECT id FROM conference_rounds WHERE group_id = $1),
              slot AS (INSERT INTO conference_slots (round_id, starts_at, ends_at)
                       SELECT id, now() + interval '14 days', now() + interval '14 days 10 minutes'
                         FROM round RETURNING id, round_id)
         INSERT INTO conference_bookings (round_id, slot_id, pupil_id, booking_mode)
         SELECT slot.round_id, slot.id, pu.id, 'shared'
           FROM slot, pupils pu WHERE pu.import_key = '2026001'",
        group_3b,
    )
    .await;
    in_school(
        &app,
        &school,
        "INSERT INTO special_group_members (special_group_id, person_id)
         SELECT id, $1 FROM special_groups WHERE name = 'Schoolreis Artis'",
        parent.person_id,
    )
    .await;
    // The kept facts are dropped by the database's announcements, whoever wrote.
    let gone = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || {
        let mut client = parent.client.clone();
        let host = host.clone();
        async move {
            let home = client.get(&host, "/").await.text();
            !home.contains("class=\"booking-due\"") && !home.contains("class=\"signup-closing\"")
        }
    })
    .await;
    assert!(
        gone.is_some(),
        "booked and joined: both gone from the to-do list"
    );

    // The teacher: their group, and today's events by name.
    let today: String = {
        let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT ((now() AT TIME ZONE 'Europe/Amsterdam')::date)::text")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    teacher.client.get(&host, "/calendar/events/new").await;
    let made = teacher
        .client
        .post_form(
            &host,
            "/calendar/events",
            &[
                ("title", "Gymles buiten"),
                ("all_day", "on"),
                ("start_date", &today),
                ("groups", &group_3b.to_string()),
                ("visibility", "members"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let home = teacher.client.get(&host, "/").await.text();
    let groups = &home[home.find("id=\"my-groups\"").expect("the teacher's groups")..];
    assert!(
        groups.contains(&format!("href=\"/groups/{group_3b}\"")),
        "{groups}"
    );
    let today_list = &home[home.find("id=\"today\"").expect("today")..];
    assert!(today_list.contains("Gymles buiten"), "{today_list}");
    let seen = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || {
        let mut client = parent.client.clone();
        let host = host.clone();
        async move {
            client
                .get(&host, "/")
                .await
                .text()
                .contains("Gymles buiten")
        }
    })
    .await;
    assert!(seen.is_some(), "the parent sees it today too");
    let home = parent.client.get(&host, "/").await.text();
    assert!(!home.contains("id=\"my-groups\""), "parents teach no group");

    // An address the receiving server refused for good (its mail failed, the address marked
    // undeliverable): named on the admins' list, with the person it belongs to; mail that was
    // delivered or only delayed is not.
    let outbox = |recipient: String, error: &'static str, failed: bool| {
        let pool = app.db.pool.clone();
        let tenant = school.id.get();
        async move {
            sqlx::query(
                "INSERT INTO platform.outbox (tenant_id, recipient, subject, body_text, body_html,
                                              message_id, attempts, last_error, next_attempt_at,
                                              failed_at)
                 VALUES ($1, $2, 'Nieuws', 'x', 'x', '<' || gen_random_uuid() || '@test>', 3, $3,
                         now() + interval '1 day', CASE WHEN $4 THEN now() END)",
            )
            .bind(tenant)
            .bind(&recipient)
            .bind(error)
            .bind(failed)
            .execute(&pool)
            .await
            .unwrap();
            if failed {
                sqlx::query(
                    "INSERT INTO platform.undeliverable_addresses (address, reason)
                     VALUES (lower($1), $2)",
                )
                .bind(&recipient)
                .bind(error)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
    };
    outbox(parent.email.clone(), "smtp permanent rejection 550", true).await;
    outbox(teacher.email.clone(), "smtp transient rejection 451", false).await;
    let home = admin.client.get(&host, "/").await.text();
    let refused = &home[home
        .find("id=\"refused-mail\"")
        .expect("refused mail listed")..];
    let refused = &refused[..refused.find("</ul>").unwrap()];
    assert!(
        refused.contains(&format!("Ouder van Sanne ({})", parent.email)),
        "{refused}"
    );
    assert!(!refused.contains(&teacher.email), "{refused}");
    let parent_home = parent.client.get(&host, "/").await.text();
    assert!(!parent_home.contains("id=\"refused-mail\""));
}

#[tokio::test]
async fn a_visitor_s_home_page_is_kept_and_a_change_by_any_writer_shows_in_every_process_within_a_second()
 {
    let app = TestApp::spawn().await;
    let other_process = TestApp::spawn_with(schoolplein_tests::TestAppOptions {
        db: Some(app.db.clone()),
        ..schoolplein_tests::TestAppOptions::default()
    })
    .await;
    let school = app
        .create_school("OBS Het Geheugen", "Welkom op Het Geheugen")
        .await;
    let host = school_host(&school.slug);
    let second = std::time::Duration::from_secs(1);
    // Both processes keep the page once their listeners listen.
    for process in [&app, &other_process] {
        let kept = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || async {
            assert!(
                process
                    .get(&host, "/")
                    .await
                    .text()
                    .contains("Welkom op Het Geheugen")
            );
            process
                .state
                .school_data
                .get::<schoolplein_server::home::PublicHome>(school.id, ("public_home", 0))
                .is_some()
        })
        .await;
        assert!(kept.is_some(), "the visitor's home page is kept");
    }

    // The welcome text changed by a writer outside both processes.
    in_school(
        &app,
        &school,
        "UPDATE school_profile SET welcome_text = 'Nieuw welkom' || $1::text",
        1,
    )
    .await;
    // A public event added the same way.
    in_school(
        &app,
        &school,
        "INSERT INTO events (title, visibility, whole_school, starts_at, ends_at)
         VALUES ('Open dag ' || $1::text, 'public', true, now() + interval '3 days',
                 now() + interval '3 days 2 hours')",
        7,
    )
    .await;
    for process in [&app, &other_process] {
        let seen = schoolplein_tests::eventually(second, || async {
            let page = process.get(&host, "/").await.text();
            page.contains("Nieuw welkom1") && page.contains("Open dag 7")
        })
        .await;
        assert!(seen.is_some(), "the change shows within a second");
    }
}

/// The visitor's page is kept rendered: the next visitor gets the same bytes, and a new name
/// for the school (its header) shows as soon as the school map has it.
#[tokio::test]
async fn a_visitor_s_rendered_page_is_kept_and_follows_the_school_s_name() {
    let app = TestApp::spawn().await;
    let school = app
        .create_school("OBS De Naamgever", "Welkom op De Naamgever")
        .await;
    let host = school_host(&school.slug);
    let rendered = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || async {
        assert_eq!(app.get(&host, "/").await.status, 200);
        app.state
            .school_data
            .get::<schoolplein_server::home::PublicHome>(school.id, ("public_home", 0))
            .is_some_and(|kept| kept.rendered.get().is_some())
    })
    .await;
    assert!(rendered.is_some(), "the rendered page is kept");
    let first = app.get(&host, "/").await.text();
    let second = app.get(&host, "/").await.text();
    assert_eq!(first, second);
    assert!(
        first.contains("id=\"school-home\">OBS De Naamgever<") && !first.contains("csrf"),
        "{first}"
    );
    // The kept bytes arrive whole under every encoding a browser asks for.
    for encoding in [
        "gzip",
        "br",
        "deflate",
        "zstd",
        "identity",
        "gzip, deflate, br, zstd",
    ] {
        let answer =
            schoolplein_tests::http::get(app.addr, &host, "/", &[("Accept-Encoding", encoding)])
                .await
                .unwrap_or_else(|e| panic!("{encoding}: {e}"));
        assert_eq!(answer.status, 200, "{encoding}");
        let body = schoolplein_tests::archive::decoded(&answer);
        assert_eq!(String::from_utf8(body).unwrap(), first, "{encoding}");
    }

    sqlx::query(
        "WITH renamed AS (UPDATE platform.tenants SET display_name = 'IKC De Nieuwe Naam'
                           WHERE id = $1 RETURNING id)
         SELECT pg_notify('schoolplein_tenant_changed', id::text) FROM renamed",
    )
    .bind(school.id.get())
    .execute(&app.db.pool)
    .await
    .unwrap();
    let renamed = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || async {
        app.get(&host, "/")
            .await
            .text()
            .contains("id=\"school-home\">IKC De Nieuwe Naam<")
    })
    .await;
    assert!(renamed.is_some(), "the new name never showed");
    // The welcome text is the school's own, kept as before.
    assert!(
        app.get(&host, "/")
            .await
            .text()
            .contains("Welkom op De Naamgever")
    );
}

/// A new process reads each active school's visitor page before it listens: the pages are
/// kept, and a suspended school is left alone.
#[tokio::test]
async fn a_warm_up_keeps_every_active_school_s_visitor_page() {
    let app = TestApp::spawn().await;
    let mut schools = Vec::new();
    for name in ["OBS Eerste", "OBS Tweede", "OBS Derde"] {
        schools.push(app.create_school(name, "Welkom").await);
    }
    let resting = app.create_school("OBS Rust", "Welkom").await;
    provision::set_status(&app.db.pool, &resting.slug, TenantStatus::Suspended)
        .await
        .unwrap();
    let suspended = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || async {
        app.state
            .tenants
            .by_id(resting.id)
            .is_some_and(|entry| entry.status == TenantStatus::Suspended)
    })
    .await;
    assert!(suspended.is_some());
    let warm =
        schoolplein_server::warm::warm_up(&app.state, std::time::Duration::from_secs(10)).await;
    assert!(warm.finished, "{warm:?}");
    assert_eq!(warm.warmed, warm.schools, "{warm:?}");
    assert!(warm.schools >= 3, "{warm:?}");
    for school in schools {
        assert!(
            app.state
                .school_data
                .get::<schoolplein_server::home::PublicHome>(school.id, ("public_home", 0))
                .is_some(),
            "{} was not warmed",
            school.slug
        );
    }
    assert!(
        app.state
            .school_data
            .get::<schoolplein_server::home::PublicHome>(resting.id, ("public_home", 0))
            .is_none()
    );
}
