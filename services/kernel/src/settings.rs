//! A school's settings (T5), read on every page: kept in memory per school and dropped when
//! the school changes them (a notification reaches every process at commit), with a short
//! lifetime as the safety net.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tenant_router::{SchoolPool, TenantId, TenantTx};

use crate::school_cache::Change;

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
}

impl Module {
    pub const ALL: [Module; 9] = [
        Module::Groups,
        Module::Children,
        Module::Notices,
        Module::News,
        Module::Calendar,
        Module::Conferences,
        Module::Photos,
        Module::Documents,
        Module::Absence,
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
    modules: String,
}

/// Reads the settings inside a school's transaction.
pub async fn read(tx: &mut TenantTx) -> Result<SchoolSettings, sqlx::Error> {
    let row: Row = sqlx::query_as(
        "SELECT teachers_manage_parents, teachers_see_all_groups, activate_parents_at_once,
                parents_download_address_list, pdf_header, extra_fields, intranet_url,
                photo_upload_tile, portal_open, modules::text AS modules
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

/// A school's settings and when they were read.
type Entry = (Instant, Arc<SchoolSettings>);

/// Settings per school, in memory.
#[derive(Debug, Clone, Default)]
pub struct SettingsCache {
    kept: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    entries: HashMap<TenantId, Entry>,
    /// Counts the changes heard: a read that saw it move may have read what a change
    /// replaced, and is not kept.
    changes: u64,
    /// Whether the listener listens: only then is a change sure to be heard, so only then
    /// is anything kept or served.
    listening: bool,
}

impl SettingsCache {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Nothing here can leave the map half-changed, so a poisoned lock is still sound.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The school's settings: from memory when fresh, otherwise read (one read-only
    /// transaction) and kept, unless a change was heard meanwhile.
    pub async fn get(
        &self,
        pool: &impl SchoolPool,
        tenant: TenantId,
    ) -> Result<Arc<SchoolSettings>, sqlx::Error> {
        let changes_before = match self.fresh(tenant) {
            Ok(settings) => return Ok(settings),
            Err(changes_before) => changes_before,
        };
        let read_at = Instant::now();
        let mut tx = TenantTx::begin_read_only(pool, tenant).await?;
        let settings = Arc::new(read(&mut tx).await?);
        tx.commit().await?;
        self.keep(tenant, changes_before, read_at, settings.clone());
        Ok(settings)
    }

    /// The school's settings when fresh ones are kept; otherwise the count of changes heard,
    /// for [`keep`](Self::keep).
    fn fresh(&self, tenant: TenantId) -> Result<Arc<SchoolSettings>, u64> {
        let kept = self.kept();
        match kept.entries.get(&tenant) {
            Some((read_at, settings)) if kept.listening && read_at.elapsed() < MAX_AGE => {
                Ok(settings.clone())
            }
            _ => Err(kept.changes),
        }
    }

    /// Keeps settings read since `changes_before` was counted, unless a change was heard
    /// meanwhile or nobody listens. Returns whether they were kept.
    fn keep(
        &self,
        tenant: TenantId,
        changes_before: u64,
        read_at: Instant,
        settings: Arc<SchoolSettings>,
    ) -> bool {
        let mut kept = self.kept();
        if !kept.listening || kept.changes != changes_before {
            return false;
        }
        kept.entries.insert(tenant, (read_at, settings));
        true
    }

    /// Forgets a school's settings (they changed).
    pub fn forget(&self, tenant: TenantId) {
        let mut kept = self.kept();
        kept.entries.remove(&tenant);
        kept.changes += 1;
    }

    /// Forgets every school's (a change may have been missed).
    pub fn forget_all(&self) {
        let mut kept = self.kept();
        kept.entries.clear();
        kept.changes += 1;
    }

    fn set_listening(&self, listening: bool) {
        let mut kept = self.kept();
        kept.entries.clear();
        kept.changes += 1;
        kept.listening = listening;
    }

    /// Listens for changes announced by any process (see [`crate::school_cache::listen`]).
    pub fn spawn_listener(
        &self,
        database: &crate::config::DatabaseConfig,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        let cache = self.clone();
        crate::school_cache::listen(database, &[SETTINGS_CHANNEL], move |change| match change {
            Change::School(tenant) => cache.forget(tenant),
            Change::Person(..) | Change::Unknown => cache.forget_all(),
            Change::Lost => cache.set_listening(false),
            Change::Listening => cache.set_listening(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            modules: BTreeMap::new(),
        })
    }

    const SCHOOL: TenantId = TenantId::new(1);
    const OTHER: TenantId = TenantId::new(2);

    fn listening() -> SettingsCache {
        let cache = SettingsCache::default();
        cache.set_listening(true);
        cache
    }

    #[test]
    fn settings_read_while_nothing_changed_are_kept_and_served() {
        let cache = listening();
        let before = cache.fresh(SCHOOL).unwrap_err();
        assert!(cache.keep(SCHOOL, before, Instant::now(), settings(true)));
        assert!(cache.fresh(SCHOOL).unwrap().portal_open);
        assert!(cache.fresh(OTHER).is_err());
    }

    #[test]
    fn settings_read_across_a_change_are_not_kept() {
        // The read began before the change was heard, so it may hold what the change replaced.
        let cache = listening();
        let before = cache.fresh(SCHOOL).unwrap_err();
        cache.forget(SCHOOL);
        assert!(!cache.keep(SCHOOL, before, Instant::now(), settings(true)));
        assert!(cache.fresh(SCHOOL).is_err());
        // Read again afterwards, they are.
        let after = cache.fresh(SCHOOL).unwrap_err();
        assert!(cache.keep(SCHOOL, after, Instant::now(), settings(false)));
        assert!(!cache.fresh(SCHOOL).unwrap().portal_open);
    }

    #[test]
    fn a_change_drops_its_schools_settings_only() {
        let cache = listening();
        for tenant in [SCHOOL, OTHER] {
            let before = cache.fresh(tenant).unwrap_err();
            assert!(cache.keep(tenant, before, Instant::now(), settings(true)));
        }
        cache.forget(SCHOOL);
        assert!(cache.fresh(SCHOOL).is_err());
        assert!(cache.fresh(OTHER).is_ok());
        cache.forget_all();
        assert!(cache.fresh(OTHER).is_err());
    }

    #[test]
    fn nothing_is_kept_or_served_while_nobody_listens() {
        let cache = SettingsCache::default();
        let before = cache.fresh(SCHOOL).unwrap_err();
        assert!(!cache.keep(SCHOOL, before, Instant::now(), settings(true)));

        let cache = listening();
        let before = cache.fresh(SCHOOL).unwrap_err();
        assert!(cache.keep(SCHOOL, before, Instant::now(), settings(true)));
        cache.set_listening(false);
        assert!(cache.fresh(SCHOOL).is_err());
        let before = cache.fresh(SCHOOL).unwrap_err();
        assert!(!cache.keep(SCHOOL, before, Instant::now(), settings(true)));
        // Listening again: what was read while deaf is not kept either.
        cache.set_listening(true);
        assert!(!cache.keep(SCHOOL, before, Instant::now(), settings(true)));
    }

    #[test]
    fn old_settings_are_read_again() {
        let cache = listening();
        let before = cache.fresh(SCHOOL).unwrap_err();
        let long_ago = Instant::now() - MAX_AGE;
        assert!(cache.keep(SCHOOL, before, long_ago, settings(true)));
        assert!(cache.fresh(SCHOOL).is_err());
    }
}
