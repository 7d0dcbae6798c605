//! SQL for the roster and the people of the school's schema.

pub mod people;
pub mod roster;
