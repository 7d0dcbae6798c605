//! Enqueueing: render a mail in the person's language with the school's letterhead and write
//! it as a row, inside the caller's transaction.

use std::sync::Arc;

use schoolplein_kernel::config::MailConfig;
use schoolplein_kernel::{Language, Templates};
use serde::Serialize;
use sqlx::PgConnection;

use crate::db::outbox::{self, NewMail};
use crate::domain::{Letterhead, MAX_BODY_BYTES, MailId, MailRequest, Recipient, check_subject};
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
}

impl Outbox {
    pub fn new(templates: Arc<Templates>, config: &MailConfig) -> Self {
        Self {
            templates,
            message_id_domain: config.message_id_domain.clone(),
        }
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
        let message_id = format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.message_id_domain
        );
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
            },
            NOTIFY_CHANNEL,
        )
        .await?;
        tracing::debug!(mail.id = %id, mail.template = mail.template, tenant.id = ?mail.letterhead.map(|l| l.tenant.get()), "mail enqueued");
        Ok(id)
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
