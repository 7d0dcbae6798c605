//! Questionnaires in posts (C3): answers once per family or per child, shared by partners in
//! joint use, checked field by field; the live tally; reminders of those who have not
//! answered; recipient lists resolved at the moment a post is sent.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, parent, publish};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, school_host};
use tenant_router::{TenantEntry, TenantTx};

/// Runs one statement in the school's schema.
async fn exec(app: &TestApp, school: &TenantEntry, sql: &'static str) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn count(app: &TestApp, school: &TenantEntry, sql: &'static str, post: i64) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let n = sqlx::query_scalar(sql)
        .bind(post)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

/// The ids of a post's questions, in order.
async fn questions(app: &TestApp, school: &TenantEntry, post: i64) -> Vec<String> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM questions WHERE post_id = $1 ORDER BY position")
            .bind(post)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    ids.into_iter().map(|id| id.to_string()).collect()
}

async fn respond(
    client: &mut Client,
    host: &str,
    post: i64,
    fields: &[(&str, &str)],
) -> (u16, String) {
    client.get(host, &format!("/posts/{post}")).await;
    let answer = client
        .post_form(host, &format!("/posts/{post}/responses"), fields)
        .await;
    (answer.status, answer.text())
}

#[tokio::test]
async fn parents_answer_once_per_family_partners_share_staff_see_the_tally_and_remind_the_rest() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Vragen", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut mother = parent(&app, &school, "Moeder Aa", &["2026001"]).await;
    let mut father = parent(&app, &school, "Vader Aa", &["2026001"]).await;
    let mut other = parent(&app, &school, "Ouder Bee", &["2026002"]).await;
    let mut group_4 = parent(&app, &school, "Ouder Vier", &["2026003"]).await;
    // Mother and father are partners in joint use.
    {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        for (me, partner) in [
            (mother.person_id, father.person_id),
            (father.person_id, mother.person_id),
        ] {
            sqlx::query("UPDATE people SET partner_id = $2 WHERE id = $1")
                .bind(me)
                .bind(partner)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    // A deadline in the past, or a choice question with one option, is refused by field.
    teacher.client.get(&host, "/posts/new").await;
    for (fields, field) in [
        (
            vec![
                ("q1_kind", "yes_no"),
                ("q1_prompt", "Komt u?"),
                ("answers_until", "2001-01-01T12:00"),
            ],
            "answers_until",
        ),
        (
            vec![
                ("q1_kind", "one_choice"),
                ("q1_prompt", "Hoe laat?"),
                ("q1_options", "17:00"),
            ],
            "q1_options",
        ),
    ] {
        let mut all = vec![
            ("kind", "news"),
            ("title", "Kijkavond"),
            ("groups", g3.as_str()),
        ];
        all.extend(fields);
        let answer = teacher.client.post_form(&host, "/posts", &all).await;
        assert_eq!(answer.status, 400, "{all:?}");
        assert!(answer.text().contains(field), "{field}: {}", answer.text());
    }
    assert_eq!(
        count(&app, &school, "SELECT count(*) FROM posts WHERE id > $1", 0).await,
        0
    );

    let post = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Kijkavond groep 3"),
            ("body", "Komt u kijken?"),
            ("groups", &g3),
            ("q1_kind", "yes_no"),
            ("q1_prompt", "Komt u naar de kijkavond?"),
            ("q2_kind", "one_choice"),
            ("q2_prompt", "Hoe laat?"),
            ("q2_options", "17:00\n18:00"),
            ("q3_kind", "many_choices"),
            ("q3_prompt", "Wat neemt u mee?"),
            ("q3_options", "taart\n<img src=x onerror=alert(1)>\ndrinken"),
            ("q5_kind", "short_text"),
            ("q5_prompt", "Opmerking"),
            ("answers_until", "2099-06-01T12:00"),
        ],
    )
    .await;
    let q = questions(&app, &school, post).await;
    assert_eq!(q.len(), 4, "the empty slot is skipped");
    let field = |n: usize| format!("a_0_{}", q[n]);
    let (f1, f2, f3, f4) = (field(0), field(1), field(2), field(3));

    // Group 4's parent does not see it, and cannot answer it.
    assert_eq!(
        group_4
            .client
            .get(&host, &format!("/posts/{post}"))
            .await
            .status,
        404
    );
    let (status, _) = respond(&mut group_4.client, &host, post, &[(&f1, "yes")]).await;
    assert_eq!(status, 404);

    // A missing answer, an option that is not there, two choices for one: the field is named,
    // nothing is written.
    for (fields, named) in [
        (vec![(f2.as_str(), "0")], f1.as_str()),
        (vec![(f1.as_str(), "yes"), (f2.as_str(), "7")], f2.as_str()),
        (
            vec![(f1.as_str(), "yes"), (f2.as_str(), "0"), (f2.as_str(), "1")],
            f2.as_str(),
        ),
    ] {
        let (status, text) = respond(&mut mother.client, &host, post, &fields).await;
        assert_eq!(status, 400, "{fields:?}");
        assert!(text.contains(named), "{named}: {text}");
    }
    let responses = "SELECT count(*) FROM responses WHERE post_id = $1";
    assert_eq!(count(&app, &school, responses, post).await, 0);

    // Until she answers, her home page asks her to, with the deadline; the timeline's card
    // is marked as asking questions.
    let home = mother.client.get(&host, "/").await.text();
    let due = &home[home
        .find("class=\"questionnaire-due\"")
        .expect("on her to-do list")..];
    let due = &due[..due.find("</li>").unwrap()];
    assert!(
        due.contains("Kijkavond groep 3") && due.contains("2099"),
        "{due}"
    );
    let timeline = mother.client.get(&host, "/timeline").await.text();
    let card = &timeline[timeline.find(&format!("id=\"post-{post}\"")).unwrap()..];
    let card = &card[..card.find("</li>").unwrap()];
    assert!(card.contains("class=\"mark questions\""), "{card}");

    let (status, text) = respond(
        &mut mother.client,
        &host,
        post,
        &[
            (&f1, "yes"),
            (&f2, "1"),
            (&f3, "0"),
            (&f3, "2"),
            (&f4, "<script>alert('x')</script>"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{text}");
    // Answered: gone from her to-do list, and from her partner's (they share one answer).
    assert!(
        !mother
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("class=\"questionnaire-due\"")
    );
    assert!(
        !father
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("class=\"questionnaire-due\""),
        "the partner's answer counts"
    );
    // The partner sees the shared answer and changes it: still one answer.
    let page = father
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(
        page.contains("Beantwoord door Moeder Aa") || page.contains("Answered by Moeder Aa"),
        "{page}"
    );
    assert!(
        page.contains(&format!("name=\"{f1}\" value=\"yes\" checked")),
        "{page}"
    );
    let (status, _) = respond(&mut father.client, &host, post, &[(&f1, "no"), (&f2, "0")]).await;
    assert_eq!(status, 303);
    assert_eq!(
        count(&app, &school, responses, post).await,
        1,
        "partners share one answer"
    );

    // The tally: live, per option with names; text stays text.
    let tally = teacher
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(tally.contains("id=\"tally\""), "{tally}");
    assert!(
        tally.contains("2 / 3"),
        "mother and father answered, Bee not: {tally}"
    );
    assert!(tally.contains("Ouder Bee"), "{tally}");
    assert!(
        tally.contains("(Moeder Aa)"),
        "a family answer names no child: {tally}"
    );
    assert!(!tally.contains("<script>alert"), "{tally}");
    assert!(!tally.contains("<img src=x"), "{tally}");
    assert!(
        tally.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{tally}"
    );
    // Nothing of the tally for parents.
    assert!(!page.contains("id=\"tally\""));

    // Reminding those who have not answered: only Bee; not again within 15 minutes; not by a
    // parent.
    let answer = mother
        .client
        .post_form(&host, &format!("/posts/{post}/remind-unanswered"), &[])
        .await;
    assert_eq!(answer.status, 403);
    let answer = teacher
        .client
        .post_form(&host, &format!("/posts/{post}/remind-unanswered"), &[])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(
        answer.header("location"),
        Some(format!("/posts/{post}?reminded=1").as_str())
    );
    let mail = mailbox.latest(&other.email, 1).await;
    assert!(mail.text.contains("Kijkavond groep 3"), "{}", mail.text);
    assert!(
        mail.text.contains(&format!("/posts/{post}")),
        "{}",
        mail.text
    );
    let again = teacher
        .client
        .post_form(&host, &format!("/posts/{post}/remind-unanswered"), &[])
        .await;
    assert_eq!(again.status, 400);
    assert!(mailbox.delivered_to(&mother.email).await.is_empty());

    // Recipient lists, resolved when a post is sent: made now, then a pupil of group 4 moves
    // into group 3 (their parent has not answered either).
    teacher.client.get(&host, "/recipient-lists").await;
    for (name, rule, key, value) in [
        (
            "Nog geen antwoord",
            "not_answered",
            "post",
            post.to_string(),
        ),
        ("Komt niet", "answered", "answer", format!("{}:0", q[0])),
        ("Ouders groep 3", "group", "group", g3.clone()),
    ] {
        let answer = teacher
            .client
            .post_form(
                &host,
                "/recipient-lists",
                &[("name", name), ("rule", rule), (key, &value)],
            )
            .await;
        assert_eq!(answer.status, 303, "{name}: {}", answer.text());
    }
    // Not a question of this teacher's, or an option that does not exist.
    let answer = teacher
        .client
        .post_form(
            &host,
            "/recipient-lists",
            &[
                ("name", "Fout"),
                ("rule", "answered"),
                ("answer", &format!("{}:9", q[1])),
            ],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("answer"));
    exec(
        &app,
        &school,
        "UPDATE pupils SET group_id = (SELECT id FROM groups WHERE import_key = 'G3B')
          WHERE import_key = '2026003'",
    )
    .await;
    let lists = teacher.client.get(&host, "/recipient-lists").await.text();
    let list_id = |name: &str| -> String {
        lists
            .split("<li class=\"recipient-list\" data-id=\"")
            .skip(1)
            .find(|item| item.contains(name))
            .and_then(|item| item.split('"').next())
            .unwrap_or_else(|| panic!("{name} in {lists}"))
            .to_owned()
    };
    let not_answered = list_id("Nog geen antwoord");
    let follow_up = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Laatste kans"),
            ("recipient_list", &not_answered),
        ],
    )
    .await;
    for (member, sees) in [
        (&mut other, true),
        (&mut group_4, true),
        (&mut mother, false),
        (&mut father, false),
    ] {
        let status = member
            .client
            .get(&host, &format!("/posts/{follow_up}"))
            .await
            .status;
        assert_eq!(
            status == 200,
            sees,
            "{} sees the follow-up: {status}",
            member.email
        );
    }
    let no_comers = publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Jammer dat u niet komt"),
            ("recipient_list", &list_id("Komt niet")),
        ],
    )
    .await;
    for (member, sees) in [
        (&mut other, false),
        (&mut mother, true),
        (&mut father, true),
    ] {
        let status = member
            .client
            .get(&host, &format!("/posts/{no_comers}"))
            .await
            .status;
        assert_eq!(status == 200, sees, "{} sees it: {status}", member.email);
    }
    // A list and groups at once is refused; a list that is not the teacher's is refused.
    let answer = teacher
        .client
        .post_form(
            &host,
            "/posts",
            &[
                ("kind", "news"),
                ("title", "x"),
                ("groups", &g3),
                ("recipient_list", &not_answered),
            ],
        )
        .await;
    assert_eq!(answer.status, 400);
    let answer = teacher
        .client
        .post_form(
            &host,
            "/posts",
            &[
                ("kind", "news"),
                ("title", "x"),
                ("recipient_list", "999999"),
            ],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("recipient_list"));

    // Lists are deleted by staff who may use them; not by a parent.
    let komt_niet = list_id("Komt niet");
    let answer = other
        .client
        .post_form(&host, &format!("/recipient-lists/{komt_niet}/delete"), &[])
        .await;
    assert_eq!(answer.status, 403);
    let answer = teacher
        .client
        .post_form(&host, &format!("/recipient-lists/{komt_niet}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    let lists = teacher.client.get(&host, "/recipient-lists").await.text();
    assert!(!lists.contains("Komt niet"), "{lists}");
    assert!(lists.contains("Nog geen antwoord"), "{lists}");

    // After the deadline answers are closed.
    exec(
        &app,
        &school,
        "UPDATE posts SET answers_until = now() - interval '1 minute'",
    )
    .await;
    let (status, text) = respond(&mut other.client, &host, post, &[(&f1, "yes"), (&f2, "0")]).await;
    assert_eq!(status, 400);
    assert!(text.contains("answers_until"), "{text}");
}

#[tokio::test]
async fn a_questionnaire_per_child_has_a_section_for_each_child_in_its_audience() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Per Kind", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut two = parent(
        &app,
        &school,
        "Ouder Twee",
        &["2026001", "2026002", "2026003"],
    )
    .await;
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
            ("title", "Schoolreis"),
            ("groups", &g3),
            ("q1_kind", "yes_no"),
            ("q1_prompt", "Gaat uw kind mee?"),
            ("per_child", "on"),
        ],
    )
    .await;
    let q = questions(&app, &school, post).await;
    let pupil = |key: &'static str| {
        school::id(
            &app,
            &school,
            "SELECT id FROM pupils WHERE import_key = $1",
            key,
        )
    };
    let (first, second, in_group_4) = (
        pupil("2026001").await,
        pupil("2026002").await,
        pupil("2026003").await,
    );
    let page = two
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(page.contains(&format!("id=\"section-{first}\"")), "{page}");
    assert!(page.contains(&format!("id=\"section-{second}\"")), "{page}");
    assert!(
        !page.contains(&format!("id=\"section-{in_group_4}\"")),
        "only group 3's children: {page}"
    );
    let f_first = format!("a_{first}_{}", q[0]);
    let f_second = format!("a_{second}_{}", q[0]);
    // Both sections at once; one missing names its field and writes neither.
    let (status, text) = respond(&mut two.client, &host, post, &[(&f_first, "yes")]).await;
    assert_eq!(status, 400);
    assert!(text.contains(&f_second), "{text}");
    let (status, _) = respond(
        &mut two.client,
        &host,
        post,
        &[(&f_first, "yes"), (&f_second, "no")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        count(
            &app,
            &school,
            "SELECT count(*) FROM responses WHERE post_id = $1 AND pupil_id IS NOT NULL",
            post
        )
        .await,
        2
    );
    let tally = admin
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(tally.contains("1 / 1"), "{tally}");
}
