//! The school's calendar, its iCalendar feeds and the parent–teacher conference rounds.

pub mod ical;
pub mod routes;
pub mod zone;

use axum::Router;
use schoolplein_kernel::{AppState, Language};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
}

pub const TEMPLATES: &[(&str, &str)] = &[];

pub const MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "calendar/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "calendar/en.toml",
        include_str!("../locales/en.toml"),
    ),
];
