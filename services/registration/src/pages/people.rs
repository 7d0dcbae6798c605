//! The school admin's page of the school's people, shown by the list and by the invitation
//! form when it comes back with a mistake.

use axum::response::Response;
use http::StatusCode;
use schoolplein_kernel::csrf::Csrf;
use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::{AppError, AppState, Pages, Viewer};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::people;
use crate::invitations::INVITABLE_ROLES;

const INVITABLE_ROLE_NAMES: [&str; 2] = [INVITABLE_ROLES[0].as_str(), INVITABLE_ROLES[1].as_str()];

#[derive(Debug, Serialize)]
struct PeoplePage<'a> {
    csrf: &'a str,
    people: Vec<people::ListedPerson>,
    me: i64,
    invited: bool,
    roles: &'a [&'static str],
    /// The invitation form as sent, when it came back with a mistake (else empty).
    typed: Typed,
    mistake: Option<Mistake>,
}

/// The people page; with `refused`, the invitation form as sent with its mistake (400).
pub async fn people_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    invited: bool,
    refused: Option<(Typed, Mistake)>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let people = people::list(&mut tx).await?;
    tx.commit().await?;
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (typed, mistake) = match refused {
        Some((typed, mistake)) => (typed, Some(mistake)),
        None => (Typed::default(), None),
    };
    let page = PeoplePage {
        csrf: csrf.token(),
        people,
        me: viewer.person_id,
        invited,
        roles: &INVITABLE_ROLE_NAMES,
        typed,
        mistake,
    };
    pages.show_with(status, "registration/people.html", &page)
}
