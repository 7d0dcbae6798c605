//! The portal's pages.

pub mod children;
pub mod groups;
pub mod import;
pub mod letters;
pub mod settings;
