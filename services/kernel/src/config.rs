//! Configuration: `config/base.toml`, then `config/<environment>.toml`, then `SCHOOLPLEIN__…`
//! environment variables — later sources win. Bad configuration fails at start-up, naming the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tenant_router::{BaseDomains, NormalizedHost};
use toml::{Table, Value};

/// Prefix of the environment variables that override configuration keys:
/// `SCHOOLPLEIN__DATABASE__URL` sets `database.url`.
pub const ENV_PREFIX: &str = "SCHOOLPLEIN__";

/// A value that must never reach a log: `Debug` prints `[redacted]`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which `config/<environment>.toml` was read; set by the loader, not by files.
    #[serde(skip)]
    pub environment: String,
    pub server: ServerConfig,
    pub tenancy: TenancyConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub mail: MailConfig,
    pub migrate: MigrateConfig,
    pub accounts: AccountsConfig,
    pub log: LogConfig,
    pub pdf: PdfConfig,
}

/// The fonts PDF letters and lists are set in (TrueType; Debian's `fonts-dejavu-core`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfConfig {
    pub font_regular: PathBuf,
    pub font_bold: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub shutdown_grace_secs: u64,
    /// Take the host from `X-Forwarded-Host`: only behind a proxy that sets it.
    pub trust_forwarded_host: bool,
    /// Send HSTS (only meaningful when the site is reached over HTTPS).
    pub hsts: bool,
    /// Before listening, read each school's visitor page once for at most this long (0: not
    /// at all), so the first visitors meet neither an empty cache nor cold connections.
    pub warm_up_secs: u64,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenancyConfig {
    /// Schools live at `<slug>.<base_domain>`; the bare base domain is the platform's page.
    pub base_domain: String,
    /// More base domains that serve the same schools (e.g. `localhost` in development).
    pub alias_base_domains: Vec<String>,
    /// Full reload of the in-memory school map, the safety net behind change notifications.
    pub full_reload_secs: u64,
    /// How people reach the schools, for links in mails: `https` in production.
    pub public_scheme: PublicScheme,
    /// The port in those links; 0 leaves it out (the scheme's own port).
    pub public_port: u16,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PublicScheme {
    Http,
    Https,
}

impl TenancyConfig {
    /// The address of `path` on a school's own host under the primary base domain, as a link
    /// in a mail must be written: `https://deklimop.schoolplein.nl/invitation/…`.
    pub fn school_url(&self, slug: &str, path: &str) -> String {
        let scheme = match self.public_scheme {
            PublicScheme::Http => "http",
            PublicScheme::Https => "https",
        };
        let port = match self.public_port {
            0 => String::new(),
            port => format!(":{port}"),
        };
        format!("{scheme}://{slug}.{}{port}{path}", self.base_domain)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: Secret,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Connections are recycled after this long, which bounds the catalog cache a backend
    /// builds up while visiting thousands of school schemas.
    pub max_lifetime_secs: u64,
    /// Pools for school transactions (0: one per connection): with more than one, each
    /// school's transactions go to `pools_per_school` of them, so a backend serves about that
    /// share of the schools. They share another `max_connections` between them (the
    /// platform's queries keep their own pool).
    pub school_pools: u32,
    /// How many of the `school_pools` one school uses (its first choices, stable across
    /// processes; at most all of them): more spreads a busy school wider, fewer keeps
    /// backends warmer.
    pub pools_per_school: u32,
    /// How long a school whose pools are all busy waits for its first pool, in milliseconds,
    /// before it takes whichever connection comes free first (one that has not met the
    /// school costs it a few milliseconds of catalog reads).
    pub pool_patience_ms: u64,
    /// What group pages and timelines read, kept in memory, in MiB over all schools (as the
    /// readers estimate it: a group a few KiB, a timeline's first page some tens). 0 keeps
    /// nothing: every page reads.
    pub school_cache_mib: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: Secret,
    /// Put before every key, so deployments (or test databases) can share one Redis.
    pub key_prefix: String,
}

/// Outgoing mail: the outbox worker and how it delivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub from_address: String,
    pub from_name: String,
    pub transport: MailTransport,
    /// Where the `files` transport writes `<id>.eml` (development).
    pub files_dir: PathBuf,
    /// The part after `@` in every Message-ID (`<uuid@domain>`).
    pub message_id_domain: String,
    /// Run the outbox worker inside `serve` too (besides `schoolplein worker`).
    pub worker_in_serve: bool,
    /// Mails claimed at once by one worker.
    pub batch_size: u32,
    /// Mails one worker sends at once (and the size of its SMTP connection pool).
    pub concurrency: u32,
    /// How long a claim lasts; a worker that dies leaves its mails to others after this.
    pub lease_secs: u64,
    /// Polling interval, the safety net behind LISTEN/NOTIFY wake-ups.
    pub poll_interval_ms: u64,
    /// First retry after a failed attempt; doubles per attempt up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// A mail refused for now (4xx) fails for good this long after it was queued (N4).
    pub give_up_after_hours: u64,
    /// The domain whose mail comes back to `schoolplein mail receive` (replies and delivery
    /// reports): each mail's envelope sender and reply addresses are made on it. Empty: none,
    /// answers go to the writer's or the school's own address, reports to `from_address`.
    pub inbound_domain: String,
    /// How long a mail's reply address takes answers.
    pub reply_address_days: u32,
    /// The largest message `mail receive` takes; larger ones are refused.
    pub inbound_max_bytes: usize,
    pub smtp: SmtpConfig,
    pub dkim: DkimConfig,
}

/// DKIM signing by the platform, for a relay that does not sign itself. Off while `domain`
/// is empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// `d=`: the signing domain, normally `from_address`'s (DMARC alignment).
    pub domain: String,
    /// `s=`: the key's name under `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// The RSA private key, PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`). From the
    /// environment: `SCHOOLPLEIN__MAIL__DKIM__PRIVATE_KEY`.
    pub private_key: Secret,
}

impl DkimConfig {
    pub fn enabled(&self) -> bool {
        !self.domain.trim().is_empty()
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Smtp,
    Files,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Empty: no authentication.
    pub username: String,
    pub password: Secret,
    /// Opening a connection (with TLS and sign-in) and sending one mail each get this long;
    /// a claim's lease must comfortably exceed it.
    pub timeout_secs: u64,
    /// PEM file of CA certificates trusted besides the public roots (a relay with a private
    /// CA). Unset: the public roots only.
    #[serde(default)]
    pub ca_cert_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same machine or in tests.
    None,
    Starttls,
    Tls,
}

impl MailConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: format!("mail.{key}"),
                message: message.into(),
            })
        };
        let address = self.from_address.trim();
        if address.len() < 3 || !address.contains('@') || address.contains(char::is_whitespace) {
            return invalid("from_address", "must be an e-mail address");
        }
        if self.from_name.contains(['\r', '\n']) {
            return invalid("from_name", "must be one line");
        }
        let domain = &self.message_id_domain;
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return invalid("message_id_domain", "must be a domain name");
        }
        if self.batch_size == 0 || self.concurrency == 0 {
            return invalid(
                "batch_size",
                "batch_size and concurrency must be at least 1",
            );
        }
        if self.poll_interval_ms == 0 || self.retry_base_ms == 0 {
            return invalid("poll_interval_ms", "intervals must be at least 1 ms");
        }
        if self.give_up_after_hours == 0 {
            return invalid("give_up_after_hours", "must be at least 1");
        }
        if self.retry_max_ms < self.retry_base_ms {
            return invalid("retry_max_ms", "must not be below retry_base_ms");
        }
        if self.smtp.timeout_secs == 0 || self.lease_secs < 2 * self.smtp.timeout_secs {
            return invalid(
                "lease_secs",
                "must be at least twice smtp.timeout_secs (and that at least 1)",
            );
        }
        if self.transport == MailTransport::Smtp && self.smtp.host.trim().is_empty() {
            return invalid("smtp.host", "is required when transport = \"smtp\"");
        }
        let is_domain = |text: &str| {
            text.contains('.')
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        if !self.inbound_domain.is_empty() && !is_domain(&self.inbound_domain) {
            return invalid("inbound_domain", "must be a domain name, or empty");
        }
        if self.reply_address_days == 0 {
            return invalid("reply_address_days", "must be at least 1");
        }
        if self.inbound_max_bytes < 64 * 1024 {
            return invalid("inbound_max_bytes", "must be at least 65536");
        }
        if self.dkim.enabled() {
            if !is_domain(&self.dkim.domain) {
                return invalid("dkim.domain", "must be a domain name, or empty");
            }
            if self.dkim.selector.is_empty()
                || !self
                    .dkim
                    .selector
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                return invalid("dkim.selector", "must be a DNS label");
            }
            if !self.dkim.private_key.expose().contains("PRIVATE KEY-----") {
                return invalid(
                    "dkim.private_key",
                    "must be a PEM private key (set SCHOOLPLEIN__MAIL__DKIM__PRIVATE_KEY)",
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateConfig {
    pub concurrency: usize,
    pub lock_timeout_ms: u64,
    pub max_attempts: u32,
}

/// Sign-in, sessions and their abuse limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    /// A session without "keep me signed in" ends after this long without use.
    pub session_idle_hours: u64,
    /// How long "keep me signed in" lasts (A7).
    pub keep_signed_in_days: u64,
    /// Mark cookies `Secure`: wherever the site is reached over HTTPS.
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account, and per IP address, within the window.
    pub max_failed_sign_ins_per_account: u32,
    pub max_failed_sign_ins_per_ip: u32,
    pub failed_sign_in_window_minutes: u64,
    /// Password-reset requests allowed per address within an hour.
    pub max_password_resets_per_address: u32,
    /// Registration confirmations (each a mail and a password hash) per address per hour.
    pub max_registration_mails_per_address: u32,
    /// Password-reset and registration mails together per IP address per hour.
    pub max_account_mails_per_ip: u32,
    /// How many password hashes may be computed at once (each takes a CPU core for a while);
    /// never more than the cores less one, so that pages keep a core during a sign-in storm.
    /// Hashing threads run at a lower CPU priority than the rest (see `passwords`).
    pub password_hash_concurrency: usize,
    /// argon2id cost: memory in KiB, iterations, lanes (OWASP minimum: 19456, 2, 1).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
    /// Days an invitation link stays valid.
    pub invitation_days: u64,
    /// Hours a link to confirm a new sign-in address stays valid.
    pub email_change_hours: u64,
}

impl AccountsConfig {
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_hours * 3600)
    }

    pub fn keep_signed_in(&self) -> Duration {
        Duration::from_secs(self.keep_signed_in_days * 86_400)
    }

    pub fn failed_sign_in_window(&self) -> Duration {
        Duration::from_secs(self.failed_sign_in_window_minutes * 60)
    }

    pub fn invitation_lifetime(&self) -> Duration {
        Duration::from_secs(self.invitation_days * 86_400)
    }

    pub fn email_change_lifetime(&self) -> Duration {
        Duration::from_secs(self.email_change_hours * 3600)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Why configuration could not be loaded; each names the file, variable or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl Config {
    /// Loads configuration the way every command does: files from `dir`, then the process's
    /// `SCHOOLPLEIN__…` variables.
    pub fn load(dir: &Path, environment: &str) -> Result<Self, ConfigError> {
        Self::load_from(dir, environment, std::env::vars())
    }

    /// Loads configuration with explicit environment variables (used by tests).
    pub fn load_from(
        dir: &Path,
        environment: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        if environment.is_empty()
            || !environment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::Env {
                var: "SCHOOLPLEIN_ENV".into(),
                message: format!("{environment:?} is not an environment name"),
            });
        }
        let mut merged = read_table(&dir.join("base.toml"))?;
        merge(
            &mut merged,
            read_table(&dir.join(format!("{environment}.toml")))?,
        );
        let mut overrides: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        overrides.sort();
        for (var, value) in overrides {
            apply_env_override(&mut merged, &var, &value)?;
        }
        Self::from_table(merged, environment)
    }

    fn from_table(table: Table, environment: &str) -> Result<Self, ConfigError> {
        let deserializer = Value::Table(table);
        let mut config: Config =
            serde_path_to_error::deserialize(deserializer).map_err(|e| ConfigError::Invalid {
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        config.environment = environment.to_owned();
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message: message.into(),
            })
        };
        self.base_domains()?;
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.database.school_pools > self.database.max_connections {
            return invalid(
                "database.school_pools",
                "must be at most database.max_connections (0: one pool per connection)",
            );
        }
        if self.database.pools_per_school == 0 {
            return invalid("database.pools_per_school", "must be at least 1");
        }
        if self.database.min_connections > self.database.max_connections {
            return invalid(
                "database.min_connections",
                "must not exceed database.max_connections",
            );
        }
        self.mail.validate()?;
        if self.migrate.concurrency == 0 {
            return invalid("migrate.concurrency", "must be at least 1");
        }
        if self.migrate.max_attempts == 0 {
            return invalid("migrate.max_attempts", "must be at least 1");
        }
        if self.server.request_timeout_secs == 0 {
            return invalid("server.request_timeout_secs", "must be at least 1");
        }
        // OWASP's minimum for argon2id: 47 MiB × 1, 19 MiB × 2, 12 MiB × 3, 9 MiB × 4 or
        // 7 MiB × 5 (memory × iterations); nothing cheaper may be configured.
        let accounts = &self.accounts;
        if accounts.argon2_memory_kib < 7168
            || u64::from(accounts.argon2_memory_kib) * u64::from(accounts.argon2_iterations)
                < 35_840
            || accounts.argon2_lanes == 0
        {
            return invalid(
                "accounts.argon2_memory_kib",
                "below OWASP's minimum for argon2id (e.g. 19456 KiB with 2 iterations)",
            );
        }
        if self.accounts.invitation_days == 0 || self.accounts.email_change_hours == 0 {
            return invalid(
                "accounts.invitation_days",
                "invitation_days and email_change_hours must be at least 1",
            );
        }
        let prefix = &self.redis.key_prefix;
        if prefix.len() > 64
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
        {
            return invalid("redis.key_prefix", "at most 64 letters, digits and _ : . -");
        }
        if self.tenancy.full_reload_secs == 0 {
            return invalid("tenancy.full_reload_secs", "must be at least 1");
        }
        for (key, url, schemes) in [
            (
                "database.url",
                &self.database.url,
                &["postgres://", "postgresql://"][..],
            ),
            (
                "redis.url",
                &self.redis.url,
                &["redis://", "rediss://", "unix://"][..],
            ),
        ] {
            if !schemes.iter().any(|s| url.expose().starts_with(s)) {
                return invalid(key, &format!("must start with {}", schemes.join(" or ")));
            }
        }
        Ok(())
    }

    /// The base domains, parsed; fails naming the key that holds a bad one.
    pub fn base_domains(&self) -> Result<BaseDomains, ConfigError> {
        let parse = |key: String, raw: &str| {
            NormalizedHost::parse_name(raw).map_err(|e| ConfigError::Invalid {
                key,
                message: format!("{raw:?}: {e}"),
            })
        };
        let primary = parse("tenancy.base_domain".into(), &self.tenancy.base_domain)?;
        let aliases = self
            .tenancy
            .alias_base_domains
            .iter()
            .enumerate()
            .map(|(i, raw)| parse(format!("tenancy.alias_base_domains[{i}]"), raw))
            .collect::<Result<_, _>>()?;
        Ok(BaseDomains::new(primary, aliases))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.server.request_timeout_secs)
    }
}

fn read_table(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Merges `over` into `base`: tables merge key by key, anything else is replaced.
fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(inner)), Value::Table(over_inner)) => merge(inner, over_inner),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Applies `SCHOOLPLEIN__SECTION__KEY=value`. The value takes the type of the setting it
/// replaces (number, boolean, list), so `SCHOOLPLEIN__DATABASE__URL=123` stays text.
fn apply_env_override(table: &mut Table, var: &str, raw: &str) -> Result<(), ConfigError> {
    let env_error = |message: String| ConfigError::Env {
        var: var.to_owned(),
        message,
    };
    let path: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(str::to_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(env_error(
            "names an empty key (check the double underscores)".into(),
        ));
    }
    let Some((leaf, parents)) = path.split_last() else {
        return Err(env_error("names no key".into()));
    };
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        current = match entry {
            Value::Table(inner) => inner,
            _ => return Err(env_error(format!("`{part}` is a setting, not a section"))),
        };
    }
    let value = match current.get(leaf) {
        Some(Value::String(_)) | None => Value::String(raw.to_owned()),
        Some(Value::Table(_)) => {
            return Err(env_error(format!(
                "`{leaf}` is a section; set one of its keys"
            )));
        }
        Some(existing) => {
            let parsed: Table = format!("v = {raw}").parse().map_err(|_| {
                env_error(format!("{raw:?} is not a valid {}", existing.type_str()))
            })?;
            let value = parsed.get("v").cloned().ok_or_else(|| {
                env_error(format!("{raw:?} is not a valid {}", existing.type_str()))
            })?;
            if value.type_str() != existing.type_str() {
                return Err(env_error(format!(
                    "{raw:?} is not a valid {}",
                    existing.type_str()
                )));
            }
            value
        }
    };
    current.insert(leaf.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(
            &config_dir(),
            "development",
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn shipped_files_load_for_every_environment() {
        for env in ["development", "test", "production"] {
            let vars = [(
                "SCHOOLPLEIN__DATABASE__URL".to_string(),
                "postgres://x@h/db".to_string(),
            )];
            Config::load_from(&config_dir(), env, vars).unwrap_or_else(|e| panic!("{env}: {e}"));
        }
    }

    #[test]
    fn environment_variables_win_and_keep_their_type() {
        let config = load(&[
            ("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS", "7"),
            (
                "SCHOOLPLEIN__DATABASE__URL",
                "postgres://u:p@db/schoolplein",
            ),
            ("SCHOOLPLEIN__SERVER__TRUST_FORWARDED_HOST", "true"),
            (
                "SCHOOLPLEIN__TENANCY__ALIAS_BASE_DOMAINS",
                r#"["a.example", "b.example"]"#,
            ),
            ("SCHOOLPLEIN__REDIS__URL", "redis://127.0.0.1:1"),
        ])
        .unwrap();
        assert_eq!(config.database.max_connections, 7);
        assert_eq!(
            config.database.url.expose(),
            "postgres://u:p@db/schoolplein"
        );
        assert!(config.server.trust_forwarded_host);
        assert_eq!(
            config.tenancy.alias_base_domains,
            ["a.example", "b.example"]
        );
    }

    #[test]
    fn bad_values_name_their_key_or_variable() {
        let err = load(&[("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS", "many")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("SCHOOLPLEIN__DATABASE__MAX_CONNECTIONS"),
            "{err}"
        );
        let err = load(&[("SCHOOLPLEIN__SERVER__LISTEN", "not-an-address")]).unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
        let err = load(&[("SCHOOLPLEIN__SERVER__LISTN", "0.0.0.0:1")]).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err = load(&[("SCHOOLPLEIN__TENANCY__BASE_DOMAIN", "bad domain")]).unwrap_err();
        assert!(err.to_string().contains("tenancy.base_domain"), "{err}");
        let err = load(&[("SCHOOLPLEIN__DATABASE__URL", "mysql://x")]).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let err = load(&[("SCHOOLPLEIN__DATABASE", "x")]).unwrap_err();
        assert!(err.to_string().contains("section"), "{err}");
        let err = load(&[("SCHOOLPLEIN__ACCOUNTS__ARGON2_ITERATIONS", "1")]).unwrap_err();
        assert!(err.to_string().contains("argon2"), "{err}");
        load(&[
            ("SCHOOLPLEIN__ACCOUNTS__ARGON2_MEMORY_KIB", "47104"),
            ("SCHOOLPLEIN__ACCOUNTS__ARGON2_ITERATIONS", "1"),
        ])
        .expect("another of OWASP's minimum pairs");
        let err = Config::load_from(&config_dir(), "produciton", []).unwrap_err();
        assert!(err.to_string().contains("produciton.toml"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let config = load(&[("SCHOOLPLEIN__DATABASE__URL", "postgres://u:hunter2@db/x")]).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"));
        assert!(printed.contains("[redacted]"));
    }
}
