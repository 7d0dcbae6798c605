//! `NewPassword`: a password someone chooses, held to the rules of A4.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// The refused passwords (see `data/README.md`).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

pub const MIN_LEN: usize = 8;
/// Long enough for any passphrase; short enough that hashing it costs nothing extra.
pub const MAX_LEN: usize = 200;

/// A password that meets the rules: at least 8 characters with a lower-case letter, an
/// upper-case letter, a digit and another character, and not a common password.
#[derive(Clone)]
pub struct NewPassword(String);

/// Why a password was refused; each is a catalogue key for the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordError {
    TooShort,
    TooLong,
    NoLowercase,
    NoUppercase,
    NoDigit,
    NoSpecial,
    Common,
}

impl PasswordError {
    pub fn key(self) -> &'static str {
        match self {
            Self::TooShort => "registration.password_too_short",
            Self::TooLong => "registration.password_too_long",
            Self::NoLowercase => "registration.password_no_lowercase",
            Self::NoUppercase => "registration.password_no_uppercase",
            Self::NoDigit => "registration.password_no_digit",
            Self::NoSpecial => "registration.password_no_special",
            Self::Common => "registration.password_common",
        }
    }
}

impl NewPassword {
    pub fn parse(text: &str) -> Result<Self, PasswordError> {
        let chars = text.chars().count();
        if chars < MIN_LEN {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_LEN {
            return Err(PasswordError::TooLong);
        }
        if !text.chars().any(char::is_lowercase) {
            return Err(PasswordError::NoLowercase);
        }
        if !text.chars().any(char::is_uppercase) {
            return Err(PasswordError::NoUppercase);
        }
        if !text.chars().any(|c| c.is_ascii_digit()) {
            return Err(PasswordError::NoDigit);
        }
        if text.chars().all(char::is_alphanumeric) {
            return Err(PasswordError::NoSpecial);
        }
        if is_common(text) {
            return Err(PasswordError::Common);
        }
        Ok(Self(text.to_owned()))
    }

    /// A new password typed twice, as every form that sets one asks it: refused as
    /// `(field, text key)` — `field` for the password itself, `repeat` when the two differ.
    pub fn typed_twice(
        field: &'static str,
        password: &str,
        repeat: &str,
    ) -> Result<Self, (&'static str, &'static str)> {
        let password = Self::parse(password).map_err(|e| (field, e.key()))?;
        if repeat != password.expose() {
            return Err(("repeat", "registration.password_repeat_differs"));
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// On the list as it is, without the digits and symbols around a word (`Welkom2024!`), or
/// with the usual digit-for-letter swaps undone (`W3lk0m!`).
pub fn is_common(text: &str) -> bool {
    let lower = text.to_lowercase();
    let core = trim_to_letters(&lower);
    let unswapped = unswap(core);
    let unswapped_whole = unswap(&lower);
    let candidates = [
        lower.as_str(),
        core,
        unswapped.as_str(),
        trim_to_letters(&unswapped_whole),
    ];
    candidates
        .iter()
        .enumerate()
        // A short word left after stripping (`Xy` from `Xy12345678!`) says nothing.
        .any(|(i, word)| (i == 0 || word.chars().count() >= 4) && COMMON.contains(word))
}

fn trim_to_letters(text: &str) -> &str {
    text.trim_matches(|c: char| !c.is_alphabetic())
}

/// Undoes the usual digit-and-sign-for-letter swaps (`w3lk0m` → `welkom`).
fn unswap(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// How many passwords the list holds (shown in the docs and checked by a test).
pub fn common_count() -> usize {
    COMMON.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_long_enough() {
        assert!(common_count() >= 10_000, "{}", common_count());
    }

    #[test]
    fn applies_every_rule_with_its_reason() {
        use PasswordError::*;
        for (bad, why) in [
            ("Ab1!", TooShort),
            ("abcdefg1!", NoUppercase),
            ("ABCDEFG1!", NoLowercase),
            ("Abcdefgh!", NoDigit),
            ("Abcdefgh1", NoSpecial),
            ("Password1!", Common),
            ("Welkom2024!", Common),
            ("W3lk0m!!", Common),
            ("Wachtwoord1?", Common),
            ("Feyenoord1908!", Common),
        ] {
            assert_eq!(NewPassword::parse(bad).unwrap_err(), why, "{bad}");
        }
        assert_eq!(
            NewPassword::parse(&format!("Aa1!{}", "x".repeat(MAX_LEN))).unwrap_err(),
            TooLong
        );
        for good in ["Kn1kker-Boom-Zeil", "Tr0mpet&Vlinder", "zeven-Egels-9"] {
            assert!(NewPassword::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            format!("{:?}", NewPassword::parse("Kn1kker-Boom-Zeil").unwrap()),
            "NewPassword(***)"
        );
    }
}
