//! The command line: `serve`, `migrate`, `tenant …` for the fleet of schools, and the mail
//! worker.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use std::sync::Arc;

use schoolplein_kernel::{AppError, Config, Role, db, telemetry};
use schoolplein_mailing::Outbox;
use schoolplein_registration::{EmailAddress, Invitee, PersonName};
use sqlx::PgPool;
use tenant_router::fleet::{self, FleetOptions};
use tenant_router::provision::{self, NewSchool, ProvisionError};
use tenant_router::{
    NormalizedHost, SchoolName, TenantEntry, TenantMigrations, TenantSlug, TenantStatus,
};

use crate::{app, demo, mail, receive, serve};

#[derive(Debug, Parser)]
#[command(
    name = "schoolplein",
    version,
    about = "Schoolplein: the parent portal for primary schools"
)]
pub struct Cli {
    /// Directory with base.toml and <environment>.toml.
    #[arg(
        long,
        env = "SCHOOLPLEIN_CONFIG_DIR",
        default_value = "config",
        global = true
    )]
    pub config_dir: PathBuf,
    /// Which config/<environment>.toml to read.
    #[arg(
        long = "env",
        env = "SCHOOLPLEIN_ENV",
        default_value = "development",
        global = true
    )]
    pub environment: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every school over HTTP (or HTTPS when server.tls is configured).
    Serve {
        /// Address to listen on, instead of server.listen.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Migrate the platform schema, then every school's schema.
    Migrate {
        /// Only list what is pending; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Schools migrated at once, instead of migrate.concurrency.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: Option<u16>,
        /// Pause after each school, in milliseconds, to go gently on a busy database.
        #[arg(long, value_name = "MS", default_value_t = 0)]
        pause_ms: u64,
    },
    /// Manage schools.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Deliver mail from the outbox until SIGTERM or Ctrl-C (any number may run at once).
    Worker,
    /// Outgoing mail.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The jobs that run by the clock (questionnaire reminders, digests).
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Development helpers (refused outside the development environment).
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Create the demo accounts of the demo schools (again: changes nothing).
    SeedDemo,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Run once what is due, for every school (`serve` does this every minute by itself).
    Run {
        /// The instant to run as, RFC 3339 (e.g. 2026-11-23T17:30:00+01:00), instead of now.
        #[arg(long, value_parser = parse_instant)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

fn parse_instant(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|at| at.to_utc())
        .map_err(|e| format!("{raw:?} is not an RFC 3339 instant: {e}"))
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Queue a test mail in the school's name, to check that its mail gets through.
    Check {
        #[arg(value_parser = parse_slug)]
        slug: TenantSlug,
        /// Where to send it.
        address: String,
        /// The mail's language: nl or en.
        #[arg(long, default_value = "nl", value_parser = mail::parse_language)]
        language: schoolplein_kernel::Language,
    },
    /// Take one message on standard input that came back to `mail.inbound_domain` (as a mail
    /// server's delivery command hands it over): an answer becomes a message in its
    /// conversation, a delivery report fails its mail, an automatic answer is dropped.
    /// Refusals exit with a sysexits code (65, 67, 77; 75: try again later) and the reason.
    Receive {
        /// The envelope recipient (Postfix: `${recipient}`); without it, the message's
        /// Delivered-To, X-Original-To, To and Cc headers tell.
        #[arg(long)]
        recipient: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a school: schema, every school migration and profile, in one transaction.
    Create {
        /// The school's subdomain: 2–40 lower-case letters, digits and inner hyphens.
        #[arg(value_parser = parse_slug)]
        slug: TenantSlug,
        /// The school's name as parents know it.
        #[arg(long, value_parser = parse_name)]
        name: SchoolName,
        /// The welcome text on the school's home page.
        #[arg(long, default_value = "")]
        welcome: String,
        /// Invite this address as the school's first admin (the mail goes through the outbox).
        #[arg(long, value_parser = parse_email)]
        admin: Option<EmailAddress>,
    },
    /// Invite a member of staff by e-mail: a single-use link, valid for accounts.invitation_days.
    Invite {
        #[arg(value_parser = parse_slug)]
        slug: TenantSlug,
        #[arg(value_parser = parse_email)]
        email: EmailAddress,
        /// admin or teacher.
        #[arg(long, value_parser = parse_invited_role)]
        role: Role,
        /// The person's name until they choose their own (default: the address before the @).
        #[arg(long, value_parser = parse_person_name)]
        name: Option<PersonName>,
    },
    /// List every school with its status, schema version and domains.
    List,
    /// Suspend a school: its pages say so, nothing is deleted.
    Suspend {
        #[arg(value_parser = parse_slug)]
        slug: TenantSlug,
    },
    /// Resume a suspended school.
    Resume {
        #[arg(value_parser = parse_slug)]
        slug: TenantSlug,
    },
    /// Manage a school's own domains.
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Serve a school also at its own domain (e.g. ouders.deklimop.nl).
    Add {
        #[arg(value_parser = parse_slug)]
        slug: TenantSlug,
        #[arg(value_parser = parse_host)]
        host: NormalizedHost,
    },
}

fn parse_slug(raw: &str) -> Result<TenantSlug, String> {
    TenantSlug::parse(raw).map_err(|e| e.to_string())
}

fn parse_name(raw: &str) -> Result<SchoolName, String> {
    SchoolName::parse(raw).map_err(|e| e.to_string())
}

fn parse_email(raw: &str) -> Result<EmailAddress, String> {
    EmailAddress::parse(raw).map_err(|e| format!("not a usable e-mail address ({})", e.key()))
}

fn parse_person_name(raw: &str) -> Result<PersonName, String> {
    PersonName::parse(raw).map_err(|e| format!("not a usable name ({})", e.key()))
}

/// `admin` or `teacher`: the roles an invitation can give.
fn parse_invited_role(raw: &str) -> Result<Role, String> {
    match raw {
        "admin" | "school_admin" => Ok(Role::SchoolAdmin),
        "teacher" => Ok(Role::Teacher),
        _ => Err(format!(
            "{raw:?} is not a role to invite (admin or teacher)"
        )),
    }
}

fn parse_host(raw: &str) -> Result<NormalizedHost, String> {
    NormalizedHost::parse_name(raw).map_err(|e| e.to_string())
}

/// How a command failed: the caller's mistake (exit code 2) or something else (exit code 1).
#[derive(Debug)]
pub enum CliError {
    Usage(String),
    Failed(anyhow::Error),
    /// Refused with this exit code (sysexits, for a mail server) and reason.
    Refused {
        code: u8,
        reason: String,
    },
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

fn provision_error(error: ProvisionError) -> CliError {
    if error.is_bad_request() {
        CliError::Usage(error.to_string())
    } else {
        CliError::Failed(error.into())
    }
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let config = Config::load(&cli.config_dir, &cli.environment)
        .map_err(|e| CliError::Usage(format!("configuration: {e}")))?;
    telemetry::init(&config.log);
    serve::install_crypto_provider();
    match cli.command {
        Command::Serve { listen } => run_serve(config, listen).await,
        Command::Migrate {
            dry_run,
            concurrency,
            pause_ms,
        } => {
            let mut options = fleet_options(&config);
            if let Some(concurrency) = concurrency {
                options.concurrency = usize::from(concurrency);
            }
            options.pause = Duration::from_millis(pause_ms);
            run_migrate(&config, options, dry_run).await
        }
        Command::Tenant { command } => run_tenant(&config, command).await,
        Command::Worker => mail::run_worker(config).await,
        Command::Mail {
            command:
                MailCommand::Check {
                    slug,
                    address,
                    language,
                },
        } => mail::run_mail_check(&config, &slug, &address, language).await,
        Command::Mail {
            command: MailCommand::Receive { recipient },
        } => receive::run_mail_receive(&config, recipient.as_deref()).await,
        Command::Jobs {
            command: JobsCommand::Run { at },
        } => mail::run_jobs(&config, at.unwrap_or_else(chrono::Utc::now)).await,
        Command::Dev {
            command: DevCommand::SeedDemo,
        } => demo::seed_demo(config).await,
    }
}

/// Fleet options from configuration.
pub fn fleet_options(config: &Config) -> FleetOptions {
    FleetOptions {
        concurrency: config.migrate.concurrency,
        lock_timeout: Duration::from_millis(config.migrate.lock_timeout_ms),
        max_attempts: config.migrate.max_attempts,
        pause: Duration::ZERO,
    }
}

async fn run_serve(config: Config, listen: Option<SocketAddr>) -> Result<(), CliError> {
    let address = listen.unwrap_or(config.server.listen);
    let tls = match &config.server.tls {
        Some(tls) => Some(
            serve::tls_config(&tls.cert_path, &tls.key_path)
                .map_err(|e| CliError::Usage(format!("{e:#}")))?,
        ),
        None => None,
    };
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let reload_every = Duration::from_secs(config.tenancy.full_reload_secs);
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), reload_every);
    let (stop_mail, mail_stop) = tokio::sync::watch::channel(false);
    let jobs = mail::spawn_jobs_in_serve(&state, mail_stop.clone());
    let mail_worker = mail::spawn_worker_in_serve(&state, mail_stop)?;
    let warm_up_for = Duration::from_secs(state.config.server.warm_up_secs);
    if !warm_up_for.is_zero() {
        let warm = crate::warm::warm_up(&state, warm_up_for).await;
        tracing::info!(
            schools = warm.schools,
            warmed = warm.warmed,
            elapsed_ms = warm.elapsed.as_millis() as u64,
            finished = warm.finished,
            "warmed up"
        );
    }
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %listener.local_addr()?, scheme, schools = state.tenants.len(), "serving");
    serve::serve(
        listener,
        app::app(state),
        tls,
        async move {
            serve::shutdown_signal().await;
            let _ = stop_mail.send(true);
        },
        grace,
    )
    .await?;
    mail::finish_worker_in_serve(mail_worker, grace).await;
    if let Some(jobs) = jobs {
        let _ = tokio::time::timeout(grace, jobs).await;
    }
    Ok(())
}

/// Invites a member of staff from the command line, through the outbox.
async fn send_invitation(
    config: &Config,
    pool: &PgPool,
    school: &TenantEntry,
    email: &EmailAddress,
    role: Role,
    name: Option<&PersonName>,
) -> Result<(), CliError> {
    let outbox = Outbox::new(Arc::new(app::templates().build()?), &config.mail);
    schoolplein_registration::invite(
        pool,
        &outbox,
        config,
        school,
        &Invitee { name, email, role },
        None,
    )
    .await
    .map_err(|e| match e {
        AppError::BadRequest { field, reason } => CliError::Usage(format!("{field}: {reason}")),
        other => CliError::Failed(other.into()),
    })?;
    Ok(())
}

/// A pool sized for the migration's parallelism.
fn migration_pool(config: &Config, concurrency: usize) -> Result<PgPool, CliError> {
    let mut database = config.database.clone();
    database.max_connections = u32::try_from(concurrency + 1).unwrap_or(u32::MAX);
    database.min_connections = 0;
    Ok(db::postgres_pool(&database)?)
}

async fn run_migrate(
    config: &Config,
    options: FleetOptions,
    dry_run: bool,
) -> Result<(), CliError> {
    let pool = migration_pool(config, options.concurrency)?;
    let migrations = TenantMigrations::embedded();
    let mut out = std::io::stdout().lock();
    if dry_run {
        let started = Instant::now();
        let pending = fleet::pending_work(&pool, &migrations).await?;
        let steps: usize = pending.iter().map(|school| school.versions.len()).sum();
        for school in pending.iter().take(50) {
            let versions: Vec<String> = school.versions.iter().map(i64::to_string).collect();
            writeln!(
                out,
                "{} (id {}): {}",
                school.slug,
                school.tenant,
                versions.join(", ")
            )?;
        }
        if pending.len() > 50 {
            writeln!(out, "… and {} more schools", pending.len() - 50)?;
        }
        writeln!(
            out,
            "{} schools pending, {steps} school migrations to apply (read in {} ms)",
            pending.len(),
            started.elapsed().as_millis()
        )?;
        return Ok(());
    }
    fleet::migrate_platform(&pool).await?;
    let report = fleet::migrate_fleet(&pool, &migrations, &options).await?;
    writeln!(
        out,
        "migrated {} schools ({} migrations) in {:.1} s; {} failed",
        report.schools_migrated,
        report.migrations_applied,
        report.elapsed.as_secs_f64(),
        report.failures.len()
    )?;
    if let Some((tenant, error)) = report.failures.first() {
        return Err(CliError::Failed(anyhow::anyhow!(
            "{} schools failed to migrate, the first (school {tenant}) with: {error}",
            report.failures.len()
        )));
    }
    Ok(())
}

async fn run_tenant(config: &Config, command: TenantCommand) -> Result<(), CliError> {
    let pool = migration_pool(config, 1)?;
    let mut out = std::io::stdout().lock();
    match command {
        TenantCommand::Create {
            slug,
            name,
            welcome,
            admin,
        } => {
            let started = Instant::now();
            let school = NewSchool {
                slug,
                name,
                welcome_text: welcome,
            };
            let created = provision::create_school(&pool, &TenantMigrations::embedded(), &school)
                .await
                .map_err(provision_error)?;
            writeln!(
                out,
                "created school {} (id {}) in {} ms",
                created.slug,
                created.id,
                started.elapsed().as_millis()
            )?;
            if let Some(admin) = admin {
                send_invitation(config, &pool, &created, &admin, Role::SchoolAdmin, None).await?;
                writeln!(out, "invited the first admin; a worker sends the mail")?;
            }
        }
        TenantCommand::Invite {
            slug,
            email,
            role,
            name,
        } => {
            let school = provision::find_school(&pool, &slug)
                .await
                .map_err(provision_error)?;
            send_invitation(config, &pool, &school, &email, role, name.as_ref()).await?;
            writeln!(
                out,
                "invited a new {} to {slug}; a worker sends the mail",
                role.as_str()
            )?;
        }
        TenantCommand::List => {
            let schools = provision::list_schools(&pool)
                .await
                .map_err(provision_error)?;
            writeln!(
                out,
                "{:<6} {:<24} {:<10} {:<7} {:<20} NAME",
                "ID", "SLUG", "STATUS", "SCHEMA", "CREATED"
            )?;
            for school in &schools {
                let version = school
                    .schema_version
                    .map_or("-".to_owned(), |v| v.to_string());
                writeln!(
                    out,
                    "{:<6} {:<24} {:<10} {:<7} {:<20} {}{}",
                    school.id,
                    school.slug,
                    school.status,
                    version,
                    school.created_at.format("%Y-%m-%d %H:%M"),
                    school.display_name,
                    if school.domains.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", school.domains.join(", "))
                    }
                )?;
            }
            writeln!(out, "{} schools", schools.len())?;
        }
        TenantCommand::Suspend { slug } => {
            let school = provision::set_status(&pool, &slug, TenantStatus::Suspended)
                .await
                .map_err(provision_error)?;
            writeln!(out, "suspended {}", school.slug)?;
        }
        TenantCommand::Resume { slug } => {
            let school = provision::set_status(&pool, &slug, TenantStatus::Active)
                .await
                .map_err(provision_error)?;
            writeln!(out, "resumed {}", school.slug)?;
        }
        TenantCommand::Domain {
            command: DomainCommand::Add { slug, host },
        } => {
            let bases = config
                .base_domains()
                .map_err(|e| CliError::Usage(e.to_string()))?;
            provision::add_domain(&pool, &bases, &slug, &host)
                .await
                .map_err(provision_error)?;
            writeln!(out, "{host} now serves {slug}")?;
        }
    }
    Ok(())
}
