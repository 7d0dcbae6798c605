//! Pages more than one route shows: the account page and the page for a mailed link that no
//! longer works.

pub mod account;
pub mod ended_link;
