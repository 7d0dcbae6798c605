//! House rules for the services' pages, checked on the source (no database):
//! (a) no SQL in any file under `services/*/src/routes/` (nothing of sqlx — a query
//!     function or macro, or a helper returning `sqlx::Error` — and no `SELECT `,
//!     `INSERT INTO`, `UPDATE `, `DELETE FROM` in a string literal): queries and the helpers
//!     around them live in the crate's `db` modules;
//! (b) no service uses another service's `routes` (`schoolplein_<other>::routes`, checked in
//!     every file of `services/*/src`): shared pieces live in kernel or outside `routes`;
//! (c) a route module uses no other route module: no `crate::routes::…` or `super::…` path
//!     in a file under `routes/` may lead outside that file's own module (its inline `tests`
//!     module may use `super::*`), so `routes/mod.rs` may name its submodules but no route
//!     module may reach an item of `routes/mod.rs` or of a sibling.
//! Comments are stripped before matching.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The SQL a string literal may hold: a keyword at the start of a word, then white space.
const SQL_TEXT: [&[&str]; 4] = [
    &["SELECT"],
    &["INSERT", "INTO"],
    &["UPDATE"],
    &["DELETE", "FROM"],
];

/// Names that only sqlx's query functions and macros have.
const SQL_NAMES: [&str; 6] = [
    "query_as",
    "query_scalar",
    "query_as_with",
    "query_scalar_with",
    "raw_sql",
    "QueryBuilder",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    /// A string literal's text (escapes left as written).
    Str(String),
    Other,
}

/// The file's tokens with the line each starts on; comments are dropped.
fn tokens(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br"…", cr#"…"#: no escapes, ends at the quote and as many #s.
            let mut j = i;
            while chars[j] != '"' {
                j += 1;
            }
            j += 1;
            let mut text = String::new();
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                text.push(chars[j]);
                j += 1;
            }
            out.push((Token::Str(text), start_line));
            i = j;
        } else if c == '"' || ((c == 'b' || c == 'c') && next == Some('"')) {
            let mut j = if c == '"' { i + 1 } else { i + 2 };
            let mut text = String::new();
            while j < chars.len() && chars[j] != '"' {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    text.push(chars[j]);
                    j += 1;
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                text.push(chars[j]);
                j += 1;
            }
            out.push((Token::Str(text), start_line));
            i = j + 1;
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            let q = if c == '\'' { i } else { i + 1 };
            if chars.get(q + 1) == Some(&'\\') {
                // An escaped character literal: up to its closing quote.
                let mut j = q + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if chars.get(q + 2) == Some(&'\'') {
                i = q + 3;
            } else {
                // A lifetime or label.
                let mut j = q + 1;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                i = j;
            }
            out.push((Token::Other, start_line));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (is_ident(chars[i]) || chars[i] == '.') {
                // Stop before a method call or range on a number (`1..=3`, `2.max(x)`).
                if chars[i] == '.' && !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                    break;
                }
                i += 1;
            }
            out.push((Token::Other, start_line));
        } else if is_ident(c) {
            let mut j = i;
            if c == 'r' && next == Some('#') {
                j += 2;
            }
            let begin = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            out.push((Token::Ident(chars[begin..j].iter().collect()), start_line));
            i = j;
        } else {
            let token = match (c, next) {
                (':', Some(':')) => {
                    i += 1;
                    Token::PathSep
                }
                ('{', _) => Token::Open,
                ('}', _) => Token::Close,
                (',', _) => Token::Comma,
                (';', _) => Token::Semi,
                ('*', _) => Token::Star,
                _ => Token::Other,
            };
            out.push((token, start_line));
            i += 1;
        }
    }
    out
}

/// The number of `#`s when a raw string literal starts at `i`.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if matches!(chars[j], 'b' | 'c') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some(hashes)
}

/// A path named in the code and the line it is on.
struct Named {
    segments: Vec<String>,
    line: usize,
    /// The inline modules (`mod tests { … }`) it is inside.
    inline_depth: usize,
}

/// Every path the file names: the leaves of its `use` trees, and each `a::b::c` elsewhere.
fn paths(tokens: &[(Token, usize)]) -> Vec<Named> {
    let mut out = Vec::new();
    // Brace depths at which an inline module was opened.
    let mut modules: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Open => {
                depth += 1;
                i += 1;
            }
            Token::Close => {
                if modules.last() == Some(&depth) {
                    modules.pop();
                }
                depth -= 1;
                i += 1;
            }
            Token::Ident(word) if word == "mod" => {
                if let (Some((Token::Ident(_), _)), Some((Token::Open, _))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    modules.push(depth + 1);
                }
                i += 1;
            }
            Token::Ident(word) if word == "use" => {
                let mut j = i + 1;
                let mut leaves = Vec::new();
                use_tree(tokens, &mut j, Vec::new(), &mut leaves);
                for (segments, line) in leaves {
                    out.push(Named {
                        segments,
                        line,
                        inline_depth: modules.len(),
                    });
                }
                i = j;
            }
            Token::Ident(first) => {
                let line = tokens[i].1;
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while let (Some((Token::PathSep, _)), Some((Token::Ident(next), _))) =
                    (tokens.get(j), tokens.get(j + 1))
                {
                    segments.push(next.clone());
                    j += 2;
                }
                out.push(Named {
                    segments,
                    line,
                    inline_depth: modules.len(),
                });
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads one use tree from `*at`, adding its leaves (full paths) to `leaves`.
fn use_tree(
    tokens: &[(Token, usize)],
    at: &mut usize,
    mut prefix: Vec<String>,
    leaves: &mut Vec<(Vec<String>, usize)>,
) {
    let mut line = tokens.get(*at).map_or(0, |t| t.1);
    loop {
        match tokens.get(*at) {
            Some((Token::Ident(word), l)) if word == "as" => {
                // The alias names nothing new.
                *at += 2;
                line = *l;
                leaves.push((prefix, line));
                return;
            }
            Some((Token::Ident(word), l)) => {
                prefix.push(word.clone());
                line = *l;
                *at += 1;
            }
            Some((Token::PathSep, _)) => *at += 1,
            Some((Token::Star, l)) => {
                prefix.push("*".to_owned());
                leaves.push((prefix, *l));
                *at += 1;
                return;
            }
            Some((Token::Open, _)) => {
                *at += 1;
                loop {
                    match tokens.get(*at) {
                        Some((Token::Close, _)) => {
                            *at += 1;
                            break;
                        }
                        Some((Token::Comma, _)) => *at += 1,
                        None => return,
                        _ => use_tree(tokens, at, prefix.clone(), leaves),
                    }
                }
                return;
            }
            _ => {
                if !prefix.is_empty() {
                    leaves.push((prefix, line));
                }
                return;
            }
        }
    }
}

/// The module a file under `src/` is: `routes/posts.rs` is `routes::posts`, `routes/mod.rs`
/// is `routes`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut segments: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// Where a path leads inside its crate, as module segments from the crate root, or `None`
/// when it starts elsewhere (another crate, a local name, `self`).
fn resolve(named: &Named, file_module: &[String]) -> Option<Vec<String>> {
    let segments = &named.segments;
    if segments.first().is_some_and(|s| s == "crate") {
        return Some(segments[1..].to_vec());
    }
    let ups = segments.iter().take_while(|s| *s == "super").count();
    if ups <= named.inline_depth {
        // Stays inside this file (`use super::*` in its tests).
        return None;
    }
    let ups = ups - named.inline_depth;
    let base = file_module.get(..file_module.len().checked_sub(ups)?)?;
    let mut target = base.to_vec();
    target.extend(segments.iter().skip_while(|s| *s == "super").cloned());
    Some(target)
}

/// Whether a path is database work: anything of sqlx (a query, or a helper that speaks the
/// database's errors), or a name only sqlx's query functions and macros have.
fn is_sql_path(segments: &[String]) -> bool {
    segments.first().is_some_and(|s| s == "sqlx")
        || segments.iter().any(|s| SQL_NAMES.contains(&s.as_str()))
}

/// SQL keywords in a string literal: the line (from the literal's first) and the keyword.
fn sql_in(text: &str) -> Option<(usize, String)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in text.char_indices() {
        if text[..at].chars().next_back().is_some_and(is_word) {
            continue;
        }
        'keyword: for keyword in SQL_TEXT {
            let mut rest = &text[at..];
            for word in keyword {
                let Some(after) = rest.strip_prefix(word) else {
                    continue 'keyword;
                };
                let trimmed = after.trim_start();
                if trimmed.len() == after.len() {
                    // Not followed by white space: another word, or the end of the text.
                    continue 'keyword;
                }
                rest = trimmed;
            }
            let line = text[..at].matches('\n').count();
            return Some((line, keyword.join(" ")));
        }
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn pages_hold_no_sql_and_use_no_other_pages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut services: Vec<PathBuf> = fs::read_dir(root.join("services"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    services.sort();
    assert!(!services.is_empty(), "no services under {}", root.display());

    // By file and line, so a query's call and its text make one entry.
    let mut sql: BTreeMap<(String, usize), Vec<String>> = BTreeMap::new();
    let mut other_services = Vec::new();
    let mut between_routes = Vec::new();
    for service in &services {
        let name = service.file_name().unwrap().to_string_lossy().into_owned();
        let own_crate = format!("schoolplein_{name}");
        let src = service.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let relative = file.strip_prefix(&src).unwrap();
            let module = module_of(relative);
            let in_routes = module.first().is_some_and(|m| m == "routes");
            let shown = format!("services/{name}/src/{}", relative.display());
            let source = fs::read_to_string(&file).unwrap();
            let tokens = tokens(&source);

            for named in paths(&tokens) {
                let at = format!("{shown}:{}", named.line);
                let segments = &named.segments;
                if let [first, second, ..] = segments.as_slice()
                    && first.starts_with("schoolplein_")
                    && *first != own_crate
                    && second == "routes"
                {
                    other_services.push(format!("{at}: {}", segments.join("::")));
                }
                if !in_routes {
                    continue;
                }
                if is_sql_path(segments) {
                    sql.entry((shown.clone(), named.line))
                        .or_default()
                        .push(segments.join("::"));
                }
                if let Some(target) = resolve(&named, &module)
                    && target.first().is_some_and(|s| s == "routes")
                    && !target.starts_with(&module)
                {
                    between_routes.push(format!("{at}: {}", segments.join("::")));
                }
            }
            if in_routes {
                for (token, line) in &tokens {
                    if let Token::Str(text) = token
                        && let Some((lines_in, keyword)) = sql_in(text)
                    {
                        sql.entry((shown.clone(), line + lines_in))
                            .or_default()
                            .push(format!("\"{keyword} …\""));
                    }
                }
            }
        }
    }

    let sql: Vec<String> = sql
        .into_iter()
        .map(|((file, line), found)| format!("{file}:{line}: {}", found.join(", ")))
        .collect();
    let mut report = String::new();
    for (rule, found) in [
        (
            "SQL in a route file (move it to the crate's db module)",
            &sql,
        ),
        (
            "another service's routes used (move the piece to kernel or the other crate's non-routes module)",
            &other_services,
        ),
        (
            "a route module using another route module (move the shared piece out of routes)",
            &between_routes,
        ),
    ] {
        if !found.is_empty() {
            writeln!(report, "{rule}: {}", found.len()).unwrap();
            for place in found {
                writeln!(report, "  {place}").unwrap();
            }
        }
    }
    assert!(report.is_empty(), "house rules broken:\n{report}");
}

#[test]
fn the_checks_see_what_they_should() {
    let source = r##"
        use crate::routes::{posts::{self, reader}, safe_next as next};
        use super::children::open_to; // crate::routes::groups in a comment
        use sqlx::query_as;
        fn f() {
            let url = "https://example.org/"; // SELECT x in a comment
            let lifetime: &'static str = "UPDATED is no SQL";
            let c = '"';
            sqlx::query(r#"SELECT 1
                FROM t"#);
            let q = "INSERT  INTO t";
            crate::routes::photos::sniff(b);
        }
        #[cfg(test)]
        mod tests {
            use super::*;
            use super::super::posts;
        }
    "##;
    let tokens = tokens(source);
    let module = vec!["routes".to_owned(), "albums".to_owned()];
    let named = paths(&tokens);
    let outside: Vec<String> = named
        .iter()
        .filter_map(|n| {
            resolve(n, &module)
                .filter(|t| t.first().is_some_and(|s| s == "routes") && !t.starts_with(&module))
                .map(|t| format!("{}:{}", n.line, t.join("::")))
        })
        .collect();
    assert_eq!(
        outside,
        [
            "2:routes::posts::self",
            "2:routes::posts::reader",
            "2:routes::safe_next",
            "3:routes::children::open_to",
            "12:routes::photos::sniff",
            "17:routes::posts",
        ]
    );
    let sql: Vec<(usize, String)> = tokens
        .iter()
        .filter_map(|(t, line)| match t {
            Token::Str(text) => sql_in(text).map(|(n, k)| (line + n, k)),
            _ => None,
        })
        .collect();
    assert_eq!(
        sql,
        [(9, "SELECT".to_owned()), (11, "INSERT INTO".to_owned())]
    );
    assert!(named.iter().any(|n| n.segments == ["sqlx", "query_as"]));
    assert!(named.iter().any(|n| n.segments == ["sqlx", "query"]));
    // A helper in a route file returning the database's own error is database work too.
    let helper = paths(&self::tokens(
        "async fn f(tx: &mut TenantTx) -> Result<(), sqlx::Error> { Ok(()) }",
    ));
    assert!(helper.iter().any(|n| is_sql_path(&n.segments)));
    assert!(named.iter().filter(|n| is_sql_path(&n.segments)).count() >= 2);
    let plain = paths(&self::tokens("fn g() -> Result<(), AppError> { Ok(()) }"));
    assert!(!plain.iter().any(|n| is_sql_path(&n.segments)));
}
