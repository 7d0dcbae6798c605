//! The in-process map of every school (slug, custom domains, status) and how it stays fresh.
//!
//! Requests are resolved from memory, with no database query. Every change to a school is
//! announced with `NOTIFY` in the transaction that makes it, so each running process applies
//! it within moments of the commit; a periodic full reload is the safety net for anything a
//! lost connection might have missed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::task::JoinHandle;

use crate::host::NormalizedHost;
use crate::tenant::{TenantEntry, TenantId, TenantSlug, TenantStatus};

/// The channel on which changes to `platform.tenants` and `platform.domains` are announced.
pub const TENANT_CHANGED_CHANNEL: &str = "schoolplein_tenant_changed";

/// Announces a change to one school; delivered to listeners when the transaction commits.
pub async fn notify_tenant_changed(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(TENANT_CHANGED_CHANNEL)
        .bind(tenant.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The base domains schools live under: the primary one and aliases (e.g. `localhost` in
/// development, where `demo.localhost` and `demo.schoolplein.localhost` are the same school).
#[derive(Debug, Clone)]
pub struct BaseDomains {
    primary: NormalizedHost,
    /// Primary and aliases, longest first, so `demo.schoolplein.localhost` is matched
    /// against `schoolplein.localhost` before `localhost`.
    search_order: Vec<NormalizedHost>,
}

impl BaseDomains {
    pub fn new(primary: NormalizedHost, aliases: Vec<NormalizedHost>) -> Self {
        let mut search_order: Vec<_> = std::iter::once(primary.clone()).chain(aliases).collect();
        search_order.sort_by_key(|base| std::cmp::Reverse(base.as_str().len()));
        search_order.dedup();
        Self {
            primary,
            search_order,
        }
    }

    pub fn primary(&self) -> &NormalizedHost {
        &self.primary
    }

    /// True when `host` is a base domain or lies anywhere under one.
    pub fn covers(&self, host: &NormalizedHost) -> bool {
        self.all()
            .any(|base| host == base || host.strip_parent(base).is_some())
    }

    fn all(&self) -> impl Iterator<Item = &NormalizedHost> {
        self.search_order.iter()
    }

    /// The base domain `host` lies under (or is), the longest match first.
    pub fn base_of(&self, host: &NormalizedHost) -> Option<&NormalizedHost> {
        self.all()
            .find(|base| host == *base || host.strip_parent(base).is_some())
    }
}

/// What a host means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// The base domain itself: the platform's own pages.
    Platform,
    /// `www.<base>`: the platform's pages live on the bare base domain.
    RedirectToPlatform,
    /// A school that is served.
    School(Arc<TenantEntry>),
    /// A school that exists but is suspended.
    Suspended(Arc<TenantEntry>),
    /// Nothing we serve: unknown slug, reserved name, deeper subdomain, foreign domain, IP.
    NotFound,
}

#[derive(Debug, Default, Clone)]
struct Snapshot {
    by_slug: HashMap<TenantSlug, Arc<TenantEntry>>,
    by_id: HashMap<TenantId, Arc<TenantEntry>>,
    by_domain: HashMap<NormalizedHost, TenantId>,
    domains_of: HashMap<TenantId, Vec<NormalizedHost>>,
}

impl Snapshot {
    fn remove(&mut self, id: TenantId) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_slug.remove(&old.slug);
        }
        for host in self.domains_of.remove(&id).unwrap_or_default() {
            self.by_domain.remove(&host);
        }
    }

    fn insert(&mut self, entry: TenantEntry, domains: Vec<NormalizedHost>) {
        let entry = Arc::new(entry);
        self.by_slug.insert(entry.slug.clone(), entry.clone());
        for host in &domains {
            self.by_domain.insert(host.clone(), entry.id);
        }
        self.domains_of.insert(entry.id, domains);
        self.by_id.insert(entry.id, entry);
    }
}

/// Every school this process can serve, shared by all requests and refreshed in the background.
#[derive(Debug, Clone)]
pub struct TenantDirectory {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bases: BaseDomains,
    snapshot: ArcSwap<Snapshot>,
    /// Loads and applies are serialised so an older read never overwrites a newer one.
    update: tokio::sync::Mutex<()>,
    full_reloads: AtomicU64,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: i64,
    slug: String,
    display_name: String,
    status: String,
}

impl TenantRow {
    fn into_entry(self) -> Option<TenantEntry> {
        let Ok(slug) = TenantSlug::parse(&self.slug) else {
            tracing::error!(
                tenant.id = self.id,
                "stored slug breaks the slug rules; school skipped"
            );
            return None;
        };
        Some(TenantEntry {
            id: TenantId::new(self.id),
            slug,
            display_name: self.display_name,
            status: TenantStatus::from_db(&self.status),
        })
    }
}

impl TenantDirectory {
    /// Loads every school from the database.
    pub async fn load(pool: &PgPool, bases: BaseDomains) -> Result<Self, sqlx::Error> {
        let directory = Self {
            inner: Arc::new(Inner {
                bases,
                snapshot: ArcSwap::from_pointee(Snapshot::default()),
                update: tokio::sync::Mutex::new(()),
                full_reloads: AtomicU64::new(0),
            }),
        };
        directory.reload_all(pool).await?;
        Ok(directory)
    }

    pub fn bases(&self) -> &BaseDomains {
        &self.inner.bases
    }

    /// How many schools are known.
    pub fn len(&self) -> usize {
        self.inner.snapshot.load().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many full reloads have run (start-up included).
    pub fn full_reloads(&self) -> u64 {
        self.inner.full_reloads.load(Ordering::Relaxed)
    }

    pub fn by_slug(&self, slug: &TenantSlug) -> Option<Arc<TenantEntry>> {
        self.inner.snapshot.load().by_slug.get(slug).cloned()
    }

    pub fn by_id(&self, id: TenantId) -> Option<Arc<TenantEntry>> {
        self.inner.snapshot.load().by_id.get(&id).cloned()
    }

    /// Resolves a normalised host from memory.
    pub fn resolve(&self, host: &NormalizedHost) -> HostTarget {
        let snapshot = self.inner.snapshot.load();
        let entry = if let Some(id) = snapshot.by_domain.get(host) {
            snapshot.by_id.get(id).cloned()
        } else {
            let mut found = None;
            for base in self.inner.bases.all() {
                if host == base {
                    return HostTarget::Platform;
                }
                let Some(label) = host.strip_parent(base) else {
                    continue;
                };
                if label == "www" {
                    return HostTarget::RedirectToPlatform;
                }
                // A reserved name or an ill-formed label is simply no school.
                found = TenantSlug::parse(label)
                    .ok()
                    .and_then(|slug| snapshot.by_slug.get(&slug).cloned());
                break;
            }
            found
        };
        match entry {
            Some(entry) if entry.status == TenantStatus::Active => HostTarget::School(entry),
            Some(entry) => HostTarget::Suspended(entry),
            None => HostTarget::NotFound,
        }
    }

    /// Every school, ordered by slug.
    pub fn all(&self) -> Vec<Arc<TenantEntry>> {
        let mut all: Vec<_> = self.inner.snapshot.load().by_id.values().cloned().collect();
        all.sort_by(|a, b| a.slug.cmp(&b.slug));
        all
    }

    /// Reads every school and domain afresh and swaps the whole map at once.
    pub async fn reload_all(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let _guard = self.inner.update.lock().await;
        let tenants: Vec<TenantRow> =
            sqlx::query_as("SELECT id, slug, display_name, status FROM platform.tenants")
                .fetch_all(pool)
                .await?;
        let domains: Vec<(String, i64)> =
            sqlx::query_as("SELECT host, tenant_id FROM platform.domains")
                .fetch_all(pool)
                .await?;
        let mut domains_of: HashMap<TenantId, Vec<NormalizedHost>> = HashMap::new();
        for (host, tenant) in domains {
            if let Ok(host) = NormalizedHost::parse_name(&host) {
                domains_of
                    .entry(TenantId::new(tenant))
                    .or_default()
                    .push(host);
            }
        }
        let mut snapshot = Snapshot::default();
        for entry in tenants.into_iter().filter_map(TenantRow::into_entry) {
            let hosts = domains_of.remove(&entry.id).unwrap_or_default();
            snapshot.insert(entry, hosts);
        }
        self.inner.snapshot.store(Arc::new(snapshot));
        self.inner.full_reloads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Re-reads one school (after a notification) and applies just that change.
    pub async fn reload_one(&self, pool: &PgPool, id: TenantId) -> Result<(), sqlx::Error> {
        let _guard = self.inner.update.lock().await;
        let row: Option<TenantRow> = sqlx::query_as(
            "SELECT id, slug, display_name, status FROM platform.tenants WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        let hosts: Vec<String> =
            sqlx::query_scalar("SELECT host FROM platform.domains WHERE tenant_id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?;
        let hosts = hosts
            .iter()
            .filter_map(|h| NormalizedHost::parse_name(h).ok())
            .collect();
        let mut snapshot = Snapshot::clone(&self.inner.snapshot.load());
        snapshot.remove(id);
        if let Some(entry) = row.and_then(TenantRow::into_entry) {
            snapshot.insert(entry, hosts);
        }
        self.inner.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    /// Starts the background tasks that keep this map fresh: a listener for change
    /// notifications and a periodic full reload. They stop when the returned guard drops.
    pub fn spawn_refresh(&self, pool: PgPool, full_reload_every: Duration) -> RefreshTasks {
        let listener = tokio::spawn(listen_for_changes(self.clone(), pool.clone()));
        let directory = self.clone();
        let periodic = tokio::spawn(async move {
            let mut interval = tokio::time::interval(full_reload_every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                interval.tick().await;
                if let Err(error) = directory.reload_all(&pool).await {
                    tracing::warn!(%error, "periodic reload of the school map failed");
                }
            }
        });
        RefreshTasks {
            tasks: vec![listener, periodic],
        }
    }
}

async fn listen_for_changes(directory: TenantDirectory, pool: PgPool) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for school changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(TENANT_CHANGED_CHANNEL).await {
            tracing::warn!(%error, "cannot subscribe to school changes; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever changed while we were not listening is picked up by a full reload.
        if let Err(error) = directory.reload_all(&pool).await {
            tracing::warn!(%error, "reload of the school map failed");
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match notification.payload().parse::<i64>() {
                    Ok(id) => {
                        if let Err(error) = directory.reload_one(&pool, TenantId::new(id)).await {
                            tracing::warn!(%error, tenant.id = id, "reload of one school failed; reloading all");
                            let _ = directory.reload_all(&pool).await;
                        }
                    }
                    Err(_) => tracing::warn!("ignoring a malformed school-change notification"),
                },
                // The connection was lost; sqlx reconnects on the next call. Reload to cover
                // the gap.
                Ok(None) => {
                    tracing::warn!("school-change listener reconnecting");
                    if let Err(error) = directory.reload_all(&pool).await {
                        tracing::warn!(%error, "reload of the school map failed");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "school-change listener failed; starting a new one");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

/// The background refresh tasks; aborted on drop.
#[derive(Debug)]
pub struct RefreshTasks {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RefreshTasks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(entries: Vec<(TenantEntry, Vec<&str>)>) -> TenantDirectory {
        let mut snapshot = Snapshot::default();
        for (entry, hosts) in entries {
            let hosts = hosts
                .into_iter()
                .map(|h| NormalizedHost::parse_name(h).unwrap())
                .collect();
            snapshot.insert(entry, hosts);
        }
        TenantDirectory {
            inner: Arc::new(Inner {
                bases: BaseDomains::new(
                    NormalizedHost::parse_name("localhost").unwrap(),
                    vec![
                        NormalizedHost::parse_name("schoolplein.nl").unwrap(),
                        NormalizedHost::parse_name("schoolplein.localhost").unwrap(),
                    ],
                ),
                snapshot: ArcSwap::from_pointee(snapshot),
                update: tokio::sync::Mutex::new(()),
                full_reloads: AtomicU64::new(0),
            }),
        }
    }

    fn school(id: i64, slug: &str, status: TenantStatus) -> TenantEntry {
        TenantEntry {
            id: TenantId::new(id),
            slug: TenantSlug::parse(slug).unwrap(),
            display_name: format!("School {slug}"),
            status,
        }
    }

    fn resolve(dir: &TenantDirectory, host: &str) -> HostTarget {
        dir.resolve(&NormalizedHost::parse_name(host).unwrap())
    }

    #[test]
    fn resolves_slugs_domains_and_the_platform() {
        let dir = directory(vec![
            (
                school(1, "klimop", TenantStatus::Active),
                vec!["ouders.deklimop.nl"],
            ),
            (school(2, "dicht", TenantStatus::Suspended), vec![]),
        ]);
        assert!(
            matches!(resolve(&dir, "klimop.schoolplein.nl"), HostTarget::School(e) if e.id.get() == 1)
        );
        assert!(
            matches!(resolve(&dir, "klimop.localhost"), HostTarget::School(e) if e.id.get() == 1)
        );
        assert!(
            matches!(resolve(&dir, "klimop.schoolplein.localhost"), HostTarget::School(e) if e.id.get() == 1)
        );
        assert_eq!(resolve(&dir, "schoolplein.localhost"), HostTarget::Platform);
        assert!(
            matches!(resolve(&dir, "ouders.deklimop.nl"), HostTarget::School(e) if e.id.get() == 1)
        );
        assert!(matches!(
            resolve(&dir, "dicht.schoolplein.nl"),
            HostTarget::Suspended(_)
        ));
        assert_eq!(resolve(&dir, "schoolplein.nl"), HostTarget::Platform);
        assert_eq!(resolve(&dir, "localhost"), HostTarget::Platform);
        assert_eq!(
            resolve(&dir, "www.schoolplein.nl"),
            HostTarget::RedirectToPlatform
        );
        for unknown in [
            "onbekend.schoolplein.nl",
            "api.schoolplein.nl",
            "a.klimop.schoolplein.nl",
            "klimop.evil.com",
            "evilschoolplein.nl",
            "127.0.0.1",
        ] {
            assert_eq!(resolve(&dir, unknown), HostTarget::NotFound, "{unknown}");
        }
    }

    #[test]
    fn removing_a_school_forgets_its_slug_and_domains() {
        let dir = directory(vec![(
            school(1, "klimop", TenantStatus::Active),
            vec!["ouders.deklimop.nl"],
        )]);
        let mut snapshot = Snapshot::clone(&dir.inner.snapshot.load());
        snapshot.remove(TenantId::new(1));
        snapshot.insert(school(1, "nieuw", TenantStatus::Active), vec![]);
        dir.inner.snapshot.store(Arc::new(snapshot));
        assert_eq!(resolve(&dir, "klimop.schoolplein.nl"), HostTarget::NotFound);
        assert_eq!(resolve(&dir, "ouders.deklimop.nl"), HostTarget::NotFound);
        assert!(matches!(
            resolve(&dir, "nieuw.schoolplein.nl"),
            HostTarget::School(_)
        ));
    }
}
