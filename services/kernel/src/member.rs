//! Who may open a page, said in the handler's arguments: `Member`, `Staff`, `Admin` and
//! `Writable<…>` refuse before the handler runs, with the same 403s everywhere.
//!
//! - `Member`: a member of this school (not blocked) whose pages are open to them: staff
//!   always, parents only while the school keeps the portal open to parents (T5).
//! - `Staff`: a school admin or a teacher. `Admin`: a school admin.
//! - `Writable<T>`: any of these who may also change things here (not made read-only, A6).
//!
//! Each derefs to the `Viewer`, so `&member` goes wherever a `&Viewer` is asked for. The
//! session is read once per request, whichever extractor asks first.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use tenant_router::CurrentTenant;

use crate::error::AppError;
use crate::settings::SchoolSettings;
use crate::state::AppState;
use crate::viewer::{Role, Viewer};

/// A member of this school whose pages are open to them (see the module's header).
#[derive(Debug, Clone)]
pub struct Member(Viewer);

/// A school admin or a teacher of this school.
#[derive(Debug, Clone)]
pub struct Staff(Viewer);

/// A school admin of this school.
#[derive(Debug, Clone)]
pub struct Admin(Viewer);

/// `T` (a `Member`, `Staff` or `Admin`) who may change things in this school: the school did
/// not make their use read-only (A6).
#[derive(Debug, Clone)]
pub struct Writable<T>(T);

impl Member {
    /// The viewer, for code that keeps it beyond the request.
    pub fn into_viewer(self) -> Viewer {
        self.0
    }
}

impl Staff {
    pub fn into_viewer(self) -> Viewer {
        self.0
    }
}

impl Admin {
    pub fn into_viewer(self) -> Viewer {
        self.0
    }
}

impl<T> Writable<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Deref for Member {
    type Target = Viewer;
    fn deref(&self) -> &Viewer {
        &self.0
    }
}

impl Deref for Staff {
    type Target = Viewer;
    fn deref(&self) -> &Viewer {
        &self.0
    }
}

impl Deref for Admin {
    type Target = Viewer;
    fn deref(&self) -> &Viewer {
        &self.0
    }
}

impl<T> Deref for Writable<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parents' pages answer only while the school keeps the portal open to parents; staff always
/// get in. The frame leaves the school's settings in the request; a request that did not pass
/// the frame reads them from the settings cache.
async fn portal_open_to(
    parts: &mut Parts,
    state: &AppState,
    viewer: &Viewer,
) -> Result<(), AppError> {
    if viewer.is_staff() {
        return Ok(());
    }
    let settings = match parts.extensions.get::<Arc<SchoolSettings>>() {
        Some(settings) => Arc::clone(settings),
        None => {
            let tenant = parts
                .extensions
                .get::<CurrentTenant>()
                .ok_or(AppError::NotFound)?;
            state.settings.get(&state.schools, tenant.id()).await?
        }
    };
    settings.open_to(false)
}

/// 403 unless the viewer has one of `roles`.
fn with_role(viewer: Viewer, roles: &[Role]) -> Result<Viewer, AppError> {
    if roles.iter().any(|r| viewer.has(*r)) {
        Ok(viewer)
    } else {
        Err(AppError::Forbidden {
            reason: "error.forbidden_role",
        })
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        portal_open_to(parts, state, &viewer).await?;
        Ok(Self(viewer))
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        with_role(viewer, &[Role::SchoolAdmin, Role::Teacher]).map(Self)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        with_role(viewer, &[Role::SchoolAdmin]).map(Self)
    }
}

impl<T> FromRequestParts<AppState> for Writable<T>
where
    T: FromRequestParts<AppState, Rejection = AppError> + Deref<Target = Viewer> + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let inner = T::from_request_parts(parts, state).await?;
        if inner.read_only {
            return Err(AppError::Forbidden {
                reason: "error.forbidden_read_only",
            });
        }
        Ok(Self(inner))
    }
}
