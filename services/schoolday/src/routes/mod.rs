//! The school day's pages.

pub mod care;
pub mod care_admin;
pub mod holidays;
pub mod leave;
pub mod leave_admin;
pub mod report;
pub mod settings;
pub mod tasks;
pub mod today;
