//! What every Schoolplein service shares: config, errors → responses, telemetry, pools, i18n
//! and template rendering.

pub mod config;
pub mod db;
pub mod error;
pub mod i18n;
pub mod state;
pub mod telemetry;
pub mod templates;

pub use config::Config;
pub use error::AppError;
pub use i18n::{Lang, Language};
pub use state::AppState;
pub use templates::Templates;

/// The stylesheet every page links to as `/static/site.css`.
pub const SITE_CSS: &str = include_str!("../static/site.css");
