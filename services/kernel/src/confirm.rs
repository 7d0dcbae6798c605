//! Asking before something is lost: one page for every destructive action, naming what goes
//! with it, with a red button that does it and a way back that does nothing.

use axum::response::Response;
use serde::Serialize;

use crate::csrf::Csrf;
use crate::error::AppError;
use crate::i18n::Language;
use crate::page::Pages;
use crate::state::AppState;

/// What the confirmation page says and where its buttons lead. Texts are ready to show.
#[derive(Debug, Serialize)]
pub struct Confirmation {
    /// The question as a heading ("Album verwijderen?").
    pub title: String,
    /// What it is about: the album's name, the pupil whose code is replaced.
    pub subject: String,
    /// What goes with it ("12 foto's"); empty when nothing else is lost.
    pub loses: Vec<String>,
    /// A further word of warning ("Ouders met de oude brief kunnen zich niet meer aanmelden.").
    pub note: Option<String>,
    /// Where the red button posts: a path this server built (shown unescaped).
    pub action: String,
    pub button: String,
    /// Where "Annuleren" leads: the page the action was offered on (a path this server built).
    pub cancel: String,
    /// The id of the action (`delete-album`): the buttons are `{id}-confirm` and `{id}-cancel`.
    pub id: &'static str,
    #[serde(skip)]
    language: Language,
}

#[derive(Serialize)]
struct ConfirmPage<'a> {
    confirm: &'a Confirmation,
    csrf: &'a str,
}

impl Confirmation {
    /// A confirmation whose title, button and note are the texts at these keys.
    pub fn new(
        state: &AppState,
        language: Language,
        id: &'static str,
        keys: ConfirmKeys,
        subject: impl Into<String>,
        action: impl Into<String>,
        cancel: impl Into<String>,
    ) -> Confirmation {
        let catalog = state.templates.catalog();
        let text = |key: &str| catalog.get(language, key).unwrap_or(key).to_owned();
        Confirmation {
            title: text(keys.title),
            subject: subject.into(),
            loses: Vec::new(),
            note: keys.note.map(text),
            action: action.into(),
            button: text(keys.button),
            cancel: cancel.into(),
            id,
            language,
        }
    }

    /// Adds "N things" to what is lost, when N > 0: `key` names many, `{key}_one` one.
    pub fn loses_count(mut self, state: &AppState, count: i64, key: &str) -> Confirmation {
        if count > 0 {
            let catalog = state.templates.catalog();
            let one = format!("{key}_one");
            let word = if count == 1 {
                catalog.get(self.language, &one)
            } else {
                catalog.get(self.language, key)
            }
            .unwrap_or(key);
            self.loses.push(format!("{count} {word}"));
        }
        self
    }

    /// Adds a line, as it is, to what is lost.
    pub fn loses(mut self, line: impl Into<String>) -> Confirmation {
        self.loses.push(line.into());
        self
    }

    /// The page, with the form token it posts (the frame hands a browser without one the
    /// token's cookie).
    pub fn respond(&self, state: &AppState, csrf: Csrf) -> Result<Response, AppError> {
        Pages::new(state.templates.clone(), self.language).show(
            "confirm.html",
            &ConfirmPage {
                confirm: self,
                csrf: csrf.token(),
            },
        )
    }
}

/// The catalogue keys of a confirmation's texts.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmKeys {
    pub title: &'static str,
    pub button: &'static str,
    pub note: Option<&'static str>,
}
