//! Enqueueing: render a mail in the person's language with the school's letterhead and write
//! it as a row, inside the caller's transaction.

use std::sync::Arc;

use schoolplein_kernel::config::MailConfig;
use schoolplein_kernel::{Language, Templates};
use serde::Serialize;
use sqlx::PgConnection;

use crate::db::outbox::{self, NewMail};
use crate::domain::{
    Letterhead, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_BODY_BYTES, MailAttachment, MailId,
    MailRequest, Recipient, check_subject,
};
use crate::error::MailError;

/// The PostgreSQL channel that wakes workers when a mail is committed.
pub const NOTIFY_CHANNEL: &str = "schoolplein_outbox";

/// What a mail template sees: the caller's context, with the letterhead beside it.
#[derive(Serialize)]
struct BodyContext<'a, C: Serialize + ?Sized> {
    #[serde(flatten)]
    context: &'a C,
    letterhead: Option<&'a Letterhead>,
}

/// What the layout sees: the rendered body inside the letterhead.
#[derive(Serialize)]
struct LayoutContext<'a> {
    letterhead: Option<&'a Letterhead>,
    subject: &'a str,
    body: &'a str,
}

/// A mail rendered in every part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// Writes mail into the outbox. Cheap to build from the app's state:
/// `Outbox::new(state.templates.clone(), &state.config.mail)`.
#[derive(Debug, Clone)]
pub struct Outbox {
    templates: Arc<Templates>,
    message_id_domain: String,
    /// The platform's name as a sender ("Schoolplein"), after a school's: "De Klimop via …".
    from_name: String,
    /// Where replies come back (`mail.inbound_domain`); empty: nowhere.
    inbound_domain: String,
    reply_address_days: i32,
}

impl Outbox {
    pub fn new(templates: Arc<Templates>, config: &MailConfig) -> Self {
        Self {
            templates,
            message_id_domain: config.message_id_domain.clone(),
            from_name: config.from_name.trim().to_owned(),
            inbound_domain: config.inbound_domain.trim().to_ascii_lowercase(),
            reply_address_days: i32::try_from(config.reply_address_days).unwrap_or(i32::MAX),
        }
    }

    /// The domain replies come back to, when the platform takes mail back.
    pub fn inbound_domain(&self) -> Option<&str> {
        (!self.inbound_domain.is_empty()).then_some(self.inbound_domain.as_str())
    }

    /// How many days a reply address takes answers.
    pub fn reply_address_days(&self) -> i32 {
        self.reply_address_days
    }

    /// Renders the mail and writes it into the outbox on `conn` — the caller's own
    /// transaction (a `TenantTx` derefs to one), so the mail exists exactly when the change
    /// that causes it commits. Workers are woken at commit. Bad input is a typed error and
    /// writes nothing.
    pub async fn enqueue<C: Serialize + ?Sized>(
        &self,
        conn: &mut PgConnection,
        mail: MailRequest<'_, C>,
    ) -> Result<MailId, MailError> {
        let recipient = Recipient::parse(mail.to)?;
        let rendered = self.render(mail.template, mail.language, mail.context, mail.letterhead)?;
        let message_id = self.message_id();
        let (sender_name, reply_to) = self.sender_of(mail.letterhead);
        let id = outbox::insert(
            conn,
            &NewMail {
                tenant_id: mail.letterhead.map(|l| l.tenant.get()),
                recipient: recipient.as_str(),
                subject: &rendered.subject,
                body_text: &rendered.body_text,
                body_html: &rendered.body_html,
                message_id: &message_id,
                urgent: mail.urgent,
                sender_name: sender_name.as_deref(),
                reply_to: reply_to.as_deref(),
                list_unsubscribe: None,
                person_id: None,
                about: None,
            },
            NOTIFY_CHANNEL,
        )
        .await?;
        tracing::debug!(mail.id = %id, mail.template = mail.template, tenant.id = ?mail.letterhead.map(|l| l.tenant.get()), "mail enqueued");
        Ok(id)
    }

    /// Like [`Outbox::enqueue`], with files attached (PDF only, at most five of 5 MB). A
    /// file that breaks those limits is a typed error and nothing is written.
    pub async fn enqueue_with_attachments<C: Serialize + ?Sized>(
        &self,
        conn: &mut PgConnection,
        mail: MailRequest<'_, C>,
        attachments: &[MailAttachment],
    ) -> Result<MailId, MailError> {
        if attachments.len() > MAX_ATTACHMENTS {
            return Err(MailError::TooLarge {
                what: "list of attachments",
                size: attachments.len(),
                limit: MAX_ATTACHMENTS,
            });
        }
        for file in attachments {
            let name_ok = !file.file_name.is_empty()
                && file.file_name.chars().count() <= 200
                && file
                    .file_name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "._- ".contains(c));
            if !name_ok {
                return Err(MailError::HeaderInjection("attachment's file name"));
            }
            if file.content_type != "application/pdf" {
                return Err(MailError::Transport(format!(
                    "attachments are PDF only, not {}",
                    file.content_type
                )));
            }
            if file.bytes.is_empty() || file.bytes.len() > MAX_ATTACHMENT_BYTES {
                return Err(MailError::TooLarge {
                    what: "attachment",
                    size: file.bytes.len(),
                    limit: MAX_ATTACHMENT_BYTES,
                });
            }
        }
        let id = self.enqueue(conn, mail).await?;
        outbox::insert_attachments(conn, id.get(), attachments).await?;
        Ok(id)
    }

    /// A batch of mails for one transaction: each is rendered as it is added and the rows
    /// are written a few hundred at a time, so a digest run or an urgent message to a whole
    /// school costs a handful of round trips instead of one per mail.
    pub fn batch(&self) -> MailBatch<'_> {
        MailBatch {
            outbox: self,
            pending: Vec::new(),
            written: 0,
        }
    }

    /// The sender's name and the Reply-To of a school's mail: "<school> via Schoolplein", and
    /// the school's contact address when it gave a valid one. `None`s for the platform's own.
    pub fn sender_of(&self, letterhead: Option<&Letterhead>) -> (Option<String>, Option<String>) {
        let Some(letterhead) = letterhead else {
            return (None, None);
        };
        let school: String = letterhead
            .school_name
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let name = if self.from_name.is_empty() {
            school
        } else {
            format!("{school} via {}", self.from_name)
        };
        let reply_to = Recipient::parse(&letterhead.contact_email)
            .ok()
            .map(|r| r.as_str().to_owned());
        ((!name.trim().is_empty()).then_some(name), reply_to)
    }

    fn message_id(&self) -> String {
        format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.message_id_domain
        )
    }

    /// Renders `mail/<template>/{subject.txt,body.txt,body.html}` and wraps the bodies in the
    /// layout. HTML is escaped (`.html` templates autoescape); text is not.
    pub fn render<C: Serialize + ?Sized>(
        &self,
        template: &str,
        language: Language,
        context: &C,
        letterhead: Option<&Letterhead>,
    ) -> Result<RenderedMail, MailError> {
        let subject_name = format!("mail/{template}/subject.txt");
        if !self.templates.names().any(|name| name == subject_name) {
            return Err(MailError::UnknownTemplate(template.to_owned()));
        }
        let body = BodyContext {
            context,
            letterhead,
        };
        let subject = self.templates.render(&subject_name, language, &body)?;
        let subject = subject.trim();
        check_subject(subject)?;
        let text = self
            .templates
            .render(&format!("mail/{template}/body.txt"), language, &body)?;
        let html = self
            .templates
            .render(&format!("mail/{template}/body.html"), language, &body)?;
        let size = text.len() + html.len();
        if size > MAX_BODY_BYTES {
            return Err(MailError::TooLarge {
                what: "mail body",
                size,
                limit: MAX_BODY_BYTES,
            });
        }
        let layout = |body| LayoutContext {
            letterhead,
            subject,
            body,
        };
        let body_text =
            self.templates
                .render("mail/layout.txt", language, &layout(text.as_str()))?;
        let body_html =
            self.templates
                .render("mail/layout.html", language, &layout(html.as_str()))?;
        Ok(RenderedMail {
            subject: subject.to_owned(),
            body_text,
            body_html,
        })
    }
}

/// Mails rendered and waiting to be written in one statement; see [`Outbox::batch`].
#[derive(Debug)]
pub struct MailBatch<'o> {
    outbox: &'o Outbox,
    pending: Vec<OwnedMail>,
    written: usize,
}

/// Rows per statement: large enough that round trips stop mattering, small enough that a
/// whole school's digests are never all in memory at once.
const BATCH_ROWS: usize = 500;

impl MailBatch<'_> {
    /// Renders the mail (bad input is a typed error, as with [`Outbox::enqueue`]) and writes
    /// the batch on `conn` when it is full.
    pub async fn add<C: Serialize + ?Sized>(
        &mut self,
        conn: &mut PgConnection,
        mail: MailRequest<'_, C>,
    ) -> Result<(), MailError> {
        self.add_bulk(conn, mail, None).await
    }

    /// As [`MailBatch::add`], for a mail sent in bulk with its one-click unsubscribe address
    /// (RFC 8058: mailbox providers require it of bulk senders).
    pub async fn add_bulk<C: Serialize + ?Sized>(
        &mut self,
        conn: &mut PgConnection,
        mail: MailRequest<'_, C>,
        list_unsubscribe: Option<String>,
    ) -> Result<(), MailError> {
        let extras = MailExtras {
            list_unsubscribe,
            ..MailExtras::default()
        };
        self.add_with(conn, mail, extras).await
    }

    /// As [`MailBatch::add`], with what some mails carry besides (see [`MailExtras`]).
    pub async fn add_with<C: Serialize + ?Sized>(
        &mut self,
        conn: &mut PgConnection,
        mail: MailRequest<'_, C>,
        extras: MailExtras,
    ) -> Result<(), MailError> {
        let recipient = Recipient::parse(mail.to)?;
        let rendered =
            self.outbox
                .render(mail.template, mail.language, mail.context, mail.letterhead)?;
        let (sender_name, school_reply_to) = self.outbox.sender_of(mail.letterhead);
        let reply_to = match extras.reply_to {
            Some(own) => Some(Recipient::parse(&own)?.as_str().to_owned()),
            None => school_reply_to,
        };
        self.pending.push(OwnedMail {
            sender_name,
            reply_to,
            list_unsubscribe: extras.list_unsubscribe,
            person_id: extras.person_id,
            about: extras.about,
            tenant_id: mail.letterhead.map(|l| l.tenant.get()),
            recipient: recipient.as_str().to_owned(),
            rendered,
            message_id: self.outbox.message_id(),
            urgent: mail.urgent,
        });
        if self.pending.len() >= BATCH_ROWS {
            self.write(conn).await?;
        }
        Ok(())
    }

    /// Writes what is left on `conn`; returns how many mails the batch wrote in all. A batch
    /// dropped without `finish` leaves its last rows unwritten.
    pub async fn finish(mut self, conn: &mut PgConnection) -> Result<usize, MailError> {
        self.write(conn).await?;
        Ok(self.written)
    }

    async fn write(&mut self, conn: &mut PgConnection) -> Result<(), MailError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows: Vec<NewMail<'_>> = self
            .pending
            .iter()
            .map(|mail| NewMail {
                tenant_id: mail.tenant_id,
                recipient: &mail.recipient,
                subject: &mail.rendered.subject,
                body_text: &mail.rendered.body_text,
                body_html: &mail.rendered.body_html,
                message_id: &mail.message_id,
                urgent: mail.urgent,
                sender_name: mail.sender_name.as_deref(),
                reply_to: mail.reply_to.as_deref(),
                list_unsubscribe: mail.list_unsubscribe.as_deref(),
                person_id: mail.person_id,
                about: mail.about.as_deref(),
            })
            .collect();
        outbox::insert_many(conn, &rows, NOTIFY_CHANNEL).await?;
        tracing::debug!(mails = rows.len(), "mails enqueued");
        self.written += rows.len();
        drop(rows);
        self.pending.clear();
        Ok(())
    }
}

#[derive(Debug)]
struct OwnedMail {
    tenant_id: Option<i64>,
    recipient: String,
    rendered: RenderedMail,
    message_id: String,
    urgent: bool,
    sender_name: Option<String>,
    reply_to: Option<String>,
    list_unsubscribe: Option<String>,
    person_id: Option<i64>,
    about: Option<String>,
}

/// What a mail in a batch may carry besides its text.
#[derive(Debug, Default)]
pub struct MailExtras {
    /// The one-click unsubscribe address of a bulk mail (RFC 8058).
    pub list_unsubscribe: Option<String>,
    /// Where answers go instead of the school's address: the recipient's own reply address.
    pub reply_to: Option<String>,
    /// For the delivery figures (N7): the person it goes to, and `post:<id>` or `message:<id>`.
    pub person_id: Option<i64>,
    pub about: Option<String>,
}
