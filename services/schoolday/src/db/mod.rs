//! The school day's SQL, one module per part.

pub mod absences;
pub mod care;
pub mod leave;
pub mod tasks;
