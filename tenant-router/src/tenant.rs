//! A school's identity: its immutable id (and the schema named from it), its slug and status.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The immutable id of a school. Its schema name is made from this, never from a host or slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct TenantId(i64);

impl TenantId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// The PostgreSQL schema that holds this school's data, e.g. `t_42`.
    pub fn schema_name(self) -> String {
        format!("t_{}", self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Names that are never schools: they belong to the platform or are too easily confused.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "auth",
    "autoconfig",
    "autodiscover",
    "beheer",
    "blog",
    "cdn",
    "dev",
    "docs",
    "email",
    "ftp",
    "help",
    "hulp",
    "imap",
    "info",
    "login",
    "mail",
    "media",
    "ns1",
    "ns2",
    "operator",
    "ouders",
    "pop",
    "pop3",
    "portal",
    "schoolplein",
    "smtp",
    "staging",
    "static",
    "status",
    "support",
    "test",
    "webmail",
    "www",
];

pub const SLUG_MIN_LEN: usize = 2;
pub const SLUG_MAX_LEN: usize = 40;

/// Why a proposed slug is not acceptable; each message tells the operator what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("a slug has at least {SLUG_MIN_LEN} characters")]
    TooShort,
    #[error("a slug has at most {SLUG_MAX_LEN} characters")]
    TooLong,
    #[error("a slug holds only lower-case letters a–z, digits and hyphens, not {0:?}")]
    InvalidCharacter(char),
    #[error("a slug neither starts nor ends with a hyphen")]
    EdgeHyphen,
    #[error("a slug has no two hyphens in a row")]
    DoubleHyphen,
    #[error("{0:?} is reserved for the platform")]
    Reserved(String),
}

/// The first label of a school's host (`deklimop` in `deklimop.schoolplein.nl`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(SlugError::InvalidCharacter(bad));
        }
        if raw.len() < SLUG_MIN_LEN {
            return Err(SlugError::TooShort);
        }
        if raw.len() > SLUG_MAX_LEN {
            return Err(SlugError::TooLong);
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err(SlugError::EdgeHyphen);
        }
        // Also keeps slugs clear of IDNA's `xn--` prefix.
        if raw.contains("--") {
            return Err(SlugError::DoubleHyphen);
        }
        if RESERVED_SLUGS.contains(&raw) {
            return Err(SlugError::Reserved(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantSlug {
    type Err = SlugError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantSlug({})", self.0)
    }
}

/// Whether a school is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Reads the database's text form; anything unknown counts as suspended, the safe side.
    pub fn from_db(value: &str) -> Self {
        match value {
            "active" => Self::Active,
            _ => Self::Suspended,
        }
    }
}

/// What the router needs to know about a school, held in memory for every school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantEntry {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub display_name: String,
    pub status: TenantStatus,
}

/// A school's display name: trimmed, 2–120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchoolNameError {
    #[error("a school's name has 2 to 120 characters")]
    Length,
    #[error("a school's name has no control characters")]
    ControlCharacter,
}

impl SchoolName {
    pub fn parse(raw: &str) -> Result<Self, SchoolNameError> {
        let trimmed = raw.trim();
        if trimmed.chars().any(char::is_control) {
            return Err(SchoolNameError::ControlCharacter);
        }
        let count = trimmed.chars().count();
        if !(2..=120).contains(&count) {
            return Err(SchoolNameError::Length);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_slugs() {
        for ok in ["de-klimop", "obs-42", "ab", "a1", &"x".repeat(40)] {
            assert_eq!(TenantSlug::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_bad_slugs_with_a_reason() {
        assert_eq!(TenantSlug::parse("a"), Err(SlugError::TooShort));
        assert_eq!(TenantSlug::parse(&"x".repeat(41)), Err(SlugError::TooLong));
        assert_eq!(
            TenantSlug::parse("De-Klimop"),
            Err(SlugError::InvalidCharacter('D'))
        );
        assert_eq!(
            TenantSlug::parse("de_klimop"),
            Err(SlugError::InvalidCharacter('_'))
        );
        assert_eq!(
            TenantSlug::parse("école"),
            Err(SlugError::InvalidCharacter('é'))
        );
        assert_eq!(TenantSlug::parse("-klimop"), Err(SlugError::EdgeHyphen));
        assert_eq!(TenantSlug::parse("klimop-"), Err(SlugError::EdgeHyphen));
        assert_eq!(TenantSlug::parse("xn--cole"), Err(SlugError::DoubleHyphen));
        assert_eq!(
            TenantSlug::parse("www"),
            Err(SlugError::Reserved("www".into()))
        );
        assert_eq!(TenantSlug::parse(""), Err(SlugError::TooShort));
    }

    #[test]
    fn every_reserved_name_is_itself_slug_shaped() {
        // Otherwise the reservation would be dead code: the shape check would refuse it first.
        for name in RESERVED_SLUGS {
            assert_eq!(
                TenantSlug::parse(name),
                Err(SlugError::Reserved((*name).into()))
            );
        }
    }

    #[test]
    fn schema_name_comes_from_the_id() {
        assert_eq!(TenantId::new(42).schema_name(), "t_42");
    }

    #[test]
    fn school_names_are_trimmed_and_bounded() {
        assert_eq!(
            SchoolName::parse("  OBS De Klimop ").unwrap().as_str(),
            "OBS De Klimop"
        );
        assert_eq!(SchoolName::parse("x"), Err(SchoolNameError::Length));
        assert_eq!(
            SchoolName::parse("a\nb"),
            Err(SchoolNameError::ControlCharacter)
        );
    }
}
