//! Who a session's account is (name, address, language, membership of the school at the host,
//! whether mail to it arrives), kept in memory per account and school: a page served from the
//! school cache then asks the database nothing at all.
//!
//! Platform migration 20261208000001 announces every change to what is read here (accounts,
//! memberships, undeliverable addresses) at commit, naming the account, whoever writes; every
//! process listens and drops what it keeps of that account. The rules of the school cache hold,
//! since this is one with accounts where schools would be: a ticket taken before the read,
//! nothing kept or served while the listener is not listening, and an entry read again after
//! [`MAX_AGE`] (in the background, the aged one served meanwhile). A request that may change something (any method but GET and
//! HEAD) drops what this process keeps of its account and reads afresh, so the page it leads to
//! shows its own change at once here; other processes hear of it within moments.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tenant_router::{PlatformPool, TenantId};

use crate::school_cache::{Key, ReadAgain, SchoolCache, Ticket, Weighed};

/// The channel on which a change to an account is announced (payload: its id; `*`: all).
pub const ACCOUNT_CHANNEL: &str = "schoolplein_account_changed";
/// The longest an entry is served without being read again.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Memory for entries, over all accounts: ~300 bytes each, so some hundred thousand people.
pub const CAPACITY: usize = 32 << 20;
/// The kind of entry an account's row is kept under (its id: the school's, 0 for none).
const ACCOUNT: &str = "account";

/// An account as a request at a school's host (or none) sees it.
#[derive(Debug, sqlx::FromRow)]
pub struct AccountRow {
    pub name: String,
    pub email: String,
    pub language: String,
    pub person_id: Option<i64>,
    pub roles: Option<Vec<String>>,
    pub blocked: Option<bool>,
    pub read_only: Option<bool>,
    pub mail_undeliverable: bool,
}

impl Weighed for AccountRow {
    fn bytes(&self) -> usize {
        160 + self.name.len()
            + self.email.len()
            + self
                .roles
                .as_ref()
                .map_or(0, |r| r.iter().map(|r| 24 + r.len()).sum())
    }
}

/// The accounts' rows, shared by every request of the process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccountCache {
    /// Its "schools" are accounts: `TenantId::new(account id)`.
    kept: SchoolCache,
    /// The platform's tables announce their changes (the migration above is applied): learnt
    /// once, since triggers once there stay; until then nothing is kept.
    announces: Arc<AtomicBool>,
}

impl Default for AccountCache {
    fn default() -> Self {
        Self::new(CAPACITY, MAX_AGE)
    }
}

impl AccountCache {
    /// Keeps at most `capacity` bytes (0: nothing) for at most `max_age`, once a listener
    /// listens ([`spawn_listener`](Self::spawn_listener)).
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            kept: SchoolCache::announced_by_writers(capacity, max_age),
            announces: Arc::default(),
        }
    }

    /// The row of `account_id` at `school` (`None`: a host that is no school's), or `None`
    /// when the account is gone or disabled. `may_keep` false (a request that may write)
    /// drops what is kept of the account first and keeps nothing.
    pub async fn account(
        &self,
        db: &PlatformPool,
        account_id: i64,
        school: Option<TenantId>,
        may_keep: bool,
    ) -> Result<Option<Arc<AccountRow>>, sqlx::Error> {
        let account = TenantId::new(account_id);
        let key: Key = (ACCOUNT, school.map_or(0, TenantId::get));
        if !may_keep {
            self.kept.forget(account);
        } else if let Some(kept) = self.kept.get::<AccountRow>(account, key) {
            return Ok(Some(kept));
        }
        let ticket = self.kept.ticket(account);
        let mut connection = db.acquire().await?;
        if may_keep && !self.announces.load(Ordering::Relaxed) {
            let announces: bool = sqlx::query_scalar(
                "SELECT to_regprocedure('platform.announce_account_change()') IS NOT NULL",
            )
            .fetch_one(&mut *connection)
            .await?;
            self.announces.store(announces, Ordering::Relaxed);
        }
        let row = read_row(&mut connection, account_id, school).await?;
        drop(connection);
        let Some(row) = row else { return Ok(None) };
        let row = Arc::new(row);
        if may_keep && self.announces.load(Ordering::Relaxed) {
            let again = Arc::new(RowAgain {
                db: db.clone(),
                account_id,
                school,
            });
            self.kept
                .put_read_again(ticket, key, row.clone(), row.bytes(), again);
        }
        Ok(Some(row))
    }

    /// Waits until this process has heard every change to accounts committed before now
    /// (see [`SchoolCache::heard_up_to_now`]).
    pub async fn heard_up_to_now(&self, db: &PlatformPool) {
        self.kept.heard_up_to_now(db).await;
    }

    /// Entries kept over all accounts.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// How many accounts were read since the start (see [`SchoolCache::reads`]).
    pub fn reads(&self) -> u64 {
        self.kept.reads()
    }

    /// The marks sent and heard since the start (see [`SchoolCache::marks`]).
    pub fn marks(&self) -> (u64, u64) {
        self.kept.marks()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Whether announcements reach the cache now: until then nothing is kept.
    pub fn is_listening(&self) -> bool {
        self.kept.is_listening()
    }

    /// Listens for changes announced by any process (see [`crate::school_cache::listen`]); an
    /// announcement's account id arrives where a school's would, and drops that account.
    pub fn spawn_listener(
        &self,
        database: &crate::config::DatabaseConfig,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        self.kept.spawn_listener_on(database, &[ACCOUNT_CHANNEL])
    }
}

/// The account's row as a request at `school` sees it; `None` when it is gone or disabled.
async fn read_row(
    connection: &mut sqlx::PgConnection,
    account_id: i64,
    school: Option<TenantId>,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.name, a.email, a.language, m.person_id, m.roles,
                m.blocked_at IS NOT NULL AS blocked,
                m.read_only_at IS NOT NULL AS read_only,
                EXISTS (SELECT 1 FROM platform.undeliverable_addresses u
                         WHERE u.address = lower(a.email)) AS mail_undeliverable
           FROM platform.accounts a
           LEFT JOIN platform.memberships m
                  ON m.account_id = a.id AND m.tenant_id = $2
          WHERE a.id = $1 AND NOT a.disabled",
    )
    .bind(account_id)
    .bind(school.map(TenantId::get))
    .fetch_optional(connection)
    .await
}

/// Reads an account's row again once it has aged (it depends on the platform's tables, not on
/// the hour); a row gone meanwhile was announced, and dropped, already.
struct RowAgain {
    db: PlatformPool,
    account_id: i64,
    school: Option<TenantId>,
}

impl ReadAgain for RowAgain {
    fn read_again(
        self: Arc<Self>,
        cache: SchoolCache,
        ticket: Ticket,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let Ok(mut connection) = self.db.acquire().await else {
                return;
            };
            let read = read_row(&mut connection, self.account_id, self.school).await;
            drop(connection);
            if let Ok(Some(row)) = read {
                let key: Key = (ACCOUNT, self.school.map_or(0, TenantId::get));
                let row = Arc::new(row);
                cache.put_read_again(ticket, key, row.clone(), row.bytes(), self);
            }
        })
    }
}
