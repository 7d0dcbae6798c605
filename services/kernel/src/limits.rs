//! Abuse limits in Redis: counters per key in a fixed window, shared by every process.

use std::time::Duration;

/// Counts attempts per key (an IP address, a hashed e-mail address) within a window.
#[derive(Clone)]
pub struct Limiter {
    redis: redis::aio::ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    pub fn new(redis: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    pub fn from_state(state: &crate::AppState) -> Self {
        Self::new(state.redis.clone(), &state.config.redis.key_prefix)
    }

    /// `Some(wait)` when `key` has reached `limit` and the window has `wait` left.
    pub async fn blocked(
        &self,
        key: &str,
        limit: u32,
    ) -> Result<Option<Duration>, redis::RedisError> {
        let key = format!("{}{key}", self.prefix);
        let mut redis = self.redis.clone();
        let (count, ttl): (Option<u32>, i64) = redis::pipe()
            .get(&key)
            .ttl(&key)
            .query_async(&mut redis)
            .await?;
        Ok(match count {
            Some(count) if count >= limit && ttl > 0 => Some(Duration::from_secs(ttl as u64)),
            _ => None,
        })
    }

    /// Counts one attempt; the window starts with the first.
    pub async fn hit(&self, key: &str, window: Duration) -> Result<u32, redis::RedisError> {
        let key = format!("{}{key}", self.prefix);
        let mut redis = self.redis.clone();
        let (count, _): (u32, i64) = redis::pipe()
            .incr(&key, 1)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(window.as_secs())
            .arg("NX")
            .query_async(&mut redis)
            .await?;
        Ok(count)
    }

    pub async fn clear(&self, key: &str) -> Result<(), redis::RedisError> {
        let mut redis = self.redis.clone();
        redis::cmd("DEL")
            .arg(format!("{}{key}", self.prefix))
            .exec_async(&mut redis)
            .await
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
