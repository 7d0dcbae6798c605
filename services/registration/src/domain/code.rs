//! `ActivationCode`: the koppelcode on a parent's letter (A2) — twelve characters from an
//! alphabet without look-alikes, written in groups of four, typed back however the person
//! likes (any case, with or without spaces and dashes).

use std::fmt;

use rand::Rng;

/// No `0`/`O`, `1`/`I`: what is printed can be read back without doubt. 32 symbols, so 12 of
/// them carry 60 bits: guessing one of a school's codes is hopeless within the rate limit.
pub const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub const LEN: usize = 12;

/// An activation code in its stored form (12 symbols, no separators).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ActivationCode(String);

impl ActivationCode {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self(
            (0..LEN)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// Reads a typed code: case, spaces and dashes do not matter; anything else that is not
    /// in the alphabet, or the wrong length, is not a code.
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 64 {
            return None;
        }
        let code: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(Self(code))
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As printed: `ABCD-EFGH-JKLM`.
    pub fn printed(&self) -> String {
        format!("{}-{}-{}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }

    /// From the database (already in stored form).
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }
}

/// A code is a key to a child's data: `Debug` does not show it.
impl fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivationCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_read_back_however_they_are_typed() {
        for _ in 0..200 {
            let code = ActivationCode::generate();
            assert_eq!(code.as_str().len(), LEN);
            assert!(!code.as_str().contains(['0', 'O', '1', 'I']));
            let printed = code.printed();
            assert_eq!(ActivationCode::parse(&printed), Some(code.clone()));
            assert_eq!(
                ActivationCode::parse(&printed.to_lowercase()),
                Some(code.clone())
            );
            let spaced = printed.replace('-', " ");
            assert_eq!(ActivationCode::parse(&format!("  {spaced} ")), Some(code));
        }
    }

    #[test]
    fn what_is_not_a_code() {
        for typed in [
            "",
            "ABCD-EFGH-JKL",
            "ABCD-EFGH-JKLMN",
            "ABCD-EFGH-JKL0",
            "ABCD-EFGH-JKLI",
            "ABCD.EFGH.JKLM",
            &"A".repeat(100),
        ] {
            assert_eq!(ActivationCode::parse(typed), None, "{typed}");
        }
        assert!(!format!("{:?}", ActivationCode::generate()).contains('-'));
    }
}
