//! The `CurrentTenant` extractor: the school a request was resolved to.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::StatusCode;
use http::request::Parts;

use crate::tenant::{TenantEntry, TenantId};

/// The school this request is for, put in place by the host dispatcher before any school
/// route runs. A handler that takes it can only be reached on a school's host.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Arc<TenantEntry>);

impl CurrentTenant {
    pub fn id(&self) -> TenantId {
        self.0.id
    }

    pub fn entry(&self) -> &TenantEntry {
        &self.0
    }
}

/// Returned when a school route is reached without a resolved school: a wiring mistake, so
/// it is a 500 that says nothing more.
#[derive(Debug)]
pub struct MissingTenant;

impl axum::response::IntoResponse for MissingTenant {
    fn into_response(self) -> axum::response::Response {
        tracing::error!("a school route ran without a resolved school");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentTenant {
    type Rejection = MissingTenant;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentTenant>()
            .cloned()
            .ok_or(MissingTenant)
    }
}
