//! SQL for the roster and the people of the school's schema.

pub mod groups;
pub mod people;
pub mod roster;
