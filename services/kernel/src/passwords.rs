//! Password hashing with argon2id on threads of its own, a bounded number at a time and at a
//! lower CPU priority, so a storm of sign-ins cannot starve the pages everyone else is reading.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::AccountsConfig;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore, oneshot};

/// The nice value of the hashing threads. A page that needs the CPU gets it before a hash,
/// while hashing still gets about a tenth of a core that pages keep busy (weight 110 against
/// 1024). On two cores it held a signed-in page's p99 during a sign-in storm within 1.3× of
/// its p99 without one, against 1.5–2.3× at normal priority (docs/BENCHMARKS.md).
const HASHING_NICE: i32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the password-hashing threads stopped")]
    Stopped,
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and checks passwords.
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    /// Hashes at once: as many threads, and permits to wait for one in async code (a request
    /// given up while waiting leaves no work behind).
    bound: usize,
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
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
            jobs: start_threads(bound)?,
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

    /// Runs `work` on a hashing thread once a permit is free, inside the caller's span.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Stopped)?;
        let span = tracing::Span::current();
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(span.in_scope(work));
            }))
            .map_err(|_| HashError::Stopped)?;
        result.await.map_err(|_| HashError::Stopped)
    }
}

/// `count` threads that run hashing jobs at `HASHING_NICE` until every sender is gone.
fn start_threads(count: usize) -> Result<mpsc::Sender<Job>, HashError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..count {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("password-hash-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = job else {
                        return;
                    };
                    // A job that panics fails its own caller (its answer is dropped), not the
                    // thread.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })
            .map_err(|e| HashError::Hash(format!("cannot start a hashing thread: {e}")))?;
    }
    Ok(jobs)
}

/// Lowers the calling thread's CPU priority to `HASHING_NICE`. On Linux the nice value
/// belongs to the thread, not the process.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let thread = rustix::thread::gettid();
    // Only ever lower it: a process started at a lower priority stays there.
    let current = rustix::process::getpriority_process(Some(thread)).unwrap_or(0);
    if current >= HASHING_NICE {
        return;
    }
    if let Err(error) = rustix::process::setpriority_process(Some(thread), HASHING_NICE) {
        tracing::warn!(%error, "cannot lower the priority of password hashing");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

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
            max_registration_mails_per_address: 3,
            max_account_mails_per_ip: 50,
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

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_below_the_priority_of_everything_else() {
        let hashing = PasswordHashing::new(&config()).unwrap();
        let nice = hashing
            .bounded(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())))
            .await
            .unwrap()
            .unwrap();
        let ours = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_eq!(
            nice,
            HASHING_NICE.max(ours),
            "the hashing thread's nice value"
        );
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
