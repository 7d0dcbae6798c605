//! Host dispatch: every request goes to the platform's pages, one school's pages, or an
//! error page, decided from memory by the tenant map.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::AppError;
use tenant_router::host::request_host;
use tenant_router::{CurrentTenant, HostSource, HostTarget, TenantDirectory};
use tower::ServiceExt;

/// What the host dispatcher needs: the school map, where the host comes from, the platform's
/// own pages, and the paths that answer on every host.
#[derive(Debug, Clone)]
pub struct HostDispatcher {
    pub tenants: TenantDirectory,
    pub source: HostSource,
    pub platform: Router,
    pub any_host_paths: Vec<&'static str>,
}

/// Middleware around the school routes: resolves the host, then lets a school's request go on
/// to its route (the hot path, with no second routing step), or answers for the platform, a
/// suspended school, or no school at all.
pub async fn dispatch_by_host(
    State(dispatcher): State<Arc<HostDispatcher>>,
    mut request: Request,
    next: Next,
) -> Response {
    if dispatcher.any_host_paths.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let authority = request.uri().authority().map(|a| a.as_str().to_owned());
    let host = match request_host(request.headers(), authority.as_deref(), dispatcher.source) {
        Ok(host) => host,
        Err(error) => return AppError::BadHost(error).into_response(),
    };
    match dispatcher.tenants.resolve(&host) {
        HostTarget::School(entry) => {
            tracing::Span::current().record("tenant.id", entry.id.get());
            request.extensions_mut().insert(CurrentTenant(entry));
            next.run(request).await
        }
        HostTarget::Platform => oneshot(dispatcher.platform.clone(), request).await,
        HostTarget::RedirectToPlatform => {
            let base = dispatcher.tenants.bases().primary().clone();
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let port = port_of(request.headers());
            Redirect::permanent(&format!("//{base}{port}{path}")).into_response()
        }
        HostTarget::Suspended(entry) => {
            tracing::Span::current().record("tenant.id", entry.id.get());
            AppError::SchoolSuspended {
                name: entry.display_name.clone(),
            }
            .into_response()
        }
        HostTarget::NotFound => AppError::SchoolNotFound.into_response(),
    }
}

async fn oneshot(router: Router, request: Request) -> Response {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
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
