//! The time the school day's rules go by (a sick report's cut-off, a sign-up's closing): the
//! system's, unless a test set it, so a rule about 08:15 on a summer-time morning can be tried
//! at exactly that moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// Marks "no time set: the system's".
const SYSTEM: i64 = i64::MIN;

/// Shared by every clone: setting it moves every handler of the app at once.
#[derive(Debug, Clone)]
pub struct Clock(Arc<AtomicI64>);

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(Arc::new(AtomicI64::new(SYSTEM)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.0.load(Ordering::Relaxed) {
            SYSTEM => Utc::now(),
            micros => DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now),
        }
    }

    /// Stops the clock at `at` (for tests; nothing in the app's configuration reaches it).
    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_micros(), Ordering::Relaxed);
    }

    /// Back to the system's time.
    pub fn reset(&self) {
        self.0.store(SYSTEM, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_set_clock_stands_still_in_every_clone_until_reset() {
        let clock = Clock::system();
        let copy = clock.clone();
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-29T06:10:00Z")
            .expect("a time")
            .to_utc();
        copy.set(at);
        assert_eq!(clock.now(), at);
        clock.reset();
        assert!(copy.now() > at);
    }
}
