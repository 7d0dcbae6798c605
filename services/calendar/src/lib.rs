//! The school's calendar, its iCalendar feeds and the parent–teacher conference rounds.

pub mod display;
pub mod events;
pub mod feeds;
pub mod home;
pub mod ical;
pub mod routes;
pub mod zone;

use axum::Router;
use axum::routing::{get, post};
use schoolplein_kernel::{AppState, Language};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(routes::events::show_month))
        .route("/calendar/upcoming", get(routes::events::list_upcoming))
        .route("/calendar/events", post(routes::events::create_event))
        .route("/calendar/events/new", get(routes::events::new_event))
        .route(
            "/calendar/events/{event_id}",
            get(routes::events::show_event),
        )
        .route(
            "/calendar/events/{event_id}/edit",
            get(routes::events::edit_event_form).post(routes::events::edit_event),
        )
        .route(
            "/calendar/events/{event_id}/delete",
            post(routes::events::delete_event),
        )
        .route("/calendar/feeds", get(routes::feeds::show_feeds))
        .route("/calendar/feeds/renew", post(routes::feeds::renew_feed))
        .route("/calendar/feeds/revoke", post(routes::feeds::revoke_feed))
        .route("/feeds/{file}", get(routes::feeds::serve_feed))
}

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "calendar/month.html",
        include_str!("../templates/month.html"),
    ),
    (
        "calendar/upcoming.html",
        include_str!("../templates/upcoming.html"),
    ),
    (
        "calendar/event.html",
        include_str!("../templates/event.html"),
    ),
    (
        "calendar/event_form.html",
        include_str!("../templates/event_form.html"),
    ),
    (
        "calendar/feeds.html",
        include_str!("../templates/feeds.html"),
    ),
];

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
