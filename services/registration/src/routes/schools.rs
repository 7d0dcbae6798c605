//! The school switcher (A1): every school of the signed-in person with its unread count, one
//! click to another school — handing the sign-in over where the cookie does not reach — and
//! the person's notices in this school.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use http::header::{HOST, SET_COOKIE};
use redis::AsyncCommands;
use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::config::PublicScheme;
use schoolplein_kernel::cookies::{SameSite, SetCookie, cookie};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::error::encode_query_value;
use schoolplein_kernel::forms::TokenOnly;
use schoolplein_kernel::session::{
    SESSION_COOKIE, SessionData, Sessions, describe_device, session_cookie,
};
use schoolplein_kernel::tokens::{SecretToken, TokenHash};
use schoolplein_kernel::{AppError, AppState, Pages, Role, SignedIn, Viewer};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tenant_router::host::request_host;
use tenant_router::{
    CurrentTenant, HostSource, HostTarget, NormalizedHost, TenantId, TenantStatus, TenantTx,
};

use crate::db::{accounts, notices};

/// How long a hand-off link works: it is followed at once by the browser that asked for it
/// (or, where that browser is signed in here as someone else, confirmed within the minute).
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
            // Messages waiting (C4), the office's too for an admin, where the school has them.
            let messages = if settings.is_on(schoolplein_kernel::settings::Module::Messages) {
                schoolplein_kernel::nav_counts::unread_messages(
                    &mut tx,
                    membership.person_id,
                    has(Role::SchoolAdmin.as_str()),
                )
                .await?
            } else {
                0
            };
            tx.commit().await?;
            notices + posts + messages
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
    pages: Pages,
    signed_in: SignedIn,
) -> Result<Response, AppError> {
    let schools = schools_of(&state, signed_in.account_id, tenant.id()).await?;
    pages.show(
        "registration/schools.html",
        &SchoolsPage {
            name: &signed_in.name,
            schools,
        },
    )
}

/// What Redis keeps of a hand-off, under the hash of its token: whose sign-in, for which
/// school, and the browser it is bound to (the hash of that browser's hand-off cookie).
#[derive(Debug, Serialize, Deserialize)]
struct Handoff {
    account_id: i64,
    tenant_id: i64,
    keep: bool,
    binding: String,
}

fn handoff_key(state: &AppState, token: &SecretToken) -> String {
    state.redis_key(&format!("handoff:{}", token.hash().to_hex()))
}

/// The cookie the target school sets in the browser before any hand-off is made for it; a
/// hand-off works only where this cookie is (the OAuth "state" pattern). Host-only, so
/// only the school that set it reads it.
const BINDING_COOKIE: &str = "sp_handoff";

fn binding_cookie(state: &AppState, value: String) -> SetCookie {
    SetCookie {
        name: BINDING_COOKIE,
        value,
        domain: None,
        max_age: Some(BINDING_LIFETIME),
        secure: state.config.accounts.secure_cookies,
        same_site: SameSite::Lax,
    }
}

/// How long the browser keeps its binding: the hand-off follows within seconds.
const BINDING_LIFETIME: Duration = Duration::from_secs(5 * 60);

fn host_source(state: &AppState) -> HostSource {
    if state.config.server.trust_forwarded_host {
        HostSource::TrustedProxy
    } else {
        HostSource::Direct
    }
}

fn scheme(state: &AppState) -> &'static str {
    match state.config.tenancy.public_scheme {
        PublicScheme::Http => "http",
        PublicScheme::Https => "https",
    }
}

/// `:<port>` of the request's `Host` header, if it names one.
fn port_of(headers: &http::HeaderMap) -> String {
    headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|raw| raw.rsplit_once(':'))
        .map(|(_, port)| port)
        .filter(|port| {
            !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
        })
        .map_or(String::new(), |port| format!(":{port}"))
}

/// Where another school is reached from this request: under the same base domain as this
/// host (and its port), or under the primary base domain from a school's own domain. The
/// flag says whether the session cookie reaches it.
fn school_origin(state: &AppState, headers: &http::HeaderMap, slug: &str) -> (String, bool) {
    let base = request_host(headers, None, host_source(state))
        .ok()
        .and_then(|host| state.tenants.bases().base_of(&host).cloned());
    match base {
        Some(base) => {
            // A single-label base (`localhost`) gets host-only cookies: they reach no other school.
            let shared = base.as_str().contains('.');
            let origin = format!(
                "{}://{slug}.{}{}",
                scheme(state),
                base.as_str(),
                port_of(headers)
            );
            (origin, shared)
        }
        None => (state.config.tenancy.school_url(slug, ""), false),
    }
}

/// This request's own origin, as the browser reached it.
fn own_origin(state: &AppState, headers: &http::HeaderMap) -> Result<String, AppError> {
    let host = request_host(headers, None, host_source(state))?;
    Ok(format!(
        "{}://{}{}",
        scheme(state),
        host.as_str(),
        port_of(headers)
    ))
}

/// The origin a hand-off may return to: one of our schools' hosts, in our scheme, written
/// anew from its parts (nothing of the request's text is echoed into the redirect).
fn school_origin_from(state: &AppState, from: &str) -> Option<String> {
    let rest = from.strip_prefix(&format!("{}://", scheme(state)))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (host, format!(":{port}"))
        }
        Some(_) => return None,
        None => (rest, String::new()),
    };
    let host = NormalizedHost::parse_name(host).ok()?;
    match state.tenants.resolve(&host) {
        HostTarget::School(_) => Some(format!("{}://{}{port}", scheme(state), host.as_str())),
        _ => None,
    }
}

/// `GET /schools/{tenant_id}/open`: to another school of this person, signed in there too.
/// Where the session cookie does not reach, the other school first marks this browser
/// (`/session/handoff/begin`), then sends it back here for a hand-off bound to that mark.
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
    let (entry, _) = member_of(&state, &signed_in, target).await?;
    let (origin, shared) = school_origin(&state, &headers, entry.slug.as_str());
    if shared {
        return Ok(Redirect::to(&format!("{origin}/")).into_response());
    }
    let from = own_origin(&state, &headers)?;
    Ok(Redirect::to(&format!(
        "{origin}/session/handoff/begin?from={}",
        encode_query_value(&from)
    ))
    .into_response())
}

/// The school `target` and this person's membership of it; 404 when they have none, 403
/// when blocked there.
async fn member_of(
    state: &AppState,
    signed_in: &SignedIn,
    target: TenantId,
) -> Result<
    (
        std::sync::Arc<tenant_router::TenantEntry>,
        accounts::SchoolOfAccount,
    ),
    AppError,
> {
    let membership = accounts::schools(&state.db, signed_in.account_id)
        .await?
        .into_iter()
        .find(|m| m.tenant_id == target.get());
    let (Some(membership), Some(entry)) = (membership, state.tenants.by_id(target)) else {
        return Err(AppError::NotFound);
    };
    if membership.blocked {
        return Err(AppError::Forbidden {
            reason: "error.forbidden_blocked",
        });
    }
    Ok((entry, membership))
}

#[derive(Debug, Deserialize)]
pub struct BeginQuery {
    from: Option<String>,
}

/// `GET /session/handoff/begin?from=<origin>` on the school being switched to: gives this
/// browser a fresh binding cookie and sends it back to the school it came from, carrying
/// only the binding's hash. A hand-off made there works only in a browser with this cookie.
pub async fn begin_handoff(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Query(query): Query<BeginQuery>,
) -> Result<Response, AppError> {
    let from = query
        .from
        .as_deref()
        .and_then(|from| school_origin_from(&state, from))
        .ok_or_else(|| AppError::bad_request("from", "registration.handoff_from_unknown"))?;
    let binding = SecretToken::generate();
    let cookie = binding_cookie(&state, binding.expose().to_owned());
    let back = format!(
        "{from}/schools/{}/handoff?binding={}",
        tenant.id().get(),
        binding.hash().to_hex()
    );
    Ok(([(SET_COOKIE, cookie.header_value())], Redirect::to(&back)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct GrantQuery {
    binding: Option<String>,
}

/// `GET /schools/{tenant_id}/handoff?binding=<hash>` back on the school the person is signed
/// in at: a one-minute, single-use hand-off to `tenant_id`, bound to the browser that holds
/// the binding, then on to redeem it there.
pub async fn grant_handoff(
    State(state): State<AppState>,
    headers: http::HeaderMap,
    signed_in: SignedIn,
    Path(tenant_id): Path<i64>,
    Query(query): Query<GrantQuery>,
) -> Result<Response, AppError> {
    let binding = query
        .binding
        .as_deref()
        .and_then(TokenHash::from_hex)
        .ok_or_else(|| AppError::bad_request("binding", "registration.handoff_binding_missing"))?;
    let (entry, _) = member_of(&state, &signed_in, TenantId::new(tenant_id)).await?;
    let (origin, _) = school_origin(&state, &headers, entry.slug.as_str());
    let token = SecretToken::generate();
    let handoff = Handoff {
        account_id: signed_in.account_id,
        tenant_id,
        keep: signed_in.kept,
        binding: binding.to_hex(),
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

/// The hand-off behind `token` if this browser may take it: for this school, and bound to
/// this browser's binding cookie. Read without using it up unless `take`.
async fn redeemable(
    state: &AppState,
    tenant: &CurrentTenant,
    headers: &http::HeaderMap,
    token: &SecretToken,
    take: bool,
) -> Result<Option<Handoff>, AppError> {
    let mut redis = state.redis.connection()?;
    let key = handoff_key(state, token);
    let json: Option<String> = if take {
        redis::cmd("GETDEL")
            .arg(&key)
            .query_async(&mut redis)
            .await?
    } else {
        redis.get(&key).await?
    };
    let Some(handoff) = json.and_then(|j| serde_json::from_str::<Handoff>(&j).ok()) else {
        return Ok(None);
    };
    let bound_here = cookie(headers, BINDING_COOKIE)
        .and_then(SecretToken::parse)
        .is_some_and(|binding| {
            let hash = binding.hash().to_hex();
            hash.as_bytes().ct_eq(handoff.binding.as_bytes()).into()
        });
    if handoff.tenant_id != tenant.id().get() || !bound_here {
        // Another school's, or another browser's: it is used up, whoever tried.
        if !take {
            let _: i64 = redis.del(&key).await?;
        }
        return Ok(None);
    }
    Ok(Some(handoff))
}

#[derive(Debug, Serialize)]
struct HandoffConfirmPage<'a> {
    csrf: &'a str,
    token: &'a str,
    current_name: &'a str,
    current_email: &'a str,
    new_name: &'a str,
    new_email: &'a str,
}

/// `GET /session/handoff/{token}`: takes over a sign-in handed from another school's host,
/// once, within a minute, for this school only, in the browser that asked for it. Where this
/// browser is signed in here as someone else, it asks first. Anything else goes to the
/// sign-in page.
pub async fn take_handoff(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    headers: http::HeaderMap,
    signed_in: Option<SignedIn>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let to_sign_in = || Ok(Redirect::to("/sign-in").into_response());
    let Some(token) = SecretToken::parse(&token) else {
        return to_sign_in();
    };
    let Some(handoff) = redeemable(&state, &tenant, &headers, &token, false).await? else {
        return to_sign_in();
    };
    if let Some(current) = signed_in.filter(|s| s.account_id != handoff.account_id) {
        let mut conn = state.db.acquire().await?;
        let Some((new_name, new_email)) =
            accounts::name_and_email(&mut conn, handoff.account_id).await?
        else {
            return to_sign_in();
        };
        drop(conn);
        return pages.show(
            "registration/handoff_confirm.html",
            &HandoffConfirmPage {
                csrf: csrf.token(),
                token: token.expose(),
                current_name: &current.name,
                current_email: &current.email,
                new_name: &new_name,
                new_email: &new_email,
            },
        );
    }
    finish_handoff(&state, &tenant, &headers, &token).await
}

/// `POST /session/handoff/{token}`: the person chose to go on as the account handed over,
/// in place of the one this browser was signed in with here.
pub async fn confirm_handoff(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    headers: http::HeaderMap,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    finish_handoff(&state, &tenant, &headers, &token).await
}

/// Uses the hand-off up and signs this browser in with it, ending the session it had here.
async fn finish_handoff(
    state: &AppState,
    tenant: &CurrentTenant,
    headers: &http::HeaderMap,
    token: &SecretToken,
) -> Result<Response, AppError> {
    let Some(handoff) = redeemable(state, tenant, headers, token, true).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let sessions = Sessions::from_state(state);
    for old in
        schoolplein_kernel::cookies::cookies(headers, SESSION_COOKIE).filter_map(SecretToken::parse)
    {
        if let Some(data) = sessions.load(&old).await? {
            sessions.end(data.account_id, &old.hash()).await?;
        }
    }
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
        state,
        headers,
        session.expose().to_owned(),
        handoff.keep.then(|| sessions.lifetime(true)),
    );
    let binding_removal = binding_cookie(state, String::new()).removal();
    tracing::info!(account.id = handoff.account_id, "sign-in handed over");
    Ok((
        AppendHeaders([
            (SET_COOKIE, cookie.header_value()),
            (SET_COOKIE, binding_removal.header_value()),
        ]),
        Redirect::to("/"),
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct NoticesPage {
    notices: Vec<notices::Notice>,
}

/// `GET /notices`: the person's notices in this school, newest first; opening the page
/// reads them. Any member, also while the portal is closed to parents: the school's word on
/// their sign-up reaches them here.
pub async fn show_notices(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let list = notices::latest(&mut tx, viewer.person_id, 100).await?;
    notices::mark_all_read(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    pages.show("registration/notices.html", &NoticesPage { notices: list })
}
