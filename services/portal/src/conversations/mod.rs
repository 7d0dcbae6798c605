//! Conversations (C4, the school's "Postvak"): messages between parents and staff that stay in
//! the portal, readable by their author and recipients only; the office is a shared inbox that
//! every admin reads for.

pub mod address;
pub mod by_mail;
pub mod inbox;
pub mod reach;
pub mod store;
pub mod thread;
