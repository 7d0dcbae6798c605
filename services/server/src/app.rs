//! Wiring: the shared state, every service's routes, and the layers each request passes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use http::header::{self, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use schoolplein_kernel::state::AppParts;
use schoolplein_kernel::templates::TemplatesBuilder;
use schoolplein_kernel::{AppState, Config, Language, Templates, db, telemetry};
use tenant_router::{Breaker, HostSource, PlatformPool, TenantDirectory};
use tower::ServiceBuilder;
use tower::util::{MapRequestLayer, MapResponseLayer};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::dispatch::{HostDispatchLayer, HostDispatcher};
use crate::request_ids::MakeRequestIds;
use crate::routes::{health, home, platform};

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
const SERVER_TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

const SERVER_MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "server/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "server/en.toml",
        include_str!("../locales/en.toml"),
    ),
];

/// Every template and text of every service, checked at start-up.
pub fn templates() -> TemplatesBuilder {
    Templates::builder()
        .templates(SERVER_TEMPLATES)
        .messages(SERVER_MESSAGES)
        .templates(schoolplein_registration::TEMPLATES)
        .messages(schoolplein_registration::MESSAGES)
        .templates(schoolplein_mailing::TEMPLATES)
        .messages(schoolplein_mailing::MESSAGES)
        .templates(schoolplein_portal::TEMPLATES)
        .messages(schoolplein_portal::MESSAGES)
        .templates(schoolplein_calendar::TEMPLATES)
        .messages(schoolplein_calendar::MESSAGES)
        .templates(schoolplein_schoolday::TEMPLATES)
        .messages(schoolplein_schoolday::MESSAGES)
}

/// Builds the shared state: pools, the school map (loaded now), templates.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let pool = db::postgres_pool(&config.database)?;
    let bases = config.base_domains()?;
    let tenants = TenantDirectory::load(&pool, bases)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the schools from PostgreSQL: {e}"))?;
    let redis = db::redis_connection(&config.redis)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach Redis: {e}"))?;
    // While either server is unreachable, requests that need it fail at once (a 503 page)
    // instead of each waiting out its own timeout; see `tenant_router::breaker`.
    let postgres = Breaker::new("postgres");
    let db = PlatformPool::new(pool.clone(), postgres.clone());
    let redis = schoolplein_kernel::kv::Redis::new(redis, Breaker::new("redis"));
    db::watch_servers(&config.database, &db, &redis)?;
    let templates = Arc::new(templates().build()?);
    let passwords = schoolplein_kernel::passwords::PasswordHashing::new(&config.accounts)
        .map_err(|e| anyhow::anyhow!("accounts: {e}"))?;
    let schools = db::school_pools(&config.database, &pool)?.guarded_by(postgres);
    let settings = schoolplein_kernel::settings::SettingsCache::default();
    // Every process hears when a school changes its settings, so no page shows old ones.
    settings.spawn_listener(&config.database)?;
    let school_data = schoolplein_kernel::school_cache::SchoolCache::new(
        config.database.school_cache_mib << 20,
        schoolplein_kernel::school_cache::MAX_AGE,
    );
    // Likewise when a school's roster or posts change (announced by its tables' triggers).
    school_data.spawn_listener(&config.database)?;
    let accounts = schoolplein_kernel::account_cache::AccountCache::default();
    // And when an account, its memberships or its address's deliverability change.
    accounts.spawn_listener(&config.database)?;
    let fonts =
        schoolplein_kernel::state::PdfFonts::load(&config.pdf).map_err(|e| anyhow::anyhow!(e))?;
    let state = AppState::new(AppParts {
        config: Arc::new(config),
        db,
        schools,
        redis,
        tenants,
        templates,
        passwords,
        fonts,
        settings,
        school_data,
        accounts,
        clock: schoolplein_kernel::clock::Clock::system(),
    });
    // Password-reset requests are answered off the request's path (see `account_mail`).
    schoolplein_registration::account_mail::spawn(&state)?;
    Ok(state)
}

/// The school's own pages (every route here sees a `CurrentTenant`).
pub fn school_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show_home))
        .merge(schoolplein_registration::router())
        .merge(schoolplein_portal::router())
        .merge(schoolplein_calendar::router())
        .merge(schoolplein_schoolday::router())
}

/// The platform's pages on the bare base domain.
pub fn platform_routes() -> Router<AppState> {
    Router::new().route("/", get(platform::show_platform))
}

/// The whole application with the real routes.
pub fn app(state: AppState) -> Router {
    let mut platform = platform_routes();
    if state.config.environment == "development" {
        // The mails the `files` transport wrote, at /dev/mail: never mounted elsewhere.
        platform = platform.merge(schoolplein_mailing::dev::routes());
    }
    app_with(state, school_routes(), platform, Vec::new())
}

/// The whole application around the given routes: on school hosts, on the platform's host,
/// and on any host (tests and benchmarks add their own).
pub fn app_with(
    state: AppState,
    school: Router<AppState>,
    platform: Router<AppState>,
    any_host: Vec<(&'static str, MethodRouter<AppState>)>,
) -> Router {
    let source = if state.config.server.trust_forwarded_host {
        HostSource::TrustedProxy
    } else {
        HostSource::Direct
    };
    let mut any_host_routes: Vec<(&'static str, MethodRouter<AppState>)> = vec![
        ("/healthz", get(health::healthz)),
        ("/readyz", get(health::readyz)),
        ("/static/site.css", get(site_css)),
        ("/static/favicon.svg", get(favicon)),
        ("/static/editor.js", get(editor_js)),
        ("/static/messages.js", get(messages_js)),
    ];
    any_host_routes.extend(any_host);
    let dispatcher = HostDispatchLayer::new(HostDispatcher {
        tenants: state.tenants.clone(),
        source,
        platform: platform
            .route_layer(MapRequestLayer::new(telemetry::record_route))
            .with_state(state.clone()),
        any_host_paths: any_host_routes.iter().map(|(path, _)| *path).collect(),
    });
    // One router holds the school routes and the any-host routes, so a school's request is
    // routed once; the dispatcher wraps every route and the fallback.
    // Every school page shows the frame (navigation, the person's menu); the any-host routes
    // added below do not pass this layer.
    let school = school.route_layer(from_fn_with_state(state.clone(), school_request));
    let routes = any_host_routes
        .into_iter()
        .fold(school, |router, (path, method_router)| {
            router.route(path, method_router)
        })
        .route_layer(MapRequestLayer::new(telemetry::record_route))
        .layer(dispatcher)
        .with_state(state.clone());
    let server = &state.config.server;
    let hsts = server
        .hsts
        .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    // Every request passes these, outermost first.
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestIds::new()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(
                    |response: &Response<_>, latency: Duration, span: &tracing::Span| {
                        span.record("http.status", response.status().as_u16());
                        tracing::debug!(latency_ms = latency.as_millis() as u64, "response");
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(MapResponseLayer::new(move |response| {
            with_security_headers(response, hsts.as_ref())
        }))
        .layer(CompressionLayer::new().compress_when(worth_compressing()))
        .layer(from_fn_with_state(
            state.clone(),
            schoolplein_kernel::error::render_error_pages,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout(),
        ))
        .layer(RequestBodyLimitLayer::new(server.body_limit_bytes));
    routes.layer(layers)
}

/// A school page's request: served inside its frame (see
/// [`frame_layer`](schoolplein_kernel::frame::frame_layer)), and after one that may have
/// written (any method but GET and HEAD), answered once this process has heard the changes
/// committed before its answer, so the page it leads to — or anyone's next page here, such as
/// a parent's after a teacher's change — shows them; the writers need not drop what they
/// change from memory by hand. A round trip to PostgreSQL per write, a second at most. One
/// middleware for both: each is a boxed future and a clone of the routes per request.
async fn school_request(
    state: axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let may_write = !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    let heard = may_write.then(|| state.0.clone());
    let response = schoolplein_kernel::frame::frame_layer(state, request, next).await;
    if let Some(state) = heard {
        // Boxed: only writes wait here, and a page read need not carry this future's size.
        Box::pin(async {
            tokio::join!(
                state.school_data.heard_up_to_now(&state.db),
                state.accounts.heard_up_to_now(&state.db),
            )
        })
        .await;
    }
    response
}

/// Text is compressed; what is compressed already is not: zips of photos, PDFs (their
/// content is deflated), images. Compressing those again costs a core for nothing.
fn worth_compressing() -> impl Predicate {
    DefaultPredicate::new()
        .and(NotForContentType::const_new("application/zip"))
        .and(NotForContentType::const_new("application/pdf"))
        .and(NotForContentType::const_new("font/"))
}

/// The headers every response carries, unless the handler set its own: what the browser may
/// load and run (CSP), no sniffing, no framing, no referrer to other sites, no camera and
/// alike, its own browsing context, and HSTS where configured. One layer sets them all (one
/// pass over the response instead of one layer and future per header).
fn with_security_headers<B>(mut response: Response<B>, hsts: Option<&HeaderValue>) -> Response<B> {
    const FIXED: [(HeaderName, &str); 6] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        if let http::header::Entry::Vacant(entry) = headers.entry(name) {
            entry.insert(HeaderValue::from_static(value));
        }
    }
    if let Some(hsts) = hsts
        && let http::header::Entry::Vacant(entry) = headers.entry(header::STRICT_TRANSPORT_SECURITY)
    {
        entry.insert(hsts.clone());
    }
    response
}

async fn site_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        schoolplein_kernel::SITE_CSS,
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        schoolplein_kernel::FAVICON_SVG,
    )
}

async fn messages_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        schoolplein_kernel::MESSAGES_JS,
    )
}

async fn editor_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        schoolplein_kernel::EDITOR_JS,
    )
}
