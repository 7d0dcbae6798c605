//! The platform's own page on the bare base domain, with "find your school".

use axum::extract::{Query, State};
use axum::response::Html;
use http::HeaderMap;
use schoolplein_kernel::{AppError, AppState, Lang, Language};
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
}

pub async fn show_platform(
    State(state): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Query(search): Query<SearchQuery>,
) -> Result<Html<String>, AppError> {
    let query = search.q.trim().to_owned();
    if query.chars().count() > 100 {
        return Err(AppError::bad_request("q", "platform.search_too_long"));
    }
    let searched = !query.is_empty();
    let too_short = searched && query.chars().count() < MIN_QUERY_CHARS;
    let results = if searched && !too_short {
        find_schools(&state, &query, &port_of(&headers))
    } else {
        Vec::new()
    };
    render(
        &state,
        language,
        PlatformPage {
            query,
            searched,
            too_short,
            results,
            min_query_chars: MIN_QUERY_CHARS,
        },
    )
}

fn render(
    state: &AppState,
    language: Language,
    page: PlatformPage,
) -> Result<Html<String>, AppError> {
    Ok(Html(state.templates.render(
        "platform.html",
        language,
        &page,
    )?))
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
