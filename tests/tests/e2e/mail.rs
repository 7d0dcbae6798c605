//! The mail outbox against real PostgreSQL and a real SMTP server in the test process: mail
//! survives an SMTP outage and a killed worker, urgent mail goes first, a rolled-back mail is
//! never sent, bad input writes nothing, and mails render in Dutch and English with the
//! school's letterhead. Mail goes out over STARTTLS and implicit TLS with a sign-in, and
//! is held back from a server whose certificate is not trusted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use schoolplein_kernel::Language;
use schoolplein_kernel::config::{MailConfig, MailTransport, Secret, SmtpTls};
use schoolplein_mailing::{Letterhead, MailError, MailRequest, Outbox, Worker, WorkerStats};
use schoolplein_server::app;
use schoolplein_tests::certificates::{server_config, test_certificates};
use schoolplein_tests::smtp::{ReceivedMail, ServerTls, SmtpOptions, SmtpServer};
use schoolplein_tests::{TestDb, eventually, schoolplein_command, test_config};
use serde::Serialize;
use sqlx::PgPool;
use tenant_router::TenantTx;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

#[derive(Serialize)]
struct CheckContext {
    requested_at: String,
}

fn context(n: usize) -> CheckContext {
    CheckContext {
        requested_at: format!("run {n}"),
    }
}

fn mail_config(db: &TestDb, smtp: &SmtpServer) -> MailConfig {
    let mut config = test_config(&db.name).mail;
    config.transport = MailTransport::Smtp;
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = smtp.port();
    config
}

fn outbox(db: &TestDb) -> Outbox {
    let templates = app::templates().build().expect("templates");
    Outbox::new(Arc::new(templates), &test_config(&db.name).mail)
}

/// An outbox worker inside the test process.
struct RunningWorker {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<WorkerStats>,
}

impl RunningWorker {
    fn start(db: &TestDb, config: &MailConfig) -> RunningWorker {
        let worker = Worker::new(db.pool.clone(), config).expect("worker");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        RunningWorker { stop, handle }
    }

    async fn stop(self) -> WorkerStats {
        let _ = self.stop.send(());
        self.handle.await.expect("worker ends")
    }
}

/// Queues `count` platform mails to `to-<tag>-<n>@example.nl`, `per_tx` to a transaction,
/// each transaction's as one batch (which writes 500 rows at a time, so the larger
/// transactions write more than once).
async fn enqueue_many(db: &TestDb, outbox: &Outbox, tag: &str, count: usize, urgent: bool) {
    let per_tx = 600;
    for start in (0..count).step_by(per_tx) {
        let mut tx = db.pool.begin().await.expect("begin");
        let mut batch = outbox.batch();
        for n in start..(start + per_tx).min(count) {
            let to = format!("to-{tag}-{n}@example.nl");
            batch
                .add(
                    &mut tx,
                    MailRequest {
                        to: &to,
                        template: "mailing/delivery_check",
                        language: Language::Nl,
                        urgent,
                        context: &context(n),
                        letterhead: None,
                    },
                )
                .await
                .expect("enqueued");
        }
        let written = batch.finish(&mut tx).await.expect("written");
        assert_eq!(written, (start + per_tx).min(count) - start);
        tx.commit().await.expect("commit");
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Message-ID → how many copies arrived.
fn copies(received: &[ReceivedMail]) -> HashMap<String, usize> {
    let mut copies = HashMap::new();
    for mail in received {
        let id = mail
            .message_id
            .clone()
            .expect("every mail has a Message-ID");
        *copies.entry(id).or_insert(0) += 1;
    }
    copies
}

async fn stored_message_ids(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT message_id FROM platform.outbox ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("message ids")
}

#[tokio::test]
async fn a_thousand_mails_queued_during_an_smtp_outage_each_arrive_exactly_once() {
    let db = TestDb::fresh().await;
    let mut smtp = SmtpServer::stopped().await;
    let config = mail_config(&db, &smtp);
    enqueue_many(&db, &outbox(&db), "outage", 1000, false).await;
    // Two workers side by side, as two processes would run.
    let workers = [
        RunningWorker::start(&db, &config),
        RunningWorker::start(&db, &config),
    ];
    // Every mail is tried (and refused) at least once while the server is down.
    let all_tried = eventually(Duration::from_secs(60), || async {
        count(
            &db.pool,
            "SELECT count(*) FROM platform.outbox WHERE attempts >= 1 AND last_error IS NOT NULL",
        )
        .await
            == 1000
    })
    .await;
    assert!(all_tried.is_some(), "the workers never tried every mail");
    assert_eq!(smtp.count(), 0);
    let errors: Vec<String> = sqlx::query_scalar("SELECT DISTINCT last_error FROM platform.outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e.starts_with("smtp ") && !e.contains('@')),
        "{errors:?}"
    );

    smtp.resume().await;
    let delivered = eventually(Duration::from_secs(120), || async {
        count(
            &db.pool,
            "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    assert!(delivered.is_some(), "not every mail was delivered");
    for worker in workers {
        worker.stop().await;
    }
    let received = smtp.received();
    let copies = copies(&received);
    assert_eq!(received.len(), 1000, "every mail exactly once");
    let stored = stored_message_ids(&db.pool).await;
    assert!(stored.iter().all(|id| copies.get(id) == Some(&1)));
    // The envelope goes to the row's recipient.
    let mut recipients: Vec<String> = received.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 1000);
}

#[tokio::test]
async fn mail_goes_out_over_starttls_and_implicit_tls_only_to_a_trusted_server() {
    let dir = std::env::temp_dir().join(format!(
        "schoolplein-smtp-tls-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates(&dir);
    let acceptor = TlsAcceptor::from(server_config(&dir));
    let (user, password) = ("outbox", "Geheim-SMTP-wachtwoord");
    for (mode, server_tls) in [
        (SmtpTls::Starttls, ServerTls::Starttls(acceptor.clone())),
        (SmtpTls::Tls, ServerTls::Implicit(acceptor.clone())),
    ] {
        let db = TestDb::fresh().await;
        let smtp = SmtpServer::start_with(SmtpOptions {
            tls: Some(server_tls),
            credentials: Some((user.into(), password.into())),
        })
        .await;
        let mut config = mail_config(&db, &smtp);
        config.smtp.tls = mode;
        config.smtp.username = user.into();
        config.smtp.password = Secret::new(password);
        let worker = Worker::new(db.pool.clone(), &config).expect("worker");
        assert!(!format!("{worker:?}").contains(password), "{worker:?}");
        drop(worker);
        enqueue_many(&db, &outbox(&db), "tls", 5, false).await;

        // The test CA is not among the public roots: nothing goes out, and the reason says
        // so without an address.
        let untrusted = RunningWorker::start(&db, &config);
        let all_tried = eventually(Duration::from_secs(30), || async {
            count(
                &db.pool,
                "SELECT count(*) FROM platform.outbox WHERE attempts >= 1 AND last_error IS NOT NULL",
            )
            .await
                == 5
        })
        .await;
        untrusted.stop().await;
        assert!(all_tried.is_some(), "{mode:?}: the mails were never tried");
        assert_eq!(smtp.count(), 0, "{mode:?}: sent to an untrusted server");
        let errors: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT last_error FROM platform.outbox")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert!(
            errors
                .iter()
                .all(|e| e.starts_with("smtp ") && !e.contains('@')),
            "{mode:?}: {errors:?}"
        );

        // With the test CA trusted, every mail arrives encrypted, from the signed-in user.
        config.smtp.ca_cert_path = Some(dir.join("ca.pem"));
        let trusted = RunningWorker::start(&db, &config);
        let delivered = eventually(Duration::from_secs(30), || async {
            count(
                &db.pool,
                "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL",
            )
            .await
                == 0
        })
        .await;
        trusted.stop().await;
        assert!(
            delivered.is_some(),
            "{mode:?}: not every mail was delivered"
        );
        let received = smtp.received();
        assert_eq!(received.len(), 5, "{mode:?}");
        assert!(
            received
                .iter()
                .all(|m| m.encrypted && m.signed_in_as.as_deref() == Some(user)),
            "{mode:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_worker_killed_mid_batch_and_restarted_delivers_every_mail() {
    let db = TestDb::fresh().await;
    let smtp = SmtpServer::start().await;
    let total = 1000;
    enqueue_many(&db, &outbox(&db), "kill", total, false).await;
    let worker = |smtp: &SmtpServer| {
        let mut command = schoolplein_command(&db);
        command
            .env("SCHOOLPLEIN__MAIL__SMTP__HOST", "127.0.0.1")
            .env("SCHOOLPLEIN__MAIL__SMTP__PORT", smtp.port().to_string())
            .env("SCHOOLPLEIN__LOG__FILTER", "info")
            .arg("worker")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command.spawn().expect("worker starts")
    };
    let mut first = worker(&smtp);
    let midway = eventually(Duration::from_secs(60), || async { smtp.count() >= 200 }).await;
    assert!(midway.is_some(), "the first worker never got going");
    first.start_kill().expect("SIGKILL");
    let first = first.wait_with_output().await.expect("killed worker");
    assert!(!first.status.success());
    let at_kill = smtp.count();
    assert!(at_kill < total, "the worker finished before it was killed");

    let second = worker(&smtp);
    let delivered = eventually(Duration::from_secs(120), || async {
        count(
            &db.pool,
            "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    assert!(
        delivered.is_some(),
        "not every mail was delivered after the restart"
    );
    let mut second = second;
    second.start_kill().expect("stop");
    let second = second.wait_with_output().await.expect("second worker");

    let received = smtp.received();
    let copies = copies(&received);
    let stored = stored_message_ids(&db.pool).await;
    // Every mail arrived, and nothing arrived that was not queued.
    assert_eq!(copies.len(), total);
    assert!(stored.iter().all(|id| copies.contains_key(id)));
    // What holds: exactly once by Message-ID at the receiver. A copy can be doubled only if
    // the kill fell between the server's 250 and the worker's UPDATE, for at most one mail
    // per concurrent send; a doubled copy is the same message.
    let concurrency = test_config(&db.name).mail.concurrency as usize;
    let doubled: Vec<&String> = copies
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        doubled.len() <= concurrency && copies.values().all(|n| *n <= 2),
        "{} doubled: {doubled:?}",
        doubled.len()
    );
    for id in doubled {
        let bodies: Vec<&str> = received
            .iter()
            .filter(|m| m.message_id.as_ref() == Some(id))
            .map(|m| m.data.as_str())
            .collect();
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "a resent copy differs"
        );
    }
    // No addresses in the logs.
    for output in [&first, &second] {
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(!log.contains("@example.nl"), "{log}");
    }
}

#[tokio::test]
async fn urgent_mail_is_claimed_before_a_backlog_of_ordinary_mail() {
    let db = TestDb::fresh().await;
    let smtp = SmtpServer::start().await;
    let config = mail_config(&db, &smtp);
    let outbox = outbox(&db);
    enqueue_many(&db, &outbox, "backlog", 300, false).await;
    enqueue_many(&db, &outbox, "urgent", 5, true).await;
    let worker = RunningWorker::start(&db, &config);
    assert!(
        eventually(Duration::from_secs(60), || async { smtp.count() == 305 })
            .await
            .is_some()
    );
    // The queued urgent mails are in the first claim, ahead of 300 older ones.
    let order: Vec<bool> = smtp
        .received()
        .iter()
        .map(|m| m.rcpt_to[0].starts_with("to-urgent-"))
        .collect();
    let positions: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, u)| **u)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(positions.len(), 5);
    assert!(
        positions.iter().all(|p| *p < config.batch_size as usize),
        "urgent mail arrived at {positions:?}"
    );

    // And urgent mail that comes in while a backlog is being worked off overtakes it.
    enqueue_many(&db, &outbox, "late-backlog", 600, false).await;
    assert!(
        eventually(Duration::from_secs(60), || async {
            smtp.count() >= 305 + 20
        })
        .await
        .is_some()
    );
    enqueue_many(&db, &outbox, "late-urgent", 1, true).await;
    assert!(
        eventually(Duration::from_secs(60), || async {
            smtp.received()
                .iter()
                .any(|m| m.rcpt_to[0].starts_with("to-late-urgent-"))
        })
        .await
        .is_some()
    );
    let received = smtp.received();
    let backlog_before_urgent = received
        .iter()
        .take_while(|m| !m.rcpt_to[0].starts_with("to-late-urgent-"))
        .filter(|m| m.rcpt_to[0].starts_with("to-late-backlog-"))
        .count();
    assert!(
        backlog_before_urgent < 600,
        "the urgent mail waited for the whole backlog"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_mail_enqueued_in_a_rolled_back_transaction_is_never_sent() {
    let db = TestDb::fresh().await;
    let smtp = SmtpServer::start().await;
    let outbox = outbox(&db);
    let check = context(0);
    let request = |to| MailRequest {
        to,
        template: "mailing/delivery_check",
        language: Language::Nl,
        urgent: true,
        context: &check,
        letterhead: None,
    };
    let mut tx = db.pool.begin().await.unwrap();
    outbox
        .enqueue(&mut tx, request("rolled-back@example.nl"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // A school's transaction that fails after enqueueing, dropped without commit.
    let school = db.create_school(None, "Basisschool Terugdraai", "").await;
    {
        let mut tx = TenantTx::begin(&db.pool, school.id).await.unwrap();
        let letterhead = Letterhead::load(&mut tx).await.unwrap();
        let mut mail = request("dropped@example.nl");
        mail.letterhead = Some(&letterhead);
        outbox.enqueue(&mut tx, mail).await.unwrap();
        let failed = sqlx::query("SELECT no_such_column FROM school_profile")
            .execute(&mut *tx)
            .await;
        assert!(failed.is_err());
    }
    let mut tx = db.pool.begin().await.unwrap();
    outbox
        .enqueue(&mut tx, request("committed@example.nl"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let worker = RunningWorker::start(&db, &mail_config(&db, &smtp));
    assert!(
        eventually(Duration::from_secs(30), || async { smtp.count() >= 1 })
            .await
            .is_some()
    );
    worker.stop().await;
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, ["committed@example.nl"]);
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM platform.outbox").await,
        1
    );
}

#[tokio::test]
async fn bad_input_is_a_typed_error_and_writes_nothing() {
    let db = TestDb::fresh().await;
    let outbox = outbox(&db);
    let long_name = format!("{}@example.nl", "a".repeat(300));
    let cases: Vec<(&str, &str)> = vec![
        ("", "empty"),
        ("   ", "empty"),
        ("ouder.example.nl", "malformed"),
        ("ouder@", "malformed"),
        ("ouder@example", "malformed"),
        ("twee@example.nl, drie@example.nl", "malformed"),
        ("Ouder <ouder@example.nl>", "malformed"),
        ("ouder@example.nl\r\nBcc: iedereen@example.nl", "injection"),
        ("ouder@example.nl\nX-Spam: ja", "injection"),
        (&long_name, "too large"),
    ];
    let mut tx = db.pool.begin().await.unwrap();
    for (to, expected) in cases {
        let error = outbox
            .enqueue(
                &mut tx,
                MailRequest {
                    to,
                    template: "mailing/delivery_check",
                    language: Language::Nl,
                    urgent: false,
                    context: &context(0),
                    letterhead: None,
                },
            )
            .await
            .unwrap_err();
        let kind = match &error {
            MailError::EmptyRecipient => "empty",
            MailError::MalformedRecipient => "malformed",
            MailError::HeaderInjection("recipient") => "injection",
            MailError::TooLarge { .. } => "too large",
            other => panic!("{to:?}: unexpected {other}"),
        };
        assert_eq!(kind, expected, "{to:?}");
        assert!(error.is_bad_request());
    }
    // A subject that a context value would break into two headers, an oversize body, and a
    // template that does not exist.
    #[derive(Serialize)]
    struct Hostile {
        requested_at: String,
    }
    let school = db.create_school(None, "Basisschool Kwaadwillend", "").await;
    let mut letterhead = {
        let mut tx = TenantTx::begin(&db.pool, school.id).await.unwrap();
        Letterhead::load(&mut tx).await.unwrap()
    };
    letterhead.school_name = "De Klimop\r\nBcc: iedereen@example.nl".into();
    let huge = Hostile {
        requested_at: "x".repeat(2 * 1024 * 1024),
    };
    let now = Hostile {
        requested_at: "now".into(),
    };
    let attempts: Vec<(MailRequest<'_, Hostile>, &str)> = vec![
        (
            MailRequest {
                to: "ouder@example.nl",
                template: "mailing/delivery_check",
                language: Language::En,
                urgent: false,
                context: &now,
                letterhead: Some(&letterhead),
            },
            "subject injection",
        ),
        (
            MailRequest {
                to: "ouder@example.nl",
                template: "mailing/delivery_check",
                language: Language::Nl,
                urgent: false,
                context: &huge,
                letterhead: None,
            },
            "too large",
        ),
        (
            MailRequest {
                to: "ouder@example.nl",
                template: "mailing/bestaat_niet",
                language: Language::Nl,
                urgent: false,
                context: &now,
                letterhead: None,
            },
            "unknown template",
        ),
    ];
    for (request, expected) in attempts {
        let error = outbox.enqueue(&mut tx, request).await.unwrap_err();
        let kind = match &error {
            MailError::HeaderInjection("subject") => "subject injection",
            MailError::TooLarge { .. } => "too large",
            MailError::UnknownTemplate(_) => "unknown template",
            other => panic!("{expected}: unexpected {other}"),
        };
        assert_eq!(kind, expected);
        assert!(error.is_bad_request());
    }
    // The transaction is still usable, and nothing was written even though it commits.
    tx.commit().await.unwrap();
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM platform.outbox").await,
        0
    );
}

#[tokio::test]
async fn mails_render_in_dutch_and_english_with_the_schools_letterhead() {
    let db = TestDb::fresh().await;
    let school = db.create_school(None, "Basisschool De Klimop", "").await;
    let mut tx = TenantTx::begin(&db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE school_profile SET mail_header = $1, mail_footer = $2")
        .bind("Groep 5 & 6 <b>nieuws</b>")
        .bind("Klimopstraat 1, 1234 AB Dorp — \"bel ons\"")
        .execute(&mut *tx)
        .await
        .unwrap();
    let letterhead = Letterhead::load(&mut tx).await.unwrap();
    let outbox = outbox(&db);
    for language in [Language::Nl, Language::En] {
        outbox
            .enqueue(
                &mut tx,
                MailRequest {
                    to: "ouder@example.nl",
                    template: "mailing/delivery_check",
                    language,
                    urgent: false,
                    context: &CheckContext {
                        requested_at: "<script>x</script>".into(),
                    },
                    letterhead: Some(&letterhead),
                },
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let rows: Vec<(Option<i64>, String, String, String, String)> = sqlx::query_as(
        "SELECT tenant_id, subject, body_text, body_html, message_id FROM platform.outbox ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let (nl, en) = (&rows[0], &rows[1]);
    for (tenant, subject, text, html, message_id) in [nl, en] {
        assert_eq!(*tenant, Some(school.id.get()));
        assert!(subject.ends_with("Basisschool De Klimop"), "{subject}");
        // Text is the school's words as written; HTML escapes them.
        assert!(
            text.starts_with("Basisschool De Klimop\nGroep 5 & 6 <b>nieuws</b>\n"),
            "{text}"
        );
        assert!(
            text.contains("Klimopstraat 1, 1234 AB Dorp — \"bel ons\""),
            "{text}"
        );
        assert!(text.contains("<script>x</script>"));
        assert!(
            html.contains("Groep 5 &amp; 6 &lt;b&gt;nieuws&lt;&#x2F;b&gt;"),
            "{html}"
        );
        assert!(html.contains("&quot;bel ons&quot;"), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<b>nieuws"));
        assert!(message_id.starts_with('<') && message_id.ends_with("@schoolplein.test>"));
    }
    assert!(
        nl.1.starts_with("Test: de e-mail van het ouderportaal werkt"),
        "{}",
        nl.1
    );
    assert!(nl.2.contains("U hoeft niets te doen."));
    assert!(nl.3.contains("<html lang=\"nl\">"));
    assert!(
        en.1.starts_with("Test: the parent portal's e-mail works"),
        "{}",
        en.1
    );
    assert!(en.2.contains("You need not do anything."));
    assert!(en.3.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn mail_check_from_the_command_line_arrives_with_its_message_id() {
    let db = TestDb::fresh().await;
    let school = db.create_school(None, "Basisschool De Controle", "").await;
    let smtp = SmtpServer::start().await;
    let run = |args: Vec<String>| {
        let mut command = schoolplein_command(&db);
        command.args(args);
        async move { command.output().await.expect("schoolplein runs") }
    };
    let slug = school.slug.to_string();
    let bad = run(vec![
        "mail".into(),
        "check".into(),
        slug.clone(),
        "geen-adres".into(),
    ])
    .await;
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid e-mail address"));
    let unknown = run(vec![
        "mail".into(),
        "check".into(),
        "bestaat-niet".into(),
        "a@example.nl".into(),
    ])
    .await;
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM platform.outbox").await,
        0
    );

    let ok = run(vec![
        "mail".into(),
        "check".into(),
        slug,
        "directie@example.nl".into(),
        "--language".into(),
        "en".into(),
    ])
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let worker = RunningWorker::start(&db, &mail_config(&db, &smtp));
    assert!(
        eventually(Duration::from_secs(30), || async { smtp.count() == 1 })
            .await
            .is_some()
    );
    worker.stop().await;
    let (message_id, sent): (String, bool) =
        sqlx::query_as("SELECT message_id, sent_at IS NOT NULL FROM platform.outbox")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(sent);
    let mail = &smtp.received()[0];
    assert_eq!(mail.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(mail.rcpt_to, ["directie@example.nl"]);
    // The envelope sender is the mail's own bounce address, so that a delivery report names
    // it; the From stays the platform's.
    assert!(
        mail.mail_from.starts_with("bounce+") && mail.mail_from.ends_with("@post.schoolplein.test"),
        "{}",
        mail.mail_from
    );
    assert!(
        mail.header("From")
            .is_some_and(|f| f.contains("noreply@schoolplein.test"))
    );
    assert!(mail.data.contains("multipart/alternative"));
    assert_eq!(mail.header("To").as_deref(), Some("directie@example.nl"));
}

/// Serves `app::app` for `config` on a free port until the returned sender is dropped.
async fn serve_app(
    config: schoolplein_kernel::Config,
) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let state = app::build_state(config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(schoolplein_server::serve::serve(
        listener,
        app::app(state),
        None,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));
    (addr, stop)
}

#[tokio::test]
async fn development_mail_files_are_listed_on_a_development_only_page() {
    let db = TestDb::fresh().await;
    let dir = std::env::temp_dir().join(format!(
        "schoolplein-mail-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut config = test_config(&db.name);
    config.mail.transport = MailTransport::Files;
    config.mail.files_dir = dir.clone();
    let outbox = outbox(&db);
    let mut tx = db.pool.begin().await.unwrap();
    for to in ["eerste@example.nl", "tweede@example.nl"] {
        outbox
            .enqueue(
                &mut tx,
                MailRequest {
                    to,
                    template: "mailing/delivery_check",
                    language: Language::En,
                    urgent: false,
                    context: &context(1),
                    letterhead: None,
                },
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let worker = RunningWorker::start(&db, &config.mail);
    let written = eventually(Duration::from_secs(30), || async {
        count(
            &db.pool,
            "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    assert!(written.is_some());
    worker.stop().await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM platform.outbox ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    for id in &ids {
        let file = std::fs::read_to_string(dir.join(format!("{id}.eml"))).expect("mail file");
        assert!(file.contains("Message-ID: <"), "{file}");
    }
    // No half-written files left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);

    // Not mounted outside development.
    let (addr, _stop) = serve_app(config.clone()).await;
    let page = schoolplein_tests::http::get(addr, "schoolplein.test", "/dev/mail", &[])
        .await
        .unwrap();
    assert_eq!(page.status, 404);

    config.environment = "development".into();
    let (addr, _stop) = serve_app(config).await;
    let list = schoolplein_tests::http::get(
        addr,
        "schoolplein.test",
        "/dev/mail",
        &[("accept-language", "en")],
    )
    .await
    .unwrap();
    assert_eq!(list.status, 200);
    let text = list.text();
    assert!(
        text.contains("eerste@example.nl") && text.contains("tweede@example.nl"),
        "{text}"
    );
    let newest = format!("/dev/mail/{}.eml", ids[1]);
    assert!(text.find(&newest).is_some(), "{text}");
    let one = schoolplein_tests::http::get(addr, "schoolplein.test", &newest, &[])
        .await
        .unwrap();
    assert_eq!(one.status, 200);
    assert!(
        one.text()
            .contains("Content-Type: multipart&#x2F;alternative")
    );
    for bad in [
        "/dev/mail/..%2F..%2Fetc%2Fpasswd",
        "/dev/mail/999999.eml",
        "/dev/mail/x.eml",
    ] {
        let answer = schoolplein_tests::http::get(addr, "schoolplein.test", bad, &[])
            .await
            .unwrap();
        assert_eq!(answer.status, 404, "{bad}");
    }
    // Only on the platform's host, never on a school's.
    let school = schoolplein_tests::http::get(addr, "demo.schoolplein.test", "/dev/mail", &[])
        .await
        .unwrap();
    assert_ne!(school.status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}
