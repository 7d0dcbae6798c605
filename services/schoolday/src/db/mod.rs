//! The school day's SQL, one module per part.

pub mod absences;
