//! SQL for the roster and the people of the school's schema.

pub mod groups;
pub mod imports;
pub mod invitations;
pub mod people;
pub mod posts;
pub mod roster;
pub mod school_profile;
