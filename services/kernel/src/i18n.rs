//! Languages and message catalogues: Dutch by default, English when the person asks for it.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::header::ACCEPT_LANGUAGE;
use http::request::Parts;
use serde::Serialize;

/// A language every page and mail is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Nl,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Nl, Language::En];

    /// The BCP 47 tag, for `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Nl => "nl",
            Self::En => "en",
        }
    }

    /// The language an account chose, by its stored tag; Dutch for no account or an unknown
    /// tag (mails to people without an account are written in Dutch).
    pub fn of_account(tag: Option<&str>) -> Self {
        tag.and_then(Self::from_tag).unwrap_or(Self::Nl)
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("nl") {
            Some(Self::Nl)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Self::En)
        } else {
            None
        }
    }

    /// Picks the language from an `Accept-Language` header: the most preferred one we speak,
    /// Dutch when none matches or the header is missing or garbled.
    pub fn negotiate(accept_language: Option<&str>) -> Self {
        let Some(header) = accept_language else {
            return Self::Nl;
        };
        let mut best: Option<(u16, Language)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality);
            let (Some(language), Some(quality)) = (Self::from_tag(tag), quality) else {
                continue;
            };
            // Ties keep the earlier entry, as the header lists them in order of preference.
            if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map_or(Self::Nl, |(_, language)| language)
    }
}

/// Parses a q-value (`0.8`) into thousandths; `None` when malformed.
fn parse_quality(raw: &str) -> Option<u16> {
    let value: f32 = raw.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// The language of the current request: the signed-in person's own choice (my account),
/// otherwise what the browser asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub Language);

impl FromRequestParts<crate::AppState> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let language = match crate::viewer::signed_in_language(parts, state).await {
            Some(language) => language,
            None => language_of(parts),
        };
        if let Some(chosen) = parts.extensions.get::<ChosenLanguage>() {
            let _ = chosen.0.set(language);
        }
        Ok(Lang(language))
    }
}

/// Where a page's handler leaves the language it chose, so that an error page for the same
/// request speaks it too (the error renderer puts it in place before the handler runs).
#[derive(Debug, Clone, Default)]
pub struct ChosenLanguage(pub std::sync::Arc<std::sync::OnceLock<Language>>);

/// The language a request asks for.
pub fn language_of(parts: &Parts) -> Language {
    let header = parts
        .headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Language::negotiate(header)
}

/// Interface texts per language: flat keys (`home.welcome_heading`) to texts.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    messages: BTreeMap<Language, BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{source_name}: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("{source_name}: `{key}` is defined twice")]
    Duplicate { source_name: String, key: String },
    #[error("`{key}` exists in {present} but not in {missing}")]
    Missing {
        key: String,
        present: &'static str,
        missing: &'static str,
    },
}

impl Catalog {
    /// Adds a TOML file of texts; nested tables become dotted keys.
    pub fn add(
        &mut self,
        language: Language,
        source_name: &str,
        toml_text: &str,
    ) -> Result<(), CatalogError> {
        let table: toml::Table =
            toml_text
                .parse()
                .map_err(|e: toml::de::Error| CatalogError::Parse {
                    source_name: source_name.to_owned(),
                    message: e.to_string(),
                })?;
        let target = self.messages.entry(language).or_default();
        flatten(source_name, "", table, target)
    }

    /// Checks that every language has exactly the same keys.
    pub fn check_complete(&self) -> Result<(), CatalogError> {
        let empty = BTreeMap::new();
        for a in Language::ALL {
            for b in Language::ALL {
                let (left, right) = (
                    self.messages.get(&a).unwrap_or(&empty),
                    self.messages.get(&b).unwrap_or(&empty),
                );
                if let Some(key) = left.keys().find(|k| !right.contains_key(*k)) {
                    return Err(CatalogError::Missing {
                        key: key.clone(),
                        present: a.tag(),
                        missing: b.tag(),
                    });
                }
            }
        }
        Ok(())
    }

    /// All texts of one language, nested again for use in templates as `t.home.welcome`.
    pub fn texts(&self, language: Language) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        for (key, text) in self.messages.get(&language).into_iter().flatten() {
            let mut node = &mut root;
            let mut parts = key.split('.').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    node.insert(part.to_owned(), serde_json::Value::String(text.clone()));
                } else {
                    let child = node
                        .entry(part.to_owned())
                        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                    let serde_json::Value::Object(child) = child else {
                        break;
                    };
                    node = child;
                }
            }
        }
        serde_json::Value::Object(root)
    }

    /// One text, for code that builds messages outside templates.
    pub fn get(&self, language: Language, key: &str) -> Option<&str> {
        self.messages.get(&language)?.get(key).map(String::as_str)
    }
}

fn flatten(
    source_name: &str,
    prefix: &str,
    table: toml::Table,
    target: &mut BTreeMap<String, String>,
) -> Result<(), CatalogError> {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(source_name, &full, inner, target)?,
            toml::Value::String(text) => {
                if target.insert(full.clone(), text).is_some() {
                    return Err(CatalogError::Duplicate {
                        source_name: source_name.to_owned(),
                        key: full,
                    });
                }
            }
            _ => {
                return Err(CatalogError::Parse {
                    source_name: source_name.to_owned(),
                    message: format!("`{full}` must be text"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_without_a_known_language_is_written_to_in_dutch() {
        assert_eq!(Language::of_account(Some("en")), Language::En);
        assert_eq!(Language::of_account(Some("nl-BE")), Language::Nl);
        assert_eq!(Language::of_account(Some("fr")), Language::Nl);
        assert_eq!(Language::of_account(None), Language::Nl);
    }

    #[test]
    fn negotiates_by_preference_and_defaults_to_dutch() {
        assert_eq!(Language::negotiate(None), Language::Nl);
        assert_eq!(Language::negotiate(Some("en-GB,en;q=0.9")), Language::En);
        assert_eq!(
            Language::negotiate(Some("nl-NL,nl;q=0.9,en;q=0.8")),
            Language::Nl
        );
        assert_eq!(
            Language::negotiate(Some("de-DE,en;q=0.5,nl;q=0.7")),
            Language::Nl
        );
        assert_eq!(Language::negotiate(Some("de,fr")), Language::Nl);
        assert_eq!(Language::negotiate(Some("en;q=0,nl;q=0.1")), Language::Nl);
        assert_eq!(Language::negotiate(Some("EN-us")), Language::En);
        assert_eq!(Language::negotiate(Some("en;q=abc")), Language::Nl);
        assert_eq!(Language::negotiate(Some(";;;,,,q=")), Language::Nl);
        assert_eq!(Language::negotiate(Some("*")), Language::Nl);
    }

    #[test]
    fn catalogs_nest_and_must_match() {
        let mut catalog = Catalog::default();
        catalog
            .add(Language::Nl, "nl", "[home]\ntitle = \"Welkom\"")
            .unwrap();
        catalog
            .add(Language::En, "en", "[home]\ntitle = \"Welcome\"")
            .unwrap();
        catalog.check_complete().unwrap();
        assert_eq!(catalog.texts(Language::En)["home"]["title"], "Welcome");
        assert_eq!(catalog.get(Language::Nl, "home.title"), Some("Welkom"));
        catalog.add(Language::Nl, "nl2", "extra = \"x\"").unwrap();
        assert!(matches!(
            catalog.check_complete(),
            Err(CatalogError::Missing { .. })
        ));
        assert!(
            catalog
                .add(Language::Nl, "nl3", "[home]\ntitle = \"Nogmaals\"")
                .is_err()
        );
    }
}
