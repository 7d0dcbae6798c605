//! A school's settings (T5), read on every page: kept in memory per school and dropped when
//! the school changes them (a notification reaches every process at commit), with a short
//! lifetime as the safety net.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tenant_router::{SchoolPool, TenantId, TenantTx};

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
    entries: Arc<Mutex<HashMap<TenantId, Entry>>>,
}

impl SettingsCache {
    /// The school's settings: from memory when fresh, otherwise read (one read-only
    /// transaction) and kept.
    pub async fn get(
        &self,
        pool: &impl SchoolPool,
        tenant: TenantId,
    ) -> Result<Arc<SchoolSettings>, sqlx::Error> {
        if let Some(settings) = self.fresh(tenant) {
            return Ok(settings);
        }
        let read_at = Instant::now();
        let mut tx = TenantTx::begin_read_only(pool, tenant).await?;
        let settings = Arc::new(read(&mut tx).await?);
        tx.commit().await?;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(tenant, (read_at, settings.clone()));
        }
        Ok(settings)
    }

    fn fresh(&self, tenant: TenantId) -> Option<Arc<SchoolSettings>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&tenant)
            .filter(|(read_at, _)| read_at.elapsed() < MAX_AGE)
            .map(|(_, settings)| settings.clone())
    }

    /// Forgets a school's settings (they changed).
    pub fn forget(&self, tenant: TenantId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&tenant);
        }
    }

    /// Forgets every school's (a missed notification).
    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Listens for changes announced by any process (see [`crate::school_cache::listen`]).
    pub fn spawn_listener(
        &self,
        database: &crate::config::DatabaseConfig,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        let cache = self.clone();
        crate::school_cache::listen(database, &[SETTINGS_CHANNEL], move |change| match change {
            crate::school_cache::Change::School(tenant) => cache.forget(tenant),
            _ => cache.forget_all(),
        })
    }
}
