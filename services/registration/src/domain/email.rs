//! `EmailAddress`: a sign-in address that a person can type and a mail server will accept.

use std::fmt;

/// An address in plain ASCII, at most 254 characters, with one `@`, a local part and a domain
/// of at least two labels. Non-ASCII is refused on purpose: a Cyrillic `а` that looks like a
/// Latin `a` would otherwise make a second account that looks like the first.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why an address was refused; each is a catalogue key for the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("registration.email_empty")]
    Empty,
    #[error("registration.email_too_long")]
    TooLong,
    #[error("registration.email_not_ascii")]
    NotAscii,
    #[error("registration.email_malformed")]
    Malformed,
}

impl EmailError {
    pub fn key(self) -> &'static str {
        match self {
            Self::Empty => "registration.email_empty",
            Self::TooLong => "registration.email_too_long",
            Self::NotAscii => "registration.email_not_ascii",
            Self::Malformed => "registration.email_malformed",
        }
    }
}

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EmailError::Empty);
        }
        if text.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if !text.is_ascii() {
            return Err(EmailError::NotAscii);
        }
        let (local, domain) = text.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
        if !(local_ok && domain_ok) {
            return Err(EmailError::Malformed);
        }
        // The domain is case-insensitive everywhere; the local part is kept as typed for mail
        // but compared case-insensitively for sign-in, as every provider does in practice.
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to compare addresses and to key abuse counters.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Debug for EmailAddress {
    // Addresses are personal data: never in logs, not even through Debug.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "ouder@example.nl",
            "Jan.de.Vries+school@Mail.Example.NL",
            "a@b.co",
            "o'brien@example.com",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            EmailAddress::parse("  Jan@Example.NL ").unwrap().as_str(),
            "Jan@example.nl"
        );
        assert_eq!(
            EmailAddress::parse("Jan@Example.NL").unwrap().normalized(),
            "jan@example.nl"
        );
    }

    #[test]
    fn refuses_with_a_reason() {
        use EmailError::*;
        for (bad, why) in [
            ("", Empty),
            ("   ", Empty),
            ("geen-apenstaartje", Malformed),
            ("@example.nl", Malformed),
            ("jan@", Malformed),
            ("jan@localhost", Malformed),
            ("jan@example.1", Malformed),
            ("jan..piet@example.nl", Malformed),
            (".jan@example.nl", Malformed),
            ("jan@-example.nl", Malformed),
            ("jan@exa mple.nl", Malformed),
            ("jan\r\nBcc: x@example.nl", Malformed),
            ("jаn@example.nl", NotAscii), // Cyrillic а
            ("jan@exаmple.nl", NotAscii),
            ("jan@example.nl\u{200b}", NotAscii),
        ] {
            assert_eq!(EmailAddress::parse(bad).unwrap_err(), why, "{bad:?}");
        }
        let long = format!("{}@example.nl", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long).unwrap_err(), TooLong);
        assert_eq!(
            format!("{:?}", EmailAddress::parse("a@b.co").unwrap()),
            "EmailAddress(***)"
        );
    }
}
