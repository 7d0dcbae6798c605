//! Invitations on the school's pages: the admin invites (A3); the invited person opens the
//! mailed link, chooses a name and password (or, with an account already, just joins).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::limits::{Limiter, Subject, rules};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Role};
use schoolplein_mailing::Outbox;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::invitations::{self, Invitation, InvitationState};
use crate::db::notices::{self, NoticeKind};
use crate::db::{accounts, people};
use crate::domain::{EmailAddress, NewPassword, PersonName};
use crate::invitations::{Invitee, invite};
use crate::pages::ended_link::{EndedLink, ended_link_page};
use crate::pages::mistakes::{mistake, typed};
use crate::pages::people::people_page;

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    name: String,
    email: String,
    role: String,
}

/// `POST /admin/people/invite`: a school admin invites a member of staff. A mistake brings
/// the people page back with the form as typed.
pub async fn invite_person(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Admin,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, AppError> {
    let checked = (|| {
        let name = PersonName::parse(&form.name).map_err(|e| ("name", e.key()))?;
        let email = EmailAddress::parse(&form.email).map_err(|e| ("email", e.key()))?;
        let role = Role::parse(&form.role).ok_or(("role", "registration.role_not_invitable"))?;
        Ok((name, email, role))
    })();
    let (name, email, role) = match checked {
        Ok(fields) => fields,
        Err(refusal) => {
            let sent = typed(&[
                ("name", &form.name),
                ("email", &form.email),
                ("role", &form.role),
            ]);
            let (field, key) = refusal;
            let anchor = format!("invite-{field}");
            let mistake = Mistake::at(&state.templates, pages.language(), field, key, &anchor);
            return people_page(
                &state,
                &tenant,
                &pages,
                csrf,
                &viewer,
                false,
                Some((sent, mistake)),
            )
            .await;
        }
    };
    // Every invitation is a mail to the address given.
    let _attempt = Limiter::from_state(&state)
        .attempt(&[
            (
                rules::INVITATIONS_PER_INVITER,
                Subject::account(viewer.account_id),
            ),
            (
                rules::INVITATIONS_PER_ADDRESS,
                Subject::address(&email.normalized()),
            ),
        ])
        .await?;
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    invite(
        &state.schools,
        &outbox,
        &state.config,
        tenant.entry(),
        &Invitee {
            name: Some(&name),
            email: &email,
            role,
        },
        Some(viewer.person_id),
    )
    .await?;
    Ok(Redirect::to("/admin/people?notice=invited").into_response())
}

#[derive(Debug, Serialize)]
struct InvitationPage<'a> {
    csrf: &'a str,
    token: &'a str,
    school_name: &'a str,
    name: &'a str,
    email: &'a str,
    /// The person has an account with a password: joining needs no new password.
    has_account: bool,
    mistake: Option<Mistake>,
}

/// The invitation behind a link, and whether the invited address already has an account
/// with a password.
async fn load(
    state: &AppState,
    tenant: &CurrentTenant,
    token: &SecretToken,
) -> Result<Option<(Invitation, bool)>, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let Some(invitation) = invitations::find(&mut tx, &token.hash(), false).await? else {
        return Ok(None);
    };
    let has_password = invitations::account_of(&mut tx, &invitation)
        .await?
        .is_some_and(|a| a.has_password && !a.disabled);
    tx.commit().await?;
    Ok(Some((invitation, has_password)))
}

fn ended(state: InvitationState) -> Option<EndedLink> {
    match state {
        InvitationState::Open => None,
        InvitationState::Used => Some(EndedLink::InvitationUsed),
        InvitationState::Expired => Some(EndedLink::InvitationExpired),
    }
}

/// An invitation link that still works, as the form shows it.
struct OpenInvitation<'a> {
    token: &'a SecretToken,
    invitation: &'a Invitation,
    has_account: bool,
}

/// The form: as the invitation names the person, or as sent (`typed_name`) with its mistake
/// (400).
fn render(
    state: &AppState,
    pages: &Pages,
    tenant: &CurrentTenant,
    csrf: &Csrf,
    open: &OpenInvitation<'_>,
    refused: Option<(&str, (&str, &str))>,
) -> Result<Response, AppError> {
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = InvitationPage {
        csrf: csrf.token(),
        token: open.token.expose(),
        school_name: &tenant.entry().display_name,
        name: refused.map_or(open.invitation.name.as_str(), |(typed_name, _)| typed_name),
        email: &open.invitation.email,
        has_account: open.has_account,
        mistake: refused.map(|(_, refusal)| mistake(state, pages.language(), refusal)),
    };
    pages.show_with(status, "registration/invitation.html", &page)
}

/// `GET /invitation/{token}`: the form to accept, or why the link no longer works.
pub async fn show_invitation(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let Some((invitation, has_account)) = load(&state, &tenant, &token).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(invitation.state(Utc::now())) {
        return ended_link_page(&pages, why);
    }
    render(
        &state,
        &pages,
        &tenant,
        &csrf,
        &OpenInvitation {
            token: &token,
            invitation: &invitation,
            has_account,
        },
        None,
    )
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    repeat: Option<String>,
}

/// A new account's name and password from the form, or the field that is wrong.
fn new_account_fields(
    form: &AcceptForm,
) -> Result<(PersonName, NewPassword), (&'static str, &'static str)> {
    crate::domain::new_account_fields(
        form.name.as_deref().unwrap_or_default(),
        form.password.as_deref().unwrap_or_default(),
        form.repeat.as_deref().unwrap_or_default(),
    )
}

/// `POST /invitation/{token}`: accepts. Creates the account (or uses the existing one),
/// links it to the school's person, uses the link up, and tells the inviter — one
/// transaction. Then on to sign in.
pub async fn accept_invitation(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    headers: http::HeaderMap,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> Result<Response, AppError> {
    let Some(token) = SecretToken::parse(&token) else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    let Some((invitation, has_account)) = load(&state, &tenant, &token).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(invitation.state(Utc::now())) {
        return ended_link_page(&pages, why);
    }
    // Check and hash before the transaction: argon2 takes a while, and no row waits on it.
    let chosen = if has_account {
        None
    } else {
        match new_account_fields(&form) {
            Ok((name, password)) => {
                let hash = state
                    .passwords
                    .hash(password.expose())
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                Some((name, hash))
            }
            Err(refusal) => {
                let csrf = Csrf::from_headers(&headers, &state);
                let typed_name = form
                    .name
                    .as_deref()
                    .unwrap_or_default()
                    .chars()
                    .take(100)
                    .collect::<String>();
                return render(
                    &state,
                    &pages,
                    &tenant,
                    &csrf,
                    &OpenInvitation {
                        token: &token,
                        invitation: &invitation,
                        has_account,
                    },
                    Some((&typed_name, refusal)),
                );
            }
        }
    };

    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // Locked: of two acceptances at once, the second finds the link used.
    let Some(invitation) = invitations::find(&mut tx, &token.hash(), true).await? else {
        return ended_link_page(&pages, EndedLink::Invalid);
    };
    if let Some(why) = ended(invitation.state(Utc::now())) {
        return ended_link_page(&pages, why);
    }
    let email = EmailAddress::parse(&invitation.email)
        .map_err(|e| AppError::bad_request("email", e.key()))?;
    let account_id = match invitation.account_id {
        Some(id) => id,
        None => {
            let name = chosen
                .as_ref()
                .map_or(invitation.name.as_str(), |(name, _)| name.as_str());
            accounts::find_or_create(&mut tx, &email, name, pages.language().tag()).await?
        }
    };
    if let Some((name, hash)) = &chosen {
        accounts::set_first_password(&mut tx, account_id, hash).await?;
        people::set_name(&mut tx, invitation.person_id, name.as_str()).await?;
    }
    people::link_account(&mut tx, invitation.person_id, account_id).await?;
    invitations::mark_used(&mut tx, invitation.id).await?;
    notices::add(&mut tx, invitation.person_id, NoticeKind::Welcome, None).await?;
    if let Some(inviter) = invitation.invited_by {
        notices::add(
            &mut tx,
            inviter,
            NoticeKind::InvitationAccepted,
            Some(invitation.person_id),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(
        account.id = account_id,
        person.id = invitation.person_id,
        "invitation accepted"
    );
    Ok(Redirect::to("/sign-in?notice=joined").into_response())
}
