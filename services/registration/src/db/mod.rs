//! SQL for accounts and their links (platform schema), and for the school's people,
//! invitations and notices (the school's schema).

pub mod account_links;
pub mod accounts;
pub mod codes;
pub mod guardians;
pub mod invitations;
pub mod notices;
pub mod parent_invitations;
pub mod pending_registrations;
pub mod people;
