//! Migrating the fleet: the platform schema, then every school's schema, resumably and in parallel.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use crate::tenant::TenantId;
use crate::tx::bind_schema;

/// One school migration as compiled into the binary.
#[derive(Debug)]
struct EmbeddedMigration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const EMBEDDED: &[EmbeddedMigration] = include!(concat!(env!("OUT_DIR"), "/tenant_migrations.rs"));

/// One migration of a school schema.
#[derive(Debug, Clone)]
pub struct TenantMigration {
    pub version: i64,
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

impl TenantMigration {
    pub fn new(version: i64, name: impl Into<String>, sql: impl Into<String>) -> Self {
        let sql = sql.into();
        let checksum = Sha256::digest(sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            version,
            name: name.into(),
            sql,
            checksum,
        }
    }
}

/// The ordered set of school migrations that every school schema must have.
#[derive(Debug, Clone)]
pub struct TenantMigrations(Vec<TenantMigration>);

impl TenantMigrations {
    /// The migrations in `migrations/tenant/`, compiled into the binary.
    pub fn embedded() -> Self {
        Self::from_list(
            EMBEDDED
                .iter()
                .map(|m| TenantMigration::new(m.version, m.name, m.sql))
                .collect(),
        )
    }

    pub fn from_list(mut list: Vec<TenantMigration>) -> Self {
        list.sort_by_key(|m| m.version);
        list.dedup_by_key(|m| m.version);
        Self(list)
    }

    /// The same set with one more migration at the end (used by benchmarks and tests).
    pub fn with(mut self, extra: TenantMigration) -> Self {
        self.0.push(extra);
        Self::from_list(self.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &TenantMigration> {
        self.0.iter()
    }

    pub fn latest_version(&self) -> Option<i64> {
        self.0.last().map(|m| m.version)
    }

    fn versions(&self) -> Vec<i64> {
        self.0.iter().map(|m| m.version).collect()
    }
}

/// How the fleet is migrated.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Schools migrated at the same time (each holds one connection).
    pub concurrency: usize,
    /// How long one school's migration waits for a lock before giving up and retrying.
    pub lock_timeout: Duration,
    /// Attempts per school when locks are busy.
    pub max_attempts: u32,
    /// A pause after each school, to go gently on a busy database.
    pub pause: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lock_timeout: Duration::from_secs(2),
            max_attempts: 5,
            pause: Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("platform migration failed: {0}")]
    Platform(#[from] sqlx::migrate::MigrateError),
    #[error(
        "school migration {version} applied to school {tenant} no longer matches the file: \
         migrations are never edited once released; add a new one instead"
    )]
    ChecksumMismatch { tenant: TenantId, version: i64 },
    #[error("school {tenant} has migration {version} applied, which this build does not know")]
    UnknownVersion { tenant: TenantId, version: i64 },
    #[error("school {0} no longer exists")]
    Vanished(TenantId),
}

/// One school with the versions it still lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSchool {
    pub tenant: TenantId,
    pub slug: String,
    pub versions: Vec<i64>,
}

/// What is still to do across the fleet, read from the ledger in one query.
pub async fn pending_work(
    pool: &PgPool,
    migrations: &TenantMigrations,
) -> Result<Vec<PendingSchool>, FleetError> {
    let rows: Vec<(i64, String, Vec<i64>)> = sqlx::query_as(
        "SELECT t.id, t.slug, array_agg(v.version ORDER BY v.version)
           FROM platform.tenants t
          CROSS JOIN unnest($1::bigint[]) AS v(version)
          WHERE NOT EXISTS (SELECT 1 FROM platform.tenant_migrations m
                             WHERE m.tenant_id = t.id AND m.version = v.version)
          GROUP BY t.id, t.slug
          ORDER BY t.id",
    )
    .bind(migrations.versions())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, versions)| PendingSchool {
            tenant: TenantId::new(id),
            slug,
            versions,
        })
        .collect())
}

/// The outcome of migrating the fleet.
#[derive(Debug, Default)]
pub struct FleetReport {
    pub schools_migrated: usize,
    pub migrations_applied: usize,
    pub failures: Vec<(TenantId, FleetError)>,
    pub elapsed: Duration,
}

/// Applies every pending school migration to every school, `concurrency` schools at a time.
/// A school either gets all its pending migrations or none (one transaction each), so an
/// interrupted run is finished by running it again.
pub async fn migrate_fleet(
    pool: &PgPool,
    migrations: &TenantMigrations,
    options: &FleetOptions,
) -> Result<FleetReport, FleetError> {
    let started = Instant::now();
    let pending = pending_work(pool, migrations).await?;
    let mut report = FleetReport::default();
    let mut results = futures_util::stream::iter(pending)
        .map(|school| async move {
            let outcome = migrate_school(pool, school.tenant, migrations, options).await;
            if !options.pause.is_zero() {
                tokio::time::sleep(options.pause).await;
            }
            (school.tenant, outcome)
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((tenant, outcome)) = results.next().await {
        match outcome {
            Ok(0) => {}
            Ok(applied) => {
                report.schools_migrated += 1;
                report.migrations_applied += applied;
            }
            Err(error) => {
                tracing::error!(tenant.id = %tenant, %error, "school migration failed");
                report.failures.push((tenant, error));
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Brings one school up to date in one transaction, retrying while locks are busy.
/// Returns how many migrations it applied.
pub async fn migrate_school(
    pool: &PgPool,
    tenant: TenantId,
    migrations: &TenantMigrations,
    options: &FleetOptions,
) -> Result<usize, FleetError> {
    let mut attempt = 1;
    loop {
        let mut conn = pool.acquire().await?;
        match migrate_school_once(&mut conn, tenant, migrations, options.lock_timeout).await {
            Err(FleetError::Database(error))
                if is_retryable(&error) && attempt < options.max_attempts =>
            {
                tracing::warn!(tenant.id = %tenant, attempt, "school migration waited too long for a lock; retrying");
                let backoff = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                tokio::time::sleep(backoff).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn is_retryable(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|e| e.code());
    // lock_not_available, deadlock_detected, serialization_failure
    matches!(code.as_deref(), Some("55P03" | "40P01" | "40001"))
}

async fn migrate_school_once(
    conn: &mut PgConnection,
    tenant: TenantId,
    migrations: &TenantMigrations,
    lock_timeout: Duration,
) -> Result<usize, FleetError> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{}ms", lock_timeout.as_millis()))
        .execute(&mut *tx)
        .await?;
    // Serialises concurrent migrators of the same school; the ledger is read under this lock.
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM platform.tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Err(FleetError::Vanished(tenant));
    }
    let applied: BTreeMap<i64, String> = sqlx::query_as::<_, (i64, String)>(
        "SELECT version, checksum FROM platform.tenant_migrations WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    for (version, checksum) in &applied {
        match migrations.iter().find(|m| m.version == *version) {
            Some(known) if known.checksum != *checksum => {
                return Err(FleetError::ChecksumMismatch {
                    tenant,
                    version: *version,
                });
            }
            Some(_) => {}
            None => {
                return Err(FleetError::UnknownVersion {
                    tenant,
                    version: *version,
                });
            }
        }
    }
    let todo: Vec<&TenantMigration> = migrations
        .iter()
        .filter(|m| !applied.contains_key(&m.version))
        .collect();
    if todo.is_empty() {
        return Ok(0);
    }
    apply_in_transaction(&mut tx, tenant, &todo).await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant, applied = todo.len(), "school migrated");
    Ok(todo.len())
}

/// Applies migrations to a school's schema inside the caller's transaction and records them.
pub(crate) async fn apply_in_transaction(
    conn: &mut PgConnection,
    tenant: TenantId,
    todo: &[&TenantMigration],
) -> Result<(), sqlx::Error> {
    bind_schema(&mut *conn, tenant).await?;
    for migration in todo {
        // The SQL comes from our own migration files, compiled into the binary.
        sqlx::raw_sql(AssertSqlSafe(migration.sql.clone()))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO platform.tenant_migrations (tenant_id, version, name, checksum)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(migration.version)
        .bind(&migration.name)
        .bind(&migration.checksum)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Runs the platform migrations (`migrations/platform/`) and sets the role's default search
/// path to one with no tables, so that a query outside a `TenantTx` fails instead of
/// reading some school.
pub async fn migrate_platform(pool: &PgPool) -> Result<(), FleetError> {
    let mut conn = pool.acquire().await?;
    // Several processes may start at once; one of them migrates, the others wait here.
    sqlx::query("SELECT pg_advisory_lock(hashtext('schoolplein.migrate_platform'))")
        .execute(&mut *conn)
        .await?;
    let outcome = migrate_platform_locked(&mut conn).await;
    let unlock = sqlx::query("SELECT pg_advisory_unlock(hashtext('schoolplein.migrate_platform'))")
        .execute(&mut *conn)
        .await;
    // The connection carried a session-level search path for sqlx's own table: never reuse it.
    conn.close_on_drop();
    outcome?;
    unlock?;
    Ok(())
}

async fn migrate_platform_locked(conn: &mut PgConnection) -> Result<(), FleetError> {
    sqlx::raw_sql("CREATE SCHEMA IF NOT EXISTS platform")
        .execute(&mut *conn)
        .await?;
    // sqlx keeps its bookkeeping table in the current schema: make that `platform`.
    sqlx::raw_sql("SET search_path TO platform")
        .execute(&mut *conn)
        .await?;
    sqlx::migrate!("../migrations/platform")
        .run(&mut *conn)
        .await?;
    sqlx::raw_sql(
        "DO $$ BEGIN
           EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = pg_catalog',
                          current_user, current_database());
         END $$",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_are_ordered_and_start_with_the_profile() {
        let migrations = TenantMigrations::embedded();
        let versions = migrations.versions();
        assert!(!versions.is_empty());
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
        assert!(
            migrations
                .iter()
                .next()
                .unwrap()
                .sql
                .contains("school_profile")
        );
    }

    #[test]
    fn checksums_change_with_the_sql() {
        let a = TenantMigration::new(1, "a", "CREATE TABLE a ()");
        let b = TenantMigration::new(1, "a", "CREATE TABLE b ()");
        assert_ne!(a.checksum, b.checksum);
        assert_eq!(a.checksum.len(), 64);
    }
}
