//! The `schoolplein` binary's library: CLI commands, serving, and the wiring of every service.

pub mod app;
pub mod cli;
pub mod db;
pub mod demo;
pub mod dispatch;
pub mod home;
pub mod mail;
pub mod receive;
pub mod request_ids;
pub mod routes;
pub mod serve;
pub mod warm;
