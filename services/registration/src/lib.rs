//! Accounts, sign-in, sessions, invitations and passwords.

pub mod db;
pub mod domain;
pub mod routes;

use axum::Router;
use axum::routing::{get, post};
use schoolplein_kernel::{AppState, Language, Role};
use tenant_router::TenantTx;

pub use domain::{EmailAddress, NewPassword};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sign-in",
            get(routes::sign_in::show_sign_in).post(routes::sign_in::sign_in),
        )
        .route("/sign-out", post(routes::sign_in::sign_out))
        .route(
            "/sign-out-everywhere",
            post(routes::sign_in::sign_out_everywhere),
        )
        .route("/account", get(routes::account::show_account))
        .route("/account/profile", post(routes::account::update_profile))
        .route("/account/password", post(routes::account::change_password))
        .route("/admin/people", get(routes::people::list_people))
        .route(
            "/admin/people/{person_id}/{change}",
            post(routes::people::change_access),
        )
}

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "registration/sign_in.html",
        include_str!("../templates/sign_in.html"),
    ),
    (
        "registration/account.html",
        include_str!("../templates/account.html"),
    ),
    (
        "registration/people.html",
        include_str!("../templates/people.html"),
    ),
];

pub const MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "registration/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "registration/en.toml",
        include_str!("../locales/en.toml"),
    ),
];

/// Makes `email` a member of the school with `roles`: finds or creates the account and the
/// school's person, links them, and sets the password when one is given — one transaction.
/// Used where an invitation is accepted and where demo and test people are seeded.
pub async fn enroll(
    state: &AppState,
    tenant: tenant_router::TenantId,
    name: &str,
    email: &EmailAddress,
    roles: &[Role],
    password: Option<&NewPassword>,
) -> Result<Enrolled, schoolplein_kernel::AppError> {
    let hash = match password {
        Some(password) => Some(
            state
                .passwords
                .hash(password.expose())
                .await
                .map_err(|e| schoolplein_kernel::AppError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    let account_id = db::accounts::find_or_create(&mut tx, email, name, "nl").await?;
    let person_id =
        db::people::find_or_add(&mut tx, &db::people::NewPerson { name, email, roles }).await?;
    db::people::link_account(&mut tx, person_id, account_id).await?;
    if let Some(hash) = hash {
        db::accounts::set_password(&mut tx, account_id, &hash).await?;
    }
    tx.commit().await?;
    Ok(Enrolled {
        account_id,
        person_id,
    })
}

/// The ids `enroll` made or found.
#[derive(Debug, Clone, Copy)]
pub struct Enrolled {
    pub account_id: i64,
    pub person_id: i64,
}
