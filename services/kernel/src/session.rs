//! Sessions: a random token in a cookie for the whole base domain, the session itself in Redis
//! under the token's hash, indexed per account for "sign out everywhere".

use std::time::Duration;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tenant_router::HostSource;
use tenant_router::host::request_host;

use crate::config::AccountsConfig;
use crate::cookies::{SameSite, SetCookie};
use crate::state::AppState;
use crate::tokens::{SecretToken, TokenHash};

pub const SESSION_COOKIE: &str = "sp_session";

/// What Redis keeps of a session. No name or address: only the account's id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionData {
    pub account_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// "Keep me signed in": a fixed lifetime instead of ending after idle hours.
    pub keep: bool,
    /// A short description of the browser ("Firefox on Android"), shown in the session list.
    pub device: String,
}

/// A session as listed on the account page.
#[derive(Debug, Clone)]
pub struct ListedSession {
    pub id: TokenHash,
    pub data: SessionData,
}

/// The session store.
#[derive(Clone)]
pub struct Sessions {
    redis: crate::kv::Redis,
    idle: Duration,
    keep: Duration,
    prefix: String,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("idle", &self.idle)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    pub fn new(redis: crate::kv::Redis, config: &AccountsConfig, prefix: &str) -> Self {
        Self {
            redis,
            idle: config.session_idle(),
            keep: config.keep_signed_in(),
            prefix: prefix.to_owned(),
        }
    }

    pub fn from_state(state: &AppState) -> Self {
        Self::new(
            state.redis.clone(),
            &state.config.accounts,
            &state.config.redis.key_prefix,
        )
    }

    /// Where a session is kept: under its token's hash.
    pub fn session_key(&self, id: &TokenHash) -> String {
        self.session_key_hex(&id.to_hex())
    }

    fn session_key_hex(&self, hex: &str) -> String {
        format!("{}session:{hex}", self.prefix)
    }

    fn account_key(&self, account_id: i64) -> String {
        format!("{}account-sessions:{account_id}", self.prefix)
    }

    /// How long a new session lives before it must be used again (or ends, when kept).
    pub fn lifetime(&self, keep: bool) -> Duration {
        if keep { self.keep } else { self.idle }
    }

    /// Starts a session; the caller sets the cookie. A fresh token every time, so signing in
    /// never reuses an id someone may have planted.
    pub async fn create(&self, data: &SessionData) -> Result<SecretToken, crate::error::AppError> {
        let token = SecretToken::generate();
        let id = token.hash();
        let json = serde_json::to_string(data).map_err(json_error)?;
        let mut redis = self.redis.connection()?;
        redis::pipe()
            .atomic()
            .set_ex(
                self.session_key(&id),
                json,
                self.lifetime(data.keep).as_secs(),
            )
            .sadd(self.account_key(data.account_id), id.to_hex())
            .expire(
                self.account_key(data.account_id),
                self.keep.as_secs() as i64,
            )
            .exec_async(&mut redis)
            .await?;
        Ok(token)
    }

    /// The live session for a token. Using a session that ends after idle hours moves its
    /// end forward (at most once a minute, to spare Redis a write per request); a kept
    /// session keeps its fixed end.
    pub async fn load(
        &self,
        token: &SecretToken,
    ) -> Result<Option<SessionData>, crate::error::AppError> {
        let key = self.session_key(&token.hash());
        let mut redis = self.redis.connection()?;
        let (json, ttl): (Option<String>, i64) = redis::pipe()
            .get(&key)
            .ttl(&key)
            .query_async(&mut redis)
            .await?;
        let Some(data) = json.and_then(|json| serde_json::from_str::<SessionData>(&json).ok())
        else {
            return Ok(None);
        };
        let idle = self.idle.as_secs() as i64;
        if !data.keep && ttl >= 0 && ttl < idle - 60 {
            let _: bool = redis.expire(&key, idle).await?;
        }
        Ok(Some(data))
    }

    /// Ends one session.
    pub async fn end(&self, account_id: i64, id: &TokenHash) -> Result<(), crate::error::AppError> {
        let mut redis = self.redis.connection()?;
        redis::pipe()
            .del(self.session_key(id))
            .srem(self.account_key(account_id), id.to_hex())
            .exec_async(&mut redis)
            .await?;
        Ok(())
    }

    /// Ends every session of an account except `keep` (the one in use, after a password change).
    pub async fn end_all(
        &self,
        account_id: i64,
        keep: Option<&TokenHash>,
    ) -> Result<usize, crate::error::AppError> {
        let mut redis = self.redis.connection()?;
        let ids: Vec<String> = redis.smembers(self.account_key(account_id)).await?;
        let keep = keep.map(TokenHash::to_hex);
        let ending: Vec<&String> = ids.iter().filter(|id| Some(*id) != keep.as_ref()).collect();
        if ending.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for id in &ending {
            pipe.del(self.session_key_hex(id));
            pipe.srem(self.account_key(account_id), *id);
        }
        pipe.exec_async(&mut redis).await?;
        Ok(ending.len())
    }

    /// The account's live sessions, newest first; forgets ids whose session has expired.
    pub async fn list(
        &self,
        account_id: i64,
    ) -> Result<Vec<ListedSession>, crate::error::AppError> {
        let mut redis = self.redis.connection()?;
        let ids: Vec<String> = redis.smembers(self.account_key(account_id)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.session_key_hex(id)).collect();
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut redis)
            .await?;
        let mut live = Vec::new();
        let mut gone = Vec::new();
        for (id, value) in ids.iter().zip(values) {
            let data = value.and_then(|json| serde_json::from_str::<SessionData>(&json).ok());
            match (TokenHash::from_hex(id), data) {
                (Some(id), Some(data)) if data.account_id == account_id => {
                    live.push(ListedSession { id, data })
                }
                _ => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            let _: i64 = redis.srem(self.account_key(account_id), gone).await?;
        }
        live.sort_by_key(|s| std::cmp::Reverse(s.data.created_at));
        Ok(live)
    }
}

fn json_error(error: serde_json::Error) -> crate::error::AppError {
    crate::error::AppError::Internal(format!("session encoding: {error}"))
}

/// The session cookie for this request's host: shared by every school under the base domain
/// (so one sign-in serves them all), or kept to this host where the base domain is a single
/// label (`localhost`, which browsers refuse as a cookie domain) or a school's own domain.
pub fn session_cookie(
    state: &AppState,
    headers: &http::HeaderMap,
    value: String,
    max_age: Option<Duration>,
) -> SetCookie {
    let source = if state.config.server.trust_forwarded_host {
        HostSource::TrustedProxy
    } else {
        HostSource::Direct
    };
    let domain = request_host(headers, None, source)
        .ok()
        .and_then(|host| state.tenants.bases().base_of(&host).cloned())
        .map(|base| base.as_str().to_owned())
        .filter(|base| base.contains('.'));
    SetCookie {
        name: SESSION_COOKIE,
        value,
        domain,
        max_age,
        secure: state.config.accounts.secure_cookies,
        same_site: SameSite::Lax,
    }
}

/// A short, non-identifying description of the browser from its User-Agent.
pub fn describe_device(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map_or("?", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map_or("?", |(_, name)| name);
    format!("{browser} · {system}")
}
