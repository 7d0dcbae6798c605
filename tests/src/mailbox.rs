//! Mail in end-to-end tests: the in-process SMTP server with an outbox worker delivering to
//! it, and a way to wait for the mail a person received and take the link out of it.

use std::time::Duration;

use schoolplein_kernel::config::MailTransport;
use schoolplein_mailing::{Worker, WorkerStats};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::smtp::SmtpServer;
use crate::{TestDb, eventually, test_config};

/// A mail as a person reads it: what arrived at the SMTP server, with the subject and text
/// as the outbox rendered them (the wire form is MIME-encoded).
#[derive(Debug, Clone)]
pub struct DeliveredMail {
    pub to: String,
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub urgent: bool,
    /// Where an answer goes (its `Reply-To`).
    pub reply_to: Option<String>,
    /// The envelope sender, where delivery reports go.
    pub mail_from: String,
    /// Its one-click unsubscribe address (`List-Unsubscribe`, without the brackets).
    pub list_unsubscribe: Option<String>,
}

impl DeliveredMail {
    /// The first link in the text whose path starts with `path_prefix`, as a path.
    pub fn link(&self, path_prefix: &str) -> Option<String> {
        self.text.split_whitespace().find_map(|word| {
            let rest = word
                .strip_prefix("http://")
                .or_else(|| word.strip_prefix("https://"))?;
            let path = &rest[rest.find('/')?..];
            path.starts_with(path_prefix).then(|| path.to_owned())
        })
    }

    /// The host (with port) the mail's first link points at.
    pub fn link_host(&self) -> Option<String> {
        self.text.split_whitespace().find_map(|word| {
            let rest = word
                .strip_prefix("http://")
                .or_else(|| word.strip_prefix("https://"))?;
            Some(rest[..rest.find('/')?].to_owned())
        })
    }
}

/// An SMTP server and an outbox worker on one test database; both stop on drop.
#[derive(Debug)]
pub struct Mailbox {
    pub smtp: SmtpServer,
    db: TestDb,
    stop: Option<oneshot::Sender<()>>,
    worker: Option<JoinHandle<WorkerStats>>,
}

impl Mailbox {
    pub async fn start(db: &TestDb) -> Mailbox {
        let smtp = SmtpServer::start().await;
        let mut config = test_config(&db.name).mail;
        config.transport = MailTransport::Smtp;
        config.smtp.host = "127.0.0.1".into();
        config.smtp.port = smtp.port();
        let worker = Worker::new(db.pool.clone(), &config).expect("outbox worker");
        let (stop, stopped) = oneshot::channel::<()>();
        let worker = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Mailbox {
            smtp,
            db: db.clone(),
            stop: Some(stop),
            worker: Some(worker),
        }
    }

    /// Every mail delivered to `to` so far, oldest first.
    pub async fn delivered_to(&self, to: &str) -> Vec<DeliveredMail> {
        let mut mails = Vec::new();
        for received in self.smtp.received() {
            if !received.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)) {
                continue;
            }
            let Some(message_id) = received.message_id.clone() else {
                continue;
            };
            let row: Option<(String, String, bool)> = sqlx::query_as(
                "SELECT subject, body_text, urgent FROM platform.outbox WHERE message_id = $1",
            )
            .bind(&message_id)
            .fetch_optional(&self.db.pool)
            .await
            .expect("outbox row");
            if let Some((subject, text, urgent)) = row {
                mails.push(DeliveredMail {
                    to: to.to_owned(),
                    message_id,
                    subject,
                    text,
                    urgent,
                    reply_to: received.header("Reply-To"),
                    mail_from: received.mail_from.clone(),
                    list_unsubscribe: received
                        .header("List-Unsubscribe")
                        .map(|v| v.trim().trim_matches(['<', '>']).to_owned()),
                });
            }
        }
        mails
    }

    /// How many mails the SMTP server has accepted for addresses that `to` accepts.
    pub fn delivered_count(&self, to: impl Fn(&str) -> bool) -> usize {
        self.smtp
            .received()
            .iter()
            .filter(|received| received.rcpt_to.iter().any(|r| to(r)))
            .count()
    }

    /// Waits (up to 10 s) until `to` has received `count` mails; returns them all.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<DeliveredMail> {
        let arrived = eventually(Duration::from_secs(10), || async {
            self.delivered_to(to).await.len() >= count
        })
        .await;
        let mails = self.delivered_to(to).await;
        assert!(
            arrived.is_some(),
            "{to} received {} mails, expected {count}",
            mails.len()
        );
        mails
    }

    /// Waits for the newest mail to `to` (there must be at least `count`).
    pub async fn latest(&self, to: &str, count: usize) -> DeliveredMail {
        self.wait_for(to, count)
            .await
            .pop()
            .expect("at least one mail")
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
    }
}
