//! SQL for the roster in the school's schema.

pub mod roster;
