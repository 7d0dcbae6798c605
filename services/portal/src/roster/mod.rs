//! The pupil administration's file, read and checked before anything is written: groups,
//! pupils with their key, name, birth date and group, and their contacts. CSV and EDEXML
//! both become a [`RosterFile`], or a list of [`Problem`]s naming line and field.

pub mod csv;
pub mod edexml;
pub mod encoding;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use schoolplein_registration::EmailAddress;
use serde::Serialize;

/// Largest file accepted: a school of 2,000 pupils with their contacts is well under this.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// More pupils than any primary school has.
pub const MAX_PUPILS: usize = 10_000;
/// Problems listed in one report; a file with more is shown to be wrong just as well.
pub const MAX_PROBLEMS: usize = 200;
/// Contacts per pupil.
pub const MAX_CONTACTS: usize = 6;

/// Which format a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Edexml,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Edexml => "edexml",
        }
    }

    /// EDEXML starts with `<` (after a byte-order mark and white space); anything else is CSV.
    pub fn detect(bytes: &[u8]) -> Self {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Self::Edexml,
            _ => Self::Csv,
        }
    }
}

/// A group as the file names it. A combination group ("1-2 Beren") may come as one entry per
/// year group, each with its own key and the same name: they are one class (see
/// [`RosterFile::classes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedGroup {
    pub line: usize,
    pub key: String,
    pub name: String,
    /// The year groups (0–8) this entry stands for, lowest first; empty when unknown.
    pub years: Vec<i16>,
}

/// One class of the file: the entries that share a name, with every key and year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedClass<'a> {
    /// The name as first written.
    pub name: &'a str,
    pub entries: Vec<&'a ImportedGroup>,
}

impl ImportedClass<'_> {
    /// Every year group of the class, lowest first.
    pub fn years(&self) -> Vec<i16> {
        let mut years: Vec<i16> = self
            .entries
            .iter()
            .flat_map(|e| e.years.iter().copied())
            .collect();
        years.sort_unstable();
        years.dedup();
        years
    }
}

/// A teacher as the file's `<leerkrachten>` lists them, with the keys of their groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ImportedTeacher {
    pub key: String,
    pub name: String,
    pub email: Option<String>,
    pub group_keys: Vec<String>,
}

/// A parent or guardian as the administration holds them: shown to staff only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Contact {
    pub relation: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A pupil as the file describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPupil {
    /// Where in the file (for reports).
    pub line: usize,
    pub key: String,
    pub first_name: String,
    pub name_prefix: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub group_key: Option<String>,
    pub contacts: Vec<Contact>,
}

/// A whole file, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterFile {
    pub groups: Vec<ImportedGroup>,
    pub pupils: Vec<ImportedPupil>,
    /// The teachers, when the file lists them (EDEXML's `<leerkrachten>`).
    pub teachers: Vec<ImportedTeacher>,
    /// How a CSV file's bytes were read (EDEXML declares its own: UTF-8).
    pub encoding: Option<encoding::TextEncoding>,
}

impl RosterFile {
    /// The file's classes: entries with the same name (in any case) are one class, in the
    /// order the file first names them.
    pub fn classes(&self) -> Vec<ImportedClass<'_>> {
        let mut classes: Vec<ImportedClass<'_>> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for group in &self.groups {
            let index = *by_name.entry(group.name.to_lowercase()).or_insert_with(|| {
                classes.push(ImportedClass {
                    name: &group.name,
                    entries: Vec::new(),
                });
                classes.len() - 1
            });
            classes[index].entries.push(group);
        }
        classes
    }
}

/// What is wrong, where: a catalogue key as the reason (`portal.import.…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub field: String,
    pub reason: &'static str,
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub format: Format,
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more: usize,
}

/// Collects problems, keeping the first [`MAX_PROBLEMS`].
#[derive(Debug, Default)]
pub(crate) struct Problems {
    listed: Vec<Problem>,
    more: usize,
}

impl Problems {
    pub(crate) fn add(&mut self, line: usize, field: impl Into<String>, reason: &'static str) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(Problem {
                line,
                field: field.into(),
                reason,
            });
        } else {
            self.more += 1;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    pub(crate) fn refuse(self, format: Format) -> Refused {
        Refused {
            format,
            problems: self.listed,
            more: self.more,
        }
    }
}

/// Reads a file in whichever format it is in.
pub fn parse(bytes: &[u8], today: NaiveDate) -> Result<(Format, RosterFile), Refused> {
    let format = Format::detect(bytes);
    let mut problems = Problems::default();
    if bytes.len() > MAX_FILE_BYTES {
        problems.add(0, "file", "portal.import.too_large");
        return Err(problems.refuse(format));
    }
    let parsed = match format {
        Format::Csv => csv::parse(bytes, today, &mut problems),
        Format::Edexml => edexml::parse(bytes, today, &mut problems),
    };
    match parsed {
        Some(file) if problems.is_empty() => Ok((format, file)),
        _ => {
            if problems.is_empty() {
                problems.add(0, "file", "portal.import.unreadable");
            }
            Err(problems.refuse(format))
        }
    }
}

/// The name a pupil (or contact) is called by: the roepnaam; else, as administrations export
/// people whose roepnaam was never filled in, the first of the voornamen; else the
/// voorletters. `None` when the file gives none of them.
pub(crate) fn called_by<'a>(
    roepnaam: Option<&'a str>,
    voornamen: Option<&'a str>,
    voorletters: Option<&'a str>,
) -> Option<&'a str> {
    let given = |v: Option<&'a str>| v.map(str::trim).filter(|v| !v.is_empty());
    given(roepnaam)
        .or_else(|| given(voornamen).and_then(|names| names.split_whitespace().next()))
        .or_else(|| given(voorletters))
}

/// A text field: trimmed, required or not, at most `max` characters, no control characters.
pub(crate) fn text(
    raw: Option<&str>,
    line: usize,
    field: &str,
    required: bool,
    max: usize,
    problems: &mut Problems,
) -> String {
    let value = raw.unwrap_or_default().trim();
    if value.is_empty() {
        if required {
            problems.add(line, field, "portal.import.missing");
        }
        return String::new();
    }
    if value.chars().count() > max {
        problems.add(line, field, "portal.import.too_long");
    } else if value.chars().any(char::is_control) {
        problems.add(line, field, "portal.import.control_character");
    }
    value.to_owned()
}

/// A birth date as administrations write it: `2019-03-14`, `14-03-2019` or `14/03/2019`;
/// a primary-school pupil's (not in the future, not before 1990).
pub(crate) fn birth_date(
    raw: Option<&str>,
    line: usize,
    field: &str,
    today: NaiveDate,
    problems: &mut Problems,
) -> Option<NaiveDate> {
    let value = raw.unwrap_or_default().trim();
    if value.is_empty() {
        problems.add(line, field, "portal.import.missing");
        return None;
    }
    let parsed = ["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(value, format).ok());
    match parsed {
        None => {
            problems.add(line, field, "portal.import.bad_date");
            None
        }
        Some(date) if date > today || date.year() < 1990 => {
            problems.add(line, field, "portal.import.implausible_date");
            None
        }
        Some(date) => Some(date),
    }
}

/// An optional e-mail address of a contact.
pub(crate) fn email(
    raw: Option<&str>,
    line: usize,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    let value = raw.unwrap_or_default().trim();
    if value.is_empty() {
        return None;
    }
    match EmailAddress::parse(value) {
        Ok(email) => Some(email.as_str().to_owned()),
        Err(_) => {
            problems.add(line, field, "portal.import.bad_email");
            None
        }
    }
}

/// An optional phone number: digits, spaces and `+-()`, 6–20 characters.
pub(crate) fn phone(
    raw: Option<&str>,
    line: usize,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    let value = raw.unwrap_or_default().trim();
    if value.is_empty() {
        return None;
    }
    if crate::fields::is_phone(value) {
        Some(value.to_owned())
    } else {
        problems.add(line, field, "portal.import.bad_phone");
        None
    }
}

/// The year groups in a name such as "Groep 3b", "groep 1/2" or "3-4-5 Vossen": every number
/// from 0 to 8 in it, lowest first; a larger number ("Groep 12") is not a year group.
pub(crate) fn years_in_name(name: &str) -> Vec<i16> {
    let mut years: Vec<i16> = name
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|digits| digits.parse::<i16>().ok())
        .filter(|year| (0..=8).contains(year))
        .collect();
    years.sort_unstable();
    years.dedup();
    years
}

/// Checks what spans the whole file: each pupil key once, each group named once, every
/// pupil's group known. `fields` names the key's and the group's field in this format.
pub(crate) fn check_whole(file: &RosterFile, fields: (&str, &str), problems: &mut Problems) {
    let (key_field, group_field) = fields;
    let mut keys: HashMap<&str, ()> = HashMap::new();
    for pupil in &file.pupils {
        if keys.insert(pupil.key.as_str(), ()).is_some() {
            problems.add(pupil.line, key_field, "portal.import.duplicate_key");
        }
    }
    // Entries with the same name are one combination group; only a key may not repeat.
    let mut group_keys: HashMap<&str, ()> = HashMap::new();
    for group in &file.groups {
        if group_keys.insert(group.key.as_str(), ()).is_some() {
            problems.add(group.line, group_field, "portal.import.duplicate_group");
        }
    }
    for pupil in &file.pupils {
        if let Some(key) = &pupil.group_key
            && !group_keys.contains_key(key.as_str())
        {
            problems.add(pupil.line, group_field, "portal.import.unknown_group");
        }
    }
    if file.pupils.len() > MAX_PUPILS {
        problems.add(0, "file", "portal.import.too_many_pupils");
    }
    if file.pupils.is_empty() {
        problems.add(0, "file", "portal.import.no_pupils");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pupil_is_called_by_the_roepnaam_else_the_first_voornaam_else_the_voorletters() {
        use super::called_by;
        assert_eq!(
            called_by(Some("Sanne"), Some("Susanna Maria"), Some("S.M.")),
            Some("Sanne")
        );
        assert_eq!(
            called_by(Some("  "), Some(" Susanna  Maria "), Some("S.M.")),
            Some("Susanna")
        );
        assert_eq!(called_by(None, None, Some("S.M.")), Some("S.M."));
        assert_eq!(called_by(None, Some(""), None), None);
    }

    use super::*;

    #[test]
    fn dates_in_the_ways_administrations_write_them() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let mut problems = Problems::default();
        let expected = NaiveDate::from_ymd_opt(2019, 3, 14);
        for raw in ["2019-03-14", "14-03-2019", "14/03/2019", " 14-03-2019 "] {
            assert_eq!(
                birth_date(Some(raw), 1, "d", today, &mut problems),
                expected
            );
        }
        assert!(problems.is_empty());
        for raw in [
            "2019-02-30",
            "14.03.2019",
            "gisteren",
            "2027-01-01",
            "1950-01-01",
            "",
        ] {
            assert_eq!(
                birth_date(Some(raw), 2, "d", today, &mut problems),
                None,
                "{raw}"
            );
        }
        assert_eq!(problems.listed.len(), 6);
    }

    #[test]
    fn phones_and_years() {
        let mut problems = Problems::default();
        assert_eq!(
            phone(Some("06-12345678"), 1, "p", &mut problems).as_deref(),
            Some("06-12345678")
        );
        assert_eq!(
            phone(Some("+31 (0)20 123 4567"), 1, "p", &mut problems).as_deref(),
            Some("+31 (0)20 123 4567")
        );
        assert_eq!(phone(Some(""), 1, "p", &mut problems), None);
        assert!(problems.is_empty());
        assert_eq!(phone(Some("bel me"), 1, "p", &mut problems), None);
        assert_eq!(problems.listed.len(), 1);
        assert_eq!(years_in_name("Groep 3b"), [3]);
        assert_eq!(years_in_name("groep 1/2"), [1, 2]);
        assert_eq!(years_in_name("3-4-5 Vossen"), [3, 4, 5]);
        assert_eq!(years_in_name("Groep 12"), Vec::<i16>::new());
        assert_eq!(years_in_name("Zonnebloemen"), Vec::<i16>::new());
    }

    #[test]
    fn the_format_is_told_by_the_first_character() {
        assert_eq!(Format::detect(b"\xEF\xBB\xBF  <?xml"), Format::Edexml);
        assert_eq!(Format::detect(b"leerlingnummer;roepnaam"), Format::Csv);
    }
}
