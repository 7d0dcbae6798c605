//! A form sent back with a mistake: everything typed or ticked kept, and the mistake named
//! next to its field and in a summary on top that links to it ([`FormBack`] for a page with
//! several forms).

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::csrf::CSRF_FIELD;
use crate::{AppError, AppState, Language, Templates};

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
        Some(Mistake::at(
            templates,
            language,
            field,
            reason,
            &anchor(field),
        ))
    }

    /// The mistake the text at `key` names at `field`, whose element has the id `anchor`
    /// (the refusals `(field, key)` that code gives rather than an error).
    pub fn at(
        templates: &Templates,
        language: Language,
        field: &str,
        key: &str,
        anchor: &str,
    ) -> Mistake {
        Mistake {
            field: field.to_owned(),
            anchor: anchor.to_owned(),
            message: templates
                .catalog()
                .get(language, key)
                .unwrap_or(key)
                .to_owned(),
        }
    }
}

/// A page whose form came back with a mistake: which of the page's forms it was, what that
/// form sent, and the mistake. The page shows that form as it was sent (400), with the mistake
/// in a summary on top of it and at its field, and every other form as stored.
///
/// Flattened into a page's context: `sent_form` (the id of the form that came back; empty
/// when none did), `typed` (what it sent) and `mistake` (null when none). A template takes the
/// mistake and the typed values only for the form whose id is `sent_form`, so a page with
/// several forms names the mistake once, at the form that had it.
#[derive(Debug, Default, Serialize)]
pub struct FormBack {
    pub sent_form: String,
    pub typed: Typed,
    pub mistake: Option<Mistake>,
}

impl FormBack {
    /// The page as it is: no form came back.
    pub fn none() -> Self {
        Self::default()
    }

    /// Form `form` back with what it sent (`fields`) and the mistake `error` names, or
    /// `Err(error)` when the error is not about what was typed (a role, a token, a page gone).
    /// `anchor` maps a field's name to the id of the element that holds it.
    pub fn of(
        state: &AppState,
        language: Language,
        error: AppError,
        form: impl Into<String>,
        fields: &[(String, String)],
        anchor: impl Fn(&str) -> String,
    ) -> Result<Self, AppError> {
        match Mistake::of(&error, &state.templates, language, anchor) {
            Some(mistake) => Ok(Self {
                sent_form: form.into(),
                typed: Typed::of(fields),
                mistake: Some(mistake),
            }),
            None => Err(error),
        }
    }

    /// 400 when a form came back, 200 otherwise.
    pub fn status(&self) -> StatusCode {
        if self.mistake.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }
}

/// An anchor map for [`FormBack::of`]: the element ids of the fields named in `ids`, and the
/// field's own name for every other field.
pub fn anchors<'a>(ids: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> String + 'a {
    move |field| {
        ids.iter()
            .find(|(name, _)| *name == field)
            .map_or(field, |(_, id)| *id)
            .to_owned()
    }
}

/// The value a form sent for `name` (the last one, as [`Typed`] keeps it), or empty.
pub fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// Every value a form sent for a repeated `name` (ticked boxes), in order.
pub fn values<'a>(fields: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    fields
        .iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::{FormBack, Mistake, Typed};
    use crate::{AppError, Language, Templates};

    #[test]
    fn a_mistake_at_a_field_reads_its_text_and_one_of_an_error_the_same() {
        let templates = Templates::builder()
            .build()
            .expect("the kernel's templates");
        let key = "error.form_field_invalid";
        let text = templates.catalog().get(Language::En, key).expect("a text");
        let at = Mistake::at(&templates, Language::En, "title", key, "post-title");
        assert_eq!(
            (at.field.as_str(), at.anchor.as_str(), at.message.as_str()),
            ("title", "post-title", text)
        );
        let error = AppError::bad_request("title", key);
        let of = Mistake::of(&error, &templates, Language::En, |_| {
            "post-title".to_owned()
        })
        .expect("a mistake");
        assert_eq!(
            (of.field, of.anchor, of.message),
            (at.field, at.anchor, at.message)
        );
        // A key without a text shows as itself rather than nothing.
        let unknown = Mistake::at(&templates, Language::Nl, "q", "no.such.key", "q");
        assert_eq!(unknown.message, "no.such.key");
        assert_eq!(FormBack::none().status(), http::StatusCode::OK);
    }

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
