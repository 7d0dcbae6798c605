//! Posts and the timeline (C1): who sees which post (whole school, a group, several groups,
//! several children, a teacher's groups, a child who left, another school), who may post and
//! delete, unread marks, paging, the school's module settings, and text that stays text.

use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, parent, publish};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host};
use tenant_router::TenantTx;

/// The ids of the posts on the first timeline page.
async fn timeline(client: &mut Client, host: &str) -> Vec<i64> {
    let page = client.get(host, "/timeline").await;
    assert_eq!(page.status, 200, "{}", page.text());
    ids_in(&page.text())
}

fn ids_in(page: &str) -> Vec<i64> {
    page.split("id=\"post-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

/// The unread count the school switcher shows for a school (0 without a badge).
async fn unread_badge(client: &mut Client, host: &str, school_id: i64) -> i64 {
    let page = client.get(host, "/schools").await.text();
    let item = page
        .split(&format!("<li id=\"school-{school_id}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</li>").next())
        .unwrap_or_else(|| panic!("the school is listed: {page}"))
        .to_owned();
    item.split("class=\"badge\"")
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .and_then(|text| text.split_whitespace().next())
        .map_or(0, |n| n.parse().expect("a count"))
}

/// What is tried, by whom, with which fields; the status and the field the answer names.
type Refusal<'a> = (&'a str, Role, Vec<(&'a str, &'a str)>, u16, &'a str);

async fn refused(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let answer = client.post_form(host, "/posts", fields).await;
    (answer.status, answer.text())
}

#[tokio::test]
async fn each_post_reaches_exactly_its_audience_and_staff_post_only_where_they_may() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Berichten", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Groep 3", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let mut p4 = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let mut p34 = parent(&app, &school, "Ouder 3b en 4", &["2026002", "2026005"]).await;
    let mut gone = parent(&app, &school, "Ouder vertrokken", &["2026004"]).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    let g4 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G4",
    )
    .await;
    let g12 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G12A",
    )
    .await;
    let (g3, g4, g12) = (g3.to_string(), g4.to_string(), g12.to_string());

    let all = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Studiedag"),
            ("body", "Vrijdag vrij."),
            ("whole_school", "on"),
        ],
    )
    .await;
    let for_3 = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Groep 3 naar de kinderboerderij"),
            ("body", ""),
            ("groups", &g3),
        ],
    )
    .await;
    let for_4 = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Groep 4 zwemmen"),
            ("groups", &g4),
        ],
    )
    .await;
    let for_12 = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Kleuterfeest"),
            ("groups", &g12),
        ],
    )
    .await;
    let agenda_3_4 = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "agenda"),
            ("title", "Schoolreis"),
            ("happens_on", "2027-05-20"),
            ("groups", &g3),
            ("groups", &g4),
        ],
    )
    .await;
    // A special group reaches the parents who joined it; a teacher may post to it.
    let readers: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO special_groups (name) VALUES ('Leesouders') RETURNING id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO special_group_members (special_group_id, person_id) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(p4.person_id)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let for_readers = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Leesouders gezocht"),
            ("special_groups", &readers.to_string()),
        ],
    )
    .await;
    // The child of this parent leaves the school: its group's posts no longer reach them.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE pupils SET left_at = now() WHERE import_key = '2026004'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let other = app.create_school("Andere school", "").await;
    let other_host = school_host(&other.slug);
    let mut other_admin = school::member(&app, &other, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut other_admin.client, &other).await;
    let mut stranger = parent(&app, &other, "Ouder elders", &["2026001"]).await;

    let every = [all, for_3, for_4, for_12, agenda_3_4, for_readers];
    let cases: [(&str, &mut Client, &str, Vec<i64>); 8] = [
        (
            "parent of group 3",
            &mut p3.client,
            &host,
            vec![agenda_3_4, for_3, all],
        ),
        (
            "parent of group 4, in a special group",
            &mut p4.client,
            &host,
            vec![for_readers, agenda_3_4, for_4, all],
        ),
        (
            "parent of children in 3 and 4",
            &mut p34.client,
            &host,
            vec![agenda_3_4, for_4, for_3, all],
        ),
        (
            "parent whose child left",
            &mut gone.client,
            &host,
            vec![all],
        ),
        (
            "teacher of group 3",
            &mut teacher.client,
            &host,
            vec![for_readers, agenda_3_4, for_3, all],
        ),
        (
            "school admin",
            &mut admin.client,
            &host,
            vec![for_readers, agenda_3_4, for_12, for_4, for_3, all],
        ),
        (
            "parent at another school",
            &mut stranger.client,
            &other_host,
            vec![],
        ),
        (
            "admin of another school",
            &mut other_admin.client,
            &other_host,
            vec![],
        ),
    ];
    for (who, client, host, expected) in cases {
        assert_eq!(timeline(client, host).await, expected, "{who}'s timeline");
        for id in every {
            let status = client.get(host, &format!("/posts/{id}")).await.status;
            let visible = expected.contains(&id);
            assert_eq!(status, if visible { 200 } else { 404 }, "{who}, post {id}");
        }
    }

    // Who may post where; every refusal names its field.
    let refusals: [Refusal; 8] = [
        (
            "teacher, another group",
            Role::Teacher,
            vec![("kind", "news"), ("title", "x"), ("groups", &g4)],
            400,
            "groups",
        ),
        (
            "teacher, whole school",
            Role::Teacher,
            vec![("kind", "news"), ("title", "x"), ("whole_school", "on")],
            400,
            "groups",
        ),
        (
            "no title",
            Role::SchoolAdmin,
            vec![("kind", "news"), ("title", "  "), ("whole_school", "on")],
            400,
            "title",
        ),
        (
            "agenda without date",
            Role::SchoolAdmin,
            vec![("kind", "agenda"), ("title", "x"), ("groups", &g3)],
            400,
            "happens_on",
        ),
        (
            "both audiences",
            Role::SchoolAdmin,
            vec![
                ("kind", "news"),
                ("title", "x"),
                ("whole_school", "on"),
                ("groups", &g3),
            ],
            400,
            "groups",
        ),
        (
            "no audience",
            Role::SchoolAdmin,
            vec![("kind", "news"), ("title", "x")],
            400,
            "groups",
        ),
        (
            "unknown kind",
            Role::SchoolAdmin,
            vec![("kind", "poll"), ("title", "x"), ("whole_school", "on")],
            400,
            "kind",
        ),
        (
            "a parent",
            Role::Parent,
            vec![("kind", "news"), ("title", "x"), ("whole_school", "on")],
            403,
            "",
        ),
    ];
    for (what, who, fields, status, field) in refusals {
        let client = match who {
            Role::Teacher => &mut teacher.client,
            Role::SchoolAdmin => &mut admin.client,
            _ => &mut p3.client,
        };
        let (got, body) = refused(client, &host, &fields).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(body.contains(field), "{what} names {field}: {body}");
    }
    let other_group = school::id(
        &app,
        &other,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    let foreign = ((other_group + 1000) as u64).to_string();
    let (status, body) = refused(
        &mut admin.client,
        &host,
        &[("kind", "news"), ("title", "x"), ("groups", &foreign)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let posts: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let n = sqlx::query_scalar("SELECT count(*) FROM posts")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        n
    };
    assert_eq!(posts, 6, "no refused post was written");

    // Editing: the author or an admin; the same rules as a new post.
    assert_eq!(
        teacher
            .client
            .get(&host, &format!("/posts/{all}/edit"))
            .await
            .status,
        403
    );
    let answer = teacher
        .client
        .post_form(
            &host,
            &format!("/posts/{all}/edit"),
            &[("title", "Gekaapt")],
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        teacher
            .client
            .get(&host, &format!("/posts/{for_3}/edit"))
            .await
            .status,
        200
    );
    let answer = teacher
        .client
        .post_form(
            &host,
            &format!("/posts/{for_3}/edit"),
            &[("title", " "), ("body", "x")],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("title"));
    let answer = admin
        .client
        .post_form(
            &host,
            &format!("/posts/{agenda_3_4}/edit"),
            &[("title", "Schoolreis"), ("happens_on", "")],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("happens_on"));
    let answer = teacher
        .client
        .post_form(
            &host,
            &format!("/posts/{for_3}/edit"),
            &[("title", "Groep 3 naar het bos"), ("body", "Laarzen mee.")],
        )
        .await;
    assert_eq!(answer.status, 303);
    let page = p3
        .client
        .get(&host, &format!("/posts/{for_3}"))
        .await
        .text();
    assert!(
        page.contains("Groep 3 naar het bos") && page.contains("Laarzen mee."),
        "{page}"
    );
    assert!(page.contains("gewijzigd"), "{page}");
    assert_eq!(
        timeline(&mut p4.client, &host).await,
        vec![for_readers, agenda_3_4, for_4, all]
    );

    // Deleting: the author or an admin.
    let answer = teacher
        .client
        .post_form(&host, &format!("/posts/{all}/delete"), &[])
        .await;
    assert_eq!(answer.status, 403);
    let answer = teacher
        .client
        .post_form(&host, &format!("/posts/{for_3}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(timeline(&mut p3.client, &host).await, vec![agenda_3_4, all]);
    assert_eq!(
        p3.client
            .get(&host, &format!("/posts/{for_3}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn unread_marks_paging_module_settings_and_text_that_stays_text() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Tijdlijn", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut reader = parent(&app, &school, "Ouder", &["2026001"]).await;

    let hostile = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "<script>alert(1)</script>"),
            (
                "body",
                "<img src=x onerror=alert(1)>\n\n<a href=\"javascript:alert(1)\">klik</a>",
            ),
            ("whole_school", "on"),
        ],
    )
    .await;
    for path in ["/timeline".to_owned(), format!("/posts/{hostile}")] {
        let page = reader.client.get(&host, &path).await.text();
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
            "{page}"
        );
        assert!(
            !page.contains("<script>alert") && !page.contains("<img src=x"),
            "{page}"
        );
        assert!(!page.contains("<a href=\"javascript"), "{page}");
    }
    // What the allow-list keeps is shown as markup, with links that cannot reach back.
    let rich = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Opgemaakt"),
            (
                "body",
                "Neem <b>laarzen</b> mee.\n\n<ul><li>fruit</li></ul> <a href=\"https://bos.example\" onclick=\"x()\">bos</a>",
            ),
            ("whole_school", "on"),
        ],
    )
    .await;
    let page = reader
        .client
        .get(&host, &format!("/posts/{rich}"))
        .await
        .text();
    for kept in [
        "<p>Neem <b>laarzen</b> mee.</p>",
        "<li>fruit</li>",
        "<a href=\"https://bos.example\" rel=\"noopener noreferrer nofollow\">bos</a>",
    ] {
        assert!(page.contains(kept), "{kept}: {page}");
    }
    assert!(!page.contains("onclick"), "{page}");
    let listed = reader.client.get(&host, "/timeline").await.text();
    assert!(
        listed.contains("<p class=\"excerpt\">Neem laarzen mee. fruit bos</p>"),
        "text only: {listed}"
    );
    // Out of the way of the paging below.
    let answer = admin
        .client
        .post_form(&host, &format!("/posts/{rich}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);

    // The author has read their own post; the parent had not until they opened it.
    assert!(
        !admin
            .client
            .get(&host, "/timeline")
            .await
            .text()
            .contains("post unread")
    );
    let later = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Nog een"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let page = reader.client.get(&host, "/timeline").await.text();
    assert!(
        page.contains(&format!("class=\"post unread\" id=\"post-{later}\"")),
        "{page}"
    );
    let page = reader.client.get(&host, "/timeline").await.text();
    assert!(
        page.contains(&format!("class=\"post\" id=\"post-{hostile}\"")),
        "{page}"
    );

    // The home page leads to the news, with the count of what is unread.
    let home = reader.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"to-timeline\""), "{home}");
    assert!(
        home.contains("<span class=\"badge\" id=\"unread-posts\">1</span>"),
        "{home}"
    );

    // The school switcher counts the same unread posts: opening one takes one off.
    let before = unread_badge(&mut reader.client, &host, school.id.get()).await;
    assert!(before >= 1);
    reader.client.get(&host, &format!("/posts/{later}")).await;
    assert_eq!(
        unread_badge(&mut reader.client, &host, school.id.get()).await,
        before - 1
    );

    // Paging, newest first: 25 posts in pages of 20.
    for n in 0..23 {
        publish(
            &mut admin.client,
            &host,
            &[
                ("kind", "news"),
                ("title", &format!("Bericht {n}")),
                ("whole_school", "on"),
            ],
        )
        .await;
    }
    let first = reader.client.get(&host, "/timeline").await.text();
    let first_ids = ids_in(&first);
    assert_eq!(first_ids.len(), 20);
    assert!(first_ids.windows(2).all(|w| w[0] > w[1]), "{first_ids:?}");
    let older = *first_ids.last().unwrap();
    let next = first
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/timeline?before="))
        .unwrap_or_else(|| panic!("a link to older posts: {first}"))
        .to_owned();
    assert!(next.ends_with(&format!("-{older}")), "{next}");
    // The page goes on from there even when the post it starts below is deleted meanwhile.
    let answer = admin
        .client
        .post_form(&host, &format!("/posts/{older}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    let second = reader.client.get(&host, &next).await.text();
    let second_ids = ids_in(&second);
    assert_eq!(second_ids.len(), 5, "{second_ids:?}");
    assert_eq!(*second_ids.last().unwrap(), hostile);
    assert!(!second.contains("/timeline?before="));
    for bad in ["gisteren", &older.to_string()] {
        let bad = reader
            .client
            .get(&host, &format!("/timeline?before={bad}"))
            .await;
        assert_eq!(bad.status, 400);
        assert!(bad.text().contains("before"));
    }
    let bad = reader.client.get(&host, "/timeline?before=gisteren").await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("before"));

    // The school turns news off and renames the agenda: only agenda items show, under its name.
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();
    let agenda = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "agenda"),
            ("title", "Sportdag"),
            ("happens_on", "2027-04-09"),
            ("groups", &g3),
        ],
    )
    .await;
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query(
        r#"UPDATE school_settings SET modules = '{"news": {"on": false, "name": null},
                                                  "calendar": {"on": true, "name": "Kalender"}}'"#,
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    schoolplein_kernel::settings::announce_change(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut shown = Vec::new();
    for _ in 0..50 {
        shown = timeline(&mut reader.client, &host).await;
        if shown == [agenda] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shown, [agenda]);
    assert!(
        reader
            .client
            .get(&host, "/timeline")
            .await
            .text()
            .contains("Kalender")
    );
}

#[tokio::test]
async fn an_urgent_message_is_mailed_at_once_read_receipts_come_from_the_portal_and_the_link_and_the_unread_are_reminded()
 {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Dringend", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut opens = parent(&app, &school, "Ouder Opent", &["2026001"]).await;
    let clicks = parent(&app, &school, "Ouder Klikt", &["2026002"]).await;
    let silent = parent(&app, &school, "Ouder Stil", &["2026001"]).await;
    let other_group = parent(&app, &school, "Ouder Groep 4", &["2026003"]).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    let post = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "School dicht door stormschade"),
            ("body", "Haal uw kind vandaag om 12 uur op."),
            ("groups", &g3),
            ("urgent", "on"),
        ],
    )
    .await;
    let urgent_rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform.outbox WHERE urgent AND subject LIKE '%stormschade%'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(urgent_rows, 3, "one urgent mail per parent of the group");
    for member in [&opens, &clicks, &silent] {
        let mail = mailbox.latest(&member.email, 1).await;
        assert!(mail.subject.contains("Dringend"), "{}", mail.subject);
        assert!(mail.text.contains("12 uur"), "{}", mail.text);
    }
    assert!(mailbox.delivered_to(&other_group.email).await.is_empty());

    // One parent opens it in the portal; another follows the link in the mail, not signed in.
    assert_eq!(
        opens
            .client
            .get(&host, &format!("/posts/{post}"))
            .await
            .status,
        200
    );
    let link = mailbox
        .latest(&clicks.email, 1)
        .await
        .link("/r/")
        .expect("a link");
    let mut anonymous = Client::new(app.addr);
    let followed = anonymous.get(&host, &link).await;
    assert_eq!(followed.status, 303);
    assert_eq!(
        followed.header("location"),
        Some(format!("/posts/{post}").as_str())
    );
    assert_eq!(anonymous.get(&host, "/r/not-a-real-link").await.status, 404);

    let page = admin
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    let read: Vec<&str> = page.split("class=\"read\">").skip(1).collect();
    let not_read: Vec<&str> = page.split("class=\"not-read\">").skip(1).collect();
    assert_eq!(read.len(), 2, "{page}");
    assert_eq!(not_read.len(), 1, "{page}");
    assert!(not_read[0].starts_with("Ouder Stil"), "{page}");
    // Parents and other teachers do not see the receipts.
    assert!(
        !opens
            .client
            .get(&host, &format!("/posts/{post}"))
            .await
            .text()
            .contains("id=\"receipts\"")
    );

    // Reminding: only the unread get a mail; not again within 15 minutes; not by others.
    let answer = teacher
        .client
        .post_form(&host, &format!("/posts/{post}/remind"), &[])
        .await;
    assert_eq!(answer.status, 403);
    admin.client.get(&host, &format!("/posts/{post}")).await;
    let answer = admin
        .client
        .post_form(&host, &format!("/posts/{post}/remind"), &[])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(
        answer.header("location"),
        Some(format!("/posts/{post}?reminded=1").as_str())
    );
    mailbox.wait_for(&silent.email, 2).await;
    let again = admin
        .client
        .post_form(&host, &format!("/posts/{post}/remind"), &[])
        .await;
    assert_eq!(again.status, 400);
    assert!(again.text().contains("remind"));
    for member in [&opens, &clicks] {
        assert_eq!(mailbox.delivered_to(&member.email).await.len(), 1);
    }
    // The reminder's link counts as reading too.
    let link = mailbox
        .latest(&silent.email, 2)
        .await
        .link("/r/")
        .expect("a link");
    assert_eq!(anonymous.get(&host, &link).await.status, 303);
    let page = admin
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(!page.contains("class=\"not-read\""), "{page}");

    let plain = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Gewoon nieuws"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let answer = admin
        .client
        .post_form(&host, &format!("/posts/{plain}/remind"), &[])
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn an_urgent_message_to_a_school_of_1000_parents_reaches_all_1000_at_the_smtp_server() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Groot", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    // 1,000 parents, each with a child in one of 34 groups.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO groups (import_key, name, year)
         SELECT 'G' || g, 'Groep ' || g, 1 + g % 8 FROM generate_series(1, 34) g;
         INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
         SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2018-01-01',
                (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % 34))
           FROM generate_series(1, 1000) n;
         INSERT INTO people (name, email, kind, roles)
         SELECT 'Ouder ' || n, 'ouder' || n || '@groot.example.nl', 'parent', '{parent}'
           FROM generate_series(1, 1000) n;
         INSERT INTO guardians (pupil_id, person_id, status, approved_at)
         SELECT p.id, pe.id, 'active', now()
           FROM pupils p JOIN people pe ON pe.email = 'ouder' || substr(p.import_key, 2) || '@groot.example.nl';",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let post = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Ontruimingsoefening"),
            ("whole_school", "on"),
            ("urgent", "on"),
        ],
    )
    .await;
    mailbox.wait_for("ouder1000@groot.example.nl", 1).await;
    let mut delivered = 0;
    for _ in 0..600 {
        delivered = mailbox.delivered_count(|to| to.ends_with("@groot.example.nl"));
        if delivered >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, 1000);
    // A parent who opens it is recorded.
    let recipients: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let n = sqlx::query_scalar("SELECT count(*) FROM post_recipients WHERE post_id = $1")
            .bind(post)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        n
    };
    assert_eq!(recipients, 1000);
    let link = mailbox
        .latest("ouder500@groot.example.nl", 1)
        .await
        .link("/r/")
        .expect("a link");
    assert_eq!(Client::new(app.addr).get(&host, &link).await.status, 303);
    let page = admin
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert_eq!(page.matches("class=\"read\">").count(), 1);
    assert_eq!(page.matches("class=\"not-read\">").count(), 999);
}

#[tokio::test]
async fn attachments_are_what_their_bytes_say_reach_only_the_posts_audience_and_download_as_files()
{
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Bijlagen", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut reader = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let mut outsider = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();
    let post = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Brief over het schoolreisje"),
            ("groups", &g3),
        ],
    )
    .await;
    let path = format!("/posts/{post}/attachments");
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

    // Files that lie about what they are, and other refusals, name the field.
    for (name, bytes) in [
        (
            "brief.pdf",
            &b"<!doctype html><script>alert(1)</script>"[..],
        ),
        (
            "plaatje.png",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        ),
        ("leeg.pdf", b""),
    ] {
        let answer = teacher
            .client
            .post_file(&host, &path, name, bytes, None)
            .await;
        assert_eq!(answer.status, 400, "{name}");
        assert!(answer.text().contains("file"), "{name}: {}", answer.text());
    }
    let too_big = vec![b'%'; 10 * 1024 * 1024 + 1];
    let answer = teacher
        .client
        .post_file(&host, &path, "groot.pdf", &too_big, None)
        .await;
    assert!([400, 413].contains(&answer.status), "{}", answer.status);
    let answer = reader
        .client
        .post_file(&host, &path, "brief.pdf", pdf, None)
        .await;
    assert_eq!(answer.status, 403, "a parent cannot attach");
    let answer = teacher
        .client
        .post_file(&host, &path, "brief.pdf", pdf, Some("wrong"))
        .await;
    assert_eq!(answer.status, 403, "a forged form");

    // A real PDF with a hostile name: kept, its name shown as text.
    let hostile = "<img src=x onerror=alert(1)>.pdf";
    let answer = teacher
        .client
        .post_file(&host, &path, hostile, pdf, None)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let page = reader
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;.pdf"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"), "{page}");
    let link = page
        .split("class=\"attachment\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the file")
        .replace("&#x2F;", "/");
    let file = reader.client.get(&host, &link).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, pdf);
    assert_eq!(file.header("content-type"), Some("application/pdf"));
    assert!(
        file.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;"))
    );
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    // Not for a parent the post does not reach, nor through another post's address.
    assert_eq!(outsider.client.get(&host, &link).await.status, 404);
    let other = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Iets anders"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let sideways = link.replace(&format!("/posts/{post}/"), &format!("/posts/{other}/"));
    assert_eq!(outsider.client.get(&host, &sideways).await.status, 404);

    // At most five per post; the author removes one.
    for n in 0..4 {
        let answer = teacher
            .client
            .post_file(&host, &path, &format!("bijlage{n}.pdf"), pdf, None)
            .await;
        assert_eq!(answer.status, 303);
    }
    let answer = teacher
        .client
        .post_file(&host, &path, "zesde.pdf", pdf, None)
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("file"));
    let answer = teacher
        .client
        .post_form(&host, &format!("{link}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(reader.client.get(&host, &link).await.status, 404);
}

#[tokio::test]
async fn parents_answer_a_notice_board_item_and_only_the_author_and_admins_see_every_answer() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Prikbord", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut anna = parent(&app, &school, "Anna", &["2026001"]).await;
    let mut bram = parent(&app, &school, "Bram", &["2026002"]).await;
    let mut outsider = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();
    let board = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "board"),
            ("title", "Wie kan vrijdag rijden?"),
            ("groups", &g3),
        ],
    )
    .await;
    let path = format!("/posts/{board}/answers");
    anna.client.get(&host, &format!("/posts/{board}")).await;
    let answer = anna
        .client
        .post_form(&host, &path, &[("body", "Ik, met 3 plekken.")])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    bram.client.get(&host, &format!("/posts/{board}")).await;
    let answer = bram
        .client
        .post_form(&host, &path, &[("body", "<b>Ik</b> ook")])
        .await;
    assert_eq!(answer.status, 303);
    let empty = bram.client.post_form(&host, &path, &[("body", "  ")]).await;
    assert_eq!(empty.status, 400);
    assert!(empty.text().contains("body"));
    outsider.client.get(&host, "/timeline").await;
    let answer = outsider
        .client
        .post_form(&host, &path, &[("body", "Ik!")])
        .await;
    assert_eq!(answer.status, 404, "the item does not reach this parent");

    let seen_by = |page: String| page.matches("class=\"answer\"").count();
    let anna_page = anna
        .client
        .get(&host, &format!("/posts/{board}"))
        .await
        .text();
    assert_eq!(seen_by(anna_page.clone()), 1);
    assert!(
        anna_page.contains("3 plekken") && !anna_page.contains("ook"),
        "{anna_page}"
    );
    let teacher_page = teacher
        .client
        .get(&host, &format!("/posts/{board}"))
        .await
        .text();
    assert_eq!(seen_by(teacher_page.clone()), 2);
    assert!(
        teacher_page.contains("&lt;b&gt;Ik&lt;&#x2F;b&gt; ook"),
        "{teacher_page}"
    );
    assert_eq!(
        seen_by(
            admin
                .client
                .get(&host, &format!("/posts/{board}"))
                .await
                .text()
        ),
        2
    );

    // News takes no answers.
    let news = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Nieuws"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let answer = anna
        .client
        .post_form(
            &host,
            &format!("/posts/{news}/answers"),
            &[("body", "Leuk")],
        )
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn post_forms_load_the_formatting_script_with_their_labels_and_it_is_served_as_javascript() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Knoppen", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;

    // Both forms of a post mark their text field and load the script with Dutch labels.
    let post = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Knoppen"),
            ("body", "Tekst"),
            ("whole_school", "on"),
        ],
    )
    .await;
    for path in ["/posts/new".to_owned(), format!("/posts/{post}/edit")] {
        let page = admin.client.get(&host, &path).await;
        assert_eq!(page.status, 200, "{path}");
        let html = page.text();
        for expected in [
            "<script src=\"/static/editor.js\" defer",
            "data-toolbar=\"Opmaak\"",
            "data-bold=\"Vet\"",
            "data-bulleted-list=\"Opsomming\"",
            "data-link-refused=\"Dit adres kan geen link worden",
            "maxlength=\"20000\" data-rich-text>",
        ] {
            assert!(html.contains(expected), "{path}: {expected} in {html}");
        }
    }
    // A page without a rich-text field loads no script at all.
    let timeline = admin.client.get(&host, "/timeline").await.text();
    assert!(!timeline.contains("<script"), "{timeline}");

    // The labels follow the person's language.
    let english = admin
        .client
        .post_form(
            &host,
            "/account/profile",
            &[("name", "Directeur"), ("language", "en")],
        )
        .await;
    assert_eq!(english.status, 303, "{}", english.text());
    let form = admin.client.get(&host, "/posts/new").await.text();
    assert!(
        form.contains("data-toolbar=\"Formatting\"") && form.contains("data-bold=\"Bold\""),
        "{form}"
    );

    // The script itself, on a school's host and the platform's, as JavaScript with the same
    // security headers as every answer.
    for on in [host.as_str(), schoolplein_tests::BASE_DOMAIN] {
        let script = app.get(on, "/static/editor.js").await;
        assert_eq!(script.status, 200, "{on}");
        assert_eq!(
            script.header("content-type"),
            Some("text/javascript; charset=utf-8"),
            "{on}"
        );
        assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(script.header("x-frame-options"), Some("DENY"));
        assert_eq!(script.header("referrer-policy"), Some("same-origin"));
        let policy = script.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("script-src 'self'") && policy.contains("style-src 'self'"),
            "{policy}"
        );
        assert!(script.header("x-request-id").is_some());
        assert_eq!(script.text(), schoolplein_kernel::EDITOR_JS);
        assert!(script.text().contains("textarea[data-rich-text]"));
    }
}

#[tokio::test]
async fn a_post_with_a_mistake_comes_back_with_everything_typed_and_the_mistake_at_its_field() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();
    let count = |app: &TestApp| {
        let pool = app.db.pool.clone();
        let id = school.id;
        async move {
            let mut tx = tenant_router::TenantTx::begin(&pool, id).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM posts")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            n
        }
    };
    admin.client.get(&host, "/posts/new").await;
    // Each mistake: the same form, 400, the message at the field, everything typed kept.
    let title = "Schoolreisje & \"Artis\"";
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("kind", "news"),
                ("title", title),
                ("body", "Lunch mee <graag>."),
            ],
            "audience",
        ),
        (
            vec![
                ("kind", "news"),
                ("title", " "),
                ("body", "Lunch mee <graag>."),
                ("groups", &g3),
            ],
            "title",
        ),
        (
            vec![
                ("kind", "agenda"),
                ("title", title),
                ("body", "Lunch mee <graag>."),
                ("groups", &g3),
                ("happens_on", "32-13-2026"),
            ],
            "happens_on",
        ),
        (
            vec![
                ("kind", "news"),
                ("title", title),
                ("body", "Lunch mee <graag>."),
                ("groups", &g3),
                ("q1_kind", "one_choice"),
                ("q1_prompt", "Welke dag?"),
                ("q1_options", "alleen één"),
            ],
            "question-1",
        ),
    ];
    for (fields, anchor) in cases {
        let page = admin.client.post_form(&host, "/posts", &fields).await;
        assert_eq!(page.status, 400, "{fields:?}: {}", page.text());
        let html = page.text();
        assert!(html.contains("id=\"post-form\""), "the form again: {html}");
        assert!(
            html.contains(&format!("href=\"#{anchor}\"")),
            "{anchor}: {html}"
        );
        assert!(html.contains("class=\"field-error\""), "{html}");
        assert!(
            html.contains("Lunch mee &lt;graag&gt;.</textarea>"),
            "the body kept: {html}"
        );
        if fields.iter().any(|(k, v)| *k == "title" && *v == title) {
            assert!(
                html.contains("value=\"Schoolreisje &amp; &quot;Artis&quot;\""),
                "the title kept: {html}"
            );
        }
        if fields.iter().any(|(k, _)| *k == "groups") {
            assert!(
                html.contains(&format!("value=\"{g3}\" id=\"group-{g3}\" checked")),
                "{html}"
            );
        }
        if anchor == "question-1" {
            assert!(html.contains("value=\"Welke dag?\""), "{html}");
            assert!(
                html.contains("<option value=\"one_choice\" selected>"),
                "{html}"
            );
        }
        if anchor == "happens_on" {
            assert!(
                html.contains("<option value=\"agenda\" selected>"),
                "{html}"
            );
        }
    }
    assert_eq!(count(&app).await, 0, "nothing written");

    // A teacher with one group finds it ticked.
    let mut teacher = school::member(&app, &school, "Juf", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let form = teacher.client.get(&host, "/posts/new").await.text();
    assert!(
        form.contains(&format!("id=\"group-{g3}\" checked")),
        "{form}"
    );
}

#[tokio::test]
async fn deleting_a_post_asks_first_and_says_what_goes_with_it() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let mut reader = school::member(&app, &school, "Ouder", &[Role::Parent]).await;
    let post = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "board"),
            ("title", "Wie helpt bij de kerstmarkt?"),
            ("whole_school", "on"),
        ],
    )
    .await;
    reader.client.get(&host, &format!("/posts/{post}")).await;
    let answered = reader
        .client
        .post_form(
            &host,
            &format!("/posts/{post}/answers"),
            &[("body", "Ik help mee!")],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.text());

    let page = admin
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(
        page.contains(&format!("href=\"/posts/{post}/delete\"")),
        "{page}"
    );
    let asked = admin
        .client
        .get(&host, &format!("/posts/{post}/delete"))
        .await;
    assert_eq!(asked.status, 200);
    let html = asked.text();
    assert!(html.contains("Wie helpt bij de kerstmarkt?"));
    assert!(html.contains("1 antwoord van ouders"), "{html}");
    assert!(html.contains("id=\"delete-post-confirm\""));
    // Asking changes nothing; a parent may not even ask.
    assert_eq!(
        admin
            .client
            .get(&host, &format!("/posts/{post}"))
            .await
            .status,
        200
    );
    assert_eq!(
        reader
            .client
            .get(&host, &format!("/posts/{post}/delete"))
            .await
            .status,
        403
    );
    let deleted = admin
        .client
        .post_form(&host, &format!("/posts/{post}/delete"), &[])
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        admin
            .client
            .get(&host, &format!("/posts/{post}"))
            .await
            .status,
        404
    );
}

/// A number the school's schema answers with (`SELECT count(*) …`).
async fn count_in(app: &TestApp, school_id: tenant_router::TenantId, sql: &str) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school_id).await.unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

/// The post's files, oldest first: `(file name, bytes)`.
async fn files_of(
    app: &TestApp,
    school_id: tenant_router::TenantId,
    post_id: i64,
) -> Vec<(String, Vec<u8>)> {
    let mut tx = TenantTx::begin(&app.db.pool, school_id).await.unwrap();
    let files = sqlx::query_as(
        "SELECT file_name, bytes FROM post_attachments WHERE post_id = $1 ORDER BY id",
    )
    .bind(post_id)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    files
}

/// The post id a published form was sent on to.
fn published(answer: &schoolplein_tests::http::RawResponse) -> i64 {
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/posts/"))
        .and_then(|id| id.parse().ok())
        .expect("the new post's address")
}

/// The token a post form carries for its files.
fn files_token(page: &str) -> String {
    page.split("name=\"files_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's files token")
        .to_owned()
}

/// A file as a multipart form sends it: `(field, file name, bytes)`.
type FilePart<'a> = (&'a str, &'a str, &'a [u8]);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01";

#[tokio::test]
async fn an_urgent_post_sent_with_files_has_them_before_its_mail_goes_out_and_the_mail_links_them()
{
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Meegestuurd", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut reader = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    let form = admin.client.get(&host, "/posts/new").await.text();
    assert!(
        form.contains("enctype=\"multipart/form-data\"") && form.contains("type=\"file\" multiple"),
        "{form}"
    );
    let answer = admin
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &files_token(&form)),
                ("kind", "news"),
                ("title", "Schooltuin onder water"),
                ("body", "Zie de brief en de plattegrond."),
                ("groups", &g3),
                ("urgent", "on"),
            ],
            &[
                ("files", "brief.pdf", PDF),
                ("files", "plattegrond.png", PNG),
            ],
        )
        .await;
    let post = published(&answer);
    let files = files_of(&app, school.id, post).await;
    assert_eq!(
        files,
        [
            ("brief.pdf".to_owned(), PDF.to_vec()),
            ("plattegrond.png".to_owned(), PNG.to_vec())
        ]
    );

    let mail = mailbox.latest(&reader.email, 1).await;
    assert!(mail.urgent);
    assert!(mail.subject.contains("Schooltuin"), "{}", mail.subject);
    for name in ["brief.pdf", "plattegrond.png"] {
        assert!(mail.text.contains(name), "{}", mail.text);
    }
    let link = mail
        .link(&format!("/posts/{post}/attachments/"))
        .expect("a link to a file");
    let file = reader.client.get(&host, &link).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, PDF, "the first link is the first file");
    let page = reader
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert_eq!(page.matches("class=\"attachment\"").count(), 2, "{page}");
}

#[tokio::test]
async fn files_sent_with_a_mistake_are_kept_for_their_author_and_form_and_go_with_the_post_once() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Bewaard", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    // A mistake in the title: the form again, the files listed as received.
    let form = teacher.client.get(&host, "/posts/new").await.text();
    let token = files_token(&form);
    let page = teacher
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &token),
                ("kind", "news"),
                ("title", " "),
                ("body", "De brief zit erbij."),
                ("groups", &g3),
            ],
            &[("files", "brief.pdf", PDF), ("files", "foto.png", PNG)],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.text());
    let html = page.text();
    assert!(html.contains("id=\"post-form\""), "{html}");
    assert!(html.contains("href=\"#title\""), "{html}");
    assert!(html.contains("class=\"field-error\""), "{html}");
    assert!(html.contains("De brief zit erbij.</textarea>"), "{html}");
    assert!(html.contains(&format!("value=\"{g3}\" id=\"group-{g3}\" checked")));
    assert!(html.contains("class=\"pending-file\">brief.pdf<"), "{html}");
    assert!(html.contains("class=\"pending-file\">foto.png<"), "{html}");
    assert_eq!(files_token(&html), token, "the same form");
    assert_eq!(
        count_in(&app, school.id, "SELECT count(*) FROM posts").await,
        0
    );
    let photo_id = html
        .split("name=\"remove_files\" value=\"")
        .nth(2)
        .and_then(|rest| rest.split('"').next())
        .expect("a remove tick for the photo")
        .to_owned();

    // Another person cannot take them with the form's token.
    let answer = admin
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &token),
                ("kind", "news"),
                ("title", "Iets anders"),
                ("whole_school", "on"),
            ],
            &[],
        )
        .await;
    let other = published(&answer);
    assert!(files_of(&app, school.id, other).await.is_empty());
    let form_back = admin
        .client
        .post_multipart(
            &host,
            "/posts",
            &[("files_token", &token), ("kind", "news"), ("title", " ")],
            &[],
        )
        .await
        .text();
    assert!(!form_back.contains("brief.pdf"), "{form_back}");

    // Another mistake, the photo ticked off: only the letter stays.
    let page = teacher
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &token),
                ("remove_files", &photo_id),
                ("kind", "agenda"),
                ("title", "Schoolreisje"),
                ("body", "De brief zit erbij."),
                ("groups", &g3),
                ("happens_on", "morgen"),
            ],
            &[("files", "", b"")],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.text());
    let html = page.text();
    assert!(html.contains("href=\"#happens_on\""), "{html}");
    assert!(html.contains("class=\"pending-file\">brief.pdf<"), "{html}");
    assert!(!html.contains("foto.png"), "{html}");

    // Corrected: the post has the letter, once, and nothing is kept any more.
    let answer = teacher
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &token),
                ("kind", "news"),
                ("title", "Schoolreisje"),
                ("body", "De brief zit erbij."),
                ("groups", &g3),
            ],
            &[("files", "", b"")],
        )
        .await;
    let post = published(&answer);
    assert_eq!(
        files_of(&app, school.id, post).await,
        [("brief.pdf".to_owned(), PDF.to_vec())]
    );
    assert_eq!(
        count_in(&app, school.id, "SELECT count(*) FROM pending_attachments").await,
        0
    );
    // Sending the same form again brings nothing along.
    let again = teacher
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &token),
                ("kind", "news"),
                ("title", "Nog een keer"),
                ("groups", &g3),
            ],
            &[],
        )
        .await;
    assert!(
        files_of(&app, school.id, published(&again))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_refused_file_brings_the_post_form_back_at_its_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Geweigerd", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let form = admin.client.get(&host, "/posts/new").await.text();
    let token = files_token(&form);
    let mut too_big = b"%PDF-1.4\n".to_vec();
    too_big.resize(10 * 1024 * 1024 + 1, b' ');
    let html = b"<!doctype html><script>alert(1)</script>".as_slice();
    let six: Vec<FilePart> = (0..6).map(|_| ("files", "brief.pdf", PDF)).collect();
    let cases: Vec<(&str, Vec<FilePart>, &str)> = vec![
        (
            "too big",
            vec![("files", "groot.pdf", &too_big)],
            "Een bestand is hoogstens 10 MB.",
        ),
        (
            "wrong type",
            vec![("files", "brief.pdf", html)],
            "Alleen pdf-",
        ),
        ("too many", six, "hoogstens 5 bestanden"),
        (
            "a good one and a bad one",
            vec![("files", "brief.pdf", PDF), ("files", "nep.png", html)],
            "Alleen pdf-",
        ),
    ];
    for (case, files, message) in cases {
        let page = admin
            .client
            .post_multipart(
                &host,
                "/posts",
                &[
                    ("files_token", &token),
                    ("kind", "news"),
                    ("title", "Met bijlagen"),
                    ("body", "Tekst blijft."),
                    ("whole_school", "on"),
                    ("urgent", "on"),
                ],
                &files,
            )
            .await;
        assert_eq!(page.status, 400, "{case}: {}", page.text());
        let html = page.text();
        assert!(html.contains("href=\"#files\""), "{case}: {html}");
        assert!(html.contains("id=\"files-error\""), "{case}: {html}");
        assert!(html.contains(message), "{case}: {html}");
        assert!(html.contains("value=\"Met bijlagen\""), "{case}: {html}");
        assert!(html.contains("Tekst blijft.</textarea>"), "{case}: {html}");
        assert!(html.contains("id=\"urgent\" checked"), "{case}: {html}");
        assert!(!html.contains("class=\"pending-file\""), "{case}: {html}");
    }
    for table in ["posts", "post_attachments", "pending_attachments"] {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(count_in(&app, school.id, &sql).await, 0, "{table}");
    }
    let mails: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.outbox WHERE subject LIKE '%bijlagen%'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(mails, 0);
}

#[tokio::test]
async fn five_files_just_under_the_limit_go_with_the_post_they_were_sent_with() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Vijf Bijlagen", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let form = admin.client.get(&host, "/posts/new").await.text();
    // Five files of almost 10 MB each: 50 MB in one request, more than any other form takes.
    let mut large = b"%PDF-1.4\n".to_vec();
    large.resize(10 * 1024 * 1024 - 1024, b' ');
    let names = ["een.pdf", "twee.pdf", "drie.pdf", "vier.pdf", "vijf.pdf"];
    let files: Vec<FilePart> = names.iter().map(|n| ("files", *n, &large[..])).collect();
    let answer = admin
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("files_token", &files_token(&form)),
                ("kind", "news"),
                ("title", "Vijf grote bijlagen"),
                ("body", "Alle formulieren voor het schoolreisje."),
                ("whole_school", "on"),
            ],
            &files,
        )
        .await;
    let post = published(&answer);
    let kept = files_of(&app, school.id, post).await;
    assert_eq!(
        kept.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        names
    );
    assert!(kept.iter().all(|(_, bytes)| *bytes == large));
}

#[tokio::test]
async fn a_tiny_multipart_post_form_without_files_publishes() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Klein", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    admin.client.get(&host, "/posts/new").await;
    // No token for the files and no file part at all, as a hand-made form might send.
    let answer = admin
        .client
        .post_multipart(
            &host,
            "/posts",
            &[("kind", "news"), ("title", "Kort"), ("whole_school", "on")],
            &[],
        )
        .await;
    let post = published(&answer);
    assert!(files_of(&app, school.id, post).await.is_empty());
    // As a browser sends it: an empty file part for a field left empty.
    let answer = admin
        .client
        .post_multipart(
            &host,
            "/posts",
            &[
                ("kind", "news"),
                ("title", "Ook kort"),
                ("whole_school", "on"),
            ],
            &[("files", "", b"")],
        )
        .await;
    let post = published(&answer);
    assert!(files_of(&app, school.id, post).await.is_empty());
    // A multipart form without its token has expired.
    let answer = admin
        .client
        .post_file_as(&host, "/posts", "files", "brief.pdf", PDF, Some("wrong"))
        .await;
    assert_eq!(answer.status, 403);
}

#[tokio::test]
async fn an_edit_with_a_mistake_comes_back_with_what_was_typed() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Bijgewerkt", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let post = publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "agenda"),
            ("title", "Sportdag"),
            ("happens_on", "2026-06-12"),
            ("whole_school", "on"),
        ],
    )
    .await;
    let path = format!("/posts/{post}/edit");
    admin.client.get(&host, &path).await;
    for (fields, anchor) in [
        (
            vec![
                ("title", " "),
                ("body", "Neem <drinken> mee."),
                ("happens_on", "2026-06-13"),
            ],
            "title",
        ),
        (
            vec![
                ("title", "Sportdag & spelletjes"),
                ("body", "Neem <drinken> mee."),
                ("happens_on", "13 juni"),
            ],
            "happens_on",
        ),
    ] {
        let page = admin.client.post_form(&host, &path, &fields).await;
        assert_eq!(page.status, 400, "{anchor}: {}", page.text());
        let html = page.text();
        assert!(html.contains("id=\"edit-form\""), "{html}");
        assert!(html.contains("class=\"error-summary\""), "{html}");
        assert!(html.contains(&format!("href=\"#{anchor}\"")), "{html}");
        assert!(html.contains(&format!("id=\"{anchor}-error\"")), "{html}");
        assert!(
            html.contains("Neem &lt;drinken&gt; mee.</textarea>"),
            "{html}"
        );
        if anchor == "title" {
            assert!(html.contains("value=\"2026-06-13\""), "{html}");
        } else {
            assert!(html.contains("value=\"13 juni\""), "{html}");
            assert!(
                html.contains("value=\"Sportdag &amp; spelletjes\""),
                "{html}"
            );
        }
    }
    let title: String = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let title = sqlx::query_scalar("SELECT title FROM posts WHERE id = $1")
            .bind(post)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        title
    };
    assert_eq!(title, "Sportdag", "nothing saved");
}
