//! The school day's pages.

pub mod report;
pub mod settings;
pub mod today;
