//! Files people upload and download: what a file is by its first bytes (what it claims to
//! be counts for nothing), the name it is kept under, and the header that makes it a download.

/// The type of an image by its first bytes: only JPEG and PNG are photos here.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// The type of a file by its first bytes: only PDF, JPEG and PNG are accepted.
pub fn sniff_attachment(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        sniff_image(bytes)
    }
}

/// A file name as shown and offered for download: no directories, no control characters,
/// trimmed, at most 200 characters; "bijlage" when nothing is left.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "bijlage".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// `Content-Disposition` for a download named `name` (RFC 6266 with RFC 5987's encoding, and
/// an ASCII-only fallback).
pub fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"._-".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_jpeg_and_png_are_photos() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(
            sniff_image(b"\\x89PNG\\r\\n\\x1a\\n...."),
            None,
            "escaped text is not a PNG"
        );
        assert_eq!(
            sniff_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        for lie in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<html><script>",
            b"GIF89a",
            b"%PDF-1.7",
            b"",
        ] {
            assert_eq!(sniff_image(lie), None);
        }
    }

    #[test]
    fn files_are_what_their_bytes_say() {
        assert_eq!(sniff_attachment(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(
            sniff_attachment(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some("image/jpeg")
        );
        for lie in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<!doctype html><script>alert(1)</script>",
            b"PK\x03\x04",
            b"GIF89a",
            b" %PDF-1.7",
        ] {
            assert_eq!(sniff_attachment(lie), None);
        }
    }

    #[test]
    fn file_names_lose_directories_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\juf\\Brief.pdf"), "Brief.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\r\n.pdf"), "ab.pdf");
        assert_eq!(clean_file_name("  "), "bijlage");
        assert_eq!(clean_file_name(".."), "bijlage");
        assert_eq!(clean_file_name(&"x".repeat(300)).len(), 200);
    }

    #[test]
    fn a_download_header_carries_no_quote_or_line_break_of_the_name() {
        let header = disposition("Brief \"ouders\"\r\nSet-Cookie: x.pdf");
        assert!(!header.contains('\r') && !header.contains('\n'));
        assert!(header.starts_with("attachment; filename=\"Brief _ouders___Set-Cookie_ x.pdf\";"));
        assert!(
            header.ends_with("filename*=UTF-8''Brief%20%22ouders%22%0D%0ASet-Cookie%3A%20x.pdf")
        );
    }
}
