//! What every Schoolplein service shares: config, errors → responses, telemetry, pools,
//! sessions and the viewer, form protection, abuse limits, i18n and template rendering.

pub mod account_cache;
pub mod audience;
pub mod body;
pub mod clock;
pub mod config;
pub mod confirm;
pub mod cookies;
pub mod csrf;
pub mod db;
pub mod dutch_time;
pub mod error;
pub mod forms;
pub mod frame;
pub mod i18n;
pub mod kv;
pub mod limits;
pub mod member;
pub mod nav_counts;
pub mod page;
pub mod passwords;
pub mod pdf;
pub mod rendered;
pub mod school_cache;
pub mod session;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod templates;
pub mod tokens;
pub mod viewer;

pub use config::Config;
pub use error::AppError;
pub use i18n::{Lang, Language};
pub use member::{Admin, Member, Staff, Writable};
pub use page::Pages;
pub use state::AppState;
pub use templates::Templates;
pub use viewer::{MaybeViewer, Role, SignedIn, Viewer};

/// The stylesheet every page links to as `/static/site.css`.
pub const SITE_CSS: &str = include_str!("../static/site.css");

/// The icon browsers show in the tab and on a phone's home screen, as `/static/favicon.svg`.
pub const FAVICON_SVG: &str = include_str!("../static/favicon.svg");

/// The formatting toolbar of rich-text fields, `/static/editor.js`: pages with such a field
/// load it through the `editor.html` template.
pub const EDITOR_JS: &str = include_str!("../static/editor.js");

/// Suggestions while typing a recipient on the message form, `/static/messages.js`.
pub const MESSAGES_JS: &str = include_str!("../static/messages.js");
