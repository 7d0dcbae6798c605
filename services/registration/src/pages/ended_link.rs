//! The page for a mailed link that no longer works: unknown, used, or expired — saying
//! which, and what to do instead.

use axum::response::Response;
use http::StatusCode;
use schoolplein_kernel::{AppError, Pages};
use serde::Serialize;

/// Why a link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedLink {
    /// No such link (mistyped, cut off, or from another school).
    Invalid,
    InvitationUsed,
    InvitationExpired,
    ResetUsed,
    ResetExpired,
    EmailChangeUsed,
    EmailChangeExpired,
    RegistrationUsed,
    RegistrationExpired,
}

impl EndedLink {
    fn key(self) -> &'static str {
        match self {
            Self::Invalid => "link_invalid",
            Self::InvitationUsed => "invitation_used",
            Self::InvitationExpired => "invitation_expired",
            Self::ResetUsed => "reset_used",
            Self::ResetExpired => "reset_expired",
            Self::EmailChangeUsed => "email_change_used",
            Self::EmailChangeExpired => "email_change_expired",
            Self::RegistrationUsed => "registration_used",
            Self::RegistrationExpired => "registration_expired",
        }
    }

    /// 404 for a link that never existed; 410 for one that did and is gone.
    fn status(self) -> StatusCode {
        match self {
            Self::Invalid => StatusCode::NOT_FOUND,
            _ => StatusCode::GONE,
        }
    }

    /// Whether asking for a new password is the way on.
    fn offers_reset(self) -> bool {
        matches!(self, Self::ResetUsed | Self::ResetExpired)
    }
}

#[derive(Debug, Serialize)]
struct EndedLinkPage {
    reason: &'static str,
    offer_reset: bool,
}

/// The page saying why the link does not work (404 or 410).
pub fn ended_link_page(pages: &Pages, why: EndedLink) -> Result<Response, AppError> {
    pages.show_with(
        why.status(),
        "registration/link_ended.html",
        &EndedLinkPage {
            reason: why.key(),
            offer_reset: why.offers_reset(),
        },
    )
}
