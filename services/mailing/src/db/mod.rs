//! The mailing service's SQL.

pub mod letterhead;
pub mod outbox;
pub mod signups;
