//! Pages more than one route shows: the account page, the page for a mailed link that no
//! longer works, and the pieces of a form sent back with a mistake.

pub mod account;
pub mod ended_link;
pub mod mistakes;
pub mod people;
