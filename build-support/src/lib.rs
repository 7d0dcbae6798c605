//! What the services' build scripts share: every file under a crate's `templates/` embedded
//! under its template name, so that adding a page needs no hand-kept list.

// A build script speaks to cargo through its standard output (`cargo:rerun-if-changed`).
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The name a template file is registered under: mails keep their path (`mail/portal/…`),
/// a page is named after its crate (`portal/timeline.html`) unless its path already says so;
/// with an empty `prefix` (the kernel's layout, the server's pages) the path itself.
pub fn template_name(prefix: &str, path: &str) -> String {
    if path.starts_with("mail/") || path.starts_with(prefix) {
        path.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

/// Writes `$OUT_DIR/templates.rs`: a `&[(&str, &str)]` of every file under the crate's
/// `templates/` (name, contents), sorted by name, for
/// `pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));`.
pub fn embed_templates(prefix: &str) {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("templates");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&root)
                .expect("under templates/")
                .to_str()
                .expect("UTF-8 template path")
                .replace(std::path::MAIN_SEPARATOR, "/");
            (template_name(prefix, &relative), path)
        })
        .collect();
    named.sort();
    let mut out = String::from("&[\n");
    for (name, path) in &named {
        writeln!(
            out,
            "    ({name:?}, include_str!({path:?})),",
            path = path
                .canonicalize()
                .expect("template path")
                .display()
                .to_string()
        )
        .expect("writing to a String");
    }
    out.push(']');
    let target =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("templates.rs");
    std::fs::write(target, out).expect("writing the generated template list");
}

/// Every file under `dir`, and each directory watched for new files.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if !path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::template_name;

    #[test]
    fn pages_take_their_crate_s_name_and_mails_keep_their_path() {
        assert_eq!(
            template_name("portal/", "timeline.html"),
            "portal/timeline.html"
        );
        assert_eq!(
            template_name("portal/", "mail/portal/welcome/subject.txt"),
            "mail/portal/welcome/subject.txt"
        );
        assert_eq!(
            template_name("mailing/", "mailing/dev_mail_list.html"),
            "mailing/dev_mail_list.html"
        );
        assert_eq!(template_name("", "layout.html"), "layout.html");
    }
}
