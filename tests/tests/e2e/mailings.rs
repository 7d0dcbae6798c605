//! Mailings by staff (C5): a post sent as a mailing reaches each of 500 parents and its writer
//! once; a message sent as a mailing goes to a group's primary contacts only where the school
//! chose so (A8); answers by mail come back into the portal; the one-click unsubscribe turns
//! mailings off for exactly that person; the delivery figures show it all (N7).

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::inbound::{notices_at, receive, sample};
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, eventually, school_host};
use tenant_router::{TenantEntry, TenantTx};

async fn exec(app: &TestApp, school: &TenantEntry, sql: &str) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// An answer from a phone (the iPhone sample) by `from` to `reply_to`.
async fn answer_by_mail(db: &TestDb, reply_to: &str, from: &str) -> Output {
    let message = sample(
        "iphone_reply",
        &[
            ("{{REPLY_ADDRESS}}", reply_to),
            ("{{PARENT_ADDRESS}}", from),
            ("{{ORIGINAL_MESSAGE_ID}}", "<x@schoolplein.test>"),
        ],
    );
    receive(db, &message, &[], &[]).await
}

/// Mails per recipient at the SMTP server.
fn per_recipient(mailbox: &Mailbox) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for mail in mailbox.smtp.received() {
        for to in mail.rcpt_to {
            *counts.entry(to.to_ascii_lowercase()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_as_mailing_reaches_500_parents_and_its_writer_once_each_and_answers_come_back() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    exec(
        &app,
        &school,
        "INSERT INTO groups (import_key, name, year) VALUES ('G8M', 'Groep 8m', 8);
         INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
         SELECT 'M' || n, 'Kind', 'Nummer ' || n, DATE '2015-05-01',
                (SELECT id FROM groups WHERE import_key = 'G8M')
           FROM generate_series(1, 500) n;",
    )
    .await;
    let mut parents = Vec::new();
    for n in 1..=500 {
        let email = format!("ouder{n}@mailing.test");
        let enrolled = enroll(
            &app.state,
            school.id,
            &format!("Ouder {n}"),
            &EmailAddress::parse(&email).unwrap(),
            &[Role::Parent],
            None,
        )
        .await
        .unwrap();
        parents.push((enrolled.person_id, email));
    }
    let ids: Vec<String> = parents.iter().map(|(id, _)| id.to_string()).collect();
    exec(
        &app,
        &school,
        &format!(
            "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
             SELECT p.id, x.person_id, 'active', now()
               FROM unnest(ARRAY[{}]::bigint[]) WITH ORDINALITY AS x(person_id, n)
               JOIN pupils p ON p.import_key = 'M' || x.n",
            ids.join(",")
        ),
    )
    .await;
    let group: i64 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G8M",
    )
    .await;
    let group = group.to_string();

    // Urgent and mailing at once is one choice too many: refused at the field, nothing sent.
    admin.client.get(&host, "/posts/new").await;
    let both = admin
        .client
        .post_form(
            &host,
            "/posts",
            &[
                ("kind", "news"),
                ("title", "Schoolreis"),
                ("body", "x"),
                ("groups", &group),
                ("urgent", "on"),
                ("mailing", "on"),
            ],
        )
        .await;
    assert_eq!(both.status, 400);
    assert!(
        both.text().contains("Kies dringend of mailing"),
        "{}",
        both.text()
    );

    let post = school::publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Schoolreis naar Artis"),
            (
                "body",
                "Beste ouders,\n\nDe schoolreis gaat op 15 december naar Artis.",
            ),
            ("groups", &group),
            ("mailing", "on"),
        ],
    )
    .await;
    let all_arrived = eventually(Duration::from_secs(60), || async {
        per_recipient(&mailbox).len() >= 501
    })
    .await;
    assert!(
        all_arrived.is_some(),
        "{} arrived",
        per_recipient(&mailbox).len()
    );
    // Nothing more comes after a while: each once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = per_recipient(&mailbox);
    assert_eq!(counts.len(), 501);
    assert!(counts.values().all(|c| *c == 1), "each once: {counts:?}");
    for (_, email) in &parents {
        assert_eq!(counts.get(email.as_str()), Some(&1), "{email}");
    }
    assert_eq!(
        counts.get(admin.email.to_ascii_lowercase().as_str()),
        Some(&1)
    );
    let mail = mailbox.latest(&parents[7].1, 1).await;
    assert!(
        mail.text
            .contains("De schoolreis gaat op 15 december naar Artis."),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Anna Admin"));
    let reply_to = mail.reply_to.clone().expect("its own reply address");
    assert!(reply_to.starts_with("reply+"), "{reply_to}");
    assert!(mail.list_unsubscribe.is_some());
    let copy = mailbox.latest(&admin.email, 1).await;
    assert!(
        copy.subject.starts_with("Kopie: Schoolreis naar Artis"),
        "{}",
        copy.subject
    );
    assert!(
        copy.text
            .contains("Kopie van uw mailing aan 500 ontvangers"),
        "{}",
        copy.text
    );
    assert!(copy.reply_to.is_none_or(|r| !r.starts_with("reply+")));

    // The writer sees per parent that the mail went, and the totals.
    let sent_all = eventually(Duration::from_secs(10), || {
        let mut client = admin.client.clone();
        let host = host.clone();
        async move {
            let page = client.get(&host, &format!("/posts/{post}")).await.text();
            page.contains("<span class=\"count-sent\">500</span>")
        }
    })
    .await;
    let page = admin
        .client
        .get(&host, &format!("/posts/{post}"))
        .await
        .text();
    assert!(sent_all.is_some(), "{page}");
    assert!(
        page.contains("id=\"sent-as-mailing\"")
            && page.contains("<span class=\"count-read\">0</span>")
    );

    // An answer by mail becomes a conversation with the writer.
    let out = answer_by_mail(&app.db, &reply_to, &parents[7].1).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inbox = admin.client.get(&host, "/messages").await.text();
    assert!(inbox.contains("Re: Schoolreis naar Artis"), "{inbox}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_as_mailing_goes_to_primary_contacts_answers_join_it_and_unsubscribe_holds() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    // Sanne (2026001) has two parents, Petra her primary contact; Mees (2026002) one, without.
    let mut petra = school::parent(&app, &school, "Petra Pieters", &["2026001"]).await;
    let mut paul = school::parent(&app, &school, "Paul Pieters", &["2026001"]).await;
    let mut maria = school::parent(&app, &school, "Maria Mulder", &["2026002"]).await;
    exec(
        &app,
        &school,
        &format!(
            "UPDATE guardians SET is_primary = true WHERE person_id = {}",
            petra.person_id
        ),
    )
    .await;
    let group = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    let group_address = format!("group:{group}");

    // The school sends group mail to primary contacts only (A8), on its settings page.
    admin.client.get(&host, "/admin/settings").await;
    let settings = admin.client.get(&host, "/admin/settings").await.text();
    assert!(settings.contains("id=\"group_mail_primary_only\""));
    exec(
        &app,
        &school,
        "UPDATE school_settings SET group_mail_primary_only = true",
    )
    .await;

    // A parent cannot send a mailing.
    petra.client.get(&host, "/messages/new").await;
    let refused = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("subject", "Vraag"),
                ("body", "Mag dit?"),
                (&format!("person:{}", teacher.person_id), "to"),
                ("mailing", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("Alleen medewerkers"));

    teacher.client.get(&host, "/messages/new").await;
    let sent = teacher
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("subject", "Luizencontrole"),
                ("body", "Beste ouders,\n\nMaandag is er luizencontrole."),
                (&group_address, "to"),
                ("mailing", "on"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.text());
    let conversation: i64 = sent
        .header("location")
        .and_then(|l| l.strip_prefix("/messages/"))
        .and_then(|l| l.split('#').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    let petra_mail = mailbox.latest(&petra.email, 1).await;
    let maria_mail = mailbox.latest(&maria.email, 1).await;
    let copy = mailbox.latest(&teacher.email, 1).await;
    assert!(petra_mail.text.contains("Maandag is er luizencontrole."));
    assert!(
        copy.text.contains("Kopie van uw mailing aan 2 ontvangers"),
        "{}",
        copy.text
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        mailbox.delivered_to(&paul.email).await.is_empty(),
        "not the primary contact"
    );
    // Paul reads it in the portal, and his notice (N3) still comes; the mailed ones need none.
    let page = paul
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        notices_at(&app, 6).await,
        0,
        "Paul read it; Petra and Maria were mailed"
    );

    // Petra answers the mailing by mail: it joins the conversation, to the teacher.
    let reply_to = petra_mail.reply_to.clone().expect("a reply address");
    let out = answer_by_mail(&app.db, &reply_to, &petra.email).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = teacher
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(
        page.contains("Dank je wel! Sanne is morgen weer op school."),
        "{page}"
    );
    // The teacher's figures: mailed to Petra and Maria.
    let mailed = eventually(Duration::from_secs(10), || {
        let mut client = teacher.client.clone();
        let host = host.clone();
        async move {
            let page = client
                .get(&host, &format!("/messages/{conversation}"))
                .await
                .text();
            page.matches("class=\"mail-state\">gemaild<").count() == 2
        }
    })
    .await;
    assert!(mailed.is_some(), "{page}");

    // Maria turns mailings off in one click, without signing in; the next one skips her only.
    let unsubscribe = maria_mail
        .list_unsubscribe
        .clone()
        .expect("an unsubscribe link");
    let path = &unsubscribe[unsubscribe.find("/unsubscribe/").unwrap()..];
    let mut anonymous = Client::new(app.addr);
    let done = anonymous
        .post_raw(&host, path, "List-Unsubscribe=One-Click")
        .await;
    assert!(done.status < 400, "{}", done.text());
    teacher.client.get(&host, "/messages/new").await;
    let again = teacher
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("subject", "Sportdag"),
                ("body", "Vrijdag is de sportdag."),
                (&group_address, "to"),
                ("mailing", "on"),
            ],
        )
        .await;
    assert_eq!(again.status, 303);
    mailbox.wait_for(&petra.email, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mailbox.delivered_to(&maria.email).await.len(), 1);
    // She still reads it in the portal.
    let inbox = maria.client.get(&host, "/messages").await.text();
    assert!(inbox.contains("Sportdag"));
}
