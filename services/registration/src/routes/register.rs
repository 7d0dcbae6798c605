//! Registering as a parent with an activation code (A2): the code first; then, signed in, the
//! child is linked at once; otherwise the person creates an account, confirmed by a mailed
//! link before it exists — the page never says whether an address already has one — or signs
//! in with the account they have. More children, in this or another school: more codes.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use http::StatusCode;
use http::header::SET_COOKIE;
use redis::AsyncCommands;
use schoolplein_kernel::cookies::{SameSite, SetCookie, cookie};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly};
use schoolplein_kernel::limits::{ClientIp, Limiter, Subject, rules};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Pages, SignedIn};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::accounts;
use crate::db::codes::{self, Claim};
use crate::db::pending_registrations::{self, NewRegistration, PendingRegistration};
use crate::domain::{ActivationCode, EmailAddress, NewPassword, PersonName};
use crate::pages::ended_link::{EndedLink, ended_link_page};
use crate::pages::mistakes::mistake;
use crate::parents::{LinkStatus, link_parent};
use crate::sessions::start_session;

/// The cookie that carries an accepted code from the code form to the account form.
const CLAIM_COOKIE: &str = "sp_claim";
/// How long an accepted code waits for the account form.
const CLAIM_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long the mailed confirmation link works.
const CONFIRM_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// What Redis keeps of an accepted code, under the hash of the cookie's token.
#[derive(Debug, Serialize, Deserialize)]
struct StoredClaim {
    tenant_id: i64,
    pupil_id: Option<i64>,
    note: Option<String>,
}

fn claim_key(state: &AppState, token: &SecretToken) -> String {
    state.redis_key(&format!("code-claim:{}", token.hash().to_hex()))
}

#[derive(Debug, Serialize)]
struct CodePage<'a> {
    csrf: &'a str,
    code: &'a str,
    note: &'a str,
    signed_in_as: Option<&'a str>,
    mistake: Option<Mistake>,
}

/// The code page; 400 when it comes back with a mistake.
fn render_code(pages: &Pages, page: CodePage<'_>) -> Result<Response, AppError> {
    let status = if page.mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages.show_with(status, "registration/register_code.html", &page)
}

/// Parents register only while the school keeps the portal open to them (T5).
async fn require_open(state: &AppState, tenant: &CurrentTenant) -> Result<(), AppError> {
    if state
        .settings
        .get(&state.schools, tenant.id())
        .await?
        .portal_open
    {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            reason: "error.portal_closed",
        })
    }
}

/// `GET /register`.
pub async fn show_register(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    signed_in: Option<SignedIn>,
) -> Result<Response, AppError> {
    require_open(&state, &tenant).await?;
    let page = CodePage {
        csrf: csrf.token(),
        code: "",
        note: "",
        signed_in_as: signed_in.as_ref().map(|s| s.email.as_str()),
        mistake: None,
    };
    render_code(&pages, page)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /register`: checks the code (wrong ones are counted per address and account).
pub async fn enter_code(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    ip: ClientIp,
    headers: HeaderMap,
    signed_in: Option<SignedIn>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, AppError> {
    require_open(&state, &tenant).await?;
    // The form again with the code and note as typed and the mistake at its field.
    let refused = |refusal: (&str, &str)| -> Result<Response, AppError> {
        let csrf = Csrf::from_headers(&headers, &state);
        let page = CodePage {
            csrf: csrf.token(),
            code: &form.code.chars().take(64).collect::<String>(),
            note: &form
                .note
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect::<String>(),
            signed_in_as: signed_in.as_ref().map(|s| s.email.as_str()),
            mistake: Some(mistake(&state, pages.language(), refusal)),
        };
        render_code(&pages, page)
    };
    let note = form
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return refused(("note", "registration.note_too_long"));
    }
    // Counted before the code is looked up, so a burst of guesses meets the limit; a right
    // code gives its count back.
    let mut counts = vec![(rules::WRONG_CODE_PER_IP, ip.subject())];
    if let Some(signed_in) = &signed_in {
        counts.push((
            rules::WRONG_CODE_PER_ACCOUNT,
            Subject::account(signed_in.account_id),
        ));
    }
    let attempt = Limiter::from_state(&state).attempt(&counts).await?;
    let claim = match ActivationCode::parse(&form.code) {
        Some(code) => {
            let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
            let claim = codes::find_claim(&mut tx, &code).await?;
            tx.commit().await?;
            claim
        }
        None => None,
    };
    let Some(claim) = claim else {
        // The attempt stays counted.
        drop(attempt);
        return refused(("code", "registration.code_unknown"));
    };
    attempt.succeeded().await?;
    if let Some(signed_in) = signed_in {
        let status = link_now(&state, &tenant, &signed_in, &claim, note).await?;
        return Ok(
            Redirect::to(&format!("/register/done?status={}", status.as_str())).into_response(),
        );
    }
    let token = SecretToken::generate();
    let stored = StoredClaim {
        tenant_id: tenant.id().get(),
        pupil_id: claim.pupil_id(),
        note: note.map(str::to_owned),
    };
    let json = serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut redis = state.redis.connection()?;
    let _: () = redis
        .set_ex(claim_key(&state, &token), json, CLAIM_LIFETIME.as_secs())
        .await?;
    let cookie = SetCookie {
        name: CLAIM_COOKIE,
        value: token.expose().to_owned(),
        domain: None,
        max_age: Some(CLAIM_LIFETIME),
        secure: state.config.accounts.secure_cookies,
        same_site: SameSite::Lax,
    };
    Ok((
        [(SET_COOKIE, cookie.header_value())],
        Redirect::to("/register/account"),
    )
        .into_response())
}

/// Links the signed-in person now.
async fn link_now(
    state: &AppState,
    tenant: &CurrentTenant,
    signed_in: &SignedIn,
    claim: &Claim,
    note: Option<&str>,
) -> Result<LinkStatus, AppError> {
    if signed_in.membership.as_ref().is_some_and(|m| m.read_only) {
        return Err(AppError::Forbidden {
            reason: "error.forbidden_read_only",
        });
    }
    let email = EmailAddress::parse(&signed_in.email)
        .map_err(|e| AppError::bad_request("email", e.key()))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let (person_id, status) = link_parent(
        &mut tx,
        signed_in.account_id,
        &email,
        &signed_in.name,
        claim,
        note,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        account.id = signed_in.account_id,
        person.id = person_id,
        status = status.as_str(),
        "parent linked by code"
    );
    Ok(status)
}

/// The accepted code this browser carries for this school, if still fresh.
async fn carried_claim(
    state: &AppState,
    tenant: &CurrentTenant,
    headers: &HeaderMap,
) -> Result<Option<(StoredClaim, Claim)>, AppError> {
    let Some(token) = cookie(headers, CLAIM_COOKIE).and_then(SecretToken::parse) else {
        return Ok(None);
    };
    let mut redis = state.redis.connection()?;
    let json: Option<String> = redis.get(claim_key(state, &token)).await?;
    let Some(stored) = json.and_then(|j| serde_json::from_str::<StoredClaim>(&j).ok()) else {
        return Ok(None);
    };
    if stored.tenant_id != tenant.id().get() {
        return Ok(None);
    }
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let claim = match stored.pupil_id {
        Some(pupil_id) => codes::pupil_claim(&mut tx, pupil_id).await?,
        None => Some(Claim::School),
    };
    tx.commit().await?;
    Ok(claim.map(|claim| (stored, claim)))
}

#[derive(Debug, Serialize)]
struct AccountPage<'a> {
    csrf: &'a str,
    claim: &'a Claim,
    school_name: &'a str,
    name: &'a str,
    email: &'a str,
    mistake: Option<Mistake>,
    sent: bool,
}

/// `GET /register/account`: create an account, or sign in with the one you have.
pub async fn show_register_account(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    headers: HeaderMap,
    signed_in: Option<SignedIn>,
) -> Result<Response, AppError> {
    let Some((_, claim)) = carried_claim(&state, &tenant, &headers).await? else {
        return Ok(Redirect::to("/register").into_response());
    };
    if signed_in.is_some() {
        return Ok(Redirect::to("/register/link").into_response());
    }
    let page = AccountPage {
        csrf: csrf.token(),
        claim: &claim,
        school_name: &tenant.entry().display_name,
        name: "",
        email: "",
        mistake: None,
        sent: false,
    };
    pages.show("registration/register_account.html", &page)
}

#[derive(Debug, Deserialize)]
pub struct NewAccountForm {
    name: String,
    email: String,
    password: String,
    repeat: String,
}

#[derive(Debug, Serialize)]
struct ConfirmRegistrationMail<'a> {
    link: &'a str,
    hours: u64,
}

/// `POST /register/account`: mails a confirmation link. The same answer for every address.
pub async fn create_account(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<NewAccountForm>,
) -> Result<Response, AppError> {
    let Some((stored, claim)) = carried_claim(&state, &tenant, &headers).await? else {
        return Ok(Redirect::to("/register").into_response());
    };
    let csrf = Csrf::from_headers(&headers, &state);
    let checked = (|| {
        let name = PersonName::parse(&form.name).map_err(|e| ("name", e.key()))?;
        let email = EmailAddress::parse(&form.email).map_err(|e| ("email", e.key()))?;
        let password = NewPassword::typed_twice("password", &form.password, &form.repeat)?;
        Ok((name, email, password))
    })();
    let (name, email, password) = match checked {
        Ok(fields) => fields,
        Err(refusal) => {
            // Everything typed but the passwords comes back.
            let page = AccountPage {
                csrf: csrf.token(),
                claim: &claim,
                school_name: &tenant.entry().display_name,
                name: &form.name.chars().take(100).collect::<String>(),
                email: &form.email.chars().take(254).collect::<String>(),
                mistake: Some(mistake(&state, pages.language(), refusal)),
                sent: false,
            };
            return pages.show_with(
                StatusCode::BAD_REQUEST,
                "registration/register_account.html",
                &page,
            );
        }
    };
    // Each confirmation is a mail to the address given and a password hash: counted per
    // address and per IP address before either, every attempt (none is given back).
    let accounts_config = &state.config.accounts;
    let _attempt = Limiter::from_state(&state)
        .attempt(&[
            (
                rules::registration_per_address(accounts_config),
                Subject::address(&email.normalized()),
            ),
            (rules::account_mails_per_ip(accounts_config), ip.subject()),
        ])
        .await?;
    let hash = state
        .passwords
        .hash(password.expose())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let token = SecretToken::generate();
    let lifetime = chrono::Duration::from_std(CONFIRM_LIFETIME)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    pending_registrations::insert(
        &mut tx,
        &NewRegistration {
            token: &token,
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &hash,
            language: pages.language().tag(),
            tenant_id: tenant.id().get(),
            pupil_id: stored.pupil_id,
            note: stored.note.as_deref(),
            expires_at: Utc::now() + lifetime,
        },
    )
    .await?;
    let letterhead = Letterhead::load(&mut tx).await?;
    let link = state.config.tenancy.school_url(
        tenant.entry().slug.as_str(),
        &format!("/register/confirm/{}", token.expose()),
    );
    Outbox::new(state.templates.clone(), &state.config.mail)
        .enqueue(
            &mut tx,
            MailRequest {
                to: email.as_str(),
                template: "registration/confirm_registration",
                language: pages.language(),
                urgent: true,
                context: &ConfirmRegistrationMail {
                    link: &link,
                    hours: CONFIRM_LIFETIME.as_secs() / 3600,
                },
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    tx.commit().await?;
    let page = AccountPage {
        csrf: csrf.token(),
        claim: &claim,
        school_name: &tenant.entry().display_name,
        name: "",
        email: "",
        mistake: None,
        sent: true,
    };
    pages.show("registration/register_account.html", &page)
}

#[derive(Debug, Serialize)]
struct LinkPage<'a> {
    csrf: &'a str,
    claim: &'a Claim,
    school_name: &'a str,
    signed_in_as: &'a str,
}

/// `GET /register/link`: after signing in with the account they have, the person confirms
/// taking the code they entered before (a page, so that opening a link changes nothing).
pub async fn show_link_carried(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    headers: HeaderMap,
    signed_in: SignedIn,
) -> Result<Response, AppError> {
    let Some((_, claim)) = carried_claim(&state, &tenant, &headers).await? else {
        return Ok(Redirect::to("/register").into_response());
    };
    pages.show(
        "registration/register_link.html",
        &LinkPage {
            csrf: csrf.token(),
            claim: &claim,
            school_name: &tenant.entry().display_name,
            signed_in_as: &signed_in.email,
        },
    )
}

/// `POST /register/link`: the signed-in person takes the code they entered before signing
/// in.
pub async fn link_carried(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    headers: HeaderMap,
    signed_in: SignedIn,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let Some((stored, claim)) = carried_claim(&state, &tenant, &headers).await? else {
        return Ok(Redirect::to("/register").into_response());
    };
    let status = link_now(&state, &tenant, &signed_in, &claim, stored.note.as_deref()).await?;
    if let Some(token) = cookie(&headers, CLAIM_COOKIE).and_then(SecretToken::parse) {
        let mut redis = state.redis.connection()?;
        let _: i64 = redis.del(claim_key(&state, &token)).await?;
    }
    let removal = SetCookie {
        name: CLAIM_COOKIE,
        value: String::new(),
        domain: None,
        max_age: None,
        secure: state.config.accounts.secure_cookies,
        same_site: SameSite::Lax,
    }
    .removal();
    Ok((
        [(SET_COOKIE, removal.header_value())],
        Redirect::to(&format!("/register/done?status={}", status.as_str())),
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct ConfirmPage<'a> {
    csrf: &'a str,
    token: &'a str,
    email: &'a str,
}

/// Why a confirmation link does not work, if it does not.
fn ended(registration: &PendingRegistration, tenant: &CurrentTenant) -> Option<EndedLink> {
    if registration.tenant_id != tenant.id().get() {
        Some(EndedLink::Invalid)
    } else if registration.used_at.is_some() {
        Some(EndedLink::RegistrationUsed)
    } else if registration.expires_at <= Utc::now() {
        Some(EndedLink::RegistrationExpired)
    } else {
        None
    }
}

/// `GET /register/confirm/{token}`: a button (mail scanners open links too).
pub async fn show_confirm_registration(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let mut conn = state.db.acquire().await?;
    let Some(registration) = pending_registrations::find(&mut conn, &token, false).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    drop(conn);
    if let Some(why) = ended(&registration, &tenant) {
        return ended_link_page(&pages, why);
    }
    pages.show(
        "registration/register_confirm.html",
        &ConfirmPage {
            csrf: csrf.token(),
            token: token.expose(),
            email: &registration.email,
        },
    )
}

/// `POST /register/confirm/{token}`: makes (or finds) the account, links the child, uses the
/// link up — one transaction.
pub async fn confirm_registration(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    Path(token): Path<String>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let Some(registration) = pending_registrations::find(&mut tx, &token, true).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(&registration, &tenant) {
        return ended_link_page(&pages, why);
    }
    let email = EmailAddress::parse(&registration.email)
        .map_err(|e| AppError::bad_request("email", e.key()))?;
    let account_id =
        accounts::find_or_create(&mut tx, &email, &registration.name, &registration.language)
            .await?;
    // An address that already had an account keeps its password: the mailbox's owner chose
    // that one, and this registration's proves nothing more.
    let new_account =
        accounts::set_first_password(&mut tx, account_id, &registration.password_hash).await?;
    let claim = match registration.pupil_id {
        Some(pupil_id) => codes::pupil_claim(&mut tx, pupil_id).await?,
        None => Some(Claim::School),
    };
    let Some(claim) = claim else {
        // The child left school since: the link does nothing more.
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let (person_id, status) = link_parent(
        &mut tx,
        account_id,
        &email,
        &registration.name,
        &claim,
        registration.note.as_deref(),
    )
    .await?;
    pending_registrations::mark_used(&mut tx, &token).await?;
    tx.commit().await?;
    tracing::info!(
        account.id = account_id,
        person.id = person_id,
        status = status.as_str(),
        new_account,
        "parent registered"
    );
    // Opening the mailed link proved the address, as a password reset would: the parent is
    // signed in here, on whatever device they read their mail, and lands on their day.
    let cookie = start_session(&state, &headers, account_id, false).await?;
    let joined = if new_account { "new" } else { "existing" };
    Ok((
        [(SET_COOKIE, cookie.header_value())],
        Redirect::to(&format!("/?joined={joined}")),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    status: Option<String>,
}

#[derive(Debug, Serialize)]
struct DonePage<'a> {
    status: &'a str,
}

/// `GET /register/done`: what happens next.
pub async fn show_done(pages: Pages, Query(query): Query<DoneQuery>) -> Result<Response, AppError> {
    let status = match query.status.as_deref() {
        Some("active") => "active",
        Some("pending") => "pending",
        _ => "school_code",
    };
    pages.show("registration/register_done.html", &DonePage { status })
}
