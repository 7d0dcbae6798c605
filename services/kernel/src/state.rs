//! `AppState`: everything a handler may need, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;
use tenant_router::{SchoolPools, TenantDirectory};

use crate::config::Config;
use crate::passwords::PasswordHashing;
use crate::templates::Templates;

/// Shared by every request. Services take the parts they need through `FromRef`.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The platform's pool (accounts, sessions' memberships, the outbox, the school map).
    pub db: PgPool,
    /// Where school transactions run (`TenantTx::begin(&state.schools, …)`).
    pub schools: SchoolPools,
    pub redis: redis::aio::ConnectionManager,
    pub tenants: TenantDirectory,
    pub templates: Arc<Templates>,
    /// Password hashing, bounded for the whole process.
    pub passwords: PasswordHashing,
}

impl FromRef<AppState> for Arc<Templates> {
    fn from_ref(state: &AppState) -> Self {
        state.templates.clone()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for TenantDirectory {
    fn from_ref(state: &AppState) -> Self {
        state.tenants.clone()
    }
}
