//! What the calendar's pages share: whether the calendar is open to the viewer, and texts
//! from the catalogue with their placeholders filled in.

use std::sync::Arc;

use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::{AppError, AppState, Language, Viewer};
use tenant_router::CurrentTenant;

/// The school's settings, when the viewer may use the calendar: while the school has it
/// switched off it does not exist for parents (404) and staff keep it, to fill it first;
/// while the portal is closed to parents, parents get 403.
pub async fn calendar_open(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
) -> Result<Arc<SchoolSettings>, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    if !settings.is_on(Module::Calendar) {
        return Err(AppError::NotFound);
    }
    settings.open_to(viewer.is_staff())?;
    Ok(settings)
}

/// A text from the catalogue with `{name}` placeholders filled in.
pub fn text_with(
    state: &AppState,
    language: Language,
    key: &str,
    values: &[(&str, &str)],
) -> String {
    let text = state
        .templates
        .catalog()
        .get(language, key)
        .unwrap_or(key)
        .to_owned();
    values.iter().fold(text, |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}
