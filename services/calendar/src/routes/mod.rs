//! The calendar pages and feeds, and the conference rounds, by who uses them.

pub mod bookings;
pub mod events;
pub mod feeds;
pub mod overview;
pub mod rounds;
