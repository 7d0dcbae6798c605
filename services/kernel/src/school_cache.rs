//! Data that many pages read and schools rarely change (the roster behind group pages, the posts
//! behind timelines), kept in memory per school, dropped when the school announces a change,
//! bounded in size and age.
//!
//! A school's roster and post tables announce every change at commit (triggers, tenant
//! migrations 0025 and 0026); every process listens and drops that school's entries. A read
//! mark is announced for its reader alone, and drops only that person's timeline. Two rules
//! keep an entry from outliving the data it was read from:
//! - A reader takes a [`Ticket`] *before* it begins its transaction, and [`SchoolCache::put`]
//!   refuses the entry when a change was announced since: the reader may have read the data
//!   from before that change.
//! - An entry is read again after [`MAX_AGE`] at the latest, and everything is dropped when the
//!   listener has to reconnect (announcements may have been missed meanwhile).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tenant_router::TenantId;

/// The channel on which a school announces a change to its roster or posts (payload: the
/// school's id).
pub const SCHOOL_CHANNEL: &str = "schoolplein_school_changed";
/// The channel on which a person's read marks announce a change (payload: `<school id>:<person
/// id>`).
pub const READS_CHANNEL: &str = "schoolplein_reads_changed";
/// The kind of entry a person's timeline is kept under (its id: the person's).
pub const TIMELINE: &str = "timeline";
/// The longest an entry is served without being read again.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Entries kept in all, over all schools, when not configured (`database.school_cache_entries`):
/// a 30-pupil group's page data is a few KiB, so this bounds the cache at some tens of MiB.
pub const CAPACITY: usize = 20_000;

/// Which kind of data an entry holds, and of what (`("group", 12)`).
pub type Key = (&'static str, i64);

type Value = Arc<dyn Any + Send + Sync>;

/// Entries per school, shared by every request of the process. Cheap to clone.
#[derive(Clone)]
pub struct SchoolCache {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    max_age: Duration,
}

impl std::fmt::Debug for SchoolCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("SchoolCache")
            .field("schools", &inner.schools.len())
            .field("entries", &inner.entries)
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
    /// Entries over all schools.
    entries: usize,
    /// Raised by [`SchoolCache::forget_all`]: tickets from before are void everywhere.
    epoch: u64,
}

#[derive(Default)]
struct School {
    /// Raised by every announced change of this school.
    generation: u64,
    entries: HashMap<Key, (Instant, Value)>,
}

/// Taken before reading what will be kept: proof that no change was announced meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    tenant: TenantId,
    generation: u64,
    epoch: u64,
}

impl SchoolCache {
    /// Keeps at most `capacity` entries (0: none) for at most `max_age`.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            inner: Arc::default(),
            capacity,
            max_age,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing here can leave the map half-changed, so a poisoned lock is still sound.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry for `key` of `tenant`, when there is a fresh one of type `T`.
    pub fn get<T: Any + Send + Sync>(&self, tenant: TenantId, key: Key) -> Option<Arc<T>> {
        let inner = self.lock();
        let (kept_at, value) = inner.schools.get(&tenant)?.entries.get(&key)?;
        if kept_at.elapsed() >= self.max_age {
            return None;
        }
        value.clone().downcast::<T>().ok()
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

    /// Keeps `value` under `key`, unless the school announced a change since `ticket` was
    /// taken (then what was read may be older than that change). Returns whether it was kept.
    pub fn put<T: Any + Send + Sync>(&self, ticket: Ticket, key: Key, value: Arc<T>) -> bool {
        let mut inner = self.lock();
        let current = inner
            .schools
            .get(&ticket.tenant)
            .map_or(0, |s| s.generation);
        if current != ticket.generation || inner.epoch != ticket.epoch || self.capacity == 0 {
            return false;
        }
        if inner.entries >= self.capacity {
            inner.make_room(self.capacity);
        }
        let school = inner.schools.entry(ticket.tenant).or_default();
        let added = school
            .entries
            .insert(key, (Instant::now(), value))
            .is_none();
        if added {
            inner.entries += 1;
        }
        true
    }

    /// Drops a school's entries (it announced a change).
    pub fn forget(&self, tenant: TenantId) {
        let mut inner = self.lock();
        let school = inner.schools.entry(tenant).or_default();
        school.generation += 1;
        let dropped = std::mem::take(&mut school.entries).len();
        inner.entries -= dropped;
    }

    /// Drops one entry of a school (a person's read marks changed). A read begun before is
    /// not kept either: the school's generation moves, as for [`forget`](Self::forget).
    pub fn forget_entry(&self, tenant: TenantId, key: Key) {
        let mut inner = self.lock();
        let school = inner.schools.entry(tenant).or_default();
        school.generation += 1;
        let dropped = school.entries.remove(&key).is_some();
        if dropped {
            inner.entries -= 1;
        }
    }

    /// Drops everything (announcements may have been missed).
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.schools.clear();
        inner.entries = 0;
    }

    /// Entries kept over all schools.
    pub fn len(&self) -> usize {
        self.lock().entries
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Listens for changes announced by any process (see [`listen`]): a school's, and a
    /// person's read marks.
    pub fn spawn_listener(
        &self,
        database: &crate::config::DatabaseConfig,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        let cache = self.clone();
        listen(
            database,
            &[SCHOOL_CHANNEL, READS_CHANNEL],
            move |change| match change {
                Change::School(tenant) => cache.forget(tenant),
                Change::Person(tenant, person) => cache.forget_entry(tenant, (TIMELINE, person)),
                Change::Unknown => cache.forget_all(),
            },
        )
    }
}

impl Inner {
    /// Drops whole schools' entries, oldest first, until an eighth of the room is free: one
    /// sort per eighth of the capacity keeps the cost per entry small.
    fn make_room(&mut self, capacity: usize) {
        let target = capacity.saturating_sub(capacity / 8 + 1);
        let mut by_age: Vec<(Instant, TenantId)> = self
            .schools
            .iter()
            .filter_map(|(tenant, school)| {
                let newest = school.entries.values().map(|(at, _)| *at).max()?;
                Some((newest, *tenant))
            })
            .collect();
        by_age.sort_unstable();
        for (_, tenant) in by_age {
            if self.entries <= target {
                break;
            }
            if let Some(school) = self.schools.get_mut(&tenant) {
                let dropped = std::mem::take(&mut school.entries).len();
                self.entries -= dropped;
            }
        }
    }
}

/// What an announcement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A school's data (payload: its id).
    School(TenantId),
    /// One person's data in a school (payload: `<school id>:<person id>`).
    Person(TenantId, i64),
    /// Cannot tell: an unreadable payload, or a reconnect after a lost connection
    /// (announcements may have been missed meanwhile).
    Unknown,
}

impl Change {
    pub fn parse(payload: &str) -> Self {
        let number = |text: &str| text.parse::<i64>().ok();
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
/// calls `changed` with what each announcement names — [`Change::Unknown`] also after a lost
/// connection, when announcements may have been missed.
pub fn listen(
    database: &crate::config::DatabaseConfig,
    channels: &'static [&'static str],
    changed: impl Fn(Change) + Send + 'static,
) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    let mut own = database.clone();
    own.max_connections = 1;
    own.min_connections = 0;
    let pool = crate::db::postgres_pool(&own)?;
    Ok(tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if listener.listen_all(channels.iter().copied()).await.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    changed(Change::Unknown);
                    while let Ok(notification) = listener.recv().await {
                        changed(Change::parse(notification.payload()));
                    }
                    changed(Change::Unknown);
                }
                Err(_) if pool.is_closed() => return,
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: Key = ("group", 7);

    #[test]
    fn an_entry_is_served_until_its_school_announces_a_change() {
        let cache = SchoolCache::default();
        let (ours, theirs) = (TenantId::new(1), TenantId::new(2));
        assert!(cache.put(cache.ticket(ours), GROUP, Arc::new("ours".to_owned())));
        assert!(cache.put(cache.ticket(theirs), GROUP, Arc::new("theirs".to_owned())));
        assert_eq!(
            cache
                .get::<String>(ours, GROUP)
                .as_deref()
                .map(String::as_str),
            Some("ours")
        );
        assert!(
            cache.get::<u32>(ours, GROUP).is_none(),
            "another type is a miss"
        );
        cache.forget(ours);
        assert!(cache.get::<String>(ours, GROUP).is_none());
        assert_eq!(
            cache
                .get::<String>(theirs, GROUP)
                .as_deref()
                .map(String::as_str),
            Some("theirs"),
            "another school's entry stays"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_read_begun_before_a_change_is_not_kept() {
        let cache = SchoolCache::default();
        let school = TenantId::new(1);
        let before = cache.ticket(school);
        cache.forget(school);
        assert!(!cache.put(before, GROUP, Arc::new(1_u32)));
        assert!(cache.get::<u32>(school, GROUP).is_none());
        let everything_before = cache.ticket(school);
        cache.forget_all();
        assert!(!cache.put(everything_before, GROUP, Arc::new(1_u32)));
        assert!(cache.put(cache.ticket(school), GROUP, Arc::new(2_u32)));
        assert_eq!(cache.get::<u32>(school, GROUP).as_deref(), Some(&2));
    }

    #[test]
    fn announcements_name_a_school_or_a_person_in_it() {
        assert_eq!(Change::parse("42"), Change::School(TenantId::new(42)));
        assert_eq!(Change::parse("42:7"), Change::Person(TenantId::new(42), 7));
        for unreadable in ["", "t_42", "42:", ":7", "42:x"] {
            assert_eq!(Change::parse(unreadable), Change::Unknown, "{unreadable:?}");
        }
    }

    #[test]
    fn a_persons_change_drops_their_entry_alone() {
        let cache = SchoolCache::default();
        let school = TenantId::new(1);
        let (mine, yours) = ((TIMELINE, 7), (TIMELINE, 8));
        assert!(cache.put(cache.ticket(school), mine, Arc::new(1_u32)));
        assert!(cache.put(cache.ticket(school), yours, Arc::new(2_u32)));
        let before = cache.ticket(school);
        cache.forget_entry(school, mine);
        assert!(cache.get::<u32>(school, mine).is_none());
        assert_eq!(cache.get::<u32>(school, yours).as_deref(), Some(&2));
        assert!(
            !cache.put(before, mine, Arc::new(3_u32)),
            "a read begun before"
        );
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_cache_of_no_entries_keeps_nothing() {
        let cache = SchoolCache::new(0, MAX_AGE);
        let school = TenantId::new(1);
        assert!(!cache.put(cache.ticket(school), GROUP, Arc::new(1_u32)));
        assert!(cache.get::<u32>(school, GROUP).is_none());
    }

    #[test]
    fn old_entries_are_read_again() {
        let cache = SchoolCache::new(10, Duration::ZERO);
        let school = TenantId::new(1);
        assert!(cache.put(cache.ticket(school), GROUP, Arc::new(1_u32)));
        assert!(cache.get::<u32>(school, GROUP).is_none());
    }

    #[test]
    fn the_oldest_schools_make_room_when_it_is_full() {
        let cache = SchoolCache::new(16, MAX_AGE);
        for id in 1..=40 {
            let school = TenantId::new(id);
            assert!(cache.put(cache.ticket(school), GROUP, Arc::new(id)));
            assert!(cache.len() <= 16);
        }
        assert_eq!(
            cache.get::<i64>(TenantId::new(40), GROUP).as_deref(),
            Some(&40)
        );
        assert!(cache.get::<i64>(TenantId::new(1), GROUP).is_none());
    }
}
