//! The pages and endpoints the server itself owns; services add their own routers.

pub mod health;
pub mod home;
pub mod platform;
