//! Host → school: the tenant map and its invalidation, `TenantTx`, provisioning and fleet
//! migrations. Everything that keeps one school's data apart from another's starts here.

pub mod breaker;
pub mod directory;
pub mod extract;
pub mod fleet;
pub mod host;
pub mod pools;
pub mod provision;
pub mod tenant;
pub mod tx;

pub use breaker::{Breaker, Unreachable};
pub use directory::{BaseDomains, HostTarget, TenantDirectory};
pub use extract::CurrentTenant;
pub use fleet::{FleetOptions, TenantMigrations};
pub use host::{HostError, HostSource, NormalizedHost};
pub use pools::{PlatformPool, SchoolPool, SchoolPools};
pub use tenant::{SchoolName, TenantEntry, TenantId, TenantSlug, TenantStatus};
pub use tx::TenantTx;
