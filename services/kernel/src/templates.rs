//! Server-side HTML: Tera templates compiled into the binary, rendered with the page's texts.

use std::collections::HashMap;
use std::error::Error as _;

use serde::Serialize;
use tera::{Context, Tera};

use crate::i18n::{Catalog, CatalogError, Language};

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
const KERNEL_TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

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
        tera.register_filter("when", crate::dutch_time::when_filter);
        let mut all = KERNEL_TEMPLATES.to_vec();
        all.extend(self.templates);
        tera.add_raw_templates(all.clone())
            .map_err(|e| TemplateError::Tera {
                name: "(all)".into(),
                message: chain(&e),
            })?;
        let mut catalog = Catalog::default();
        for (language, name, text) in KERNEL_MESSAGES.iter().chain(&self.messages) {
            catalog.add(*language, name, text)?;
        }
        catalog.check_complete()?;
        let texts: HashMap<Language, serde_json::Value> = Language::ALL
            .iter()
            .map(|l| (*l, catalog.texts(*l)))
            .collect();
        let sources: HashMap<&str, &str> = all.iter().copied().collect();
        let texts_by_template = sources
            .keys()
            .map(|name| {
                let used = texts_used(name, &sources);
                let per_language = texts
                    .iter()
                    .map(|(language, full)| {
                        let subset = used.as_ref().map_or_else(|| full.clone(), |u| u.pick(full));
                        (*language, subset)
                    })
                    .collect();
                ((*name).to_owned(), per_language)
            })
            .collect();
        Ok(Templates {
            tera,
            catalog,
            texts,
            texts_by_template,
        })
    }
}

/// Compiled templates and the texts of every language.
#[derive(Debug)]
pub struct Templates {
    tera: Tera,
    catalog: Catalog,
    texts: HashMap<Language, serde_json::Value>,
    /// Per template, only the texts it (or a template it extends) names: the texts are
    /// copied into every page's context, and the whole catalogue cost a busy page a tenth
    /// of its time (docs/BENCHMARKS.md).
    texts_by_template: HashMap<String, HashMap<Language, serde_json::Value>>,
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
        self.render_in(name, language, page, true)
    }

    /// Renders `name`, a part of a page (rows kept rendered, `kernel::rendered`), in
    /// `language`: like [`Self::render`], without the frame, which the page around it shows.
    pub fn render_part(
        &self,
        name: &str,
        language: Language,
        part: &impl Serialize,
    ) -> Result<String, TemplateError> {
        self.render_in(name, language, part, false)
    }

    fn render_in(
        &self,
        name: &str,
        language: Language,
        page: &impl Serialize,
        framed: bool,
    ) -> Result<String, TemplateError> {
        let tera_error = |e: tera::Error| TemplateError::Tera {
            name: name.to_owned(),
            message: chain(&e),
        };
        let mut context = Context::from_serialize(page).map_err(tera_error)?;
        let texts = self
            .texts_by_template
            .get(name)
            .and_then(|by_language| by_language.get(&language))
            .unwrap_or(&self.texts[&language]);
        context.insert("t", texts);
        context.insert("lang", language.tag());
        // A page rendered while serving a school's request shows its frame; mails never do.
        if framed
            && !name.starts_with("mail/")
            && let Some(frame) = crate::frame::current()
        {
            context.insert("frame", &*frame);
        }
        self.tera.render(name, &context).map_err(tera_error)
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tera.get_template_names()
    }
}

/// The texts a template names, as paths of one or two keys under `t` (`t.portal.group.title`
/// needs `portal.group`; `t.site` alone needs all of `site`).
#[derive(Debug, Default, PartialEq, Eq)]
struct TextsUsed {
    paths: std::collections::BTreeSet<(String, Option<String>)>,
}

impl TextsUsed {
    /// The part of `full` these paths name.
    fn pick(&self, full: &serde_json::Value) -> serde_json::Value {
        let mut picked = serde_json::Map::new();
        for (first, second) in &self.paths {
            let Some(top) = full.get(first) else { continue };
            match second {
                None => {
                    picked.insert(first.clone(), top.clone());
                }
                Some(second) => {
                    let Some(inner) = top.get(second) else {
                        continue;
                    };
                    let entry = picked
                        .entry(first.clone())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()));
                    if let serde_json::Value::Object(map) = entry {
                        map.entry(second.clone()).or_insert_with(|| inner.clone());
                    }
                }
            }
        }
        serde_json::Value::Object(picked)
    }
}

/// What `name`, the templates it extends and those it includes name under `t`; `None` when
/// a template uses `t` in a way this cannot follow (then it gets every text).
fn texts_used(name: &str, sources: &HashMap<&str, &str>) -> Option<TextsUsed> {
    let mut used = TextsUsed::default();
    let mut next = vec![name];
    let mut seen = std::collections::HashSet::new();
    while let Some(current) = next.pop() {
        if !seen.insert(current) {
            continue;
        }
        let source = sources.get(current)?;
        for tag in tera_tags(source) {
            if let Some(included) = included(tag) {
                // An included template renders with the page's context, `t` too.
                next.push(included?);
                continue;
            }
            scan_tag(tag, &mut used.paths)?;
            if let Some(parent) = extended(tag) {
                next.push(parent);
            }
        }
    }
    Some(used)
}

/// The insides of `{{ … }}` and `{% … %}` in a template's source.
fn tera_tags(source: &str) -> impl Iterator<Item = &str> {
    let mut rest = source;
    std::iter::from_fn(move || {
        let start = rest.find(['{'])?;
        let after = &rest[start..];
        let close = if after.starts_with("{{") {
            "}}"
        } else if after.starts_with("{%") {
            "%}"
        } else {
            rest = &after[1..];
            return Some("");
        };
        let end = after.find(close).unwrap_or(after.len());
        let tag = &after[2..end.max(2)];
        rest = &after[(end + 2).min(after.len())..];
        Some(tag)
    })
}

/// The parent of `{% extends "parent" %}`.
fn extended(tag: &str) -> Option<&str> {
    let rest = tag
        .trim()
        .trim_start_matches('-')
        .trim_start()
        .strip_prefix("extends")?;
    Some(rest.trim().trim_end_matches('-').trim().trim_matches('"'))
}

/// The template of `{% include "name" %}`: `Some(None)` for an include this cannot follow (a
/// list of names, `ignore missing`), so the page gets every text rather than too few.
fn included(tag: &str) -> Option<Option<&str>> {
    let rest = tag
        .trim()
        .trim_start_matches('-')
        .trim_start()
        .strip_prefix("include")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim().trim_end_matches('-').trim();
    let name = ['"', '\'', '`'].into_iter().find_map(|quote| {
        rest.strip_prefix(quote)?
            .strip_suffix(quote)
            .filter(|name| !name.contains(quote))
    });
    Some(name)
}

/// Adds the `t.…` paths in one tag; `None` for a use of `t` that is not `t.key`.
fn scan_tag(
    tag: &str,
    paths: &mut std::collections::BTreeSet<(String, Option<String>)>,
) -> Option<()> {
    let bytes = tag.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let key_at = |from: usize| {
        let len = bytes[from..].iter().take_while(|b| ident(**b)).count();
        (len > 0).then(|| &tag[from..from + len])
    };
    let mut quote = None;
    for i in 0..bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        if b == b'"' || b == b'\'' || b == b'`' {
            quote = Some(b);
            continue;
        }
        let starts_word = i == 0 || !(ident(bytes[i - 1]) || bytes[i - 1] == b'.');
        let ends_word = bytes.get(i + 1).is_none_or(|n| !ident(*n));
        if b != b't' || !starts_word || !ends_word {
            continue;
        }
        if bytes.get(i + 1) != Some(&b'.') {
            return None;
        }
        let first = key_at(i + 2)?;
        let after_first = i + 2 + first.len();
        let second = (bytes.get(after_first) == Some(&b'.'))
            .then(|| key_at(after_first + 1))
            .flatten();
        paths.insert((first.to_owned(), second.map(str::to_owned)));
    }
    Some(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[(&str, Option<&str>)]) -> TextsUsed {
        TextsUsed {
            paths: list
                .iter()
                .map(|(a, b)| ((*a).to_owned(), b.map(str::to_owned)))
                .collect(),
        }
    }

    #[test]
    fn a_template_gets_the_texts_it_and_its_layout_name() {
        let sources: HashMap<&str, &str> = [
            (
                "layout.html",
                "<title>{{ t.site.name }}</title>{% block content %}{% endblock %}",
            ),
            (
                "page.html",
                r#"{% extends "layout.html" %}{% block content %}
                   {{ t.portal.group.title }} {{ t.portal.privacy.field[f] }} {{ x.t }}
                   {% if n.kind == "t" %}{{ t.notice[n.kind] | default(value="t") }}{% endif %}
                   what's {{ lang }}{% endblock %}"#,
            ),
            ("whole.html", "{{ t | json_encode }}"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            texts_used("page.html", &sources),
            Some(paths(&[
                ("notice", None),
                ("portal", Some("group")),
                ("portal", Some("privacy")),
                ("site", Some("name")),
            ]))
        );
        assert_eq!(texts_used("whole.html", &sources), None);
        assert_eq!(texts_used("missing.html", &sources), None);
    }

    #[test]
    fn a_template_gets_the_texts_of_what_it_includes() {
        let sources: HashMap<&str, &str> = [
            ("layout.html", "{{ t.site.name }}{% block scripts %}{% endblock %}"),
            (
                "page.html",
                r#"{% extends "layout.html" %}{% block scripts %}{% include "part.html" %}{% endblock %}
                   {{ t.portal.posts.title }}{% include 'part.html' %}"#,
            ),
            ("part.html", "{{ t.editor.bold }} {{ included }}{%- include \"inner.html\" -%}"),
            ("inner.html", "{{ t.editor.link }}"),
            ("listed.html", r#"{% include ["part.html", "inner.html"] %}"#),
            ("optional.html", r#"{% include "part.html" ignore missing %}"#),
            ("broken.html", r#"{% include "missing.html" %}"#),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            texts_used("page.html", &sources),
            Some(paths(&[
                ("editor", Some("bold")),
                ("editor", Some("link")),
                ("portal", Some("posts")),
                ("site", Some("name")),
            ]))
        );
        // What the scan cannot follow gets every text rather than too few.
        assert_eq!(texts_used("listed.html", &sources), None);
        assert_eq!(texts_used("optional.html", &sources), None);
        assert_eq!(texts_used("broken.html", &sources), None);
    }

    #[test]
    fn picking_keeps_only_the_named_parts() {
        let full = serde_json::json!({
            "site": {"name": "Schoolplein", "tagline": "…"},
            "portal": {"group": {"title": "Groep"}, "privacy": {"field": {"name": "Naam"}}, "other": {}},
            "notice": {"welcome": "Welkom"},
            "unused": {"a": "b"}
        });
        let picked = paths(&[
            ("notice", None),
            ("portal", Some("group")),
            ("portal", Some("privacy")),
            ("portal", Some("missing")),
            ("site", Some("name")),
        ])
        .pick(&full);
        assert_eq!(
            picked,
            serde_json::json!({
                "site": {"name": "Schoolplein"},
                "portal": {"group": {"title": "Groep"}, "privacy": {"field": {"name": "Naam"}}},
                "notice": {"welcome": "Welkom"}
            })
        );
    }

    #[test]
    fn a_form_with_a_mistake_names_it_once_at_its_field_and_on_top() {
        let page = (
            "page.html",
            r#"{% extends "layout.html" %}{% import "forms.html" as forms %}{% block content %}
{{ forms::summary(mistake=mistake, heading=t.form.not_saved) }}
<input id="title-field"{{ forms::invalid(mistake=mistake, field="title", id="title-field") }}>
{{ forms::error(mistake=mistake, field="title", id="title-field") }}
<input id="place"{{ forms::invalid(mistake=mistake, field="place", id="place") }}>
{{ forms::error(mistake=mistake, field="place", id="place") }}{% endblock content %}"#,
        );
        let templates = Templates::builder()
            .templates(&[page])
            .build()
            .expect("templates");
        let mistake = crate::forms::Mistake {
            field: "title".to_owned(),
            anchor: "title-field".to_owned(),
            message: "Vul een titel in, <b>niet</b> \"leeg\"".to_owned(),
        };
        let html = templates
            .render(
                "page.html",
                Language::Nl,
                &serde_json::json!({ "mistake": mistake }),
            )
            .expect("render");
        let escaped = "Vul een titel in, &lt;b&gt;niet&lt;&#x2F;b&gt; &quot;leeg&quot;";
        assert_eq!(html.matches(escaped).count(), 2, "{html}");
        assert!(html.contains(r##"<a href="#title-field">"##), "{html}");
        assert!(html.contains(r#"<input id="title-field" aria-invalid="true" aria-describedby="title-field-error">"#), "{html}");
        assert!(
            html.contains(r#"<p class="field-error" id="title-field-error">"#),
            "{html}"
        );
        assert!(html.contains(r#"<input id="place">"#), "{html}");
        assert!(html.contains("Er is niets opgeslagen"), "{html}");
        let clean = templates
            .render(
                "page.html",
                Language::Nl,
                &serde_json::json!({ "mistake": null }),
            )
            .expect("render without a mistake");
        assert!(
            !clean.contains("form-mistakes") && !clean.contains("aria-invalid"),
            "{clean}"
        );
    }
}
