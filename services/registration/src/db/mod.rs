//! SQL for accounts (platform schema) and people (the school's schema).

pub mod accounts;
pub mod people;
