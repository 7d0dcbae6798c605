//! A zip archive written as it is sent: entries stored as they are (photos are compressed
//! already), so each entry is its header and its bytes, and the archive ends with the central
//! directory. Only what fits the classic format (no Zip64): callers bound the total size.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The largest archive the classic format describes; callers stay well below it.
pub const MAX_ARCHIVE_BYTES: u64 = u32::MAX as u64;

/// Entry names are UTF-8 (general purpose flag bit 11).
const UTF8_NAMES: u16 = 1 << 11;
/// Version 1.0 of the format is enough to extract stored entries.
const VERSION_NEEDED: u16 = 10;

/// What the central directory keeps of an entry already written.
#[derive(Debug)]
struct Written {
    name: String,
    crc: u32,
    size: u32,
    offset: u32,
    time: u16,
    date: u16,
}

/// An archive being written; feed it entries in order, then finish it.
#[derive(Debug, Default)]
pub struct StoredZip {
    written: Vec<Written>,
    offset: u64,
}

/// Why an entry does not fit the archive.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the archive would outgrow the zip format")]
pub struct TooLarge;

impl StoredZip {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes of one entry (its local header, then `bytes`), to be sent next.
    pub fn entry(
        &mut self,
        name: &str,
        bytes: &[u8],
        modified: DateTime<Utc>,
    ) -> Result<Vec<u8>, TooLarge> {
        let size = u32::try_from(bytes.len()).map_err(|_| TooLarge)?;
        let name_len = u16::try_from(name.len()).map_err(|_| TooLarge)?;
        let offset = u32::try_from(self.offset).map_err(|_| TooLarge)?;
        let end = self.offset + 30 + u64::from(name_len) + u64::from(size);
        if end > MAX_ARCHIVE_BYTES || self.written.len() >= usize::from(u16::MAX) {
            return Err(TooLarge);
        }
        let (time, date) = dos_time(modified);
        let crc = crc32fast::hash(bytes);
        let mut out = Vec::with_capacity(30 + name.len() + bytes.len());
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
        out.extend_from_slice(&UTF8_NAMES.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // stored, not compressed
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&date.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes()); // compressed size
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // no extra field
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(bytes);
        self.offset = end;
        self.written.push(Written {
            name: name.to_owned(),
            crc,
            size,
            offset,
            time,
            date,
        });
        Ok(out)
    }

    /// The central directory and its end record: the archive's last bytes.
    pub fn finish(self) -> Result<Vec<u8>, TooLarge> {
        let start = u32::try_from(self.offset).map_err(|_| TooLarge)?;
        let count = u16::try_from(self.written.len()).map_err(|_| TooLarge)?;
        let mut out = Vec::new();
        for entry in &self.written {
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, version 2.0
            out.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
            out.extend_from_slice(&UTF8_NAMES.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&entry.time.to_le_bytes());
            out.extend_from_slice(&entry.date.to_le_bytes());
            out.extend_from_slice(&entry.crc.to_le_bytes());
            out.extend_from_slice(&entry.size.to_le_bytes());
            out.extend_from_slice(&entry.size.to_le_bytes());
            out.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            out.extend_from_slice(&0u32.to_le_bytes()); // external attributes
            out.extend_from_slice(&entry.offset.to_le_bytes());
            out.extend_from_slice(entry.name.as_bytes());
        }
        let size = u32::try_from(out.len()).map_err(|_| TooLarge)?;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // no comment
        Ok(out)
    }
}

/// MS-DOS time and date (two-second steps, years from 1980), as zip keeps them.
fn dos_time(at: DateTime<Utc>) -> (u16, u16) {
    let year = at.year().clamp(1980, 2107) as u16;
    let time = (at.hour() as u16) << 11 | (at.minute() as u16) << 5 | (at.second() as u16 / 2);
    let date = (year - 1980) << 9 | (at.month() as u16) << 5 | at.day() as u16;
    (time, date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    #[test]
    fn the_directory_points_at_each_entry_and_its_bytes() {
        let at = DateTime::parse_from_rfc3339("2027-05-20T14:31:08Z")
            .unwrap()
            .to_utc();
        let mut zip = StoredZip::new();
        let mut archive = zip.entry("één.jpg", b"first", at).unwrap();
        archive.extend(zip.entry("2.png", b"second!", at).unwrap());
        archive.extend(zip.finish().unwrap());

        let end = archive.len() - 22;
        assert_eq!(u32_at(&archive, end), 0x0605_4b50);
        assert_eq!(u16_at(&archive, end + 10), 2);
        let mut at_entry = u32_at(&archive, end + 16) as usize;
        for (name, bytes) in [("één.jpg", &b"first"[..]), ("2.png", b"second!")] {
            assert_eq!(u32_at(&archive, at_entry), 0x0201_4b50);
            let name_len = u16_at(&archive, at_entry + 28) as usize;
            assert_eq!(
                &archive[at_entry + 46..at_entry + 46 + name_len],
                name.as_bytes()
            );
            assert_eq!(u32_at(&archive, at_entry + 16), crc32fast::hash(bytes));
            let local = u32_at(&archive, at_entry + 42) as usize;
            assert_eq!(u32_at(&archive, local), 0x0403_4b50);
            let data = local + 30 + name_len;
            assert_eq!(&archive[data..data + bytes.len()], bytes);
            at_entry += 46 + name_len;
        }
        // 14:31:08 on 20 May 2027.
        let (time, date) = dos_time(at);
        assert_eq!((time >> 11, (time >> 5) & 63, (time & 31) * 2), (14, 31, 8));
        assert_eq!((date >> 9) + 1980, 2027);
        assert_eq!(((date >> 5) & 15, date & 31), (5, 20));
    }
}
