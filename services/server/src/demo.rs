//! `schoolplein dev seed-demo`: the demo people of `scripts/dev` — an admin and a teacher in
//! the demo school, and a parent in both demo schools — with one known password. Development
//! only; running it again changes nothing.

use std::io::Write;

use schoolplein_kernel::{Config, Role};
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use tenant_router::TenantSlug;

use crate::app;
use crate::cli::CliError;

/// The password of every demo account (it meets the password rules).
pub const DEMO_PASSWORD: &str = "Demo-Klimop-2026";

/// (school slug, name, address, roles) of every demo membership.
const DEMO_PEOPLE: &[(&str, &str, &str, &[Role])] = &[
    (
        "demo",
        "Anja Bakker (directeur)",
        "admin@demo.example",
        &[Role::SchoolAdmin],
    ),
    (
        "demo",
        "Meester Tim de Vries",
        "leerkracht@demo.example",
        &[Role::Teacher],
    ),
    (
        "demo",
        "Sanne Jansen",
        "ouder@demo.example",
        &[Role::Parent],
    ),
    (
        "tweede",
        "Sanne Jansen",
        "ouder@demo.example",
        &[Role::Parent],
    ),
    (
        "tweede",
        "Joost Smit (directeur)",
        "admin@tweede.example",
        &[Role::SchoolAdmin],
    ),
];

pub async fn seed_demo(config: Config) -> Result<(), CliError> {
    if config.environment != "development" {
        return Err(CliError::Usage(format!(
            "dev seed-demo only runs in the development environment (this is {:?})",
            config.environment
        )));
    }
    let state = app::build_state(config).await?;
    let password = NewPassword::parse(DEMO_PASSWORD)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("demo password refused: {}", e.key())))?;
    let mut out = std::io::stdout().lock();
    for (slug, name, email, roles) in DEMO_PEOPLE {
        let slug = TenantSlug::parse(slug).map_err(|e| CliError::Failed(e.into()))?;
        let school = tenant_router::provision::find_school(&state.db, &slug)
            .await
            .map_err(|e| CliError::Usage(format!("{e} (create the demo schools first)")))?;
        let email = EmailAddress::parse(email)
            .map_err(|e| CliError::Failed(anyhow::anyhow!("demo address: {}", e.key())))?;
        enroll(&state, school.id, name, &email, roles, Some(&password))
            .await
            .map_err(|e| CliError::Failed(anyhow::anyhow!("{e}")))?;
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        writeln!(
            out,
            "  {slug:<8} {:<26} {}",
            email.as_str(),
            roles.join(", ")
        )?;
    }
    writeln!(out, "  password for all: {DEMO_PASSWORD}")?;
    Ok(())
}
