//! Accounts, sign-in, sessions, invitations and passwords.

pub mod account_mail;
pub mod db;
pub mod domain;
pub mod invitations;
pub mod pages;
pub mod parents;
pub mod routes;
pub mod sessions;

use axum::Router;
use axum::routing::{get, post};
use schoolplein_kernel::{AppState, Language, Role};
use tenant_router::TenantTx;

pub use domain::{ActivationCode, EmailAddress, NewPassword, PersonName};
pub use invitations::{Invitee, invite};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(
            Router::new()
                .route("/notices", get(routes::schools::show_notices))
                .route_layer(axum::middleware::from_fn(|r, n| {
                    schoolplein_kernel::frame::module_gate(
                        schoolplein_kernel::settings::Module::Notices,
                        r,
                        n,
                    )
                })),
        )
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
        .route("/account/mail-works", post(routes::account::mail_works))
        .route("/account/password", post(routes::account::change_password))
        .route("/account/email", post(routes::email::request_email_change))
        .route(
            "/account/email/{token}",
            get(routes::email::show_email_change).post(routes::email::confirm_email_change),
        )
        .route(
            "/password/forgot",
            get(routes::password::show_forgot_password)
                .post(routes::password::request_password_reset),
        )
        .route(
            "/password/reset/{token}",
            get(routes::password::show_reset_password).post(routes::password::reset_password),
        )
        .route(
            "/invitation/{token}",
            get(routes::invitations::show_invitation).post(routes::invitations::accept_invitation),
        )
        .route(
            "/invited/{token}",
            get(routes::parent_invitations::show_parent_invitation)
                .post(routes::parent_invitations::accept_signed_in),
        )
        .route(
            "/invited/{token}/account",
            post(routes::parent_invitations::accept_with_new_account),
        )
        .route("/schools", get(routes::schools::show_schools))
        .route(
            "/schools/{tenant_id}/open",
            get(routes::schools::open_school),
        )
        .route(
            "/schools/{tenant_id}/handoff",
            get(routes::schools::grant_handoff),
        )
        .route(
            "/session/handoff/begin",
            get(routes::schools::begin_handoff),
        )
        .route(
            "/session/handoff/{token}",
            get(routes::schools::take_handoff).post(routes::schools::confirm_handoff),
        )
        .route(
            "/register",
            get(routes::register::show_register).post(routes::register::enter_code),
        )
        .route(
            "/register/account",
            get(routes::register::show_register_account).post(routes::register::create_account),
        )
        .route(
            "/register/link",
            get(routes::register::show_link_carried).post(routes::register::link_carried),
        )
        .route(
            "/register/confirm/{token}",
            get(routes::register::show_confirm_registration)
                .post(routes::register::confirm_registration),
        )
        .route("/register/done", get(routes::register::show_done))
        .route("/admin/parents", get(routes::parents_admin::show_parents))
        .route(
            "/admin/parents/settings",
            post(routes::parents_admin::save_settings),
        )
        .route(
            "/admin/parents/school-code/{action}",
            get(routes::parents_admin::confirm_school_code)
                .post(routes::parents_admin::change_school_code),
        )
        .route(
            "/admin/parents/pending/{pupil_id}/{person_id}/{decision}",
            post(routes::parents_admin::decide_link),
        )
        .route(
            "/admin/pupils/{pupil_id}/code",
            get(routes::parents_admin::confirm_regenerate_code)
                .post(routes::parents_admin::regenerate_code),
        )
        .route("/admin/people", get(routes::people::list_people))
        .route(
            "/admin/people/invite",
            post(routes::invitations::invite_person),
        )
        .route(
            "/admin/people/{person_id}/{change}",
            post(routes::people::change_access),
        )
}

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

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
    let mut tx = TenantTx::begin(&state.schools, tenant).await?;
    let account_id = db::accounts::find_or_create(&mut tx, email, name, "nl").await?;
    let person_id =
        db::people::find_or_add(&mut tx, &db::people::NewPerson { name, email, roles }).await?;
    let already_linked = db::people::account_of(&mut tx, person_id).await? == Some(account_id);
    db::people::link_account(&mut tx, person_id, account_id).await?;
    if !already_linked {
        db::notices::add(&mut tx, person_id, db::notices::NoticeKind::Welcome, None).await?;
    }
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
