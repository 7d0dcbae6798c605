//! A form sent back with a mistake: everything typed or ticked kept, and the mistake named
//! next to its field and in a summary on top that links to it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::csrf::CSRF_FIELD;
use crate::{AppError, Language, Templates};

/// What a form sent, for filling the form in again: a field's value under `one` (the last one
/// sent), and every value of a repeated field (ticked boxes) under `many`.
#[derive(Debug, Default, Serialize)]
pub struct Typed {
    pub one: BTreeMap<String, String>,
    pub many: BTreeMap<String, Vec<String>>,
}

impl Typed {
    /// The fields as the form sent them, without its token.
    pub fn of(fields: &[(String, String)]) -> Self {
        let mut typed = Typed::default();
        for (name, value) in fields.iter().filter(|(name, _)| name != CSRF_FIELD) {
            typed.one.insert(name.clone(), value.clone());
            typed
                .many
                .entry(name.clone())
                .or_default()
                .push(value.clone());
        }
        typed
    }
}

/// A form with nothing but its token: a button that signs out, deletes or confirms.
#[derive(Debug, Deserialize)]
pub struct TokenOnly {}

/// A mistake in a form, in the reader's language, at the field it concerns.
#[derive(Debug, Serialize)]
pub struct Mistake {
    /// The form field's name (`title`, `groups`, `q2_options`).
    pub field: String,
    /// The id of the element the summary links to.
    pub anchor: String,
    pub message: String,
}

impl Mistake {
    /// The mistake a refusal names, or `None` when the error is not about what was typed.
    /// `anchor` maps a field's name to the id of the element that holds it.
    pub fn of(
        error: &AppError,
        templates: &Templates,
        language: Language,
        anchor: impl Fn(&str) -> String,
    ) -> Option<Mistake> {
        let AppError::BadRequest { field, reason } = error else {
            return None;
        };
        let message = templates
            .catalog()
            .get(language, reason)
            .unwrap_or(reason.as_str())
            .to_owned();
        Some(Mistake {
            anchor: anchor(field),
            field: field.to_string(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Typed;

    #[test]
    fn typed_keeps_every_ticked_box_and_drops_the_token() {
        let sent: Vec<(String, String)> = [
            ("csrf", "secret"),
            ("title", "Schoolreisje"),
            ("groups", "3"),
            ("groups", "4"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let typed = Typed::of(&sent);
        assert_eq!(typed.one["title"], "Schoolreisje");
        assert_eq!(typed.many["groups"], ["3", "4"]);
        assert!(!typed.one.contains_key("csrf"));
    }
}
