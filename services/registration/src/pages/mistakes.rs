//! A registration form sent back with a mistake: the refusal `(field, key)` the domain types
//! give, as the kernel's `Mistake`, and what was typed, for filling the form in again.

use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::{AppState, Language};

/// The mistake `key` at `field`, whose element has the field's name as its id.
pub fn mistake(state: &AppState, lang: Language, (field, key): (&str, &str)) -> Mistake {
    Mistake::at(&state.templates, lang, field, key, field)
}

/// What a form sent, from its named fields; passwords are never passed in, so never shown.
pub fn typed(fields: &[(&str, &str)]) -> Typed {
    let owned: Vec<(String, String)> = fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    Typed::of(&owned)
}
