//! The urgent mail (C2): queued ahead of all other mail, to each recipient with a link of
//! their own that counts as reading the post, naming the post's files with a link to each.

use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Language};
use schoolplein_mailing::{Letterhead, MailExtras, MailRequest, Outbox};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::attachments;
use crate::db::posts::{self, Recipient};

#[derive(Debug, Serialize)]
pub struct UrgentMail<'a> {
    title: &'a str,
    paragraphs: Vec<String>,
    author: &'a str,
    /// The post's files, each with its download link (which asks to sign in when needed).
    files: Vec<MailFile>,
    /// The recipient's own link: following it counts as reading.
    link: String,
}

impl<'a> UrgentMail<'a> {
    /// The mail of a post titled `title`, its text as `paragraphs`, signed by `author`.
    pub fn new(title: &'a str, paragraphs: Vec<String>, author: &'a str) -> Self {
        Self {
            title,
            paragraphs,
            author,
            files: Vec::new(),
            link: String::new(),
        }
    }
}

/// A file of the post as a mail names it.
#[derive(Debug, Serialize)]
struct MailFile {
    name: String,
    link: String,
}

/// Queues the urgent mail to each recipient, ahead of all other mail, each with a link of
/// their own whose hash is kept, in `tx`.
pub async fn mail_urgent(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    post_id: i64,
    mut mail: UrgentMail<'_>,
    recipients: &[Recipient],
) -> Result<(), AppError> {
    let letterhead = Letterhead::load(tx).await?;
    let slug = tenant.entry().slug.as_str();
    mail.files = attachments::of_post(tx, post_id)
        .await?
        .into_iter()
        .map(|file| MailFile {
            link: state
                .config
                .tenancy
                .school_url(slug, &format!("/posts/{post_id}/attachments/{}", file.id)),
            name: file.file_name,
        })
        .collect();
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let mut hashes = Vec::with_capacity(recipients.len());
    let mut batch = outbox.batch();
    for recipient in recipients {
        let secret = SecretToken::generate();
        hashes.push(secret.hash().as_bytes().to_vec());
        mail.link = state
            .config
            .tenancy
            .school_url(slug, &format!("/r/{}", secret.expose()));
        batch
            .add_with(
                tx,
                MailRequest {
                    to: &recipient.email,
                    template: "portal/urgent",
                    language: Language::of_account(recipient.language.as_deref()),
                    urgent: true,
                    context: &mail,
                    letterhead: Some(&letterhead),
                },
                // For the delivery figures (N7).
                MailExtras {
                    person_id: Some(recipient.person_id),
                    about: Some(format!("post:{post_id}")),
                    ..MailExtras::default()
                },
            )
            .await?;
    }
    batch.finish(tx).await?;
    let people: Vec<i64> = recipients.iter().map(|r| r.person_id).collect();
    posts::add_links(tx, &hashes, post_id, &people).await?;
    Ok(())
}
