//! Creating schools and changing their place in the fleet: status and custom domains.

use std::time::Instant;

use sqlx::{AssertSqlSafe, PgPool};

use crate::directory::{BaseDomains, notify_tenant_changed};
use crate::fleet::{TenantMigrations, apply_in_transaction};
use crate::host::NormalizedHost;
use crate::tenant::{SchoolName, TenantEntry, TenantId, TenantSlug, TenantStatus};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("a school with slug {0:?} already exists")]
    SlugTaken(String),
    #[error("no school has slug {0:?}")]
    UnknownSchool(String),
    #[error("domain {0:?} already belongs to a school")]
    DomainTaken(String),
    #[error(
        "domain {0:?} lies under the platform's own base domain; use the school's slug instead"
    )]
    DomainUnderBase(String),
    #[error("the welcome text has at most 4000 characters")]
    WelcomeTooLong,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl ProvisionError {
    /// True when the caller asked for something that cannot be (as opposed to a failure).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, Self::Database(_))
    }
}

/// A school to create.
#[derive(Debug, Clone)]
pub struct NewSchool {
    pub slug: TenantSlug,
    pub name: SchoolName,
    pub welcome_text: String,
}

/// Creates a school: its platform row, its schema with every school migration, and its
/// profile — all in one transaction, so a school exists whole or not at all. Every running
/// process learns of it through the change notification sent at commit.
pub async fn create_school(
    pool: &PgPool,
    migrations: &TenantMigrations,
    school: &NewSchool,
) -> Result<TenantEntry, ProvisionError> {
    if school.welcome_text.chars().count() > 4000 {
        return Err(ProvisionError::WelcomeTooLong);
    }
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO platform.tenants (slug, display_name) VALUES ($1, $2)
         ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(school.slug.as_str())
    .bind(school.name.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ProvisionError::SlugTaken(school.slug.to_string()))?;
    let tenant = TenantId::new(id);
    // The schema name is made from the numeric id only, so it needs no quoting.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA {}",
        tenant.schema_name()
    )))
    .execute(&mut *tx)
    .await?;
    let all: Vec<_> = migrations.iter().collect();
    apply_in_transaction(&mut tx, tenant, &all).await?;
    sqlx::query("INSERT INTO school_profile (name, welcome_text) VALUES ($1, $2)")
        .bind(school.name.as_str())
        .bind(&school.welcome_text)
        .execute(&mut *tx)
        .await?;
    notify_tenant_changed(&mut tx, tenant).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant, elapsed_ms = started.elapsed().as_millis() as u64, "school created");
    Ok(TenantEntry {
        id: tenant,
        slug: school.slug.clone(),
        display_name: school.name.as_str().to_owned(),
        status: TenantStatus::Active,
    })
}

/// The school with this slug, as the router knows it.
pub async fn find_school(pool: &PgPool, slug: &TenantSlug) -> Result<TenantEntry, ProvisionError> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, display_name, status FROM platform.tenants WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(pool)
            .await?;
    let (id, display_name, status) =
        row.ok_or_else(|| ProvisionError::UnknownSchool(slug.to_string()))?;
    Ok(TenantEntry {
        id: TenantId::new(id),
        slug: slug.clone(),
        display_name,
        status: TenantStatus::from_db(&status),
    })
}

/// Suspends or resumes a school. Returns the school as it now is.
pub async fn set_status(
    pool: &PgPool,
    slug: &TenantSlug,
    status: TenantStatus,
) -> Result<TenantEntry, ProvisionError> {
    let mut tx = pool.begin().await?;
    let row: Option<(i64, String)> = sqlx::query_as(
        "UPDATE platform.tenants SET status = $2, updated_at = now()
          WHERE slug = $1 RETURNING id, display_name",
    )
    .bind(slug.as_str())
    .bind(status.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let (id, display_name) = row.ok_or_else(|| ProvisionError::UnknownSchool(slug.to_string()))?;
    notify_tenant_changed(&mut tx, TenantId::new(id)).await?;
    tx.commit().await?;
    Ok(TenantEntry {
        id: TenantId::new(id),
        slug: slug.clone(),
        display_name,
        status,
    })
}

/// Gives a school a custom domain of its own (`ouders.deklimop.nl`).
pub async fn add_domain(
    pool: &PgPool,
    bases: &BaseDomains,
    slug: &TenantSlug,
    host: &NormalizedHost,
) -> Result<TenantId, ProvisionError> {
    if host.is_ip_literal() || bases.covers(host) {
        return Err(ProvisionError::DomainUnderBase(host.to_string()));
    }
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM platform.tenants WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ProvisionError::UnknownSchool(slug.to_string()))?;
    let inserted = sqlx::query(
        "INSERT INTO platform.domains (host, tenant_id) VALUES ($1, $2) ON CONFLICT (host) DO NOTHING",
    )
    .bind(host.as_str())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ProvisionError::DomainTaken(host.to_string()));
    }
    notify_tenant_changed(&mut tx, TenantId::new(id)).await?;
    tx.commit().await?;
    Ok(TenantId::new(id))
}

/// One line of `tenant list`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SchoolListing {
    pub id: i64,
    pub slug: String,
    pub display_name: String,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub schema_version: Option<i64>,
    pub domains: Vec<String>,
}

/// Every school with its status, schema version and custom domains, ordered by slug.
pub async fn list_schools(pool: &PgPool) -> Result<Vec<SchoolListing>, ProvisionError> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.slug, t.display_name, t.status, t.created_at,
                (SELECT max(version) FROM platform.tenant_migrations m WHERE m.tenant_id = t.id)
                    AS schema_version,
                coalesce((SELECT array_agg(host ORDER BY host) FROM platform.domains d
                           WHERE d.tenant_id = t.id), '{}') AS domains
           FROM platform.tenants t
          ORDER BY t.slug",
    )
    .fetch_all(pool)
    .await?)
}
