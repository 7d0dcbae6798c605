//! Data that many pages read and schools rarely change (the roster behind group pages, the posts
//! behind timelines), kept in memory per school, dropped when the school announces a change,
//! bounded in size and age.
//!
//! A school's roster and post tables announce every change at commit (triggers, tenant
//! migrations 0025 and 0026); every process listens and drops that school's entries. A read
//! mark, and a change to a person's conversations (0036, 0044), is announced for that person
//! alone, and drops only what is kept for them: their timeline, counts and inbox. Two rules
//! keep an entry from outliving the data it was read from:
//! - A reader takes a [`Ticket`] *before* it begins its transaction, and [`SchoolCache::put`]
//!   refuses the entry when a change was announced since: the reader may have read the data
//!   from before that change.
//! - Nothing is kept or served while the listener is not listening (before it starts, and
//!   from a lost connection until it listens again, when everything is dropped), nor for a
//!   school whose tables do not announce yet (a school not yet migrated to 0045, during a
//!   rollout). An entry is read again after [`MAX_AGE`]: on a request's time, or, when its
//!   reader said how ([`ReadAgain`]), in the background while the aged one is still served
//!   (up to twice the age), so the pages read most are never read on a request's time for
//!   age alone.
//!
//! A missing entry is read once: requests that miss it while its read is under way wait for
//! that read ([`SchoolCache::one_reader`]) instead of reading it too, so an entry that expires
//! under fifty requests of one person costs one read, not fifty.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tenant_router::TenantId;
use tokio::sync::watch;

/// The channel on which a school announces a change to its roster or posts (payload: the
/// school's id).
pub const SCHOOL_CHANNEL: &str = "schoolplein_school_changed";
/// The channel on which a person's read marks and notices announce a change (payload: `<school id>:<person
/// id>`).
pub const READS_CHANNEL: &str = "schoolplein_reads_changed";
/// The kind of entry a person's timeline is kept under (its id: the person's).
pub const TIMELINE: &str = "timeline";
/// The kind of entry a person's navigation counts are kept under (its id: the person's).
pub const NAV_COUNTS: &str = "nav_counts";
/// The kind of entry the first page of a person's inbox is kept under (its id: the person's).
pub const INBOX: &str = "inbox";
/// The kind of entry the conversation a person opened last is kept under (its id: the
/// person's).
pub const THREAD: &str = "thread";
/// The kind of entry the calendar's current month is kept under, as a person reads it (its
/// id: the person's). Only the school's announcements drop it: nothing of it is a person's
/// own marks.
pub const MONTH: &str = "month";
/// The kind of entry a group's roster is kept under, as its page reads it (its id: the
/// group's).
pub const GROUP: &str = "group";
/// The kind of entry a person's place in the roster is kept under (its id: the person's).
pub const PERSON: &str = "person";
/// The kinds that read the roster alone (groups, pupils, parents, their choices): a change to
/// posts leaves them kept.
pub const ROSTER_KINDS: [&str; 2] = [GROUP, PERSON];
/// The kinds of entry kept per person: a change announced for a person drops them all.
const PERSON_KINDS: [&str; 4] = [TIMELINE, NAV_COUNTS, INBOX, THREAD];
/// The longest an entry is served without being read again.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Bytes kept in all, over all schools, when not configured (`database.school_cache_mib`), as
/// estimated by the readers: a 30-pupil group's page data is a few KiB, a timeline's first page
/// some tens.
pub const CAPACITY: usize = 64 << 20;
/// How long the listener waits for an announcement before it checks its connection: a
/// connection that died without a word would otherwise leave the cache trusted and deaf.
const PING_AFTER: Duration = Duration::from_secs(10);

/// Which kind of data an entry holds, and of what (`("group", 12)`).
pub type Key = (&'static str, i64);

type Value = Arc<dyn Any + Send + Sync>;

/// What an entry costs the cache, estimated by the one who read it: the cache keeps at most
/// its capacity in all.
pub trait Weighed {
    fn bytes(&self) -> usize;
}

/// Entries per school, shared by every request of the process. Cheap to clone.
#[derive(Clone)]
pub struct SchoolCache {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    max_age: Duration,
    /// Every school's writers announce their changes themselves (as settings are: the
    /// transaction that saves them notifies), so no school needs its triggers learnt.
    announced_by_writers: bool,
    /// Marks this cache sends on its own channel to know when it has heard everything
    /// committed before them (see [`heard_up_to_now`](Self::heard_up_to_now)).
    marks: Arc<Marks>,
    /// Entries read (offered to [`put`](Self::put)), kept or not: what the cache could not
    /// serve, for the benchmarks and an operator's metrics.
    reads: Arc<std::sync::atomic::AtomicU64>,
    /// Reads of aged entries running in the background now (at most
    /// [`BACKGROUND_READS`]).
    background: Arc<std::sync::atomic::AtomicUsize>,
}

/// How many aged entries a cache reads again in the background at once. Entries filled
/// together age together (after a start, a fleet's pages within a minute); reading them all at
/// once would take the connections the requests wait for. An aged entry is served for a
/// second age, so the others are read again when a read ends and a request next asks.
const BACKGROUND_READS: usize = 2;

/// The longest a background read of an aged entry may take before it is given up (the aged
/// entry is then served on, and read again on a later request).
const BACKGROUND_PATIENCE: Duration = Duration::from_secs(10);

/// Counts one background read as running until dropped.
struct Running(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A cache's marks: `mark:<cache id>:<n>` on the first channel it listens on.
struct Marks {
    /// Tells this cache's marks from other processes' (they share the channel).
    cache_id: u64,
    /// The channel its listener listens on first; unset until it is spawned.
    channel: std::sync::OnceLock<&'static str>,
    /// The last mark sent.
    sent: std::sync::atomic::AtomicU64,
    /// The last mark heard (or, after a lost connection, given up on).
    heard: watch::Sender<u64>,
}

impl Default for Marks {
    fn default() -> Self {
        Self {
            cache_id: rand::random(),
            channel: std::sync::OnceLock::new(),
            sent: std::sync::atomic::AtomicU64::new(0),
            heard: watch::Sender::new(0),
        }
    }
}

/// The longest a request that wrote waits for its process to hear the changes committed
/// before it ended; past it, the next page may show the change a moment late.
const MARK_PATIENCE: Duration = Duration::from_secs(1);

impl std::fmt::Debug for SchoolCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("SchoolCache")
            .field("schools", &inner.schools.len())
            .field("bytes", &inner.bytes)
            .field("listening", &inner.listening)
            .finish()
    }
}

impl Default for SchoolCache {
    fn default() -> Self {
        Self::new(CAPACITY, MAX_AGE)
    }
}

#[derive(Default)]
struct Inner {
    schools: HashMap<TenantId, School>,
    /// Estimated bytes over all schools.
    bytes: usize,
    /// Raised by [`SchoolCache::forget_all`]: tickets from before are void everywhere.
    epoch: u64,
    /// The listener is listening: announcements reach the cache.
    listening: bool,
    /// The reads under way, by entry: a request that misses one waits for its end
    /// (the sender's drop) instead of reading it too.
    reads: HashMap<(TenantId, Key), watch::Receiver<()>>,
}

#[derive(Default)]
struct School {
    /// Raised by every announced change of this school.
    generation: u64,
    /// The school's tables announce their changes (see [`SchoolCache::learn_announces`]).
    announces: bool,
    entries: HashMap<Key, Entry>,
}

struct Entry {
    kept_at: Instant,
    value: Value,
    bytes: usize,
    /// How to read it again off the request path once it has aged, when its reader said so
    /// (see [`SchoolCache::get`]).
    again: Option<Arc<dyn ReadAgain>>,
}

/// Reads an aged entry again in the background and keeps what it read, with itself, so the
/// entry is read again in turn (see [`SchoolCache::put_read_again`]). Only for reads whose
/// result depends on nothing but the school's data and what the reader captured: not on the
/// hour of the request.
pub trait ReadAgain: Send + Sync + 'static {
    /// Reads the entry anew and offers it to `cache` under `ticket` (taken before), with
    /// itself. The cache is handed in, not kept: an entry that held its cache would keep it
    /// alive for good.
    fn read_again(
        self: Arc<Self>,
        cache: SchoolCache,
        ticket: Ticket,
    ) -> futures_util::future::BoxFuture<'static, ()>;
}

/// What [`SchoolCache::get_or_read_again`] keeps with an entry: its key, the pool and the
/// read, run again in a read-only transaction of the school.
struct ReadWith<S, R, T, E> {
    schools: S,
    key: Key,
    read: R,
    _reads: std::marker::PhantomData<fn() -> (T, E)>,
}

impl<S, R, T, E> ReadAgain for ReadWith<S, R, T, E>
where
    S: tenant_router::SchoolPool,
    R: for<'t> Fn(
            &'t mut tenant_router::TenantTx,
        ) -> futures_util::future::BoxFuture<'t, Result<T, E>>
        + Send
        + Sync
        + 'static,
    T: Weighed + Any + Send + Sync,
    E: 'static,
{
    fn read_again(
        self: Arc<Self>,
        cache: SchoolCache,
        ticket: Ticket,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            // A failed read leaves the aged entry, served until its second age ends.
            let Ok(mut tx) =
                tenant_router::TenantTx::begin_read_only(&self.schools, ticket.tenant).await
            else {
                return;
            };
            if cache.learn_announces(&mut tx).await.is_err() {
                return;
            }
            let Ok(value) = (self.read)(&mut tx).await else {
                return;
            };
            if tx.commit().await.is_err() {
                return;
            }
            let value = Arc::new(value);
            let bytes = value.bytes();
            let key = self.key;
            cache.keep(ticket, key, value, bytes, Some(self));
        })
    }
}

impl School {
    /// Drops every entry; returns the bytes freed.
    fn clear(&mut self) -> usize {
        std::mem::take(&mut self.entries)
            .values()
            .map(|e| e.bytes)
            .sum()
    }
}

/// The one read of an entry under way (see [`SchoolCache::one_reader`]): dropping it, after
/// the entry was put or the read failed or was abandoned, wakes those waiting for it.
#[must_use = "the read is announced only while this is held"]
pub struct Reading {
    /// `None` when nothing could be kept anyway, so nobody waits.
    announced: Option<(SchoolCache, TenantId, Key, watch::Sender<()>)>,
}

impl std::fmt::Debug for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reading")
            .field("announced", &self.announced.is_some())
            .finish()
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        if let Some((cache, tenant, key, _done)) = self.announced.take() {
            cache.lock().reads.remove(&(tenant, key));
        }
    }
}

/// Taken before reading what will be kept: proof that no change was announced meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    tenant: TenantId,
    generation: u64,
    epoch: u64,
}

impl Ticket {
    /// The school it was taken for.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
}

impl SchoolCache {
    /// Keeps at most `capacity` bytes (0: nothing) for at most `max_age`, once a listener
    /// listens ([`spawn_listener`](Self::spawn_listener)).
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            inner: Arc::default(),
            capacity,
            max_age,
            announced_by_writers: false,
            marks: Arc::default(),
            reads: Arc::default(),
            background: Arc::default(),
        }
    }

    /// A cache of data whose every writer announces its change in its own transaction (not
    /// through triggers), such as a school's settings: kept for every school from the start.
    pub fn announced_by_writers(capacity: usize, max_age: Duration) -> Self {
        Self {
            announced_by_writers: true,
            ..Self::new(capacity, max_age)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing here can leave the map half-changed, so a poisoned lock is still sound.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry for `key` of `tenant`, when there is a fresh one of type `T`.
    ///
    /// An entry past [`MAX_AGE`] whose reader said how to read it again
    /// ([`put_read_again`](Self::put_read_again)) is still served, up to twice that age,
    /// while one read of it runs in the background: a page read by many, or again and again by
    /// one, is not read on a request's time every minute. It is no older than what
    /// announcements allow (each drops it at once); the age bounds only a write that did not
    /// announce, and that bound moves from one to at most two ages.
    pub fn get<T: Any + Send + Sync>(&self, tenant: TenantId, key: Key) -> Option<Arc<T>> {
        let mut inner = self.lock();
        if !inner.listening {
            return None;
        }
        let school = inner.schools.get(&tenant)?;
        let entry = school.entries.get(&key)?;
        let age = entry.kept_at.elapsed();
        let value = entry.value.clone().downcast::<T>().ok()?;
        if age < self.max_age {
            return Some(value);
        }
        let again = entry.again.clone().filter(|_| age < self.max_age * 2)?;
        if inner.reads.contains_key(&(tenant, key)) {
            return Some(value);
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let already = self
            .background
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let running = Running(self.background.clone());
        if already >= BACKGROUND_READS {
            // Enough reads in the background now: this one is served aged a while longer.
            drop(running);
            return Some(value);
        }
        let ticket = Ticket {
            tenant,
            generation: school.generation,
            epoch: inner.epoch,
        };
        let (done, waiting) = watch::channel(());
        inner.reads.insert((tenant, key), waiting);
        drop(inner);
        let reading = Reading {
            announced: Some((self.clone(), tenant, key, done)),
        };
        let cache = self.clone();
        runtime.spawn(async move {
            // A read that hangs (a connection dead without a word, a lock held by a migration)
            // is given up: it would hold its place among the background reads, and anyone
            // waiting for this entry's read, for as long as it hangs.
            let _ =
                tokio::time::timeout(BACKGROUND_PATIENCE, again.read_again(cache, ticket)).await;
            drop(reading);
            drop(running);
        });
        Some(value)
    }

    /// The entry for `key` of `tenant` when a fresh one `fits` (was read under what the caller
    /// has now: the same settings, the same roles), or else what `read` reads in a read-only
    /// transaction of the school, kept for the next request. The whole protocol is here: the
    /// ticket taken before the transaction begins, whether the school announces its changes
    /// learnt inside it, and nothing kept when a change was announced meanwhile.
    pub async fn get_or_read<T, E>(
        &self,
        schools: &impl tenant_router::SchoolPool,
        tenant: TenantId,
        key: Key,
        fits: impl Fn(&T) -> bool,
        read: impl for<'t> FnOnce(
            &'t mut tenant_router::TenantTx,
        ) -> futures_util::future::BoxFuture<'t, Result<T, E>>,
    ) -> Result<Arc<T>, E>
    where
        T: Weighed + Any + Send + Sync,
        E: From<sqlx::Error>,
    {
        if let Some(kept) = self.get_fitting(tenant, key, &fits) {
            return Ok(kept);
        }
        Box::pin(self.read_and_keep(schools, tenant, key, fits, read, None)).await
    }

    /// As [`get_or_read`](Self::get_or_read), for a read that depends on nothing but the
    /// school's data and what `read` holds (not on the hour): once aged, the entry is read
    /// again in the background while the aged one is served (see [`get`](Self::get)).
    pub async fn get_or_read_again<S, T, E, R>(
        &self,
        schools: &S,
        tenant: TenantId,
        key: Key,
        fits: impl Fn(&T) -> bool,
        read: R,
    ) -> Result<Arc<T>, E>
    where
        S: tenant_router::SchoolPool,
        R: for<'t> Fn(
                &'t mut tenant_router::TenantTx,
            ) -> futures_util::future::BoxFuture<'t, Result<T, E>>
            + Send
            + Sync
            + 'static,
        T: Weighed + Any + Send + Sync,
        E: From<sqlx::Error> + 'static,
    {
        if let Some(kept) = self.get_fitting(tenant, key, &fits) {
            return Ok(kept);
        }
        let again = Arc::new(ReadWith {
            schools: schools.clone(),
            key,
            read,
            _reads: std::marker::PhantomData,
        });
        let reads = again.clone();
        Box::pin(self.read_and_keep(
            schools,
            tenant,
            key,
            fits,
            move |tx| (reads.read)(tx),
            Some(again),
        ))
        .await
    }

    /// As [`get_or_read`](Self::get_or_read), and what it reads is kept with `again`, which
    /// reads it again in the background once aged (see [`get`](Self::get)).
    pub async fn get_or_read_then_again<T, E>(
        &self,
        schools: &impl tenant_router::SchoolPool,
        tenant: TenantId,
        key: Key,
        fits: impl Fn(&T) -> bool,
        read: impl for<'t> FnOnce(
            &'t mut tenant_router::TenantTx,
        ) -> futures_util::future::BoxFuture<'t, Result<T, E>>,
        again: Arc<dyn ReadAgain>,
    ) -> Result<Arc<T>, E>
    where
        T: Weighed + Any + Send + Sync,
        E: From<sqlx::Error>,
    {
        if let Some(kept) = self.get_fitting(tenant, key, &fits) {
            return Ok(kept);
        }
        Box::pin(self.read_and_keep(schools, tenant, key, fits, read, Some(again))).await
    }

    /// The kept entry for `key` of `tenant` when it `fits`: how most requests end. The read
    /// path is boxed by the callers, so that a request served from memory does not carry the
    /// size of a read's future (a reader's wait, a transaction) in its own.
    fn get_fitting<T: Any + Send + Sync>(
        &self,
        tenant: TenantId,
        key: Key,
        fits: impl Fn(&T) -> bool,
    ) -> Option<Arc<T>> {
        self.get::<T>(tenant, key).filter(|kept| fits(kept))
    }

    async fn read_and_keep<T, E>(
        &self,
        schools: &impl tenant_router::SchoolPool,
        tenant: TenantId,
        key: Key,
        fits: impl Fn(&T) -> bool,
        read: impl for<'t> FnOnce(
            &'t mut tenant_router::TenantTx,
        ) -> futures_util::future::BoxFuture<'t, Result<T, E>>,
        again: Option<Arc<dyn ReadAgain>>,
    ) -> Result<Arc<T>, E>
    where
        T: Weighed + Any + Send + Sync,
        E: From<sqlx::Error>,
    {
        // The callers looked for a kept entry that fits just before.
        let kept = || self.get_fitting(tenant, key, &fits);
        let reading = self.one_reader(tenant, key).await;
        if reading.is_none()
            && let Some(kept) = kept()
        {
            return Ok(kept);
        }
        let ticket = self.ticket(tenant);
        let mut tx = tenant_router::TenantTx::begin_read_only(schools, tenant).await?;
        self.learn_announces(&mut tx).await?;
        let value = read(&mut tx).await?;
        tx.commit().await?;
        let value = Arc::new(value);
        self.keep(ticket, key, value.clone(), value.bytes(), again);
        drop(reading);
        Ok(value)
    }

    /// Called on a miss of `key`: `Some` when this request is to read the entry (no read of
    /// it is under way; hold the [`Reading`] until the entry is put or the read failed), or
    /// `None` once another request's read of it ended: look again, and read it yourself when
    /// that read was not kept (a change was announced meanwhile, or it failed). Waiting ends
    /// with that read, whatever its end, so a failed or abandoned read leaves nobody behind.
    /// While nothing can be kept (no listener, no room) every request reads for itself.
    pub async fn one_reader(&self, tenant: TenantId, key: Key) -> Option<Reading> {
        let mut under_way = {
            let mut inner = self.lock();
            if !inner.listening || self.capacity == 0 {
                return Some(Reading { announced: None });
            }
            match inner.reads.get(&(tenant, key)) {
                Some(done) => done.clone(),
                None => {
                    let (done, waiting) = watch::channel(());
                    inner.reads.insert((tenant, key), waiting);
                    return Some(Reading {
                        announced: Some((self.clone(), tenant, key, done)),
                    });
                }
            }
        };
        // The reader never sends: `changed` ends, with an error, when its `Reading` is dropped.
        let _ = under_way.changed().await;
        None
    }

    /// Take this before beginning the transaction whose result is to be kept.
    pub fn ticket(&self, tenant: TenantId) -> Ticket {
        let inner = self.lock();
        Ticket {
            tenant,
            generation: inner.schools.get(&tenant).map_or(0, |s| s.generation),
            epoch: inner.epoch,
        }
    }

    /// Keeps `value` (about `bytes` large) under `key`, unless the school announced a change
    /// since `ticket` was taken (then what was read may be older than that change), nobody
    /// listens, or the school's tables do not announce. Returns whether it was kept.
    pub fn put<T: Any + Send + Sync>(
        &self,
        ticket: Ticket,
        key: Key,
        value: Arc<T>,
        bytes: usize,
    ) -> bool {
        self.keep(ticket, key, value, bytes, None)
    }

    /// As [`put`](Self::put), and once the entry has aged, `again` reads it in the background
    /// while the aged one is still served (see [`get`](Self::get)).
    pub fn put_read_again<T: Any + Send + Sync>(
        &self,
        ticket: Ticket,
        key: Key,
        value: Arc<T>,
        bytes: usize,
        again: Arc<dyn ReadAgain>,
    ) -> bool {
        self.keep(ticket, key, value, bytes, Some(again))
    }

    fn keep<T: Any + Send + Sync>(
        &self,
        ticket: Ticket,
        key: Key,
        value: Arc<T>,
        bytes: usize,
        again: Option<Arc<dyn ReadAgain>>,
    ) -> bool {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut inner = self.lock();
        let (generation, announces) = inner
            .schools
            .get(&ticket.tenant)
            .map_or((0, false), |s| (s.generation, s.announces));
        let announces = announces || self.announced_by_writers;
        if generation != ticket.generation
            || inner.epoch != ticket.epoch
            || !inner.listening
            || !announces
            || bytes > self.capacity / 8
        {
            return false;
        }
        if inner.bytes + bytes > self.capacity {
            inner.make_room(self.capacity - bytes);
        }
        let school = inner.schools.entry(ticket.tenant).or_default();
        let entry = Entry {
            kept_at: Instant::now(),
            value,
            bytes,
            again,
        };
        let replaced = school.entries.insert(key, entry).map_or(0, |e| e.bytes);
        inner.bytes = inner.bytes + bytes - replaced;
        true
    }

    /// How many entries were read since the start (each offered to [`put`](Self::put), kept
    /// or not): each is a request, or a wait, that the cache could not serve from memory.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The marks sent and heard since the start (see [`heard_up_to_now`](Self::heard_up_to_now)):
    /// the number of waits for changes to be heard, and how far the listener got.
    pub fn marks(&self) -> (u64, u64) {
        (
            self.marks.sent.load(std::sync::atomic::Ordering::Relaxed),
            *self.marks.heard.borrow(),
        )
    }

    /// Whether the school's tables are known to announce their changes.
    pub fn announces(&self, tenant: TenantId) -> bool {
        self.announced_by_writers
            || self
                .lock()
                .schools
                .get(&tenant)
                .is_some_and(|s| s.announces)
    }

    /// Learns, inside a transaction of the school, whether its tables announce their changes
    /// (tenant migration 0045, the newest that adds announcements, is applied: its trigger on
    /// leave requests is there; migrations apply in order, so the older ones are too): asked
    /// once per school and process, since triggers once there stay. Nothing is kept for a school that
    /// does not, so a school still being migrated is read every time.
    pub async fn learn_announces(
        &self,
        tx: &mut tenant_router::TenantTx,
    ) -> Result<(), sqlx::Error> {
        let tenant = tx.tenant();
        if self.announces(tenant) {
            return Ok(());
        }
        let announces: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                             WHERE tgname = 'leave_days_changed'
                               AND tgrelid = to_regclass('leave_requests'))",
        )
        .fetch_one(&mut **tx)
        .await?;
        if announces {
            self.lock().schools.entry(tenant).or_default().announces = true;
        }
        Ok(())
    }

    /// Drops a school's entries (it announced a change).
    pub fn forget(&self, tenant: TenantId) {
        let mut inner = self.lock();
        let school = inner.schools.entry(tenant).or_default();
        school.generation += 1;
        let freed = school.clear();
        inner.bytes -= freed;
        inner.prune_if_many();
    }

    /// Drops a school's entries but those of the `kept` kinds (a change that cannot touch
    /// them was announced). A read begun before is not kept, whatever its kind: the school's
    /// generation moves.
    pub fn forget_but(&self, tenant: TenantId, kept: &[&str]) {
        let mut inner = self.lock();
        let school = inner.schools.entry(tenant).or_default();
        school.generation += 1;
        let mut freed = 0;
        school.entries.retain(|(kind, _), entry| {
            let keep = kept.contains(kind);
            if !keep {
                freed += entry.bytes;
            }
            keep
        });
        inner.bytes -= freed;
        inner.prune_if_many();
    }

    /// Drops one entry of a school. A read begun before is not kept either: the school's
    /// generation moves, as for [`forget`](Self::forget).
    pub fn forget_entry(&self, tenant: TenantId, key: Key) {
        self.forget_entries(tenant, &[key]);
    }

    /// Drops what is kept for one person of a school (their read marks or notices changed).
    pub fn forget_person(&self, tenant: TenantId, person: i64) {
        self.forget_entries(tenant, &PERSON_KINDS.map(|kind| (kind, person)));
    }

    fn forget_entries(&self, tenant: TenantId, keys: &[Key]) {
        let mut inner = self.lock();
        let school = inner.schools.entry(tenant).or_default();
        school.generation += 1;
        let freed: usize = keys
            .iter()
            .filter_map(|key| school.entries.remove(key))
            .map(|e| e.bytes)
            .sum();
        inner.bytes -= freed;
    }

    /// Drops everything (announcements may have been missed).
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.schools.clear();
        inner.bytes = 0;
    }

    /// Whether announcements reach the cache; nothing is kept or served while they do not.
    pub(crate) fn set_listening(&self, listening: bool) {
        self.lock().listening = listening;
    }

    /// Entries kept over all schools.
    pub fn len(&self) -> usize {
        self.lock().schools.values().map(|s| s.entries.len()).sum()
    }

    /// About how much memory the entries take (as their `bytes` said when kept).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether announcements reach the cache now (its listener listens): until then nothing
    /// is kept.
    pub fn is_listening(&self) -> bool {
        self.lock().listening
    }

    /// Listens for changes announced by any process (see [`listen`]): a school's, and a
    /// person's read marks and notices.
    pub fn spawn_listener(
        &self,
        database: &crate::config::DatabaseConfig,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        self.spawn_listener_on(database, &[SCHOOL_CHANNEL, READS_CHANNEL])
    }

    /// Listens on `channels` and drops what each announcement names.
    pub fn spawn_listener_on(
        &self,
        database: &crate::config::DatabaseConfig,
        channels: &'static [&'static str],
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        if let Some(first) = channels.first() {
            let _ = self.marks.channel.set(first);
        }
        let cache = self.clone();
        listen(database, channels, move |change| cache.hear(change))
    }

    /// Waits until this process has heard every change committed before now: sends a mark
    /// on the cache's channel and waits for its listener to hear it (PostgreSQL delivers
    /// notifications in commit order), for a second at most. After a request that wrote,
    /// the next page in this process, anyone's, then shows that write, without every writer
    /// dropping what its change concerns by hand. Nothing to wait for while nobody listens
    /// (nothing is kept then); a mark that cannot be sent is not waited for.
    pub async fn heard_up_to_now(&self, db: &tenant_router::PlatformPool) {
        let Some(channel) = self.marks.channel.get() else {
            return;
        };
        if !self.is_listening() {
            return;
        }
        let mark = self
            .marks
            .sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let mut heard = self.marks.heard.subscribe();
        let payload = format!("mark:{}:{mark}", self.marks.cache_id);
        let sent = match db.acquire().await {
            Ok(mut connection) => sqlx::query("SELECT pg_notify($1, $2)")
                .bind(*channel)
                .bind(payload)
                .execute(&mut *connection)
                .await
                .is_ok(),
            Err(_) => false,
        };
        if sent {
            let _ = tokio::time::timeout(MARK_PATIENCE, heard.wait_for(|&h| h >= mark)).await;
        }
    }

    /// Releases every request waiting for a mark: after a lost connection its mark may never
    /// come, and everything kept is dropped anyway.
    fn give_up_marks(&self) {
        let sent = self.marks.sent.load(std::sync::atomic::Ordering::Relaxed);
        self.marks
            .heard
            .send_modify(|heard| *heard = (*heard).max(sent));
    }

    /// Drops what an announcement names; nothing is served while announcements may be missed.
    pub fn hear(&self, change: Change) {
        match change {
            Change::School(tenant) => self.forget(tenant),
            Change::Posts(tenant) => self.forget_but(tenant, &ROSTER_KINDS),
            Change::Person(tenant, person) => self.forget_person(tenant, person),
            Change::Mark(cache_id, mark) => {
                if cache_id == self.marks.cache_id {
                    self.marks
                        .heard
                        .send_modify(|heard| *heard = (*heard).max(mark));
                }
            }
            Change::Unknown => self.forget_all(),
            Change::Lost => {
                self.set_listening(false);
                self.forget_all();
                self.give_up_marks();
            }
            Change::Listening => {
                self.forget_all();
                self.set_listening(true);
                self.give_up_marks();
            }
        }
    }
}

/// Past this many schools known, those with nothing kept are let go: a cache whose "schools"
/// are many (the accounts of [`crate::account_cache`]) would otherwise grow by one for every one
/// ever announced.
const PRUNE_AT: usize = 1 << 16;

impl Inner {
    /// Lets go of the schools with nothing kept once there are [`PRUNE_AT`]; their generations
    /// go with them, so every ticket taken before is void (the epoch moves).
    fn prune_if_many(&mut self) {
        if self.schools.len() < PRUNE_AT {
            return;
        }
        self.schools
            .retain(|_, school| !school.entries.is_empty() || school.announces);
        self.epoch += 1;
    }

    /// Drops whole schools' entries, least recently filled first, until `room` less an eighth
    /// is used: one sort per eighth of the capacity keeps the cost per entry small.
    fn make_room(&mut self, room: usize) {
        let target = room.saturating_sub(room / 8);
        let mut by_age: Vec<(Instant, TenantId)> = self
            .schools
            .iter()
            .filter_map(|(tenant, school)| {
                let newest = school.entries.values().map(|e| e.kept_at).max()?;
                Some((newest, *tenant))
            })
            .collect();
        by_age.sort_unstable();
        for (_, tenant) in by_age {
            if self.bytes <= target {
                break;
            }
            if let Some(school) = self.schools.get_mut(&tenant) {
                let freed = school.clear();
                self.bytes -= freed;
            }
        }
    }
}

/// The name this process's listeners give their connections (`pg_stat_activity`'s
/// `application_name`), so an operator can tell them from the requests' connections.
pub fn listener_name() -> String {
    format!("schoolplein listener {}", std::process::id())
}

/// What an announcement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A school's data (payload: its id).
    School(TenantId),
    /// A school's posts (payload: `posts:<school id>`, tenant migration 0046): drops all but
    /// what reads the roster alone ([`ROSTER_KINDS`]).
    Posts(TenantId),
    /// One person's data in a school (payload: `<school id>:<person id>`).
    Person(TenantId, i64),
    /// No change: a cache's mark (payload: `mark:<cache id>:<n>`), see
    /// [`SchoolCache::heard_up_to_now`].
    Mark(u64, u64),
    /// Cannot tell which: an unreadable payload.
    Unknown,
    /// The connection was lost: announcements are missed from now on.
    Lost,
    /// Listening (again): announcements before now may have been missed.
    Listening,
}

impl Change {
    pub fn parse(payload: &str) -> Self {
        let number = |text: &str| text.parse::<i64>().ok();
        if let Some(school) = payload.strip_prefix("posts:") {
            return number(school).map_or(Self::Unknown, |id| Self::Posts(TenantId::new(id)));
        }
        if let Some(mark) = payload.strip_prefix("mark:") {
            return match mark.split_once(':').map(|(c, n)| (c.parse(), n.parse())) {
                Some((Ok(cache_id), Ok(n))) => Self::Mark(cache_id, n),
                _ => Self::Unknown,
            };
        }
        match payload.split_once(':') {
            None => number(payload).map_or(Self::Unknown, |id| Self::School(TenantId::new(id))),
            Some((school, person)) => match (number(school), number(person)) {
                (Some(school), Some(person)) => Self::Person(TenantId::new(school), person),
                _ => Self::Unknown,
            },
        }
    }
}

/// Listens on `channels` for changes announced by any process, on a connection of its own (a
/// listener holds its connection for good, which must not come out of the requests' pool), and
/// calls `changed` with what each announcement names; with [`Change::Listening`] once it
/// listens, and [`Change::Lost`] when the connection is lost (it then connects anew). A quiet
/// connection is checked after ten quiet seconds, so one that died silently is noticed.
pub fn listen(
    database: &crate::config::DatabaseConfig,
    channels: &'static [&'static str],
    changed: impl Fn(Change) + Send + 'static,
) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    let options = crate::db::connect_options(database)?.application_name(&listener_name());
    let pool = sqlx::postgres::PgPoolOptions::new()
        // Two, though a listener holds one: a listener given up on a connection that died
        // without a word still holds that one while its drop says `UNLISTEN` into it.
        .max_connections(2)
        .min_connections(0)
        // While the server is down, give up connecting soon and try again in this loop, so
        // the listener is back within about a second of the server.
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(options);
    Ok(tokio::spawn(async move {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(_) if pool.is_closed() => return,
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // Report a lost connection at once: by default `try_recv` first connects anew,
            // which while the server is down waits out the pool's acquire timeout, and all
            // that time the caches would go on serving what they kept as if they still heard.
            listener.eager_reconnect(false);
            if listener.listen_all(channels.iter().copied()).await.is_err() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            changed(Change::Listening);
            loop {
                // `try_recv`, not `recv`: `recv` reconnects by itself after a lost connection
                // and says nothing of the announcements missed meanwhile.
                match tokio::time::timeout(PING_AFTER, listener.try_recv()).await {
                    Ok(Ok(Some(notification))) => {
                        changed(Change::parse(notification.payload()));
                    }
                    Ok(Ok(None) | Err(_)) => break,
                    Err(_quiet) => {
                        let ping = sqlx::query("SELECT 1").execute(&mut listener);
                        if !matches!(
                            tokio::time::timeout(Duration::from_secs(5), ping).await,
                            Ok(Ok(_))
                        ) {
                            break;
                        }
                    }
                }
            }
            changed(Change::Lost);
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: Key = ("group", 7);

    /// A cache whose listener listens, and whose schools 1 to 40 announce their changes.
    fn listening(capacity: usize, max_age: Duration) -> SchoolCache {
        let cache = SchoolCache::new(capacity, max_age);
        cache.set_listening(true);
        announcing(&cache);
        cache
    }

    fn announcing(cache: &SchoolCache) {
        let mut inner = cache.lock();
        for id in 1..=40 {
            inner
                .schools
                .entry(TenantId::new(id))
                .or_default()
                .announces = true;
        }
    }

    fn put<T: Any + Send + Sync>(cache: &SchoolCache, tenant: TenantId, key: Key, v: T) -> bool {
        cache.put(cache.ticket(tenant), key, Arc::new(v), 100)
    }

    #[test]
    fn an_entry_is_served_until_its_school_announces_a_change() {
        let cache = listening(CAPACITY, MAX_AGE);
        let (ours, theirs) = (TenantId::new(1), TenantId::new(2));
        assert!(put(&cache, ours, GROUP, "ours".to_owned()));
        assert!(put(&cache, theirs, GROUP, "theirs".to_owned()));
        let text = |tenant| cache.get::<String>(tenant, GROUP).map(|s| s.to_string());
        assert_eq!(text(ours).as_deref(), Some("ours"));
        assert!(
            cache.get::<u32>(ours, GROUP).is_none(),
            "another type is a miss"
        );
        cache.forget(ours);
        assert!(text(ours).is_none());
        assert_eq!(
            text(theirs).as_deref(),
            Some("theirs"),
            "another school's entry stays"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_read_begun_before_a_change_is_not_kept() {
        let cache = listening(CAPACITY, MAX_AGE);
        let school = TenantId::new(1);
        let before = cache.ticket(school);
        cache.forget(school);
        assert!(!cache.put(before, GROUP, Arc::new(1_u32), 100));
        assert!(cache.get::<u32>(school, GROUP).is_none());
        let everything_before = cache.ticket(school);
        cache.forget_all();
        announcing(&cache);
        assert!(!cache.put(everything_before, GROUP, Arc::new(1_u32), 100));
        assert!(put(&cache, school, GROUP, 2_u32));
        assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&2));
    }

    #[test]
    fn a_mark_is_told_from_a_change_and_a_lost_connection_releases_its_waiters() {
        assert_eq!(Change::parse("mark:7:3"), Change::Mark(7, 3));
        assert_eq!(Change::parse("mark:x:3"), Change::Unknown);
        let cache = listening(CAPACITY, MAX_AGE);
        let own = cache.marks.cache_id;
        cache
            .marks
            .sent
            .store(5, std::sync::atomic::Ordering::Relaxed);
        cache.hear(Change::Mark(own.wrapping_add(1), 4));
        assert_eq!(*cache.marks.heard.borrow(), 0, "another cache's mark");
        cache.hear(Change::Mark(own, 4));
        assert_eq!(*cache.marks.heard.borrow(), 4);
        cache.hear(Change::Lost);
        assert_eq!(*cache.marks.heard.borrow(), 5, "given up on");
    }

    #[test]
    fn schools_forgotten_with_nothing_kept_are_let_go_and_reads_begun_before_are_not_kept() {
        let cache = SchoolCache::announced_by_writers(CAPACITY, MAX_AGE);
        cache.set_listening(true);
        let kept = TenantId::new(1_000_000);
        assert!(put(&cache, kept, GROUP, 1_u32));
        let before = cache.ticket(TenantId::new(7));
        for id in 0..PRUNE_AT as i64 {
            cache.forget(TenantId::new(id + 1));
        }
        assert!(cache.lock().schools.len() < 8, "empty schools were let go");
        assert_eq!(cache.get::<u32>(kept, GROUP).as_deref(), Some(&1));
        assert!(!cache.put(before, GROUP, Arc::new(2_u32), 100));
        assert!(put(&cache, TenantId::new(7), GROUP, 3_u32));
    }

    #[test]
    fn nothing_is_kept_or_served_while_nobody_listens_or_for_a_school_that_does_not_announce() {
        let cache = SchoolCache::new(CAPACITY, MAX_AGE);
        announcing(&cache);
        let school = TenantId::new(1);
        assert!(
            !put(&cache, school, GROUP, 1_u32),
            "before the listener listens"
        );
        cache.set_listening(true);
        assert!(put(&cache, school, GROUP, 1_u32));
        cache.set_listening(false);
        assert!(
            cache.get::<u32>(school, GROUP).is_none(),
            "deaf: not served"
        );
        cache.set_listening(true);
        assert!(
            !put(&cache, TenantId::new(99), GROUP, 1_u32),
            "not migrated yet"
        );
        assert!(!cache.announces(TenantId::new(99)));
    }

    #[test]
    fn announcements_name_a_school_or_a_person_in_it() {
        assert_eq!(Change::parse("42"), Change::School(TenantId::new(42)));
        assert_eq!(Change::parse("posts:42"), Change::Posts(TenantId::new(42)));
        assert_eq!(Change::parse("posts:x"), Change::Unknown);
        assert_eq!(Change::parse("roster:42"), Change::Unknown);
        assert_eq!(Change::parse("42:7"), Change::Person(TenantId::new(42), 7));
        for unreadable in ["", "t_42", "42:", ":7", "42:x"] {
            assert_eq!(Change::parse(unreadable), Change::Unknown, "{unreadable:?}");
        }
    }

    #[test]
    fn a_change_to_posts_keeps_the_roster_alone_and_voids_reads_under_way() {
        let cache = listening(CAPACITY, MAX_AGE);
        let (school, other) = (TenantId::new(1), TenantId::new(2));
        let (group, person, timeline) = ((super::GROUP, 3), (PERSON, 4), (TIMELINE, 4));
        for key in [group, person, timeline] {
            assert!(put(&cache, school, key, 1_u32));
        }
        assert!(put(&cache, other, timeline, 1_u32));
        let before = cache.ticket(school);
        cache.hear(Change::Posts(school));
        assert!(cache.get::<u32>(school, group).is_some());
        assert!(cache.get::<u32>(school, person).is_some());
        assert!(cache.get::<u32>(school, timeline).is_none());
        assert!(
            cache.get::<u32>(other, timeline).is_some(),
            "another school's stays"
        );
        assert!(
            !cache.put(before, group, Arc::new(2_u32), 100),
            "read before the change"
        );
        assert_eq!(cache.bytes(), 300);
    }

    #[test]
    fn a_persons_change_drops_their_entry_alone() {
        let cache = listening(CAPACITY, MAX_AGE);
        let school = TenantId::new(1);
        let (mine, yours) = ((TIMELINE, 7), (TIMELINE, 8));
        assert!(put(&cache, school, mine, 1_u32));
        assert!(put(&cache, school, yours, 2_u32));
        let before = cache.ticket(school);
        cache.forget_entry(school, mine);
        assert!(cache.get::<u32>(school, mine).is_none());
        assert_eq!(cache.get::<u32>(school, yours).as_deref(), Some(&2));
        assert!(
            !cache.put(before, mine, Arc::new(3_u32), 100),
            "a read begun before"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_cache_of_no_bytes_keeps_nothing() {
        let cache = listening(0, MAX_AGE);
        let school = TenantId::new(1);
        assert!(!put(&cache, school, GROUP, 1_u32));
        assert!(cache.get::<u32>(school, GROUP).is_none());
    }

    /// Reads an entry again as [`ReadAgain`] does: counts its reads, takes a moment, and keeps
    /// `value` (or nothing, as a failed read).
    struct Again {
        reads: std::sync::atomic::AtomicUsize,
        value: Option<u32>,
    }

    impl ReadAgain for Again {
        fn read_again(
            self: Arc<Self>,
            cache: SchoolCache,
            ticket: Ticket,
        ) -> futures_util::future::BoxFuture<'static, ()> {
            Box::pin(async move {
                self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Some(value) = self.value {
                    cache.put_read_again(ticket, GROUP, Arc::new(value), 100, self);
                }
            })
        }
    }

    fn again(value: Option<u32>) -> Arc<Again> {
        Arc::new(Again {
            reads: Default::default(),
            value,
        })
    }

    fn reads(again: &Again) -> usize {
        again.reads.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits (at most five seconds) until `holds`.
    async fn until(holds: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !holds() {
            assert!(Instant::now() < deadline, "not within five seconds");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn an_aged_entry_is_served_while_one_read_of_it_runs_in_the_background() {
        let max_age = Duration::from_secs(1);
        let cache = listening(CAPACITY, max_age);
        let school = TenantId::new(1);
        let reader = again(Some(2));
        let ticket = cache.ticket(school);
        assert!(cache.put_read_again(ticket, GROUP, Arc::new(1_u32), 100, reader.clone()));
        tokio::time::sleep(max_age).await;
        // Aged: still served, to every request, while one read runs.
        for _ in 0..3 {
            assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&1));
        }
        until(|| reads(&reader) == 1).await;
        assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&1));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(reads(&reader), 1, "one read for many requests");
        until(|| cache.get::<u32>(school, GROUP).as_deref() == Some(&2)).await;
        assert_eq!(reads(&reader), 1, "the fresh entry is not read again");
        assert_eq!(cache.reads(), 2, "kept twice: first, then read again");
    }

    #[tokio::test]
    async fn only_a_few_aged_entries_are_read_again_at_once() {
        let max_age = Duration::from_secs(1);
        let cache = listening(CAPACITY, max_age);
        let reader = again(Some(2));
        let schools: Vec<TenantId> = (1..=BACKGROUND_READS as i64 + 1)
            .map(TenantId::new)
            .collect();
        for &school in &schools {
            let ticket = cache.ticket(school);
            assert!(cache.put_read_again(ticket, GROUP, Arc::new(1_u32), 100, reader.clone()));
        }
        tokio::time::sleep(max_age).await;
        for &school in &schools {
            assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&1));
        }
        until(|| reads(&reader) == BACKGROUND_READS).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            reads(&reader),
            BACKGROUND_READS,
            "the last one waits, served aged"
        );
        let last = *schools.last().unwrap();
        until(|| cache.background.load(std::sync::atomic::Ordering::Relaxed) == 0).await;
        assert_eq!(cache.get::<u32>(last, GROUP).as_deref(), Some(&1));
        until(|| cache.get::<u32>(last, GROUP).as_deref() == Some(&2)).await;
        assert_eq!(reads(&reader), BACKGROUND_READS + 1);
    }

    #[tokio::test]
    async fn an_aged_entry_is_dropped_by_an_announcement_and_not_served_past_two_ages() {
        let max_age = Duration::from_secs(1);
        let cache = listening(CAPACITY, max_age);
        let school = TenantId::new(1);
        // A change announced while the entry is read again: what that read read is not kept.
        let reader = again(Some(2));
        assert!(cache.put_read_again(
            cache.ticket(school),
            GROUP,
            Arc::new(1_u32),
            100,
            reader.clone()
        ));
        tokio::time::sleep(max_age).await;
        assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&1));
        cache.hear(Change::School(school));
        assert!(cache.get::<u32>(school, GROUP).is_none(), "dropped at once");
        until(|| reads(&reader) == 1 && cache.lock().reads.is_empty()).await;
        assert!(
            cache.get::<u32>(school, GROUP).is_none(),
            "the read begun before is not kept"
        );
        // A read again that fails leaves the aged entry, until it is twice the age.
        let failing = again(None);
        assert!(cache.put_read_again(
            cache.ticket(school),
            GROUP,
            Arc::new(1_u32),
            100,
            failing.clone()
        ));
        tokio::time::sleep(max_age).await;
        assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&1));
        until(|| cache.lock().reads.is_empty()).await;
        tokio::time::sleep(max_age).await;
        assert!(
            cache.get::<u32>(school, GROUP).is_none(),
            "not served past two ages"
        );
        assert!(reads(&failing) >= 1);
        // Without a way to read it again, an aged entry is not served at all.
        assert!(put(&cache, school, GROUP, 3_u32));
        tokio::time::sleep(max_age).await;
        assert!(cache.get::<u32>(school, GROUP).is_none());
    }

    #[test]
    fn old_entries_are_read_again() {
        let cache = listening(CAPACITY, Duration::ZERO);
        let school = TenantId::new(1);
        assert!(put(&cache, school, GROUP, 1_u32));
        assert!(cache.get::<u32>(school, GROUP).is_none());
    }

    #[test]
    fn the_least_recently_filled_schools_make_room_when_it_is_full() {
        let cache = listening(1_600, MAX_AGE);
        for id in 1..=40 {
            let school = TenantId::new(id);
            assert!(put(&cache, school, GROUP, id));
            assert!(cache.lock().bytes <= 1_600);
        }
        assert_eq!(
            cache.get::<i64>(TenantId::new(40), GROUP).as_deref(),
            Some(&40)
        );
        assert!(cache.get::<i64>(TenantId::new(1), GROUP).is_none());
        assert!(
            !cache.put(
                cache.ticket(TenantId::new(2)),
                GROUP,
                Arc::new(0_i64),
                1_000
            ),
            "an entry of more than an eighth of the room is not kept"
        );
    }
}
