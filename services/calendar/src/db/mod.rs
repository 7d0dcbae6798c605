//! The SQL of the calendar's pages (the rules' own queries stay beside them, in `rounds`,
//! `booking`, `events` and `feeds`).

pub mod bookings;
pub mod days_off;
pub mod groups;
pub mod rounds;
