//! The mail outbox: every mail is first a row, written in the transaction of the change that
//! causes it, rendered from its templates in the person's language with the school's
//! letterhead; workers then claim rows and deliver them over SMTP (or to files in development).

pub mod db;
pub mod dev;
pub mod digest;
pub mod domain;
pub mod error;
pub mod invitations;
pub mod mails;
pub mod notifications;
pub mod outbox;
pub mod reminders;
pub mod schedule;
pub mod signups;
pub mod smtp;
pub mod transport;
pub mod worker;

use schoolplein_kernel::Language;

pub use domain::{Letterhead, MailId, MailRequest, Recipient};
pub use error::MailError;
pub use mails::DeliveryCheckMail;
pub use outbox::{NOTIFY_CHANNEL, Outbox};
pub use worker::{Worker, WorkerStats};

/// The mail layout, the mailing service's own mails and its development pages, for the
/// server to register with every other service's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "mail/layout.html",
        include_str!("../templates/mail/layout.html"),
    ),
    (
        "mail/layout.txt",
        include_str!("../templates/mail/layout.txt"),
    ),
    (
        "mail/mailing/parent_invitation/subject.txt",
        include_str!("../templates/mail/mailing/parent_invitation/subject.txt"),
    ),
    (
        "mail/mailing/parent_invitation/body.txt",
        include_str!("../templates/mail/mailing/parent_invitation/body.txt"),
    ),
    (
        "mail/mailing/parent_invitation/body.html",
        include_str!("../templates/mail/mailing/parent_invitation/body.html"),
    ),
    (
        "mail/mailing/delivery_check/subject.txt",
        include_str!("../templates/mail/mailing/delivery_check/subject.txt"),
    ),
    (
        "mail/mailing/delivery_check/body.txt",
        include_str!("../templates/mail/mailing/delivery_check/body.txt"),
    ),
    (
        "mail/mailing/delivery_check/body.html",
        include_str!("../templates/mail/mailing/delivery_check/body.html"),
    ),
    (
        "mail/mailing/questionnaire_reminder/subject.txt",
        include_str!("../templates/mail/mailing/questionnaire_reminder/subject.txt"),
    ),
    (
        "mail/mailing/questionnaire_reminder/body.txt",
        include_str!("../templates/mail/mailing/questionnaire_reminder/body.txt"),
    ),
    (
        "mail/mailing/questionnaire_reminder/body.html",
        include_str!("../templates/mail/mailing/questionnaire_reminder/body.html"),
    ),
    (
        "mail/mailing/digest/subject.txt",
        include_str!("../templates/mail/mailing/digest/subject.txt"),
    ),
    (
        "mail/mailing/digest/body.txt",
        include_str!("../templates/mail/mailing/digest/body.txt"),
    ),
    (
        "mail/mailing/digest/body.html",
        include_str!("../templates/mail/mailing/digest/body.html"),
    ),
    (
        "mail/mailing/new_post/subject.txt",
        include_str!("../templates/mail/mailing/new_post/subject.txt"),
    ),
    (
        "mail/mailing/new_post/body.txt",
        include_str!("../templates/mail/mailing/new_post/body.txt"),
    ),
    (
        "mail/mailing/new_post/body.html",
        include_str!("../templates/mail/mailing/new_post/body.html"),
    ),
    (
        "mail/mailing/signups_waiting/subject.txt",
        include_str!("../templates/mail/mailing/signups_waiting/subject.txt"),
    ),
    (
        "mail/mailing/signups_waiting/body.txt",
        include_str!("../templates/mail/mailing/signups_waiting/body.txt"),
    ),
    (
        "mail/mailing/signups_waiting/body.html",
        include_str!("../templates/mail/mailing/signups_waiting/body.html"),
    ),
    (
        "mail/mailing/signup_decided/subject.txt",
        include_str!("../templates/mail/mailing/signup_decided/subject.txt"),
    ),
    (
        "mail/mailing/signup_decided/body.txt",
        include_str!("../templates/mail/mailing/signup_decided/body.txt"),
    ),
    (
        "mail/mailing/signup_decided/body.html",
        include_str!("../templates/mail/mailing/signup_decided/body.html"),
    ),
    (
        "mailing/dev_mail_list.html",
        include_str!("../templates/mailing/dev_mail_list.html"),
    ),
    (
        "mailing/dev_mail_show.html",
        include_str!("../templates/mailing/dev_mail_show.html"),
    ),
];

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
