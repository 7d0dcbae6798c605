//! The character encodings CSV files come in, recognised rather than asked for: UTF-8 (with
//! or without a byte-order mark), UTF-16 ("Unicode text" from Excel, always with its mark),
//! and Windows-1252 — what Excel on a Dutch Windows machine writes for "CSV (gescheiden door
//! lijstscheidingsteken)".

use std::borrow::Cow;

/// How a file's bytes were read; shown to the admin after an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16,
    Windows1252,
}

impl TextEncoding {
    /// The key of its name in the catalogues (under `portal.import`).
    pub fn text_key(self) -> &'static str {
        match self {
            Self::Utf8 => "encoding_utf8",
            Self::Utf16 => "encoding_utf16",
            Self::Windows1252 => "encoding_windows1252",
        }
    }
}

/// Windows-1252's characters for 0x80–0x9F; the five unassigned bytes map to the C1 control
/// of the same number, as browsers do (and the import then refuses them as control
/// characters, naming the line).
const WINDOWS_1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

/// The text of a file and how it was read. UTF-8 is tried first: text in Windows-1252 with
/// any letter beyond ASCII (é, ë, ï) is never valid UTF-8, so a file that reads as UTF-8 is
/// UTF-8. `None` for UTF-16 that does not decode.
pub fn decode(bytes: &[u8]) -> Option<(Cow<'_, str>, TextEncoding)> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .ok()
            .map(|text| (Cow::Borrowed(text), TextEncoding::Utf8))
            .or_else(|| Some((Cow::Owned(windows_1252(rest)), TextEncoding::Windows1252)));
    }
    for (mark, little_endian) in [(b"\xFF\xFE", true), (b"\xFE\xFF", false)] {
        if let Some(rest) = bytes.strip_prefix(mark) {
            if rest.len() % 2 != 0 {
                return None;
            }
            let units = rest.chunks_exact(2).map(|pair| {
                let pair = [pair[0], pair[1]];
                if little_endian {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            });
            let text: Result<String, _> = char::decode_utf16(units).collect();
            return text.ok().map(|t| (Cow::Owned(t), TextEncoding::Utf16));
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Some((Cow::Borrowed(text), TextEncoding::Utf8)),
        Err(_) => Some((Cow::Owned(windows_1252(bytes)), TextEncoding::Windows1252)),
    }
}

fn windows_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
            // The rest of the range is Latin-1, which Unicode's first 256 code points are.
            _ => char::from(b),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_dutch_windows_csv_reads_as_windows_1252() {
        // "Zoë;Chloë;Fenna-Maëlle;€ 5,–" as Excel writes it on a Dutch Windows machine.
        let bytes = b"Zo\xEB;Chlo\xEB;Fenna-Ma\xEBlle;\x80 5,\x96";
        let (text, encoding) = decode(bytes).unwrap();
        assert_eq!(text, "Zoë;Chloë;Fenna-Maëlle;€ 5,–");
        assert_eq!(encoding, TextEncoding::Windows1252);
    }

    #[test]
    fn utf8_with_or_without_its_mark_stays_utf8() {
        for bytes in [
            "Zoë;Ünal".as_bytes().to_vec(),
            [b"\xEF\xBB\xBF".as_slice(), "Zoë;Ünal".as_bytes()].concat(),
        ] {
            let (text, encoding) = decode(&bytes).unwrap();
            assert_eq!(text, "Zoë;Ünal");
            assert_eq!(encoding, TextEncoding::Utf8);
        }
    }

    #[test]
    fn utf16_with_its_mark_is_read_both_ways_round() {
        let little: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Zoë\tŞeyma".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let big: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("Zoë\tŞeyma".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for bytes in [little, big] {
            let (text, encoding) = decode(&bytes).unwrap();
            assert_eq!(text, "Zoë\tŞeyma");
            assert_eq!(encoding, TextEncoding::Utf16);
        }
        assert!(decode(b"\xFF\xFEZ").is_none(), "an odd number of bytes");
    }

    #[test]
    fn every_byte_has_a_character() {
        let all: Vec<u8> = (0..=255).collect();
        let text = windows_1252(&all);
        assert_eq!(text.chars().count(), 256);
        assert_eq!(text.chars().nth(0xE9), Some('é'));
    }
}
