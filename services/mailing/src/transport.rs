//! Delivery: SMTP over our own pooled connections (`crate::smtp`), or files in development.
//! Failures are described by kind and reply code only — a server's reply text may quote the
//! address.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use lettre::address::Envelope;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::ContentType;
use lettre::message::header::HeaderName;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp;
use lettre::{Address, Message};
use schoolplein_kernel::config::{MailConfig, MailTransport};

use crate::db::outbox::ClaimedMail;
use crate::error::MailError;
use crate::smtp::{Connector, SmtpFailure, SmtpPool};

/// Why one delivery attempt failed, without personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// The server refused the mail for good (5xx) or the mail cannot be built: retrying
    /// soon will not help, though the outbox still retries, slowly.
    pub permanent: bool,
    pub summary: String,
}

/// Where mail goes, and how it is sent: its envelope sender and its signature.
#[derive(Debug, Clone)]
pub struct Transport {
    route: Route,
    /// Each mail's own envelope sender on this domain (`bounce+<id>-<token>@…`), so that
    /// delivery reports name the mail they are about; `None`: the From address.
    bounce_domain: Option<String>,
    dkim: Option<Arc<DkimConfig>>,
}

#[derive(Debug, Clone)]
enum Route {
    /// At most `mail.concurrency` connections, reused from mail to mail.
    Smtp(SmtpPool),
    /// `<dir>/<id>.eml`, written atomically (development).
    Files(PathBuf),
}

/// The headers a signature covers: the ones a reader sees and trusts, and those mailbox
/// providers act on (one-click unsubscribe). A header a mail lacks is signed as absent, so
/// nobody can add it on the way. Not `Content-Type`: lettre writes a multipart's with the
/// body, where its signer does not see it (the body hash covers the parts).
const SIGNED_HEADERS: [&str; 10] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Auto-Submitted",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The platform's DKIM signer from `mail.dkim`, or `None` when signing is off.
pub fn dkim_signer(config: &MailConfig) -> Result<Option<DkimConfig>, MailError> {
    if !config.dkim.enabled() {
        return Ok(None);
    }
    let key = DkimSigningKey::new(
        config.dkim.private_key.expose().trim(),
        DkimSigningAlgorithm::Rsa,
    )
    .map_err(|_| {
        MailError::Transport(
            "mail.dkim.private_key is not an RSA private key in PKCS#1 PEM \
             (-----BEGIN RSA PRIVATE KEY-----; `openssl rsa -traditional` converts one)"
                .into(),
        )
    })?;
    Ok(Some(DkimConfig::new(
        config.dkim.selector.trim().to_owned(),
        config.dkim.domain.trim().to_ascii_lowercase(),
        key,
        SIGNED_HEADERS
            .iter()
            .map(|name| HeaderName::new_from_ascii_str(name))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    )))
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> Result<Self, MailError> {
        let inbound = config.inbound_domain.trim();
        Ok(Self {
            route: Route::from_config(config)?,
            bounce_domain: (!inbound.is_empty()).then(|| inbound.to_ascii_lowercase()),
            dkim: dkim_signer(config)?.map(Arc::new),
        })
    }

    /// Delivers one mail. `Ok` means the server accepted it (or the file is in place).
    pub async fn send(&self, from: &Mailbox, mail: &ClaimedMail) -> Result<(), SendFailure> {
        let invalid = |kind| SendFailure {
            permanent: true,
            summary: format!("invalid message: {kind}"),
        };
        let mut message = build_message(from, mail).map_err(invalid)?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        match &self.route {
            Route::Smtp(pool) => {
                let envelope = self.envelope(from, mail).map_err(invalid)?;
                pool.send(&envelope, &message.formatted())
                    .await
                    .map_err(|e| describe_failure(&e))
            }
            Route::Files(dir) => {
                // As the last server would: the envelope sender in front.
                let envelope = self.envelope(from, mail).map_err(invalid)?;
                let mut bytes = match envelope.from() {
                    Some(sender) => format!("Return-Path: <{sender}>\r\n").into_bytes(),
                    None => Vec::new(),
                };
                bytes.extend_from_slice(&message.formatted());
                write_file(dir, mail.id, &bytes)
                    .await
                    .map_err(|e| SendFailure {
                        permanent: false,
                        summary: format!("file: {}", e.kind()),
                    })
            }
        }
    }

    /// The envelope: from the mail's own bounce address where there is one, to its recipient.
    fn envelope(&self, from: &Mailbox, mail: &ClaimedMail) -> Result<Envelope, &'static str> {
        let to: Address = mail.recipient.parse().map_err(|_| "recipient")?;
        let sender = match (&self.bounce_domain, &mail.return_token) {
            (Some(domain), Some(token)) => format!("bounce+{}-{token}@{domain}", mail.id)
                .parse()
                .map_err(|_| "bounce address")?,
            _ => from.email.clone(),
        };
        Envelope::new(Some(sender), vec![to]).map_err(|_| "envelope")
    }

    /// Says goodbye to the SMTP server on every idle connection (the worker is stopping).
    pub async fn close(&self) {
        if let Route::Smtp(pool) = &self.route {
            pool.close().await;
        }
    }
}

impl Route {
    fn from_config(config: &MailConfig) -> Result<Self, MailError> {
        match config.transport {
            MailTransport::Files => {
                std::fs::create_dir_all(&config.files_dir).map_err(|e| {
                    MailError::Transport(format!(
                        "cannot create mail.files_dir {}: {e}",
                        config.files_dir.display()
                    ))
                })?;
                Ok(Self::Files(config.files_dir.clone()))
            }
            MailTransport::Smtp => Ok(Self::Smtp(SmtpPool::new(
                Connector::new(&config.smtp)?,
                config.concurrency as usize,
            ))),
        }
    }
}

/// The sender: `"Name" <address>`.
pub fn sender(config: &MailConfig) -> Result<Mailbox, MailError> {
    let address: Address = config
        .from_address
        .trim()
        .parse()
        .map_err(|_| MailError::Transport("mail.from_address is not an address".into()))?;
    let name = config.from_name.trim();
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_owned()),
        address,
    ))
}

/// A header whose value is fixed text (the ones lettre does not know).
macro_rules! text_header {
    ($type:ident, $name:literal) => {
        #[derive(Debug, Clone)]
        struct $type(String);

        impl lettre::message::header::Header for $type {
            fn name() -> lettre::message::header::HeaderName {
                lettre::message::header::HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_owned()))
            }

            fn display(&self) -> lettre::message::header::HeaderValue {
                lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

// RFC 3834: every mail the platform sends is written by it, so auto-responders leave it be.
text_header!(AutoSubmitted, "Auto-Submitted");
// RFC 2369 and RFC 8058: one-click unsubscribe for bulk mail, as mailbox providers require.
text_header!(ListUnsubscribe, "List-Unsubscribe");
text_header!(ListUnsubscribePost, "List-Unsubscribe-Post");

/// The same bytes on every attempt: the Message-ID, the Date of the enqueue, and a MIME
/// boundary made from the Message-ID (lettre would pick a random one), so a resent copy is
/// byte for byte the same mail.
fn build_message(from: &Mailbox, mail: &ClaimedMail) -> Result<Message, &'static str> {
    let to: Address = mail.recipient.parse().map_err(|_| "recipient")?;
    let unique: String = mail
        .message_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    let text = MultiPart::alternative()
        .boundary(format!("=_schoolplein_{unique}"))
        .singlepart(SinglePart::plain(mail.body_text.clone()))
        .singlepart(SinglePart::html(mail.body_html.clone()));
    // Files go beside the text in a mixed part, with a boundary of their own.
    let body = if mail.files.is_empty() {
        text
    } else {
        let mut mixed = MultiPart::mixed()
            .boundary(format!("=_schoolplein_files_{unique}"))
            .multipart(text);
        for file in &mail.files {
            let content_type = ContentType::parse(&file.content_type).map_err(|_| "attachment")?;
            mixed = mixed.singlepart(
                Attachment::new(file.file_name.clone()).body(file.bytes.clone(), content_type),
            );
        }
        mixed
    };
    // A school's mail carries its own sender name on the platform's address (so SPF and
    // DKIM still hold), and answers go to the school when it gave an address.
    let from = match &mail.sender_name {
        Some(name) => Mailbox::new(Some(name.clone()), from.email.clone()),
        None => from.clone(),
    };
    let mut builder = Message::builder()
        .from(from)
        .header(AutoSubmitted("auto-generated".to_owned()));
    if let Some(url) = &mail.list_unsubscribe {
        // The address is ours (a school's https address), checked by the outbox's constraint.
        if url.contains(['<', '>', '\r', '\n']) {
            return Err("list-unsubscribe");
        }
        builder = builder
            .header(ListUnsubscribe(format!("<{url}>")))
            .header(ListUnsubscribePost("List-Unsubscribe=One-Click".to_owned()));
    }
    if let Some(reply_to) = &mail.reply_to {
        let address: Address = reply_to.parse().map_err(|_| "reply-to")?;
        builder = builder.reply_to(Mailbox::new(None, address));
    }
    builder
        .to(Mailbox::new(None, to))
        .subject(mail.subject.as_str())
        .message_id(Some(mail.message_id.clone()))
        .date(SystemTime::from(mail.created_at))
        .multipart(body)
        .map_err(|_| "headers")
}

fn describe_failure(failure: &SmtpFailure) -> SendFailure {
    let transient = |summary: String| SendFailure {
        permanent: false,
        summary,
    };
    match failure {
        SmtpFailure::Timeout => transient("smtp timeout".into()),
        SmtpFailure::Connect(kind) => transient(format!("smtp connection: {kind}")),
        SmtpFailure::Tls => transient("smtp tls".into()),
        SmtpFailure::Smtp(error) => describe_smtp_error(error),
    }
}

fn describe_smtp_error(error: &smtp::Error) -> SendFailure {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_tls() {
        "tls"
    } else if error.is_permanent() {
        "permanent rejection"
    } else if error.is_transient() {
        "transient rejection"
    } else if error.is_response() {
        "unreadable reply"
    } else if error.is_client() {
        "client"
    } else {
        "connection"
    };
    let code = error
        .status()
        .map(|code| format!(" {code}"))
        .unwrap_or_default();
    SendFailure {
        permanent: error.is_permanent(),
        summary: format!("smtp {kind}{code}"),
    }
}

/// Writes to a hidden temporary file and renames it, so a reader never sees half a mail.
async fn write_file(dir: &std::path::Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = dir.join(format!(".{id}.eml.tmp"));
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, dir.join(format!("{id}.eml"))).await
}
