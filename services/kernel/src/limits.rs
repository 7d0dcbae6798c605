//! Abuse limits in Redis: every attempt is counted and checked in one atomic step, before the
//! work it protects, in windows shared by every process.
//!
//! Checking a counter and bumping it afterwards lets a burst through: requests sent at the
//! same moment all read the count before any of them adds to it. Here one Redis script
//! checks every counter an attempt falls under and, only if none is full, adds one to each;
//! Redis runs scripts one at a time, so of N attempts released together exactly the limit's
//! worth pass. A limit that counts only failures (wrong passwords, wrong codes) counts every
//! attempt up front and gives a successful one back ([`Attempt::succeeded`]): a success never
//! wipes failures that arrived beside it.

use std::sync::LazyLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::AccountsConfig;
use crate::error::AppError;

/// One kind of limit: at most `max` attempts per subject within `window`, the window starting
/// with the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Names the counters in Redis (`limit:<name>:<subject>`).
    pub name: &'static str,
    pub max: u32,
    pub window: Duration,
}

const HOUR: Duration = Duration::from_secs(3600);

/// Every limit of the platform, in one place.
pub mod rules {
    use super::*;

    /// Failed password checks per account (signing in, and the current password asked when
    /// changing the password or the sign-in address): they are all guesses at one password.
    pub fn password_per_account(config: &AccountsConfig) -> Rule {
        Rule {
            name: "password:account",
            max: config.max_failed_sign_ins_per_account,
            window: config.failed_sign_in_window(),
        }
    }

    /// Failed sign-ins per IP address, whatever the account.
    pub fn sign_in_per_ip(config: &AccountsConfig) -> Rule {
        Rule {
            name: "sign-in:ip",
            max: config.max_failed_sign_ins_per_ip,
            window: config.failed_sign_in_window(),
        }
    }

    /// Wrong activation codes per IP address, and per account when signed in.
    pub const WRONG_CODE_PER_IP: Rule = Rule {
        name: "code:ip",
        max: 10,
        window: HOUR,
    };
    pub const WRONG_CODE_PER_ACCOUNT: Rule = Rule {
        name: "code:account",
        max: 10,
        window: HOUR,
    };

    /// Password-reset requests per address.
    pub fn reset_per_address(config: &AccountsConfig) -> Rule {
        Rule {
            name: "reset:address",
            max: config.max_password_resets_per_address,
            window: HOUR,
        }
    }

    /// Registration confirmations (a mail and a password hash each) per address.
    pub fn registration_per_address(config: &AccountsConfig) -> Rule {
        Rule {
            name: "registration:address",
            max: config.max_registration_mails_per_address,
            window: HOUR,
        }
    }

    /// Mails that anyone may make the platform send (password resets, registration
    /// confirmations), per IP address, all kinds together.
    pub fn account_mails_per_ip(config: &AccountsConfig) -> Rule {
        Rule {
            name: "account-mail:ip",
            max: config.max_account_mails_per_ip,
            window: HOUR,
        }
    }

    /// Requests for a new sign-in address (each mails both addresses), per account.
    pub const EMAIL_CHANGE_PER_ACCOUNT: Rule = Rule {
        name: "email-change:account",
        max: 5,
        window: HOUR,
    };

    /// Invitations a member of staff sends, and invitations one address receives.
    pub const INVITATIONS_PER_INVITER: Rule = Rule {
        name: "invitation:inviter",
        max: 100,
        window: HOUR,
    };
    pub const INVITATIONS_PER_ADDRESS: Rule = Rule {
        name: "invitation:address",
        max: 3,
        window: HOUR,
    };

    /// Requests to link partner accounts (each mails the other parent), per account.
    pub const PARTNER_REQUESTS_PER_ACCOUNT: Rule = Rule {
        name: "partner-request:account",
        max: 5,
        window: HOUR,
    };
}

/// What a limit counts: an IP address, an account, or an e-mail address (hashed, so Redis
/// holds no addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    pub fn ip(ip: &str) -> Self {
        Self(ip.to_owned())
    }

    pub fn account(account_id: i64) -> Self {
        Self(account_id.to_string())
    }

    /// An e-mail address, normalised by the caller; only its SHA-256 is kept.
    pub fn address(normalized: &str) -> Self {
        Self(format!("{:x}", Sha256::digest(normalized.as_bytes())))
    }
}

/// Checks every counter (KEYS) against its maximum (ARGV[i]); when none is full, adds one to
/// each, starting a counter's window (ARGV[#KEYS + i] ms) with its first attempt. Returns
/// {1} when counted, or {0, ms left in the full counter's window}.
const ATTEMPT_SCRIPT: &str = r"
local n = #KEYS
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[i]) then
    local left = redis.call('PTTL', KEYS[i])
    if left < 0 then
      left = tonumber(ARGV[n + i])
      redis.call('PEXPIRE', KEYS[i], left)
    end
    return {0, left}
  end
end
for i = 1, n do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[n + i])
  end
end
return {1}
";

/// Takes back one attempt from each counter that still holds one.
const REFUND_SCRIPT: &str = r"
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
";

static ATTEMPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ATTEMPT_SCRIPT));
static REFUND: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(REFUND_SCRIPT));

/// Counts attempts against limits. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    redis: crate::kv::Redis,
    prefix: String,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    pub fn new(redis: crate::kv::Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    pub fn from_state(state: &crate::AppState) -> Self {
        Self::new(state.redis.clone(), &state.config.redis.key_prefix)
    }

    fn key(&self, rule: &Rule, subject: &Subject) -> String {
        format!("{}limit:{}:{}", self.prefix, rule.name, subject.0)
    }

    /// Counts one attempt under every `(rule, subject)` at once — or, when any of them has
    /// reached its maximum, under none, answering "too many attempts" with the wait.
    pub async fn attempt(&self, counts: &[(Rule, Subject)]) -> Result<Attempt, AppError> {
        let keys: Vec<String> = counts.iter().map(|(r, s)| self.key(r, s)).collect();
        let mut invocation = ATTEMPT.prepare_invoke();
        for key in &keys {
            invocation.key(key);
        }
        for (rule, _) in counts {
            invocation.arg(rule.max);
        }
        for (rule, _) in counts {
            invocation.arg(rule.window.as_millis().max(1) as u64);
        }
        let mut redis = self.redis.connection()?;
        let answer: Vec<i64> = invocation.invoke_async(&mut redis).await?;
        match answer.as_slice() {
            [1] => Ok(Attempt {
                limiter: self.clone(),
                keys,
            }),
            [_, left] => Err(AppError::TooManyAttempts {
                minutes: minutes(Duration::from_millis((*left).max(0) as u64)),
            }),
            _ => Err(AppError::Internal(format!(
                "unexpected answer from the limit script: {answer:?}"
            ))),
        }
    }
}

/// An attempt that was counted. Dropped, it stays counted (a failure, or work that was done).
#[must_use = "a counted attempt is a failure unless it is given back with `succeeded`"]
#[derive(Debug)]
pub struct Attempt {
    limiter: Limiter,
    keys: Vec<String>,
}

impl Attempt {
    /// For limits that count failures only: this attempt succeeded, so it is given back. The
    /// failures counted beside it stay.
    pub async fn succeeded(self) -> Result<(), AppError> {
        let mut invocation = REFUND.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        let mut redis = self.limiter.redis.connection()?;
        let _: i64 = invocation.invoke_async(&mut redis).await?;
        Ok(())
    }
}

/// The client's address as an extractor (see [`client_ip`]).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl axum::extract::FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            parts,
            state.config.server.trust_forwarded_host,
        )))
    }
}

impl ClientIp {
    pub fn subject(&self) -> Subject {
        Subject::ip(&self.0)
    }
}

/// The client's address: the last `X-Forwarded-For` entry behind a trusted proxy (the one the
/// proxy itself saw), otherwise the connection's peer.
pub fn client_ip(parts: &http::request::Parts, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| v.parse::<std::net::IpAddr>().is_ok())
    {
        return forwarded.to_owned();
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string())
}

/// Whole minutes to wait, rounded up.
pub fn minutes(wait: Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_only_as_hashes() {
        let subject = Subject::address("ouder@example.nl");
        assert_eq!(subject.0.len(), 64);
        assert!(!subject.0.contains("example"));
        assert_eq!(subject, Subject::address("ouder@example.nl"));
    }

    #[test]
    fn waits_round_up_to_whole_minutes() {
        assert_eq!(minutes(Duration::from_secs(1)), 1);
        assert_eq!(minutes(Duration::from_secs(61)), 2);
        assert_eq!(minutes(Duration::ZERO), 1);
    }
}
