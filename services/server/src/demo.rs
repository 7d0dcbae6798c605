//! `schoolplein dev seed-demo`: the demo people of `scripts/dev` — an admin and a teacher in
//! the demo school, and a parent in both demo schools — with one known password, and a first
//! news post in each school. Development only; running it again changes nothing.

use std::io::Write;

use schoolplein_kernel::{Config, Role};
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use tenant_router::{TenantSlug, TenantTx};

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
        let school = tenant_router::provision::find_school(state.db.pool(), &slug)
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
    for (slug, title, body) in DEMO_POSTS {
        let slug = TenantSlug::parse(slug).map_err(|e| CliError::Failed(e.into()))?;
        let school = tenant_router::provision::find_school(state.db.pool(), &slug)
            .await
            .map_err(|e| CliError::Usage(format!("{e} (create the demo schools first)")))?;
        let mut tx = TenantTx::begin(&state.schools, school.id)
            .await
            .map_err(|e| CliError::Failed(e.into()))?;
        // The first post of a school with none, by its admin, for the whole school.
        sqlx::query(
            "INSERT INTO posts (kind, title, body, author_id, whole_school)
             SELECT 'news', $1, $2,
                    (SELECT id FROM people WHERE 'school_admin' = ANY(roles) ORDER BY id LIMIT 1),
                    true
              WHERE NOT EXISTS (SELECT 1 FROM posts)",
        )
        .bind(title)
        .bind(body)
        .execute(&mut *tx)
        .await
        .map_err(|e| CliError::Failed(e.into()))?;
        tx.commit().await.map_err(|e| CliError::Failed(e.into()))?;
    }
    Ok(())
}

/// (school slug, title, text) of the first news post in each demo school.
const DEMO_POSTS: &[(&str, &str, &str)] = &[
    (
        "demo",
        "Welkom op het nieuwe ouderportaal",
        "Vanaf vandaag leest u hier het nieuws van De Klimop en van de groep van uw kind.\n\nVragen? Loop gerust even binnen bij de administratie.",
    ),
    (
        "tweede",
        "Eerste schooldag",
        "Maandag begint het nieuwe schooljaar. De deuren gaan om 8.20 uur open.",
    ),
];
