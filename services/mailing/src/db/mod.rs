//! The mailing service's SQL.

pub mod letterhead;
pub mod outbox;
pub mod post_files;
pub mod refused;
pub mod signups;
