//! Whether a server (PostgreSQL, Redis) is reachable, as last seen: once a connection to it has
//! failed, work that needs it fails at once until a background probe reaches it again.
//!
//! Without this, every request during an outage waits out its own connection attempts (the
//! pool retries a refused connection until its acquire timeout), and pages hang for seconds
//! before failing. With it, the first failure trips the breaker; requests then fail in
//! microseconds (a 503 page that says so), and one probe per process knocks until the server
//! answers.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

/// How often a down server is tried again.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// How long one probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The reachability of one server. Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Breaker {
    inner: Arc<Inner>,
}

struct Inner {
    /// The server's name in logs and on `/readyz` (`postgres`, `redis`).
    name: &'static str,
    /// `true` while the server is unreachable.
    down: watch::Sender<bool>,
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.inner.name)
            .field("down", &self.is_down())
            .finish()
    }
}

/// The server is known to be unreachable: the work was not tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is unreachable")]
pub struct Unreachable(pub &'static str);

impl Breaker {
    pub fn new(name: &'static str) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                down: watch::Sender::new(false),
            }),
        }
    }

    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    pub fn is_down(&self) -> bool {
        *self.inner.down.borrow()
    }

    /// `Err` while the server is known to be down.
    pub fn check(&self) -> Result<(), Unreachable> {
        if self.is_down() {
            Err(Unreachable(self.inner.name))
        } else {
            Ok(())
        }
    }

    /// Marks the server down: from now on work that needs it fails at once, and the probe
    /// starts knocking. `why` is logged once, when the state changes.
    pub fn trip(&self, why: &dyn fmt::Display) {
        if !self.inner.down.send_replace(true) {
            tracing::warn!(server = self.inner.name, error = %why, "server unreachable: failing fast until it answers again");
        }
    }

    /// Marks the server reachable again.
    pub fn reset(&self) {
        if self.inner.down.send_replace(false) {
            tracing::info!(server = self.inner.name, "server reachable again");
        }
    }

    /// Resolves when the server is marked down (at once if it is).
    pub async fn went_down(&self) {
        let mut down = self.inner.down.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we wait.
        let _ = down.wait_for(|down| *down).await;
    }

    /// Runs `work` unless the server is known to be down, and gives it up the moment the
    /// server is found down meanwhile (a pool waiting to connect would otherwise wait out its
    /// whole timeout). A failure that `lost_connection` recognises trips the breaker.
    ///
    /// `work` is boxed: sqlx's futures (a pool's acquire, a transaction's begin) are several
    /// kilobytes, and every future that awaits one would otherwise carry that size and copy it
    /// each time it is moved — a page served from memory among them, whose path merely could
    /// read. Boxed, they carry a pointer, and the one copy is made when the database is used.
    pub fn guard<T, E>(
        &self,
        work: impl Future<Output = Result<T, E>>,
        lost_connection: impl Fn(&E) -> bool,
        unreachable: impl Fn(Unreachable) -> E,
    ) -> impl Future<Output = Result<T, E>>
    where
        E: fmt::Display,
    {
        let work = Box::pin(work);
        async move {
            self.check().map_err(&unreachable)?;
            tokio::select! {
                biased;
                result = work => {
                    if let Err(error) = &result
                        && lost_connection(error)
                    {
                        self.trip(error);
                    }
                    result
                }
                () = self.went_down() => Err(unreachable(Unreachable(self.inner.name))),
            }
        }
    }

    /// Runs `probe` every [`PROBE_INTERVAL`] while the server is down, each try bounded by
    /// [`PROBE_TIMEOUT`], and marks it up when a try succeeds. The task ends when every clone
    /// of the breaker is gone.
    pub fn spawn_probe<F, Fut>(&self, probe: F) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send,
    {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let mut down = self.inner.down.subscribe();
        tokio::spawn(async move {
            loop {
                if down.wait_for(|down| *down).await.is_err() {
                    return;
                }
                tokio::time::sleep(PROBE_INTERVAL).await;
                let answered = matches!(
                    tokio::time::timeout(PROBE_TIMEOUT, probe()).await,
                    Ok(Ok(()))
                );
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                if answered {
                    Breaker { inner }.reset();
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn io_error(e: &std::io::Error) -> bool {
        e.kind() == std::io::ErrorKind::ConnectionRefused
    }

    fn unreachable(u: Unreachable) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotConnected, u)
    }

    #[tokio::test]
    async fn a_lost_connection_trips_and_later_work_fails_at_once() {
        let breaker = Breaker::new("test");
        let refused = breaker
            .guard(
                async { Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) },
                io_error,
                unreachable,
            )
            .await;
        assert!(refused.is_err());
        assert!(breaker.is_down());
        let ran = AtomicUsize::new(0);
        let skipped = breaker
            .guard(
                async {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(())
                },
                io_error,
                unreachable,
            )
            .await;
        assert_eq!(
            skipped.unwrap_err().kind(),
            std::io::ErrorKind::NotConnected
        );
        assert_eq!(ran.load(Ordering::SeqCst), 0, "work is not even tried");
    }

    #[tokio::test]
    async fn other_failures_leave_it_up() {
        let breaker = Breaker::new("test");
        let failed = breaker
            .guard(
                async { Err::<(), _>(std::io::Error::other("constraint")) },
                io_error,
                unreachable,
            )
            .await;
        assert!(failed.is_err());
        assert!(!breaker.is_down());
    }

    #[tokio::test]
    async fn waiting_work_is_given_up_when_the_server_goes_down() {
        let breaker = Breaker::new("test");
        let tripper = breaker.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tripper.trip(&"gone");
        });
        let started = std::time::Instant::now();
        let waited = breaker
            .guard(
                async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok::<_, std::io::Error>(())
                },
                io_error,
                unreachable,
            )
            .await;
        assert!(waited.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn the_probe_brings_it_back_once_the_server_answers() {
        let breaker = Breaker::new("test");
        let tries = Arc::new(AtomicUsize::new(0));
        let counted = tries.clone();
        breaker.spawn_probe(move || {
            let counted = counted.clone();
            async move {
                // Answers from the third try on.
                if counted.fetch_add(1, Ordering::SeqCst) >= 2 {
                    Ok(())
                } else {
                    Err("refused".to_owned())
                }
            }
        });
        breaker.trip(&"gone");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while breaker.is_down() {
            assert!(std::time::Instant::now() < deadline, "never came back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }
}
