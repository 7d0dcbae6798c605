//! Reading what the app sends as files, by other code than the app's: zip archives, and
//! bodies in every content encoding a browser accepts.

use std::io::Read;

use crate::RawResponse;

/// CRC-32 (IEEE), bit by bit: written here so the archive is checked by other code than
/// the code that wrote it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The entries of a zip archive (name, bytes), read through its central directory, each
/// checked against its local header and checksum.
pub fn unzip(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |at: usize| u16::from_le_bytes([archive[at], archive[at + 1]]) as usize;
    let u32_at = |at: usize| {
        u32::from_le_bytes([
            archive[at],
            archive[at + 1],
            archive[at + 2],
            archive[at + 3],
        ])
    };
    let end = archive.len() - 22;
    assert_eq!(u32_at(end), 0x0605_4b50, "the end record");
    let count = u16_at(end + 10);
    let mut at = u32_at(end + 16) as usize;
    let mut entries = Vec::new();
    for _ in 0..count {
        assert_eq!(u32_at(at), 0x0201_4b50, "a directory entry");
        assert_eq!(u16_at(at + 10), 0, "stored");
        let crc = u32_at(at + 16);
        let size = u32_at(at + 24) as usize;
        let name_len = u16_at(at + 28);
        let extra = u16_at(at + 30) + u16_at(at + 32);
        let name = String::from_utf8(archive[at + 46..at + 46 + name_len].to_vec()).unwrap();
        let local = u32_at(at + 42) as usize;
        assert_eq!(u32_at(local), 0x0403_4b50, "a local header");
        assert_eq!(&archive[local + 30..local + 30 + name_len], name.as_bytes());
        let data = local + 30 + name_len + u16_at(local + 28);
        let bytes = archive[data..data + size].to_vec();
        assert_eq!(crc32(&bytes), crc, "{name}");
        entries.push((name, bytes));
        at += 46 + name_len + extra;
    }
    entries
}

/// The body as the app meant it: undone whatever `Content-Encoding` it came with. Panics on
/// an encoding no browser asked for, or bytes that do not decode.
pub fn decoded(response: &RawResponse) -> Vec<u8> {
    let encoding = response.header("content-encoding").unwrap_or("identity");
    let mut out = Vec::new();
    match encoding {
        "identity" => out.clone_from(&response.body),
        "gzip" => {
            flate2::read::GzDecoder::new(&response.body[..])
                .read_to_end(&mut out)
                .expect("a gzip body");
        }
        "deflate" => {
            flate2::read::ZlibDecoder::new(&response.body[..])
                .read_to_end(&mut out)
                .expect("a deflate (zlib) body");
        }
        "br" => {
            brotli_decompressor::Decompressor::new(&response.body[..], 4096)
                .read_to_end(&mut out)
                .expect("a brotli body");
        }
        other => panic!("a body in an encoding this test cannot read: {other}"),
    }
    out
}
