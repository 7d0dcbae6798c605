//! `/healthz` (the process is alive) and `/readyz` (it can reach PostgreSQL and Redis).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use schoolplein_kernel::AppState;
use serde::Serialize;

pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
struct Readiness {
    postgres: &'static str,
    redis: &'static str,
    schools: usize,
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let postgres = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.db)
        .await
        .is_ok();
    let mut redis = state.redis.clone();
    let redis_ok = redis::cmd("PING")
        .query_async::<String>(&mut redis)
        .await
        .is_ok();
    let status = if postgres && redis_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let body = Readiness {
        postgres: word(postgres),
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
