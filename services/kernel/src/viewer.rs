//! Who is asking: `SignedIn` (any school), `Viewer` (a member of this school, not blocked) and
//! `MaybeViewer`, read from the session cookie, Redis and one platform query (its answer kept
//! per account and school, see `account_cache`). Handlers that limit who may open them name
//! `member::{Member, Staff, Admin, Writable}` instead.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use tenant_router::CurrentTenant;

use crate::cookies::cookies;
use crate::error::AppError;
use crate::i18n::Language;
use crate::session::{SESSION_COOKIE, Sessions};
use crate::state::AppState;
use crate::tokens::{SecretToken, TokenHash};

/// The roles a person can have in a school (A9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SchoolAdmin,
    Teacher,
    Parent,
    ClassParent,
    LiceCheckParent,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SchoolAdmin,
        Role::Teacher,
        Role::Parent,
        Role::ClassParent,
        Role::LiceCheckParent,
    ];

    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::SchoolAdmin => "school_admin",
            Role::Teacher => "teacher",
            Role::Parent => "parent",
            Role::ClassParent => "class_parent",
            Role::LiceCheckParent => "lice_check_parent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Staff roles; the others belong to parents.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::SchoolAdmin | Role::Teacher)
    }
}

/// A signed-in person, whatever school this is.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub language: Language,
    /// The session in use (to end it, or to keep it when ending the others).
    pub session: TokenHash,
    /// The session was started with "keep me signed in".
    pub kept: bool,
    /// This person's membership of the school at this host, if any.
    pub membership: Option<Membership>,
    /// Mail to their address does not arrive (N4): their pages say so until they fix it.
    pub mail_undeliverable: bool,
}

/// Membership of the school at this host.
#[derive(Debug, Clone)]
pub struct Membership {
    pub person_id: i64,
    pub roles: Vec<Role>,
    pub blocked: bool,
    /// The school made this member's use read-only (A6).
    pub read_only: bool,
}

/// A signed-in member of this school who is not blocked here.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub account_id: i64,
    pub person_id: i64,
    pub name: String,
    pub language: Language,
    pub roles: Vec<Role>,
    pub session: TokenHash,
    /// May read, not change anything in this school (A6).
    pub read_only: bool,
}

impl Viewer {
    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// `Some` when a member of this school is signed in.
#[derive(Debug, Clone)]
pub struct MaybeViewer(pub Option<Viewer>);

/// Loaded once per request and kept in its extensions, whichever extractor asks first.
#[derive(Debug, Clone)]
struct Loaded(Option<Arc<SignedIn>>);

pub(crate) async fn load(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<Arc<SignedIn>>, AppError> {
    if let Some(Loaded(loaded)) = parts.extensions.get::<Loaded>() {
        return Ok(loaded.clone());
    }
    // Several session cookies can arrive (one for the base domain, one for this host): the
    // first that names a live session counts.
    let tokens: Vec<SecretToken> = cookies(&parts.headers, SESSION_COOKIE)
        .filter_map(SecretToken::parse)
        .take(3)
        .collect();
    let sessions = Sessions::from_state(state);
    let mut live = None;
    for token in tokens {
        if let Some(session) = sessions.load(&token).await? {
            live = Some((token, session));
            break;
        }
    }
    let signed_in = match live {
        None => None,
        Some((token, session)) => {
            let tenant = parts.extensions.get::<CurrentTenant>().map(|t| t.id());
            // Only GET and HEAD may be answered from memory: any other request may change
            // the account, and the page it leads to must show that.
            let may_keep = matches!(parts.method, http::Method::GET | http::Method::HEAD);
            let row = state
                .accounts
                .account(&state.db, session.account_id, tenant, may_keep)
                .await?;
            row.map(|row| {
                tracing::Span::current().record("account.id", session.account_id);
                Arc::new(SignedIn {
                    account_id: session.account_id,
                    name: row.name.clone(),
                    email: row.email.clone(),
                    language: Language::of_account(Some(&row.language)),
                    session: token.hash(),
                    kept: session.keep,
                    mail_undeliverable: row.mail_undeliverable,
                    membership: row.person_id.map(|person_id| Membership {
                        person_id,
                        roles: row
                            .roles
                            .iter()
                            .flatten()
                            .filter_map(|r| Role::parse(r))
                            .collect(),
                        blocked: row.blocked.unwrap_or(false),
                        read_only: row.read_only.unwrap_or(false),
                    }),
                })
            })
        }
    };
    parts.extensions.insert(Loaded(signed_in.clone()));
    Ok(signed_in)
}

/// The language a signed-in person chose for their pages; `None` when nobody is signed in
/// (or the session cannot be read: the browser's language serves then).
pub(crate) async fn signed_in_language(parts: &mut Parts, state: &AppState) -> Option<Language> {
    match load(parts, state).await {
        Ok(signed_in) => signed_in.map(|s| s.language),
        Err(error) => {
            tracing::warn!(%error, "cannot read the session for the page's language");
            None
        }
    }
}

/// Where to come back to after signing in: this request's path and query.
fn here(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned()
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match load(parts, state).await? {
            Some(signed_in) => Ok((*signed_in).clone()),
            None => Err(AppError::SignInRequired { next: here(parts) }),
        }
    }
}

impl FromRequestParts<AppState> for Option<SignedIn> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(load(parts, state).await?.map(|s| (*s).clone()))
    }
}

pub(crate) fn viewer_of(signed_in: &SignedIn) -> Result<Viewer, AppError> {
    match &signed_in.membership {
        None => Err(AppError::Forbidden {
            reason: "error.forbidden_not_member",
        }),
        Some(m) if m.blocked => Err(AppError::Forbidden {
            reason: "error.forbidden_blocked",
        }),
        Some(m) => Ok(Viewer {
            account_id: signed_in.account_id,
            person_id: m.person_id,
            name: signed_in.name.clone(),
            language: signed_in.language,
            roles: m.roles.clone(),
            session: signed_in.session,
            read_only: m.read_only,
        }),
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match load(parts, state).await? {
            Some(signed_in) => viewer_of(&signed_in),
            None => Err(AppError::SignInRequired { next: here(parts) }),
        }
    }
}

impl FromRequestParts<AppState> for MaybeViewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeViewer(
            load(parts, state).await?.and_then(|s| viewer_of(&s).ok()),
        ))
    }
}
