//! A school's settings (T5), read on every page: kept in memory per school and dropped when
//! the school changes them (a notification reaches every process at commit), with a short
//! lifetime as the safety net.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenant_router::{SchoolPool, TenantId, TenantTx};

use crate::school_cache::{ReadAgain, SchoolCache, Ticket, Weighed};

/// The channel on which a school's settings change is announced (payload: the school's id).
pub const SETTINGS_CHANNEL: &str = "schoolplein_settings_changed";
/// The longest a process serves settings without reading them again.
const MAX_AGE: Duration = Duration::from_secs(60);

/// The parts of the portal a school can switch off or rename (seed 003's menu items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    Groups,
    Children,
    Notices,
    News,
    Calendar,
    Conferences,
    Photos,
    Documents,
    Absence,
    Leave,
    Care,
    Tasks,
    Messages,
}

impl Module {
    pub const ALL: [Module; 13] = [
        Module::Groups,
        Module::Children,
        Module::Notices,
        Module::News,
        Module::Calendar,
        Module::Conferences,
        Module::Photos,
        Module::Documents,
        Module::Absence,
        Module::Leave,
        Module::Care,
        Module::Tasks,
        Module::Messages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Groups => "groups",
            Self::Children => "children",
            Self::Notices => "notices",
            Self::News => "news",
            Self::Calendar => "calendar",
            Self::Conferences => "conferences",
            Self::Photos => "photos",
            Self::Documents => "documents",
            Self::Absence => "absence",
            Self::Leave => "leave",
            Self::Care => "care",
            Self::Tasks => "tasks",
            Self::Messages => "messages",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// How the school set a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleSetting {
    pub on: bool,
    /// The school's own name for the menu item, if it chose one.
    pub name: Option<String>,
}

impl Default for ModuleSetting {
    fn default() -> Self {
        Self {
            on: true,
            name: None,
        }
    }
}

/// Everything a school has set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchoolSettings {
    pub teachers_manage_parents: bool,
    pub teachers_see_all_groups: bool,
    pub activate_parents_at_once: bool,
    pub parents_download_address_list: bool,
    pub pdf_header: String,
    pub extra_fields: Vec<String>,
    pub intranet_url: Option<String>,
    pub photo_upload_tile: bool,
    pub portal_open: bool,
    /// Parents may write to the other parents of their children's groups (C4).
    pub parents_write_parents: bool,
    /// Group mailings go to each child's primary contact only (A8, C5).
    pub group_mail_primary_only: bool,
    pub modules: BTreeMap<Module, ModuleSetting>,
}

impl SchoolSettings {
    pub fn module(&self, module: Module) -> ModuleSetting {
        self.modules.get(&module).cloned().unwrap_or_default()
    }

    pub fn is_on(&self, module: Module) -> bool {
        self.module(module).on
    }

    /// Parents' pages and registration answer only while the school keeps the portal open to
    /// parents; staff always get in.
    pub fn open_to(&self, staff: bool) -> Result<(), crate::AppError> {
        if staff || self.portal_open {
            Ok(())
        } else {
            Err(crate::AppError::Forbidden {
                reason: "error.portal_closed",
            })
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    teachers_manage_parents: bool,
    teachers_see_all_groups: bool,
    activate_parents_at_once: bool,
    parents_download_address_list: bool,
    pdf_header: String,
    extra_fields: Vec<String>,
    intranet_url: Option<String>,
    photo_upload_tile: bool,
    portal_open: bool,
    parents_write_parents: bool,
    group_mail_primary_only: bool,
    modules: String,
}

/// Reads the settings inside a school's transaction.
pub async fn read(tx: &mut TenantTx) -> Result<SchoolSettings, sqlx::Error> {
    let row: Row = sqlx::query_as(
        "SELECT teachers_manage_parents, teachers_see_all_groups, activate_parents_at_once,
                parents_download_address_list, pdf_header, extra_fields, intranet_url,
                photo_upload_tile, portal_open, parents_write_parents, group_mail_primary_only,
                modules::text AS modules
           FROM school_settings",
    )
    .fetch_one(&mut **tx)
    .await?;
    let stored: BTreeMap<String, ModuleSetting> =
        serde_json::from_str(&row.modules).unwrap_or_default();
    Ok(SchoolSettings {
        teachers_manage_parents: row.teachers_manage_parents,
        teachers_see_all_groups: row.teachers_see_all_groups,
        activate_parents_at_once: row.activate_parents_at_once,
        parents_download_address_list: row.parents_download_address_list,
        pdf_header: row.pdf_header,
        extra_fields: row.extra_fields,
        intranet_url: row.intranet_url,
        photo_upload_tile: row.photo_upload_tile,
        portal_open: row.portal_open,
        parents_write_parents: row.parents_write_parents,
        group_mail_primary_only: row.group_mail_primary_only,
        modules: stored
            .into_iter()
            .filter_map(|(key, setting)| Module::parse(&key).map(|m| (m, setting)))
            .collect(),
    })
}

/// Announces, inside the transaction that changed them, that a school's settings changed.
pub async fn announce_change(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(SETTINGS_CHANNEL)
        .bind(tx.tenant().get().to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The kind of entry a school's settings are kept under in the school cache.
const SETTINGS: &str = "settings";
/// Bytes of settings kept in all: a school's are well under a KiB, so every school of a large
/// platform fits.
const CAPACITY: usize = 16 << 20;

impl crate::school_cache::Weighed for SchoolSettings {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.pdf_header.len()
            + self.intranet_url.as_ref().map_or(0, String::len)
            + self
                .extra_fields
                .iter()
                .map(|f| f.len() + 24)
                .sum::<usize>()
            + self.modules.len() * 64
    }
}

/// Settings per school, in memory: a [`SchoolCache`] of their own, fed by the announcements
/// of the transactions that save settings ([`announce_change`]) on their own channel, so that
/// a school's busy posts do not drop its settings.
#[derive(Debug, Clone)]
pub struct SettingsCache {
    kept: SchoolCache,
}

impl Default for SettingsCache {
    fn default() -> Self {
        Self::with_max_age(MAX_AGE)
    }
}

impl SettingsCache {
    /// Keeps each school's settings for `max_age` before reading them again (a test's short
    /// age; the app keeps them a minute).
    pub fn with_max_age(max_age: Duration) -> Self {
        Self {
            kept: SchoolCache::announced_by_writers(CAPACITY, max_age),
        }
    }

    /// How many schools' settings were read since the start (see [`SchoolCache::reads`]).
    pub fn reads(&self) -> u64 {
        self.kept.reads()
    }

    /// The school's settings: from memory when fresh, otherwise read (one read-only
    /// transaction) and kept, unless a change was heard meanwhile.
    pub async fn get(
        &self,
        pool: &impl SchoolPool,
        tenant: TenantId,
    ) -> Result<Arc<SchoolSettings>, sqlx::Error> {
        let again = Arc::new(SettingsAgain { pool: pool.clone() });
        self.kept
            .get_or_read_then_again(
                pool,
                tenant,
                (SETTINGS, 0),
                |_| true,
                |tx| Box::pin(read(tx)),
                again,
            )
            .await
    }

    /// Forgets a school's settings (they changed).
    pub fn forget(&self, tenant: TenantId) {
        self.kept.forget(tenant);
    }

    /// Forgets every school's (a change may have been missed).
    pub fn forget_all(&self) {
        self.kept.forget_all();
    }

    /// Listens for changes announced by any process (see [`crate::school_cache::listen`]).
    pub fn spawn_listener(
        &self,
        database: &crate::config::DatabaseConfig,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        self.kept.spawn_listener_on(database, &[SETTINGS_CHANNEL])
    }
}

/// Reads a school's settings again once they have aged. Settings read the same as those kept
/// are kept as the same value: every page kept under them (which checks that it was read under
/// the very settings of the request) still fits, where a new value would have them all read
/// again.
struct SettingsAgain<S> {
    pool: S,
}

impl<S: SchoolPool> ReadAgain for SettingsAgain<S> {
    fn read_again(
        self: Arc<Self>,
        cache: SchoolCache,
        ticket: Ticket,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let tenant = ticket.tenant();
            let Ok(mut tx) = TenantTx::begin_read_only(&self.pool, tenant).await else {
                return;
            };
            let Ok(read) = read(&mut tx).await else {
                return;
            };
            if tx.commit().await.is_err() {
                return;
            }
            let value = cache
                .get::<SchoolSettings>(tenant, (SETTINGS, 0))
                .filter(|kept| **kept == read)
                .unwrap_or_else(|| Arc::new(read));
            cache.put_read_again(ticket, (SETTINGS, 0), value.clone(), value.bytes(), self);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::school_cache::Change;

    fn settings(portal_open: bool) -> Arc<SchoolSettings> {
        Arc::new(SchoolSettings {
            teachers_manage_parents: false,
            teachers_see_all_groups: false,
            activate_parents_at_once: false,
            parents_download_address_list: false,
            pdf_header: String::new(),
            extra_fields: Vec::new(),
            intranet_url: None,
            photo_upload_tile: false,
            portal_open,
            parents_write_parents: false,
            group_mail_primary_only: false,
            modules: BTreeMap::new(),
        })
    }

    const SCHOOL: TenantId = TenantId::new(1);
    const OTHER: TenantId = TenantId::new(2);
    const KEY: crate::school_cache::Key = (SETTINGS, 0);

    fn listening() -> SettingsCache {
        let cache = SettingsCache::default();
        cache.kept.hear(Change::Listening);
        cache
    }

    /// Keeps settings as a read that began now would.
    fn keep(cache: &SettingsCache, tenant: TenantId, portal_open: bool) -> bool {
        let ticket = cache.kept.ticket(tenant);
        let read = settings(portal_open);
        let bytes = crate::school_cache::Weighed::bytes(&*read);
        cache.kept.put(ticket, KEY, read, bytes)
    }

    fn fresh(cache: &SettingsCache, tenant: TenantId) -> Option<Arc<SchoolSettings>> {
        cache.kept.get(tenant, KEY)
    }

    #[test]
    fn settings_read_while_nothing_changed_are_kept_for_every_school_and_served() {
        // No school has to show its triggers first: the saving transaction announces.
        let cache = listening();
        assert!(keep(&cache, SCHOOL, true));
        assert!(fresh(&cache, SCHOOL).unwrap().portal_open);
        assert!(fresh(&cache, OTHER).is_none());
    }

    #[test]
    fn settings_read_across_a_change_are_not_kept() {
        // The read began before the change was heard, so it may hold what the change replaced.
        let cache = listening();
        let ticket = cache.kept.ticket(SCHOOL);
        cache.kept.hear(Change::School(SCHOOL));
        assert!(!cache.kept.put(ticket, KEY, settings(true), 100));
        assert!(fresh(&cache, SCHOOL).is_none());
        // Read again afterwards, they are.
        assert!(keep(&cache, SCHOOL, false));
        assert!(!fresh(&cache, SCHOOL).unwrap().portal_open);
    }

    #[test]
    fn a_change_drops_its_schools_settings_only() {
        let cache = listening();
        for tenant in [SCHOOL, OTHER] {
            assert!(keep(&cache, tenant, true));
        }
        cache.forget(SCHOOL);
        assert!(fresh(&cache, SCHOOL).is_none());
        assert!(fresh(&cache, OTHER).is_some());
        cache.kept.hear(Change::Unknown);
        assert!(fresh(&cache, OTHER).is_none());
    }

    #[test]
    fn nothing_is_kept_or_served_while_nobody_listens() {
        let cache = SettingsCache::default();
        assert!(!keep(&cache, SCHOOL, true));

        let cache = listening();
        assert!(keep(&cache, SCHOOL, true));
        let ticket = cache.kept.ticket(SCHOOL);
        cache.kept.hear(Change::Lost);
        assert!(fresh(&cache, SCHOOL).is_none());
        assert!(!keep(&cache, SCHOOL, true));
        // Listening again: what was read while deaf is not kept either.
        cache.kept.hear(Change::Listening);
        assert!(!cache.kept.put(ticket, KEY, settings(true), 100));
    }

    #[test]
    fn old_settings_are_read_again() {
        let cache = SettingsCache {
            kept: SchoolCache::announced_by_writers(CAPACITY, Duration::ZERO),
        };
        cache.kept.hear(Change::Listening);
        assert!(keep(&cache, SCHOOL, true));
        assert!(fresh(&cache, SCHOOL).is_none());
    }
}
