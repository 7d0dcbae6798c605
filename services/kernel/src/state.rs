//! `AppState`: everything a handler may need, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;
use tenant_router::{PlatformPool, SchoolPools, TenantDirectory};

use crate::config::Config;
use crate::passwords::PasswordHashing;
use crate::templates::Templates;

/// Shared by every request. Services take the parts they need through `FromRef`. One
/// pointer: layers and extractors clone it several times per request, and a clone of the
/// parts themselves (a dozen reference counts, moved inside every future that holds it) took
/// a tenth of a page kept in memory (docs/BENCHMARKS.md).
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct AppParts {
    pub config: Arc<Config>,
    /// The platform's pool (accounts, sessions' memberships, the outbox, the school map),
    /// guarded by the PostgreSQL breaker; `db.pool()` for background work.
    pub db: PlatformPool,
    /// Where school transactions run (`TenantTx::begin(&state.schools, …)`).
    pub schools: SchoolPools,
    /// Redis, guarded by its breaker.
    pub redis: crate::kv::Redis,
    pub tenants: TenantDirectory,
    pub templates: Arc<Templates>,
    /// Password hashing, bounded for the whole process.
    pub passwords: PasswordHashing,
    /// The fonts for PDF documents, read once at start-up.
    pub fonts: PdfFonts,
    /// Each school's settings, kept in memory (see `settings`).
    pub settings: crate::settings::SettingsCache,
    /// What group pages and timelines read of each school, kept in memory (see `school_cache`).
    pub school_data: crate::school_cache::SchoolCache,
    /// Who each session's account is, kept in memory (see `account_cache`).
    pub accounts: crate::account_cache::AccountCache,
    /// The time the school day's rules go by: the system's (tests set it).
    pub clock: crate::clock::Clock,
}

/// TrueType font files, shared by every PDF the process makes.
#[derive(Clone)]
pub struct PdfFonts {
    pub regular: Arc<Vec<u8>>,
    pub bold: Arc<Vec<u8>>,
}

impl std::fmt::Debug for PdfFonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfFonts")
            .field("regular_bytes", &self.regular.len())
            .field("bold_bytes", &self.bold.len())
            .finish()
    }
}

impl PdfFonts {
    /// Reads both fonts; an unreadable file fails naming its setting.
    pub fn load(config: &crate::config::PdfConfig) -> Result<Self, String> {
        let read = |key: &str, path: &std::path::Path| {
            std::fs::read(path)
                .map(Arc::new)
                .map_err(|e| format!("pdf.{key} ({}): {e}", path.display()))
        };
        Ok(Self {
            regular: read("font_regular", &config.font_regular)?,
            bold: read("font_bold", &config.font_bold)?,
        })
    }
}

impl AppState {
    /// A Redis key in this deployment's space (`redis.key_prefix`).
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.config.redis.key_prefix)
    }
}

impl FromRef<AppState> for Arc<Templates> {
    fn from_ref(state: &AppState) -> Self {
        state.templates.clone()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.pool().clone()
    }
}

impl FromRef<AppState> for TenantDirectory {
    fn from_ref(state: &AppState) -> Self {
        state.tenants.clone()
    }
}
