//! The mail outbox: every mail is first a row, written in the transaction of the change that
//! causes it, rendered from its templates in the person's language with the school's
//! letterhead; workers then claim rows and deliver them over SMTP (or to files in development).

pub mod db;
pub mod dev;
pub mod digest;
pub mod domain;
pub mod error;
pub mod inbound;
pub mod invitations;
pub mod mailings;
pub mod mails;
pub mod message_notices;
pub mod notifications;
pub mod outbox;
pub mod reminders;
pub mod replies;
pub mod schedule;
pub mod signups;
pub mod smtp;
pub mod transport;
pub mod unsubscribe;
pub mod worker;

use schoolplein_kernel::Language;

pub use domain::{Letterhead, MailAttachment, MailId, MailRequest, Recipient};
pub use error::MailError;
pub use mails::DeliveryCheckMail;
pub use outbox::{MailExtras, NOTIFY_CHANNEL, Outbox};
pub use worker::{Worker, WorkerStats};

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The mailing service's texts in every language.
pub const MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "mailing/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "mailing/en.toml",
        include_str!("../locales/en.toml"),
    ),
];
