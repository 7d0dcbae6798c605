//! Secret tokens (sessions, links in mails, form tokens): random, stored only as a hash,
//! compared in constant time.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes, base64url: 43 characters.
const TOKEN_LEN: usize = 43;

/// A secret token as the person holds it (in a cookie or a link). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only what `generate` makes, so nothing else reaches Redis or SQL.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == TOKEN_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: SHA-256 of the token. A leaked table or Redis dump holds no usable token.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// Constant-time equality with a token the person sent back.
    pub fn matches(&self, other: &str) -> bool {
        self.0.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

/// The stored form of a token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell sessions apart in a debugger; it reveals nothing usable.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_anything_else() {
        let token = SecretToken::generate();
        assert_eq!(token.expose().len(), TOKEN_LEN);
        assert_eq!(SecretToken::parse(token.expose()), Some(token.clone()));
        assert!(SecretToken::parse("short").is_none());
        assert!(SecretToken::parse(&"a".repeat(42)).is_none());
        assert!(SecretToken::parse(&format!("{}*", &token.expose()[..42])).is_none());
        assert!(token.matches(token.expose()));
        assert!(!token.matches(&SecretToken::generate().0));
        assert_eq!(format!("{token:?}"), "SecretToken(***)");
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = SecretToken::generate().hash();
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_ne!(SecretToken::generate().hash(), hash);
    }
}
