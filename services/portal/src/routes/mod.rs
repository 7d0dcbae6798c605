//! The portal's pages.

pub mod import;
