//! `/healthz` (the process is alive) and `/readyz` (it can reach PostgreSQL and Redis, and
//! which one it cannot).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use schoolplein_kernel::AppState;
use serde::Serialize;

/// How long `/readyz` waits for either server: a load balancer's check must not hang.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
struct Readiness {
    postgres: &'static str,
    redis: &'static str,
    schools: usize,
}

/// Ready when both servers answer now. A server whose breaker is tripped is reported
/// unreachable at once, without another wait; one that answers again resets its breaker.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let postgres = async {
        let mut conn = state.db.acquire().await.ok()?;
        crate::db::ping(&mut conn).await.ok()
    };
    let redis = async {
        let mut redis = state.redis.connection().ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut redis)
            .await
            .ok()
    };
    let (postgres, redis) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, postgres),
        tokio::time::timeout(CHECK_TIMEOUT, redis)
    );
    let postgres_ok = matches!(postgres, Ok(Some(_)));
    let redis_ok = matches!(redis, Ok(Some(_)));
    let status = if postgres_ok && redis_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let body = Readiness {
        postgres: word(postgres_ok),
        redis: word(redis_ok),
        schools: state.tenants.len(),
    };
    // A JSON body marks this as ours, so the error-page renderer leaves it alone.
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}
