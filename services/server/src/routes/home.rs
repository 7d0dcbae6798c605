//! A school's home page: its name and welcome text, read from the school's own schema, and
//! for a signed-in member the way to their notices, schools and account.

use axum::extract::State;
use axum::response::Html;
use schoolplein_kernel::{AppError, AppState, Lang, MaybeViewer, Role};
use schoolplein_registration::db::notices;
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

#[derive(Debug, sqlx::FromRow)]
struct SchoolProfile {
    name: String,
    welcome_text: String,
}

/// What a signed-in member sees above the school's text.
#[derive(Debug, Serialize)]
struct MemberBar {
    name: String,
    unread: i64,
    is_parent: bool,
    is_staff: bool,
    is_admin: bool,
}

#[derive(Debug, Serialize)]
struct HomePage {
    school_name: String,
    welcome_text: String,
    member: Option<MemberBar>,
}

pub async fn show_home(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(language): Lang,
    MaybeViewer(viewer): MaybeViewer,
) -> Result<Html<String>, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let profile: SchoolProfile = sqlx::query_as("SELECT name, welcome_text FROM school_profile")
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::Internal(format!("school {} has no profile", tenant.id())))?;
    let member = match viewer {
        Some(viewer) => Some(MemberBar {
            unread: notices::unread_count(&mut tx, viewer.person_id).await?,
            is_parent: viewer.has(Role::Parent),
            is_staff: viewer.roles.iter().any(|r| r.is_staff()),
            is_admin: viewer.has(Role::SchoolAdmin),
            name: viewer.name,
        }),
        None => None,
    };
    tx.commit().await?;
    let page = HomePage {
        school_name: profile.name,
        welcome_text: profile.welcome_text,
        member,
    };
    Ok(Html(state.templates.render(
        "home.html",
        language,
        &page,
    )?))
}
