//! The outbox's types with rules: recipients, mail ids, the school's letterhead, a mail request.

use std::fmt;
use std::str::FromStr;

use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantId;

use crate::error::MailError;

/// Longest address SMTP can carry in a path (RFC 5321: 256 octets including the brackets).
pub const MAX_RECIPIENT_BYTES: usize = 254;
/// Longest subject, in characters: beyond this it is no longer a subject.
pub const MAX_SUBJECT_CHARS: usize = 250;
/// Largest rendered mail (text and HTML together). Mails carry links, not attachments.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An e-mail address that SMTP can carry and no header can be smuggled into.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(String);

impl Recipient {
    /// Parses an address: no line breaks or control characters, one `@`, a domain with a
    /// dot, at most [`MAX_RECIPIENT_BYTES`]; surrounding spaces are ignored and the domain is
    /// lower-cased.
    pub fn parse(raw: &str) -> Result<Self, MailError> {
        if raw.chars().any(char::is_control) {
            return Err(MailError::HeaderInjection("recipient"));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(MailError::EmptyRecipient);
        }
        if trimmed.len() > MAX_RECIPIENT_BYTES {
            return Err(MailError::TooLarge {
                what: "recipient",
                size: trimmed.len(),
                limit: MAX_RECIPIENT_BYTES,
            });
        }
        let (user, domain) = trimmed
            .rsplit_once('@')
            .ok_or(MailError::MalformedRecipient)?;
        let domain = domain.to_ascii_lowercase();
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        let address = format!("{user}@{domain}");
        if !domain_ok
            || address.contains(char::is_whitespace)
            || lettre::Address::from_str(&address).is_err()
        {
            return Err(MailError::MalformedRecipient);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Addresses are personal data: `Debug` shows only the domain.
impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "Recipient(…@{domain})")
    }
}

/// A mail's row in `platform.outbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MailId(i64);

impl MailId {
    pub fn new(id: i64) -> Self {
        Self(id)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The school's letterhead around every mail it sends: its name, the header and footer it
/// wrote itself (plain text; escaped in HTML mails), and how to reach it. Its mails come from
/// "<school> via Schoolplein", with answers to `contact_email` when it gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Letterhead {
    #[serde(skip)]
    pub tenant: TenantId,
    pub school_name: String,
    pub header: String,
    pub footer: String,
    /// Where answers go (Reply-To) and the address shown under the mail; empty: none given.
    pub contact_email: String,
    pub phone: String,
    /// The postal address, lines as the school wrote them.
    pub address: String,
}

/// One mail to enqueue. `template` names `mail/<template>/{subject.txt,body.txt,body.html}`;
/// `context` is what those templates see (besides `t`, `lang` and `letterhead`).
#[derive(Debug, Clone, Copy)]
pub struct MailRequest<'a, C: Serialize + ?Sized> {
    pub to: &'a str,
    pub template: &'a str,
    pub language: Language,
    /// Claimed before any backlog of ordinary mail (sign-in links, password resets).
    pub urgent: bool,
    pub context: &'a C,
    /// The school's letterhead; `None` for the platform's own mails.
    pub letterhead: Option<&'a Letterhead>,
}

/// A file a mail carries: a formal document the recipient keeps (a decision letter). Most
/// mail carries links instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    /// Letters, digits, dots, dashes and spaces; checked when enqueued.
    pub file_name: String,
    /// `application/pdf` only.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Files per mail, at most.
pub const MAX_ATTACHMENTS: usize = 5;
/// Bytes per file, at most.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;

/// A rendered subject must be one line: a line break would start a new header.
pub(crate) fn check_subject(subject: &str) -> Result<(), MailError> {
    if subject.chars().any(char::is_control) {
        return Err(MailError::HeaderInjection("subject"));
    }
    if subject.is_empty() {
        return Err(MailError::EmptySubject);
    }
    let chars = subject.chars().count();
    if chars > MAX_SUBJECT_CHARS {
        return Err(MailError::TooLarge {
            what: "subject",
            size: subject.len(),
            limit: MAX_SUBJECT_CHARS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_parsed_strictly() {
        assert_eq!(
            Recipient::parse(" Ouder@Example.NL ").unwrap().as_str(),
            "Ouder@example.nl"
        );
        for (raw, bad) in [
            ("", "empty"),
            ("   ", "empty"),
            ("geen-apenstaartje", "malformed"),
            ("a@b", "malformed"),
            ("a b@c.nl", "malformed"),
            ("a@c..nl", "malformed"),
            ("<a@c.nl>", "malformed"),
            ("a@c.nl,b@d.nl", "malformed"),
            ("a@c.nl\r\nBcc: x@y.nl", "injection"),
            ("a@c.nl\n", "injection"),
            ("a\u{0}@c.nl", "injection"),
        ] {
            let error = Recipient::parse(raw).unwrap_err();
            let kind = match error {
                MailError::EmptyRecipient => "empty",
                MailError::MalformedRecipient => "malformed",
                MailError::HeaderInjection(_) => "injection",
                other => panic!("{raw:?}: {other}"),
            };
            assert_eq!(kind, bad, "{raw:?}");
        }
        let long = format!("{}@example.nl", "a".repeat(300));
        assert!(matches!(
            Recipient::parse(&long),
            Err(MailError::TooLarge { .. })
        ));
    }

    #[test]
    fn debug_hides_the_person() {
        let printed = format!("{:?}", Recipient::parse("piet@example.nl").unwrap());
        assert!(!printed.contains("piet"), "{printed}");
    }

    #[test]
    fn subjects_are_one_line() {
        assert!(check_subject("Welkom").is_ok());
        assert!(matches!(
            check_subject("Welkom\r\nBcc: x@y.nl"),
            Err(MailError::HeaderInjection("subject"))
        ));
        assert!(matches!(check_subject(""), Err(MailError::EmptySubject)));
        assert!(check_subject(&"x".repeat(251)).is_err());
    }
}
