//! Rich text in posts: what staff write — paragraphs, and a little HTML for emphasis, lists,
//! headings and links — made safe by an allow-list sanitiser before it is stored or shown.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Only these tags survive; everything else is dropped (its text kept, except for script and
/// style, whose content goes too). Links only to http(s) and mail addresses, never with the
/// power to reach back into the portal's page.
static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "strong",
            "b",
            "em",
            "i",
            "u",
            "ul",
            "ol",
            "li",
            "a",
            "h3",
            "h4",
            "blockquote",
        ])
        .add_tag_attributes("a", ["href"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true);
    builder
});

/// Paragraphs at blank lines; single line breaks stay inside a paragraph.
pub fn paragraphs(body: &str) -> Vec<String> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The safe HTML of a body: each paragraph (at blank lines) in `<p>`, single line breaks as
/// `<br>` (but not those next to a block's tag, as between the items of a list typed one per
/// line), then the sanitiser over the whole.
pub fn to_safe_html(body: &str) -> String {
    let html: String = paragraphs(body)
        .iter()
        .map(|p| format!("<p>{}</p>", with_line_breaks(p)))
        .collect();
    // A block inside a paragraph (a list, a heading) closes it: the parser leaves an empty
    // paragraph on either side, which would only add space. An empty paragraph is never
    // what was written (`paragraphs` drops blank ones), and removing a whole element from
    // the sanitiser's output cannot make markup of what remains.
    SANITISER.clean(&html).to_string().replace("<p></p>", "")
}

/// Tags of blocks: a line break next to one of them separates blocks, not lines of text.
const BLOCK_TAGS: [&str; 7] = ["p", "ul", "ol", "li", "h3", "h4", "blockquote"];

/// The name of the tag that `text` starts with (`<ul>`, `</li>`, `<h3 class="x">`: "ul",
/// "li", "h3"), lower case.
fn leading_tag(text: &str) -> Option<String> {
    let tag = text.strip_prefix('<')?;
    let tag = tag.strip_prefix('/').unwrap_or(tag);
    let end = tag.find(|c: char| !c.is_ascii_alphanumeric())?;
    matches!(tag[end..].chars().next(), Some('>' | ' ' | '\t' | '/'))
        .then(|| tag[..end].to_ascii_lowercase())
}

fn is_block_tag(tag: Option<String>) -> bool {
    tag.is_some_and(|name| BLOCK_TAGS.contains(&name.as_str()))
}

/// A paragraph's lines joined by `<br>`, except where a line ends or the next begins with a
/// block's tag.
fn with_line_breaks(paragraph: &str) -> String {
    let mut html = String::with_capacity(paragraph.len() + 16);
    let mut previous: Option<&str> = None;
    for line in paragraph.split('\n') {
        if let Some(previous) = previous {
            let previous = previous.trim_end();
            let ends_block = previous.ends_with('>')
                && previous
                    .rfind('<')
                    .is_some_and(|at| is_block_tag(leading_tag(&previous[at..])));
            let starts_block = is_block_tag(leading_tag(line.trim_start()));
            html.push_str(if ends_block || starts_block {
                "\n"
            } else {
                "<br>"
            });
        }
        html.push_str(line);
        previous = Some(line);
    }
    html
}

/// Plain text (posts from before rich text) as HTML: escaped paragraphs, line breaks kept.
pub fn plain_to_html(body: &str) -> String {
    paragraphs(body)
        .iter()
        .map(|p| {
            let text = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\n', "<br>");
            format!("<p>{text}</p>")
        })
        .collect()
}

/// How long a post's preview in a list is, at most.
pub const EXCERPT_CHARS: usize = 200;

/// A plain-text preview of a post for lists, from its safe HTML: the text from the first
/// paragraph that says something (a salutation such as "Beste ouders," is skipped), up to
/// [`EXCERPT_CHARS`] characters, cut at a word. Plain text: pages escape it as any text.
pub fn excerpt(safe_html: &str) -> Option<String> {
    let paragraphs = text_of(safe_html, false);
    let is_salutation = |p: &str| p.chars().count() <= 40 && p.trim_end().ends_with(',');
    let start = paragraphs
        .iter()
        .position(|p| !is_salutation(p))
        .unwrap_or(0);
    let text = paragraphs[start.min(paragraphs.len())..]
        .iter()
        .flat_map(|p| p.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= EXCERPT_CHARS {
        return Some(text);
    }
    let cut: String = text.chars().take(EXCERPT_CHARS).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |space| &cut[..space]);
    Some(format!(
        "{}…",
        at_word.trim_end_matches([',', '.', ';', ':'])
    ))
}

/// The sanitiser's HTML as plain-text paragraphs, for mails: line breaks kept, list items
/// as bullets, a link's address after its text. Expects this module's output (only the
/// allowed tags, attributes in double quotes), never raw input.
pub fn text_paragraphs(safe_html: &str) -> Vec<String> {
    text_of(safe_html, true)
}

/// The text of safe HTML in paragraphs; `for_mail` adds list bullets and a link's address
/// after its text (a preview leaves them out).
fn text_of(safe_html: &str, for_mail: bool) -> Vec<String> {
    let mut text = String::with_capacity(safe_html.len());
    let mut link: Option<String> = None;
    let mut rest = safe_html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .find(|part| !part.is_empty())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match (tag.starts_with('/'), name.as_str()) {
            (false, "br") => text.push('\n'),
            (false, "li") if for_mail => text.push_str("\n• "),
            (false, "li") => text.push('\n'),
            (true, "p" | "h3" | "h4" | "blockquote" | "ul" | "ol") => text.push_str("\n\n"),
            (false, "a") => {
                link = tag
                    .split_once("href=\"")
                    .and_then(|(_, after)| after.split_once('"'))
                    .map(|(href, _)| href.to_owned());
            }
            (true, "a") if for_mail => {
                if let Some(href) = link.take() {
                    let href = decode_entities(&href);
                    let address = href.strip_prefix("mailto:").unwrap_or(&href);
                    if !text.ends_with(address) {
                        text.push_str(&format!(" ({address})"));
                    }
                }
            }
            _ => {}
        }
    }
    text.push_str(rest);
    paragraphs(&decode_entities(&text))
        .into_iter()
        .map(|p| {
            p.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// The entities the sanitiser writes, back into characters.
fn decode_entities(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mails_get_the_text_of_the_safe_html() {
        let html = to_safe_html(
            "Beste ouders,\n\nWe gaan <b>vrijdag</b> naar het <a href=\"https://bos.nl/?a=1&b=2\">bos</a> &amp; de hei.\nNeem mee:\n\n<ul><li>laarzen</li><li>een jas</li></ul>\n\nMail <a href=\"mailto:juf@school.nl\">juf@school.nl</a> als 3 < 4.",
        );
        assert_eq!(
            text_paragraphs(&html),
            [
                "Beste ouders,",
                "We gaan vrijdag naar het bos (https://bos.nl/?a=1&b=2) & de hei.\nNeem mee:",
                "• laarzen\n• een jas",
                "Mail juf@school.nl als 3 < 4.",
            ]
        );
        // Old plain posts go through plain_to_html first: what was typed comes back.
        assert_eq!(
            text_paragraphs(&plain_to_html("a <b> & \"c\"\nd\n\ne")),
            ["a <b> & \"c\"\nd", "e"]
        );
    }

    #[test]
    fn allowed_markup_stays_and_paragraphs_are_made() {
        let html = to_safe_html(
            "Beste ouders,\n\nWe gaan <b>vrijdag</b> naar het <a href=\"https://bos.nl\">bos</a>.\nNeem mee:\n\n<ul><li>laarzen</li></ul>",
        );
        for kept in [
            "<p>Beste ouders,</p>",
            "<b>vrijdag</b>",
            "<a href=\"https://bos.nl\" rel=\"noopener noreferrer nofollow\">bos</a>",
            ".<br>Neem mee:",
            "<ul><li>laarzen</li></ul>",
        ] {
            assert!(html.contains(kept), "{kept} in {html}");
        }
    }

    #[test]
    fn blocks_get_no_line_breaks_and_leave_no_empty_paragraphs() {
        // A list typed one item per line, as most people would.
        assert_eq!(
            to_safe_html("Neem mee:\n<ul>\n<li>laarzen</li>\n<LI>een jas</LI>\n</ul>"),
            "<p>Neem mee:\n</p><ul>\n<li>laarzen</li>\n<li>een jas</li>\n</ul>"
        );
        // As the toolbar writes them: a block of its own between blank lines.
        assert_eq!(
            to_safe_html(
                "<h3>Schoolreis</h3>\nWe gaan <b>vrijdag</b>.\nNeem mee:\n\n<ol><li>laarzen</li></ol>"
            ),
            "<h3>Schoolreis</h3>\nWe gaan <b>vrijdag</b>.<br>Neem mee:<ol><li>laarzen</li></ol>"
        );
        // Lines of text, and inline tags at a line's edge, keep their breaks.
        assert_eq!(
            to_safe_html("<b>Let op</b>\n<a href=\"https://bos.nl\">bos</a>\n<br>x"),
            "<p><b>Let op</b><br><a href=\"https://bos.nl\" rel=\"noopener noreferrer nofollow\">bos</a><br><br>x</p>"
        );
        // A tag that merely begins like a block's is no block.
        assert_eq!(to_safe_html("<u>a</u>\n<ulx>b"), "<p><u>a</u><br>b</p>");
    }

    #[test]
    fn hostile_markup_is_made_inert() {
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">klik</a>",
            "<a href=\"data:text/html,<script>alert(1)</script>\">klik</a>",
            "<svg onload=alert(1)>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<p style=\"background:url(javascript:alert(1))\" onclick=\"alert(1)\">x</p>",
            "<style>body{display:none}</style>",
            "<form action=\"https://evil.example\"><input name=password></form>",
            "\"><script>alert(1)</script>",
            "<a href=\"  JaVaScRiPt:alert(1)\">x</a>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        ];
        for payload in payloads {
            let html = to_safe_html(payload).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "onclick",
                "javascript:",
                "data:",
                "<svg",
                "<iframe",
                "style",
                "<form",
                "<input",
                "<img",
                "<math",
            ] {
                assert!(!html.contains(bad), "{payload} -> {html}");
            }
            // The excerpt is plain text from the safe HTML: what looked like markup is text
            // there, and every page escapes it.
            let text = excerpt(&html).unwrap_or_default();
            assert!(!text.contains("<script"), "{payload} -> {text}");
        }
    }

    #[test]
    fn plain_text_stays_text() {
        assert_eq!(
            plain_to_html("a <b>\"&\"</b>\nb\n\nc"),
            "<p>a &lt;b&gt;&quot;&amp;&quot;&lt;/b&gt;<br>b</p><p>c</p>"
        );
    }

    #[test]
    fn an_excerpt_skips_the_salutation_and_stops_at_a_word_near_200_characters() {
        let html = to_safe_html("Beste ouders,\n\nHet <b>schoolreisje</b> & meer\n\nTweede");
        assert_eq!(
            excerpt(&html).as_deref(),
            Some("Het schoolreisje & meer Tweede")
        );
        assert_eq!(excerpt(""), None);
        let long = to_safe_html(&"woord ".repeat(100));
        let cut = excerpt(&long).unwrap();
        assert!(cut.ends_with("woord…"), "{cut}");
        assert!(cut.chars().count() <= EXCERPT_CHARS + 1);
        // Only a salutation: it is the text.
        assert_eq!(
            excerpt(&to_safe_html("Beste ouders,")).as_deref(),
            Some("Beste ouders,")
        );
    }
}
