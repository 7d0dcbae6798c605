//! Answering with a page: the one way a handler turns a template and its context into HTML.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde::Serialize;

use crate::error::AppError;
use crate::i18n::{Lang, Language};
use crate::state::AppState;
use crate::templates::Templates;

/// The pages of a request, in the reader's language (chosen as [`Lang`] chooses it).
///
/// A page's form token needs no handling here: every school page passes the frame layer,
/// which hands a browser without a token the one the page's forms carry (the `Csrf`
/// extractor returns that same token), so a handler takes `Csrf` only to put the token in
/// its forms.
#[derive(Debug, Clone)]
pub struct Pages {
    templates: Arc<Templates>,
    language: Language,
}

impl Pages {
    /// The pages of `templates` in `language`, for code that has no request to extract from.
    pub fn new(templates: Arc<Templates>, language: Language) -> Self {
        Self {
            templates,
            language,
        }
    }

    /// The reader's language, for what a handler words itself (a mistake, a name).
    pub fn language(&self) -> Language {
        self.language
    }

    /// The templates and their texts, for what a handler looks up itself.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The part of a page `name` rendered with `part` as its context, for HTML kept with
    /// what the school cache keeps (`kernel::rendered`).
    pub fn render_part(&self, name: &str, part: &impl Serialize) -> Result<String, AppError> {
        Ok(self.templates.render_part(name, self.language, part)?)
    }

    /// The template `name` rendered with `page` as its context (200).
    pub fn show(&self, name: &str, page: &impl Serialize) -> Result<Response, AppError> {
        self.show_with(StatusCode::OK, name, page)
    }

    /// The template `name` rendered with `page`, answered with `status` (a form that came
    /// back with a mistake is a 400).
    pub fn show_with(
        &self,
        status: StatusCode,
        name: &str,
        page: &impl Serialize,
    ) -> Result<Response, AppError> {
        let html = Html(self.templates.render(name, self.language, page)?);
        Ok((status, html).into_response())
    }
}

impl FromRequestParts<AppState> for Pages {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let Lang(language) = Lang::from_request_parts(parts, state).await?;
        Ok(Self::new(Arc::clone(&state.templates), language))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::StatusCode;
    use http::header::{CONTENT_TYPE, SET_COOKIE};

    use super::Pages;
    use crate::{Language, Templates};

    #[tokio::test]
    async fn a_page_is_html_in_the_reader_s_language_with_the_status_asked_for() {
        let templates = Templates::builder()
            .build()
            .expect("the kernel's templates");
        let pages = Pages::new(Arc::new(templates), Language::En);
        let page = serde_json::json!({ "title": "Gone", "text": "The page is gone." });
        let shown = pages
            .show_with(StatusCode::GONE, "error.html", &page)
            .expect("the page");
        assert_eq!(shown.status(), StatusCode::GONE);
        assert!(
            shown.headers()[CONTENT_TYPE]
                .as_bytes()
                .starts_with(b"text/html")
        );
        // The frame layer, not the page, hands out the form token's cookie.
        assert!(shown.headers().get(SET_COOKIE).is_none());
        let body = axum::body::to_bytes(shown.into_body(), usize::MAX)
            .await
            .expect("the body");
        let html = String::from_utf8(body.to_vec()).expect("text");
        assert!(html.contains("<html lang=\"en\""), "{html}");
        assert!(html.contains("The page is gone."), "{html}");
        let ok = pages.show("error.html", &page).expect("the page");
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
