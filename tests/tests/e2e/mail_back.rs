//! Mail coming back (C4, N4): `schoolplein mail receive` as a mail server runs it, fed the
//! real-world samples in `tests/fixtures/inbound`. An answer from a phone joins its
//! conversation with its own text only; forged, expired, misdirected, automatic, malformed and
//! huge messages are refused or dropped with nothing written; delivery reports from Postfix,
//! Exchange, Gmail and qmail fail exactly the mail they are about, and a delay warning
//! changes nothing. Mail signed by the platform verifies with an independent DKIM verifier.

use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::inbound::{clock_at, notices_at, receive, sample, stderr};
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school;
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, eventually, school_host};
use tenant_router::{TenantEntry, TenantTx};

/// How many messages the school holds.
async fn messages_in(app: &TestApp, school: &TenantEntry) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let count = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    count
}

/// Sends a message from the form to `to`; the conversation it went into.
async fn write(client: &mut Client, host: &str, to: &str, subject: &str, body: &str) -> i64 {
    client.get(host, "/messages/new").await;
    let answer = client
        .post_form(
            host,
            "/messages",
            &[
                ("action", "send"),
                ("subject", subject),
                ("body", body),
                (to, "to"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/messages/"))
        .and_then(|l| l.split('#').next())
        .and_then(|id| id.parse().ok())
        .expect("the conversation's address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_by_mail_joins_its_conversation_and_bad_ones_are_refused_with_nothing_written() {
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
    let petra = school::parent(&app, &school, "Petra Pieters", &["2026001"]).await;
    let petra_address = format!("person:{}", petra.person_id);
    let conversation = write(
        &mut teacher.client,
        &host,
        &petra_address,
        "Gymles morgen",
        "Is Sanne morgen weer beter?",
    )
    .await;
    assert_eq!(notices_at(&app, 6).await, 1);
    let notice = mailbox.latest(&petra.email, 1).await;
    let reply_to = notice
        .reply_to
        .clone()
        .expect("the notice's own reply address");
    assert!(
        reply_to.starts_with(&format!("reply+{}-", school.id.get()))
            && reply_to.ends_with("@post.schoolplein.test"),
        "{reply_to}"
    );
    assert!(
        notice.text.contains("op deze mail antwoorden"),
        "{}",
        notice.text
    );
    let fill = |from: &str| {
        vec![
            ("{{REPLY_ADDRESS}}", reply_to.clone()),
            ("{{PARENT_ADDRESS}}", from.to_owned()),
            ("{{ORIGINAL_MESSAGE_ID}}", notice.message_id.clone()),
        ]
    };
    let filled = |name: &str, from: &str| {
        let fill = fill(from);
        let fill: Vec<(&str, &str)> = fill.iter().map(|(k, v)| (*k, v.as_str())).collect();
        sample(name, &fill)
    };

    // Her answer from her phone: her own text, without the quoted mail or the phone's footer.
    let before = messages_in(&app, &school).await;
    let taken = receive(&app.db, &filled("iphone_reply", &petra.email), &[], &[]).await;
    assert!(taken.status.success(), "{}", stderr(&taken));
    assert_eq!(messages_in(&app, &school).await, before + 1);
    let page = teacher
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(
        page.contains("Dank je wel! Sanne is morgen weer op school.")
            && page.contains("Groetjes, Noëlle"),
        "{page}"
    );
    assert!(
        !page.contains("Verstuurd vanaf mijn iPhone") && !page.contains("het volgende geschreven")
    );
    // From Outlook, with its header block and signature: taken the same way.
    let outlook = receive(
        &app.db,
        &filled("outlook_reply", &petra.email.to_uppercase()),
        &[],
        &[],
    )
    .await;
    assert!(outlook.status.success(), "{}", stderr(&outlook));
    let page = teacher
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(page.contains("Zijn EpiPen zit in het voorvak") && !page.contains("Verzonden: "));
    let before = messages_in(&app, &school).await;

    // Each refusal says why, with its sysexits code, and writes nothing.
    let refusals: Vec<Refusal> = vec![
        (
            "another sender",
            filled("iphone_reply", "iemand@anders.nl"),
            vec![],
            vec![],
            77,
            "address",
        ),
        (
            "a guessed address",
            sample(
                "forged_reply",
                &[
                    ("{{TENANT_ID}}", &school.id.get().to_string()),
                    ("{{PARENT_ADDRESS}}", &petra.email),
                    ("{{ORIGINAL_MESSAGE_ID}}", &notice.message_id),
                ],
            ),
            vec![],
            vec![],
            67,
            "no such address",
        ),
        (
            "not a reply address",
            filled("iphone_reply", &petra.email),
            vec!["--recipient", "noreply@post.schoolplein.test"],
            vec![],
            67,
            "no such address",
        ),
        (
            "not a mail",
            sample("malformed", &[]),
            vec![],
            vec![],
            65,
            "not a mail message",
        ),
        (
            "too large",
            {
                let mut huge = filled("iphone_reply", &petra.email);
                huge.extend(std::iter::repeat_n(b'x', 80_000));
                huge
            },
            vec![],
            vec![("SCHOOLPLEIN__MAIL__INBOUND_MAX_BYTES", "70000")],
            65,
            "too large",
        ),
    ];
    for (case, message, args, env, code, reason) in refusals {
        let out = receive(&app.db, &message, &args, &env).await;
        assert_eq!(out.status.code(), Some(code), "{case}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{case}: {}", stderr(&out));
        assert_eq!(messages_in(&app, &school).await, before, "{case}");
    }
    // Automatic answers are dropped without a word (answering them would only make more).
    for name in ["out_of_office", "vacation_precedence_bulk"] {
        let out = receive(&app.db, &filled(name, &petra.email), &[], &[]).await;
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(messages_in(&app, &school).await, before, "{name}");
    }
    // An expired reply address is refused with the advice to answer in the portal.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE reply_addresses SET expires_at = now() - interval '1 day'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let expired = receive(&app.db, &filled("iphone_reply", &petra.email), &[], &[]).await;
    assert_eq!(expired.status.code(), Some(67), "{}", stderr(&expired));
    assert!(stderr(&expired).contains("expired"));
    assert_eq!(messages_in(&app, &school).await, before);
    // A month after it expired, the night's clock forgets it: then it is no address at all.
    let night = (chrono::Utc::now() + chrono::Duration::days(31))
        .date_naive()
        .and_hms_opt(schoolplein_mailing::schedule::FORGET_AT_HOUR, 0, 0)
        .unwrap()
        .and_utc();
    clock_at(&app, night).await;
    let forgotten = receive(&app.db, &filled("iphone_reply", &petra.email), &[], &[]).await;
    assert_eq!(forgotten.status.code(), Some(67), "{}", stderr(&forgotten));
    assert!(stderr(&forgotten).contains("no such address"));

    // A notice that names two conversations sends its answer back: it would not know where.
    write(&mut teacher.client, &host, &petra_address, "Een", "Eerste").await;
    write(&mut teacher.client, &host, &petra_address, "Twee", "Tweede").await;
    assert_eq!(notices_at(&app, 12).await, 1);
    let folded = mailbox.latest(&petra.email, 2).await;
    assert!(!folded.text.contains("op deze mail antwoorden"));
    let several = folded.reply_to.clone().expect("a reply address");
    let before = messages_in(&app, &school).await;
    let out = receive(
        &app.db,
        &sample(
            "iphone_reply",
            &[
                ("{{REPLY_ADDRESS}}", &several),
                ("{{PARENT_ADDRESS}}", &petra.email),
                ("{{ORIGINAL_MESSAGE_ID}}", &folded.message_id),
            ],
        ),
        &[],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(67), "{}", stderr(&out));
    assert!(stderr(&out).contains("several conversations"));
    assert_eq!(messages_in(&app, &school).await, before);
}

/// A message refused: what the case is, the message, the arguments and environment of the
/// command, and the exit code and words it must give.
type Refusal<'a> = (
    &'a str,
    Vec<u8>,
    Vec<&'a str>,
    Vec<(&'a str, &'a str)>,
    i32,
    &'a str,
);

/// `(failed, last error)` of the outbox row with this Message-ID.
async fn outcome(app: &TestApp, message_id: &str) -> (bool, Option<String>) {
    sqlx::query_as(
        "SELECT failed_at IS NOT NULL, last_error FROM platform.outbox WHERE message_id = $1",
    )
    .bind(message_id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

async fn undeliverable(app: &TestApp, address: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM platform.undeliverable_addresses WHERE address = lower($1))",
    )
    .bind(address)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_reports_fail_exactly_their_mail_and_a_delay_or_a_forgery_changes_nothing() {
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
    let mut petra = school::parent(&app, &school, "Petra Pieters", &["2026001"]).await;
    // One mail to each address, as the worker sends it: from its own bounce address.
    let addresses: Vec<String> = (0..7).map(|n| format!("ouder{n}@voorbeeld.nl")).collect();
    let mut addresses = addresses;
    addresses[0] = petra.email.clone();
    for address in &addresses {
        sqlx::query(
            "INSERT INTO platform.outbox (tenant_id, recipient, subject, body_text, body_html,
                                          message_id)
             VALUES ($1, $2, 'Nieuws', 'x', 'x', '<' || gen_random_uuid() || '@schoolplein.test>')",
        )
        .bind(school.id.get())
        .bind(address)
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    sqlx::query("SELECT pg_notify('schoolplein_outbox', '')")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let arrived = eventually(Duration::from_secs(10), || async {
        mailbox.smtp.received().len() >= addresses.len()
    })
    .await;
    assert!(arrived.is_some());
    let sent = |address: &str| {
        let received = mailbox
            .smtp
            .received()
            .into_iter()
            .find(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .expect("its mail");
        (
            received.mail_from,
            received.message_id.expect("a Message-ID"),
        )
    };
    let (bounce_address, _) = sent(&petra.email);
    assert!(
        bounce_address.starts_with("bounce+") && bounce_address.ends_with("@post.schoolplein.test"),
        "the envelope sender is the mail's own: {bounce_address}"
    );
    let report = |name: &str, address: &str, bounce: &str, message_id: &str| {
        sample(
            name,
            &[
                ("{{BOUNCE_ADDRESS}}", bounce),
                ("{{FAILED_RECIPIENT}}", address),
                ("{{ORIGINAL_MESSAGE_ID}}", message_id),
            ],
        )
    };

    // A delay warning changes nothing.
    let (bounce, id) = sent(&addresses[1]);
    let out = receive(
        &app.db,
        &report("postfix_delayed", &addresses[1], &bounce, &id),
        &[],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!outcome(&app, &id).await.0);
    assert!(!undeliverable(&app, &addresses[1]).await);
    // A report with a forged bounce address (the right mail id, a wrong token) neither.
    let (local, domain) = bounce.split_once('@').unwrap();
    let (mail, _token) = local.rsplit_once('-').unwrap();
    let forged = format!("{mail}-{}@{domain}", "0".repeat(32));
    let out = receive(
        &app.db,
        &report("postfix_dsn", &addresses[1], &forged, "<nothing@else>"),
        &[],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!outcome(&app, &id).await.0);

    // Postfix, Exchange, Gmail and qmail: each fails its own mail and marks its address.
    for (name, address, status) in [
        ("postfix_dsn", &addresses[0], "5.1.1"),
        ("exchange_ndr", &addresses[2], "5.1.10"),
        ("gmail_bounce", &addresses[3], "5.1.1"),
        ("qmail_bounce", &addresses[4], "5.0.0"),
    ] {
        let (bounce, id) = sent(address);
        let out = receive(&app.db, &report(name, address, &bounce, &id), &[], &[]).await;
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(
            outcome(&app, &id).await,
            (true, Some(format!("delivery report {status}"))),
            "{name}"
        );
        assert!(undeliverable(&app, address).await, "{name}");
    }
    // A report that reached us by another way (a relay that rewrote the envelope) is matched
    // by the returned mail's Message-ID and its recipient.
    let (_, id) = sent(&addresses[5]);
    let out = receive(
        &app.db,
        &report(
            "postfix_dsn",
            &addresses[5],
            "postmaster@post.schoolplein.test",
            &id,
        ),
        &["--recipient", "postmaster@post.schoolplein.test"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(outcome(&app, &id).await.0);
    // The other mails are untouched.
    let (_, untouched) = sent(&addresses[6]);
    assert_eq!(outcome(&app, &untouched).await, (false, None));
    // Petra sees it on her pages.
    let home = petra.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"mail-undeliverable\""), "{home}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_signed_by_the_platform_verifies_with_an_independent_dkim_verifier() {
    let dir = tempdir();
    let key_path = dir.join("dkim.pem");
    let made = tokio::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key_path)
        .arg("2048")
        .output()
        .await
        .expect("openssl runs");
    assert!(made.status.success(), "{}", stderr(&made));
    let public = tokio::process::Command::new("openssl")
        .args(["rsa", "-pubout", "-outform", "DER", "-in"])
        .arg(&key_path)
        .output()
        .await
        .expect("openssl runs");
    assert!(public.status.success());
    let private_key = std::fs::read_to_string(&key_path).unwrap();
    let db = TestDb::fresh().await;
    let smtp = schoolplein_tests::smtp::SmtpServer::start().await;
    let mut config = schoolplein_tests::test_config(&db.name).mail;
    config.transport = schoolplein_kernel::config::MailTransport::Smtp;
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = smtp.port();
    config.dkim.domain = "schoolplein.test".into();
    config.dkim.selector = "sp2026".into();
    config.dkim.private_key = schoolplein_kernel::config::Secret::new(private_key);
    let worker = schoolplein_mailing::Worker::new(db.pool.clone(), &config).expect("a worker");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    sqlx::query(
        "INSERT INTO platform.outbox (tenant_id, recipient, subject, body_text, body_html,
                                      message_id, sender_name, list_unsubscribe)
         VALUES ($1, 'ouder@voorbeeld.nl', 'Schoolreis naar Artis', 'Beste ouders,\n\nWe gaan.',
                 '<p>Beste ouders,</p>', '<dkim-1@schoolplein.test>', 'De Klimop via Schoolplein',
                 'https://klimop.schoolplein.test/unsubscribe/x')",
    )
    .bind(school.id.get())
    .execute(&app.db.pool)
    .await
    .unwrap();
    sqlx::query("SELECT pg_notify('schoolplein_outbox', '')")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let arrived = eventually(Duration::from_secs(10), || async { smtp.count() >= 1 }).await;
    assert!(arrived.is_some());
    let _ = stop.send(());
    let _ = running.await;
    let data = smtp.received()[0].data.clone();
    assert!(data.contains("DKIM-Signature:"), "{data}");
    let record = format!("v=DKIM1; k=rsa; p={}", base64_of(&public.stdout));
    // dkimpy (Debian's python3-dkim), asked for the key as DNS would answer.
    let verify = |message: String| {
        let dir = dir.clone();
        let record = record.clone();
        async move {
            let path = dir.join("message.eml");
            std::fs::write(&path, message.replace("\r\n", "\n").replace('\n', "\r\n")).unwrap();
            let script = "import sys, dkim\n\
                record = sys.argv[2].encode()\n\
                def dns(name, timeout=5):\n    \
                    return record if name == b'sp2026._domainkey.schoolplein.test.' else None\n\
                message = open(sys.argv[1], 'rb').read()\n\
                print('ok' if dkim.verify(message, dnsfunc=dns) else 'bad')\n";
            let out = tokio::process::Command::new("/usr/bin/python3")
                .args(["-c", script])
                .arg(&path)
                .arg(&record)
                .output()
                .await
                .expect("python3 with dkim runs");
            assert!(out.status.success(), "{}", stderr(&out));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    assert_eq!(verify(data.clone()).await, "ok");
    // The verifier is not a yes-machine: a changed subject or body fails.
    assert_eq!(
        verify(data.replace(
            "Subject: Schoolreis naar Artis",
            "Subject: Schoolreis naar Blijdorp"
        ))
        .await,
        "bad"
    );
    assert_eq!(
        verify(data.replace("We gaan.", "We gaan niet.")).await,
        "bad"
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "schoolplein-dkim-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
