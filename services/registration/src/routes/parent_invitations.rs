//! A parent accepting a mailed invitation (A3): the link names the children; signed in, one
//! button links them to this account; otherwise the parent makes an account for the invited
//! address on the spot (the link proves the mailbox, so no confirmation mail) or signs in
//! with the one they have. Single use; the children are linked at once, the school having
//! invited them.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use http::StatusCode;
use http::header::SET_COOKIE;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly};
use schoolplein_kernel::limits::{ClientIp, Limiter, Subject, rules};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Pages, SignedIn};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::accounts;
use crate::db::parent_invitations::{self, InvitedChild, ParentInvitation, children, find};
use crate::domain::{EmailAddress, new_account_fields};
use crate::pages::ended_link::{EndedLink, ended_link_page};
use crate::pages::mistakes::mistake;
use crate::parents::parent_person;
use crate::sessions::start_session;

fn ended(invitation: &ParentInvitation) -> Option<EndedLink> {
    if invitation.accepted_at.is_some() {
        Some(EndedLink::InvitationUsed)
    } else if invitation.expires_at <= Utc::now() {
        Some(EndedLink::InvitationExpired)
    } else {
        None
    }
}

#[derive(Debug, Serialize)]
struct InvitationPage<'a> {
    csrf: &'a str,
    token: &'a str,
    school_name: &'a str,
    email: &'a str,
    children: &'a [InvitedChild],
    signed_in_as: Option<&'a str>,
    name: &'a str,
    mistake: Option<Mistake>,
}

/// The invitation page; 400 when it comes back with a mistake.
fn render(pages: &Pages, page: &InvitationPage<'_>) -> Result<Response, AppError> {
    let status = if page.mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    pages.show_with(status, "registration/parent_invitation.html", page)
}

/// `GET /invited/{token}`: whom the invitation is for, and how to accept it. Opening the
/// link changes nothing (mail scanners open links too).
pub async fn show_parent_invitation(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    signed_in: Option<SignedIn>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let Some(invitation) = find(&mut tx, &token, false).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(&invitation) {
        return ended_link_page(&pages, why);
    }
    let children = children(&mut tx, invitation.id).await?;
    tx.commit().await?;
    if children.is_empty() {
        return ended_link_page(&pages, EndedLink::Invalid);
    }
    render(
        &pages,
        &InvitationPage {
            csrf: csrf.token(),
            token: token.expose(),
            school_name: &tenant.entry().display_name,
            email: &invitation.email,
            children: &children,
            signed_in_as: signed_in.as_ref().map(|s| s.email.as_str()),
            name: &children[0].contact_name,
            mistake: None,
        },
    )
}

/// Links the invitation's children to the account's parent in this school and uses the
/// invitation up, in `tx` (which holds its row). Returns the person.
async fn accept(
    tx: &mut TenantTx,
    invitation: &ParentInvitation,
    account_id: i64,
    email: &EmailAddress,
    name: &str,
) -> Result<i64, AppError> {
    let person_id = parent_person(tx, account_id, email, name).await?;
    parent_invitations::link_children(tx, invitation, person_id).await?;
    Ok(person_id)
}

/// `POST /invited/{token}`: the signed-in person accepts; the children are theirs at once.
pub async fn accept_signed_in(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    signed_in: SignedIn,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if signed_in.membership.as_ref().is_some_and(|m| m.read_only) {
        return Err(AppError::Forbidden {
            reason: "error.forbidden_read_only",
        });
    }
    let email = EmailAddress::parse(&signed_in.email)
        .map_err(|e| AppError::bad_request("email", e.key()))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let Some(invitation) = find(&mut tx, &token, true).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(&invitation) {
        return ended_link_page(&pages, why);
    }
    if children(&mut tx, invitation.id).await?.is_empty() {
        // Every child named has left school since: the link does nothing more.
        return ended_link_page(&pages, EndedLink::Invalid);
    }
    let person_id = accept(
        &mut tx,
        &invitation,
        signed_in.account_id,
        &email,
        &signed_in.name,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        account.id = signed_in.account_id,
        person.id = person_id,
        invitation.id = invitation.id,
        "parent invitation accepted"
    );
    Ok(Redirect::to("/register/done?status=active").into_response())
}

#[derive(Debug, Deserialize)]
pub struct InvitedAccountForm {
    name: String,
    password: String,
    repeat: String,
}

/// `POST /invited/{token}/account`: an account for the invited address, made and signed in
/// at once — the link came to that mailbox. An address that has an account signs in instead.
pub async fn accept_with_new_account(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    ip: ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<InvitedAccountForm>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let Some(invitation) = find(&mut tx, &token, true).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(&invitation) {
        return ended_link_page(&pages, why);
    }
    let children = children(&mut tx, invitation.id).await?;
    if children.is_empty() {
        return ended_link_page(&pages, EndedLink::Invalid);
    }
    let email = EmailAddress::parse(&invitation.email)
        .map_err(|e| AppError::bad_request("email", e.key()))?;
    let has_account = accounts::find_by_email(&mut tx, email.as_str())
        .await?
        .is_some();
    let checked = (|| {
        if has_account {
            return Err(("email", "registration.invited_has_account"));
        }
        new_account_fields(&form.name, &form.password, &form.repeat)
    })();
    let (name, password) = match checked {
        Ok(fields) => fields,
        Err(refusal) => {
            tx.rollback().await?;
            let csrf = Csrf::from_headers(&headers, &state);
            return render(
                &pages,
                &InvitationPage {
                    csrf: csrf.token(),
                    token: token.expose(),
                    school_name: &tenant.entry().display_name,
                    email: &invitation.email,
                    children: &children,
                    signed_in_as: None,
                    name: &form.name.chars().take(100).collect::<String>(),
                    mistake: Some(mistake(&state, pages.language(), refusal)),
                },
            );
        }
    };
    // A password hash is work: counted per address and per IP before it, as registering is.
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
    let account_id =
        accounts::find_or_create(&mut tx, &email, name.as_str(), pages.language().tag()).await?;
    accounts::set_first_password(&mut tx, account_id, &hash).await?;
    let person_id = accept(&mut tx, &invitation, account_id, &email, name.as_str()).await?;
    tx.commit().await?;
    tracing::info!(
        account.id = account_id,
        person.id = person_id,
        invitation.id = invitation.id,
        "parent invitation accepted with a new account"
    );
    let cookie = start_session(&state, &headers, account_id, false).await?;
    Ok((
        [(SET_COOKIE, cookie.header_value())],
        Redirect::to("/register/done?status=active"),
    )
        .into_response())
}
