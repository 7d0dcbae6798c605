//! The school switcher (A1): every school of the signed-in person with its unread count, one
//! click to another school — handing the sign-in over where the cookie does not reach — and
//! the person's notices in this school.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::header::{HOST, SET_COOKIE};
use redis::AsyncCommands;
use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::config::PublicScheme;
use schoolplein_kernel::session::{SessionData, Sessions, describe_device, session_cookie};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Lang, Role, SignedIn, Viewer};
use serde::{Deserialize, Serialize};
use tenant_router::host::request_host;
use tenant_router::{CurrentTenant, HostSource, TenantId, TenantStatus, TenantTx};

use crate::db::{accounts, notices};

/// How long a hand-off link works: it is followed at once by the browser that asked for it.
const HANDOFF_LIFETIME: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
struct SchoolRow {
    id: i64,
    name: String,
    current: bool,
    blocked: bool,
    suspended: bool,
    unread: i64,
}

#[derive(Debug, Serialize)]
struct SchoolsPage<'a> {
    name: &'a str,
    schools: Vec<SchoolRow>,
}

/// The account's schools, with the unread count of each (read from each school's own schema).
async fn schools_of(
    state: &AppState,
    account_id: i64,
    current: TenantId,
) -> Result<Vec<SchoolRow>, AppError> {
    let memberships = accounts::schools(&state.db, account_id).await?;
    let mut rows = Vec::with_capacity(memberships.len());
    for membership in memberships {
        let id = TenantId::new(membership.tenant_id);
        let Some(entry) = state.tenants.by_id(id) else {
            continue;
        };
        let suspended = entry.status == TenantStatus::Suspended;
        let unread = if membership.blocked || suspended {
            0
        } else {
            let settings = state.settings.get(&state.schools, id).await?;
            let has = |role: &str| membership.roles.iter().any(|r| r == role);
            let mut tx = TenantTx::begin_read_only(&state.schools, id).await?;
            let notices = notices::unread_count(&mut tx, membership.person_id).await?;
            // Posts count from the same read state the timeline marks.
            let reader = PostReader::load(
                &mut tx,
                membership.person_id,
                has(Role::SchoolAdmin.as_str()),
                has(Role::Teacher.as_str()),
            )
            .await?;
            let posts = reader
                .unread(&mut tx, &PostKind::shown_by(&settings))
                .await?;
            tx.commit().await?;
            notices + posts
        };
        rows.push(SchoolRow {
            id: id.get(),
            name: entry.display_name.clone(),
            current: id == current,
            blocked: membership.blocked,
            suspended,
            unread,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(rows)
}

/// `GET /schools`.
pub async fn show_schools(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    signed_in: SignedIn,
) -> Result<Html<String>, AppError> {
    let schools = schools_of(&state, signed_in.account_id, tenant.id()).await?;
    Ok(Html(state.templates.render(
        "registration/schools.html",
        lang,
        &SchoolsPage {
            name: &signed_in.name,
            schools,
        },
    )?))
}

/// What Redis keeps of a hand-off, under the hash of its token.
#[derive(Debug, Serialize, Deserialize)]
struct Handoff {
    account_id: i64,
    tenant_id: i64,
    keep: bool,
}

fn handoff_key(state: &AppState, token: &SecretToken) -> String {
    state.redis_key(&format!("handoff:{}", token.hash().to_hex()))
}

/// Where another school is reached from this request: under the same base domain as this
/// host (and its port), or under the primary base domain from a school's own domain. The
/// flag says whether the session cookie reaches it.
fn school_origin(state: &AppState, headers: &http::HeaderMap, slug: &str) -> (String, bool) {
    let source = if state.config.server.trust_forwarded_host {
        HostSource::TrustedProxy
    } else {
        HostSource::Direct
    };
    let scheme = match state.config.tenancy.public_scheme {
        PublicScheme::Http => "http",
        PublicScheme::Https => "https",
    };
    let base = request_host(headers, None, source)
        .ok()
        .and_then(|host| state.tenants.bases().base_of(&host).cloned());
    match base {
        Some(base) => {
            let port = headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .and_then(|raw| raw.rsplit_once(':'))
                .map(|(_, port)| port)
                .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(String::new(), |port| format!(":{port}"));
            // A single-label base (`localhost`) gets host-only cookies: they reach no other school.
            let shared = base.as_str().contains('.');
            (format!("{scheme}://{slug}.{}{port}", base.as_str()), shared)
        }
        None => (state.config.tenancy.school_url(slug, ""), false),
    }
}

/// `GET /schools/{tenant_id}/open`: to another school of this person, signed in there too.
pub async fn open_school(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    headers: http::HeaderMap,
    signed_in: SignedIn,
    Path(tenant_id): Path<i64>,
) -> Result<Response, AppError> {
    let target = TenantId::new(tenant_id);
    if target == tenant.id() {
        return Ok(Redirect::to("/").into_response());
    }
    let membership = accounts::schools(&state.db, signed_in.account_id)
        .await?
        .into_iter()
        .find(|m| m.tenant_id == tenant_id);
    let entry = state.tenants.by_id(target);
    let (Some(membership), Some(entry)) = (membership, entry) else {
        return Err(AppError::NotFound);
    };
    if membership.blocked {
        return Err(AppError::Forbidden {
            reason: "error.forbidden_blocked",
        });
    }
    let (origin, shared) = school_origin(&state, &headers, entry.slug.as_str());
    if shared {
        return Ok(Redirect::to(&format!("{origin}/")).into_response());
    }
    let token = SecretToken::generate();
    let handoff = Handoff {
        account_id: signed_in.account_id,
        tenant_id,
        keep: signed_in.kept,
    };
    let json = serde_json::to_string(&handoff).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut redis = state.redis.connection()?;
    let _: () = redis
        .set_ex(
            handoff_key(&state, &token),
            json,
            HANDOFF_LIFETIME.as_secs(),
        )
        .await?;
    Ok(Redirect::to(&format!("{origin}/session/handoff/{}", token.expose())).into_response())
}

/// `GET /session/handoff/{token}`: takes over a sign-in handed from another school's host,
/// once, within a minute, for this school only. Anything else goes to the sign-in page.
pub async fn take_handoff(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    headers: http::HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let to_sign_in = || Ok(Redirect::to("/sign-in").into_response());
    let Some(token) = SecretToken::parse(&token) else {
        return to_sign_in();
    };
    let mut redis = state.redis.connection()?;
    let json: Option<String> = redis::cmd("GETDEL")
        .arg(handoff_key(&state, &token))
        .query_async(&mut redis)
        .await?;
    let Some(handoff) = json.and_then(|j| serde_json::from_str::<Handoff>(&j).ok()) else {
        return to_sign_in();
    };
    if handoff.tenant_id != tenant.id().get() {
        return to_sign_in();
    }
    let sessions = Sessions::from_state(&state);
    let session = sessions
        .create(&SessionData {
            account_id: handoff.account_id,
            created_at: chrono::Utc::now().timestamp(),
            keep: handoff.keep,
            device: describe_device(
                headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok()),
            ),
        })
        .await?;
    let cookie = session_cookie(
        &state,
        &headers,
        session.expose().to_owned(),
        handoff.keep.then(|| sessions.lifetime(true)),
    );
    tracing::info!(account.id = handoff.account_id, "sign-in handed over");
    Ok(([(SET_COOKIE, cookie.header_value())], Redirect::to("/")).into_response())
}

#[derive(Debug, Serialize)]
struct NoticesPage {
    notices: Vec<notices::Notice>,
}

/// `GET /notices`: the person's notices in this school, newest first; opening the page
/// reads them.
pub async fn show_notices(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    viewer: Viewer,
) -> Result<Html<String>, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let list = notices::latest(&mut tx, viewer.person_id, 100).await?;
    notices::mark_all_read(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Html(state.templates.render(
        "registration/notices.html",
        lang,
        &NoticesPage { notices: list },
    )?))
}
