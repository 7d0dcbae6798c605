//! Password hashing with argon2id on the blocking pool, a bounded number at a time, so a storm
//! of sign-ins cannot starve the pages everyone else is reading.

use std::sync::Arc;

use crate::config::AccountsConfig;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};
use tracing::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Hashes and checks passwords.
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    /// Hashes at once, and the permits that enforce it.
    bound: usize,
    permits: Arc<Semaphore>,
    /// A hash of nothing anyone knows, checked when an address has no account, so that
    /// "no such account" takes as long as "wrong password".
    decoy: Arc<OnceCell<String>>,
}

impl std::fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHashing")
            .field("params", &self.params)
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl PasswordHashing {
    pub fn new(config: &AccountsConfig) -> Result<Self, HashError> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_lanes,
            None,
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let bound = hashing_bound(config.password_hash_concurrency, cores);
        Ok(Self {
            params,
            bound,
            permits: Arc::new(Semaphore::new(bound)),
            decoy: Arc::new(OnceCell::new()),
        })
    }

    /// How many hashes may run at once in this process.
    pub fn concurrency(&self) -> usize {
        self.bound
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        let params = self.params.clone();
        self.bounded(move || {
            Self::argon2(params)
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Hash(e.to_string()))
        })
        .await?
    }

    /// True when `password` matches the stored hash. With no stored hash (no account, or no
    /// password set yet) the same work is done against a decoy, and the answer is false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashError> {
        let (phc, real) = match stored {
            Some(phc) => (phc.to_owned(), true),
            None => (self.decoy().await?, false),
        };
        let password = password.to_owned();
        let params = self.params.clone();
        let matches = self
            .bounded(move || {
                Self::argon2(params)
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok()
            })
            .await?;
        Ok(real && matches)
    }

    async fn decoy(&self) -> Result<String, HashError> {
        self.decoy
            .get_or_try_init(|| async {
                let random = tenant_free_random();
                self.hash(&random).await
            })
            .await
            .cloned()
    }

    /// Runs `work` on the blocking pool once a permit is free, inside the caller's span.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Hash(e.to_string()))?;
        let span = tracing::Span::current();
        Ok(tokio::task::spawn_blocking(move || span.in_scope(work))
            .instrument(tracing::Span::current())
            .await?)
    }
}

/// Hashes at once: the configured number, but never every core. Each hash holds a core for
/// its whole run, so with as many hashes as cores a storm of sign-ins left the pages waiting
/// for the CPU (on two cores a signed-in page's p99 went from 3 ms to 27 ms; see
/// docs/BENCHMARKS.md).
fn hashing_bound(configured: usize, cores: usize) -> usize {
    configured.min(cores.saturating_sub(1)).max(1)
}

fn tenant_free_random() -> String {
    crate::tokens::SecretToken::generate().expose().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AccountsConfig {
        AccountsConfig {
            session_idle_hours: 12,
            keep_signed_in_days: 60,
            secure_cookies: false,
            max_failed_sign_ins_per_account: 5,
            max_failed_sign_ins_per_ip: 50,
            failed_sign_in_window_minutes: 15,
            max_password_resets_per_address: 3,
            password_hash_concurrency: 2,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_lanes: 1,
            invitation_days: 14,
            email_change_hours: 24,
        }
    }

    #[test]
    fn hashing_leaves_a_core_to_the_pages() {
        assert_eq!(hashing_bound(2, 2), 1);
        assert_eq!(hashing_bound(2, 8), 2);
        assert_eq!(hashing_bound(16, 8), 7);
        assert_eq!(hashing_bound(2, 1), 1, "one core: hashing still runs");
        assert_eq!(hashing_bound(0, 4), 1);
    }

    #[tokio::test]
    async fn hashes_verify_and_carry_their_parameters() {
        let hashing = PasswordHashing::new(&config()).unwrap();
        let hash = hashing.hash("Kn1kker-Boom-Zeil").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hashing
                .verify("Kn1kker-Boom-Zeil", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("kn1kker-boom-zeil", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("Kn1kker-Boom-Zeil", None).await.unwrap());
        assert_ne!(
            hashing.hash("Kn1kker-Boom-Zeil").await.unwrap(),
            hash,
            "salted"
        );
    }
}
