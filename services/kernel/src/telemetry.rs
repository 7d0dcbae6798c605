//! Logging and trace spans: stable dotted fields, no personal data.

use axum::extract::MatchedPath;
use axum::extract::Request;
use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the configured filter.
/// Safe to call more than once (later calls do nothing), which tests rely on.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .compact(),
            )
            .try_init(),
    };
}

/// The span of one request. The path is left out on purpose: paths may carry tokens; the
/// matched route (`http.route`) and school (`tenant.id`) are recorded once known.
pub fn request_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        http.method = %request.method(),
        http.route = tracing::field::Empty,
        http.status = tracing::field::Empty,
        tenant.id = tracing::field::Empty,
        account.id = tracing::field::Empty,
        request.id = %request_id,
    )
}

/// Route layer: records the matched route template on the request's span. A plain map of
/// the request (`route_layer(MapRequestLayer::new(record_route))`): no future of its own.
pub fn record_route(request: Request) -> Request {
    if let Some(path) = request.extensions().get::<MatchedPath>() {
        Span::current().record("http.route", path.as_str());
    }
    request
}
