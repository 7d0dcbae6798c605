//! Server-side HTML: Tera templates compiled into the binary, rendered with the page's texts.

use std::collections::HashMap;
use std::error::Error as _;

use serde::Serialize;
use tera::{Context, Tera};

use crate::i18n::{Catalog, CatalogError, Language};

/// The layout and pages every service builds on.
const KERNEL_TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("error.html", include_str!("../templates/error.html")),
];

const KERNEL_MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "kernel/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "kernel/en.toml",
        include_str!("../locales/en.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {message}")]
    Tera { name: String, message: String },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Collects templates and texts from every service, then checks and compiles them once.
#[derive(Debug, Default)]
pub struct TemplatesBuilder {
    templates: Vec<(&'static str, &'static str)>,
    messages: Vec<(Language, &'static str, &'static str)>,
}

impl TemplatesBuilder {
    pub fn templates(mut self, templates: &[(&'static str, &'static str)]) -> Self {
        self.templates.extend_from_slice(templates);
        self
    }

    pub fn messages(mut self, messages: &[(Language, &'static str, &'static str)]) -> Self {
        self.messages.extend_from_slice(messages);
        self
    }

    pub fn build(self) -> Result<Templates, TemplateError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        let mut all = KERNEL_TEMPLATES.to_vec();
        all.extend(self.templates);
        tera.add_raw_templates(all)
            .map_err(|e| TemplateError::Tera {
                name: "(all)".into(),
                message: chain(&e),
            })?;
        let mut catalog = Catalog::default();
        for (language, name, text) in KERNEL_MESSAGES.iter().chain(&self.messages) {
            catalog.add(*language, name, text)?;
        }
        catalog.check_complete()?;
        let texts = Language::ALL
            .iter()
            .map(|l| (*l, catalog.texts(*l)))
            .collect();
        Ok(Templates {
            tera,
            catalog,
            texts,
        })
    }
}

/// Compiled templates and the texts of every language.
#[derive(Debug)]
pub struct Templates {
    tera: Tera,
    catalog: Catalog,
    texts: HashMap<Language, serde_json::Value>,
}

impl Templates {
    pub fn builder() -> TemplatesBuilder {
        TemplatesBuilder::default()
    }

    /// Renders `name` in `language`. The page's own fields are at the top level; the texts
    /// are under `t` and the language tag is `lang`.
    pub fn render(
        &self,
        name: &str,
        language: Language,
        page: &impl Serialize,
    ) -> Result<String, TemplateError> {
        let tera_error = |e: tera::Error| TemplateError::Tera {
            name: name.to_owned(),
            message: chain(&e),
        };
        let mut context = Context::from_serialize(page).map_err(tera_error)?;
        context.insert("t", &self.texts[&language]);
        context.insert("lang", language.tag());
        self.tera.render(name, &context).map_err(tera_error)
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tera.get_template_names()
    }
}

/// Tera hides the useful part of an error in its causes.
fn chain(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
