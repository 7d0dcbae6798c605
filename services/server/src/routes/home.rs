//! A school's home page: its name and welcome text, read from the school's own schema.

use axum::extract::State;
use axum::response::Html;
use schoolplein_kernel::{AppError, AppState, Lang};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

#[derive(Debug, sqlx::FromRow)]
struct SchoolProfile {
    name: String,
    welcome_text: String,
}

#[derive(Debug, Serialize)]
struct HomePage {
    school_name: String,
    welcome_text: String,
}

pub async fn show_home(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(language): Lang,
) -> Result<Html<String>, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.db, tenant.id()).await?;
    let profile: SchoolProfile = sqlx::query_as("SELECT name, welcome_text FROM school_profile")
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::Internal(format!("school {} has no profile", tenant.id())))?;
    tx.commit().await?;
    let page = HomePage {
        school_name: profile.name,
        welcome_text: profile.welcome_text,
    };
    Ok(Html(state.templates.render(
        "home.html",
        language,
        &page,
    )?))
}
