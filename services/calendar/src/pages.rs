//! What the calendar's pages share: texts from the catalogue with their placeholders filled in.

use schoolplein_kernel::{AppState, Language};

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
