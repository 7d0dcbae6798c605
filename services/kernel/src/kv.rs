//! The Redis connection requests share (sessions, limits, short-lived tokens), refused at
//! once while Redis is known to be unreachable.

use tenant_router::Breaker;

use crate::error::AppError;

/// A handle on Redis, guarded by its breaker. Cheap to clone.
#[derive(Clone)]
pub struct Redis {
    manager: redis::aio::ConnectionManager,
    breaker: Breaker,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl Redis {
    pub fn new(manager: redis::aio::ConnectionManager, breaker: Breaker) -> Self {
        Self { manager, breaker }
    }

    /// The connection to send commands on, or "unreachable" at once while Redis is down. A
    /// command that then fails for want of a connection trips the breaker where the error
    /// becomes a page (see `error::lost_redis`).
    pub fn connection(&self) -> Result<redis::aio::ConnectionManager, AppError> {
        self.breaker.check()?;
        Ok(self.manager.clone())
    }

    /// The connection whatever the breaker says: for the probe and for tests.
    pub fn unguarded(&self) -> redis::aio::ConnectionManager {
        self.manager.clone()
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}
