//! The school's calendar, its iCalendar feeds and the parent–teacher conference rounds.

pub mod booking;
pub mod closing;
pub mod db;
pub mod display;
pub mod events;
pub mod feeds;
pub mod home;
pub mod ical;
pub mod month;
pub mod pages;
pub mod rounds;
pub mod routes;
pub mod slots;
pub mod times;
pub mod zone;

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use schoolplein_kernel::frame::module_gate;
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppState, Language};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(calendar_routes())
        .merge(conference_routes())
}

/// The calendar: its month and list views, events, and the iCalendar feeds.
fn calendar_routes() -> Router<AppState> {
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
            get(routes::events::confirm_delete_event).post(routes::events::delete_event),
        )
        .route("/calendar/feeds", get(routes::feeds::show_feeds))
        .route("/calendar/feeds/renew", post(routes::feeds::renew_feed))
        .route("/calendar/feeds/revoke", post(routes::feeds::revoke_feed))
        .route_layer(from_fn(|r, n| module_gate(Module::Calendar, r, n)))
        // A feed answers by itself: it keeps working, empty, while the calendar is off.
        .route("/feeds/{file}", get(routes::feeds::serve_feed))
}

/// The conference rounds: the teacher's planning pages and the parents' booking page.
fn conference_routes() -> Router<AppState> {
    use routes::{bookings, rounds};
    Router::new()
        .route(
            "/conference-rounds",
            get(rounds::list_rounds).post(rounds::create_round),
        )
        .route(
            "/conference-rounds/invitation",
            post(rounds::save_invitation_text),
        )
        .route("/conference-rounds/{round_id}", get(rounds::show_round))
        .route(
            "/conference-rounds/{round_id}/settings",
            post(rounds::save_round_settings),
        )
        .route(
            "/conference-rounds/{round_id}/slots",
            post(rounds::add_slot),
        )
        .route(
            "/conference-rounds/{round_id}/slots/{slot_id}/delete",
            post(rounds::delete_slot),
        )
        .route(
            "/conference-rounds/{round_id}/slots/{slot_id}/double",
            post(rounds::double_slot),
        )
        .route(
            "/conference-rounds/{round_id}/slots/{slot_id}/single",
            post(rounds::single_slot),
        )
        .route(
            "/conference-rounds/{round_id}/slots/{slot_id}/assign",
            post(rounds::assign_slot),
        )
        .route(
            "/conference-rounds/{round_id}/bookings/{booking_id}/remove",
            post(rounds::remove_booking),
        )
        .route(
            "/conference-rounds/{round_id}/publish",
            post(rounds::publish_round),
        )
        .route(
            "/conference-rounds/{round_id}/close",
            post(rounds::close_round),
        )
        .route(
            "/conference-rounds/{round_id}/overview.pdf",
            get(routes::overview::round_overview),
        )
        .route(
            "/conference-rounds/{round_id}/delete",
            get(rounds::confirm_delete_round).post(rounds::delete_round),
        )
        .route("/conferences", get(bookings::show_conferences))
        .route("/conferences/book", post(bookings::book_slot))
        .route("/conferences/cancel", post(bookings::cancel_booking))
        .route_layer(from_fn(|r, n| module_gate(Module::Conferences, r, n)))
}

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

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
