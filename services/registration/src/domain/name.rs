//! `PersonName`: how a person is called in the school and on their account.

use std::fmt;

use crate::domain::EmailAddress;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A trimmed name of 1–100 characters without control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

/// Why a name was refused; each is a catalogue key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    ControlCharacter,
}

impl NameError {
    pub fn key(self) -> &'static str {
        match self {
            Self::Empty => "registration.name_empty",
            Self::TooLong => "registration.name_too_long",
            Self::ControlCharacter => "registration.name_control",
        }
    }
}

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A stand-in until the person chooses their name: the address's part before the `@`.
    pub fn from_email(email: &EmailAddress) -> Self {
        let local = email.as_str().split('@').next().unwrap_or_default();
        let name: String = local.chars().take(MAX_NAME_CHARS).collect();
        Self::parse(&name).unwrap_or_else(|_| Self("?".to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Names are personal data: `Debug` shows only their length.
impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({} chars)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Sanne de Vries ").unwrap().as_str(),
            "Sanne de Vries"
        );
        assert_eq!(PersonName::parse("   ").unwrap_err(), NameError::Empty);
        assert_eq!(
            PersonName::parse(&"a".repeat(101)).unwrap_err(),
            NameError::TooLong
        );
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse("a\u{0}b").unwrap_err(),
            NameError::ControlCharacter
        );
        assert_eq!(
            PersonName::parse("a\nb").unwrap_err(),
            NameError::ControlCharacter
        );
    }

    #[test]
    fn a_stand_in_name_comes_from_the_address() {
        let email = EmailAddress::parse("juf.sanne@example.nl").unwrap();
        assert_eq!(PersonName::from_email(&email).as_str(), "juf.sanne");
        assert!(!format!("{:?}", PersonName::from_email(&email)).contains("sanne"));
    }
}
