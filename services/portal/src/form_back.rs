//! A page whose form came back with a mistake: which of the page's forms it was, what that
//! form sent, and the mistake. The page shows that form as it was sent (400), with the mistake
//! in a summary on top of it and at its field, and every other form as stored.

use http::StatusCode;
use schoolplein_kernel::forms::{Mistake, Typed};
use schoolplein_kernel::{AppError, AppState, Language};
use serde::Serialize;

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
