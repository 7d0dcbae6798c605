//! The school's pages for parents, teachers and admins: the roster and its import.

pub mod db;
pub mod roster;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use schoolplein_kernel::{AppState, Language};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/import",
        get(routes::import::show_import)
            .post(routes::import::import_roster)
            // The file itself may be this large, plus the form around it.
            .layer(DefaultBodyLimit::max(roster::MAX_FILE_BYTES + 64 * 1024)),
    )
}

pub const TEMPLATES: &[(&str, &str)] = &[(
    "portal/import.html",
    include_str!("../templates/import.html"),
)];

pub const MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "portal/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "portal/en.toml",
        include_str!("../locales/en.toml"),
    ),
];
