//! The platform's own page on the bare base domain, with "find your school".

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::{AppError, AppState, Pages};
use serde::{Deserialize, Serialize};
use tenant_router::TenantStatus;

use crate::dispatch::port_of;

/// Shortest search that lists schools: the page never lists every school at once.
const MIN_QUERY_CHARS: usize = 3;
const MAX_RESULTS: usize = 20;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Debug, Serialize)]
struct FoundSchool {
    name: String,
    url: String,
}

#[derive(Debug, Serialize)]
struct PlatformPage {
    query: String,
    searched: bool,
    too_short: bool,
    results: Vec<FoundSchool>,
    min_query_chars: usize,
    mistake: Option<Mistake>,
}

pub async fn show_platform(
    State(state): State<AppState>,
    pages: Pages,
    headers: HeaderMap,
    Query(search): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let query = search.q.trim().to_owned();
    if query.chars().count() > 100 {
        // The search comes back as typed, the mistake at the field.
        let refusal = AppError::bad_request("q", "platform.search_too_long");
        let mistake = Mistake::of(&refusal, pages.templates(), pages.language(), str::to_owned);
        let page = PlatformPage {
            query,
            searched: false,
            too_short: false,
            results: Vec::new(),
            min_query_chars: MIN_QUERY_CHARS,
            mistake,
        };
        return pages.show_with(StatusCode::BAD_REQUEST, "platform.html", &page);
    }
    let searched = !query.is_empty();
    let too_short = searched && query.chars().count() < MIN_QUERY_CHARS;
    let results = if searched && !too_short {
        find_schools(&state, &query, &port_of(&headers))
    } else {
        Vec::new()
    };
    pages.show(
        "platform.html",
        &PlatformPage {
            query,
            searched,
            too_short,
            results,
            min_query_chars: MIN_QUERY_CHARS,
            mistake: None,
        },
    )
}

fn find_schools(state: &AppState, query: &str, port: &str) -> Vec<FoundSchool> {
    let needle = query.to_lowercase();
    let base = state.tenants.bases().primary();
    let scheme = if state.config.server.tls.is_some() || state.config.server.trust_forwarded_host {
        "https"
    } else {
        "http"
    };
    state
        .tenants
        .all()
        .into_iter()
        .filter(|school| school.status == TenantStatus::Active)
        .filter(|school| {
            school.display_name.to_lowercase().contains(&needle)
                || school.slug.as_str().contains(&needle)
        })
        .take(MAX_RESULTS)
        .map(|school| FoundSchool {
            name: school.display_name.clone(),
            url: format!("{scheme}://{}.{base}{port}/", school.slug),
        })
        .collect()
}
