//! PDF documents of the school (class lists, letters, conference overviews): A4 pages of text
//! set in the configured TrueType fonts, made on a blocking thread (a class's letters take tens
//! of milliseconds of CPU).

use std::sync::Arc;

use crate::state::PdfFonts;
use krilla::Document;
use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};

/// A4 in points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 64.0;

/// One piece of a page, top to bottom.
#[derive(Debug, Clone)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    /// Large and bold: what must be typed over (an activation code).
    Emphasis(String),
    /// Small print.
    Note(String),
    Space(f32),
}

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the configured font cannot be read as TrueType")]
    Font,
    #[error("writing the PDF: {0}")]
    Write(String),
}

/// The document's fonts.
#[derive(Clone)]
struct Fonts {
    regular: Font,
    bold: Font,
}

impl Fonts {
    fn new(fonts: &PdfFonts) -> Result<Self, PdfError> {
        let font = |bytes: &Arc<Vec<u8>>| Font::new(bytes.clone().into(), 0).ok_or(PdfError::Font);
        Ok(Self {
            regular: font(&fonts.regular)?,
            bold: font(&fonts.bold)?,
        })
    }
}

/// Breaks a text into lines of at most `width` points at `size` (measured as an average
/// character width; the fonts used are proportional but even).
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let max_chars = ((width / (size * 0.55)) as usize).max(10);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max_chars {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// Renders pages of blocks; a page that runs out of room continues on the next.
pub fn render(fonts: &PdfFonts, pages: &[Vec<Block>]) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::new(fonts)?;
    let mut document = Document::new();
    let text_width = PAGE_WIDTH - 2.0 * MARGIN;
    for blocks in pages {
        let mut lines: Vec<(Font, f32, String, f32)> = Vec::new();
        for block in blocks {
            let (font, size, gap, text) = match block {
                Block::Heading(text) => (&fonts.bold, 16.0, 10.0, text),
                Block::Paragraph(text) => (&fonts.regular, 10.5, 8.0, text),
                Block::Emphasis(text) => (&fonts.bold, 24.0, 12.0, text),
                Block::Note(text) => (&fonts.regular, 8.5, 6.0, text),
                Block::Space(points) => {
                    lines.push((fonts.regular.clone(), 0.0, String::new(), *points));
                    continue;
                }
            };
            let wrapped = wrap(text, size, text_width);
            let count = wrapped.len();
            for (i, line) in wrapped.into_iter().enumerate() {
                let after = if i + 1 == count { gap } else { 0.0 };
                lines.push((font.clone(), size, line, after));
            }
        }
        let mut remaining = lines.as_slice();
        while !remaining.is_empty() {
            let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
                .ok_or(PdfError::Write("page size".into()))?;
            let mut page = document.start_page_with(settings);
            let mut surface = page.surface();
            let mut y = MARGIN;
            let mut used = 0;
            for (font, size, text, after) in remaining {
                let height = size * 1.35 + after;
                if y + height > PAGE_HEIGHT - MARGIN && used > 0 {
                    break;
                }
                y += size * 1.35;
                if !text.is_empty() {
                    surface.draw_text(
                        Point::from_xy(MARGIN, y),
                        font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                y += after;
                used += 1;
            }
            surface.finish();
            page.finish();
            remaining = &remaining[used..];
        }
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}

/// Renders the pages on a blocking thread and answers with the PDF as a download named
/// `<prefix>-<name>.pdf` (the name reduced to letters, digits and dashes).
pub async fn download(
    fonts: &PdfFonts,
    pages: Vec<Vec<Block>>,
    prefix: &str,
    name: &str,
) -> Result<axum::response::Response, crate::AppError> {
    use crate::AppError;
    use axum::response::IntoResponse;
    use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};

    let fonts = fonts.clone();
    let pdf = tokio::task::spawn_blocking(move || render(&fonts, &pages))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{prefix}-{name}.pdf\""),
            ),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        pdf,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_words_within_the_width() {
        let lines = wrap(
            "een twee drie vier vijf zes zeven acht negen tien",
            10.0,
            100.0,
        );
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= 18), "{lines:?}");
        assert_eq!(
            lines.join(" "),
            "een twee drie vier vijf zes zeven acht negen tien"
        );
        assert_eq!(wrap("a\nb", 10.0, 500.0), ["a", "b"]);
    }
}
