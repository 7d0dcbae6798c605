//! Host dispatch: every request goes to the platform's pages, one school's pages, or an
//! error page, decided from memory by the tenant map.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::future::{BoxFuture, Either};
use schoolplein_kernel::AppError;
use tenant_router::host::request_host;
use tenant_router::{CurrentTenant, HostSource, HostTarget, TenantDirectory};
use tower::{Layer, Service, ServiceExt};

/// What the host dispatcher needs: the school map, where the host comes from, the platform's
/// own pages, and the paths that answer on every host.
#[derive(Debug, Clone)]
pub struct HostDispatcher {
    pub tenants: TenantDirectory,
    pub source: HostSource,
    pub platform: Router,
    pub any_host_paths: Vec<&'static str>,
}

/// The layer that puts [`HostDispatch`] around every route of the school router.
#[derive(Debug, Clone)]
pub struct HostDispatchLayer {
    dispatcher: Arc<HostDispatcher>,
}

impl HostDispatchLayer {
    pub fn new(dispatcher: HostDispatcher) -> Self {
        Self {
            dispatcher: Arc::new(dispatcher),
        }
    }
}

impl<S> Layer<S> for HostDispatchLayer {
    type Service = HostDispatch<S>;
    fn layer(&self, inner: S) -> HostDispatch<S> {
        HostDispatch {
            inner,
            dispatcher: Arc::clone(&self.dispatcher),
        }
    }
}

/// Around the school routes: resolves the host, then lets a school's request go on to its
/// route, or answers for the platform, a suspended school, or no school at all. Written as a
/// service rather than a `from_fn` middleware so that a school's request — the hot path —
/// goes straight to its route, with no boxed future and no clone of the routes.
#[derive(Debug, Clone)]
pub struct HostDispatch<S> {
    inner: S,
    dispatcher: Arc<HostDispatcher>,
}

type Answer = BoxFuture<'static, Result<Response, Infallible>>;

impl<S> Service<Request> for HostDispatch<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Answer>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match self.dispatcher.target(&mut request) {
            Target::Routes => Either::Left(self.inner.call(request)),
            Target::Platform => {
                let platform = self.dispatcher.platform.clone();
                Either::Right(Box::pin(async move {
                    Ok(platform
                        .oneshot(request)
                        .await
                        .unwrap_or_else(|never| match never {}))
                }))
            }
            Target::Answer(response) => Either::Right(Box::pin(std::future::ready(Ok(*response)))),
        }
    }
}

/// Where a request goes.
enum Target {
    /// On to the routes (a school's request, with its `CurrentTenant`, or an any-host path).
    Routes,
    /// The platform's own pages.
    Platform,
    /// Answered here: a redirect or an error page.
    Answer(Box<Response>),
}

impl HostDispatcher {
    fn target(&self, request: &mut Request) -> Target {
        if self.any_host_paths.contains(&request.uri().path()) {
            return Target::Routes;
        }
        let authority = request.uri().authority().map(|a| a.as_str().to_owned());
        let host = match request_host(request.headers(), authority.as_deref(), self.source) {
            Ok(host) => host,
            Err(error) => return answer(AppError::BadHost(error)),
        };
        match self.tenants.resolve(&host) {
            HostTarget::School(entry) => {
                tracing::Span::current().record("tenant.id", entry.id.get());
                request.extensions_mut().insert(CurrentTenant(entry));
                Target::Routes
            }
            HostTarget::Platform => Target::Platform,
            HostTarget::RedirectToPlatform => {
                let base = self.tenants.bases().primary();
                let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                let port = port_of(request.headers());
                answer(Redirect::permanent(&format!("//{base}{port}{path}")))
            }
            HostTarget::Suspended(entry) => {
                tracing::Span::current().record("tenant.id", entry.id.get());
                answer(AppError::SchoolSuspended {
                    name: entry.display_name.clone(),
                })
            }
            HostTarget::NotFound => answer(AppError::SchoolNotFound),
        }
    }
}

fn answer(response: impl IntoResponse) -> Target {
    Target::Answer(Box::new(response.into_response()))
}

/// `:8080` when the request came in on an explicit port, so links stay on the same server.
pub fn port_of(headers: &http::HeaderMap) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, port)| port)
        .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .map(|port| format!(":{port}"))
        .unwrap_or_default()
}
