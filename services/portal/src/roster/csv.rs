//! The CSV layout (see `docs/IMPORT.md`): one line per pupil, a header line naming the
//! columns, `;` or `,` or tab between fields, in UTF-8, UTF-16 or Windows-1252 (recognised
//! by `encoding`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::{
    Contact, ImportedGroup, ImportedPupil, Problems, RosterFile, birth_date, called_by,
    check_whole, email, phone, text, years_in_name,
};

/// Columns a file must have, besides one of [`NAME_COLUMNS`].
pub const REQUIRED_COLUMNS: [&str; 4] = ["leerlingnummer", "achternaam", "geboortedatum", "groep"];
/// The name a pupil is called by: the roepnaam, else the first of the voornamen, else the
/// voorletters (see `called_by`); a file has at least one of these columns.
pub const NAME_COLUMNS: [&str; 3] = ["roepnaam", "voornamen", "voorletters"];
/// Columns a file may have besides: `tussenvoegsel`, and per contact n = 1…6
/// `ouderN_relatie`, `ouderN_naam`, `ouderN_email`, `ouderN_telefoon`.
pub const OPTIONAL_COLUMNS: [&str; 1] = ["tussenvoegsel"];

pub(crate) fn parse(bytes: &[u8], today: NaiveDate, problems: &mut Problems) -> Option<RosterFile> {
    let Some((text_all, encoding)) = super::encoding::decode(bytes) else {
        problems.add(1, "file", "portal.import.unreadable");
        return None;
    };
    let text_all: &str = &text_all;
    let header_line = text_all.lines().next().unwrap_or_default();
    let delimiter = [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b';');
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(text_all.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(|h| h.trim().to_lowercase()).collect(),
        Err(_) => {
            problems.add(1, "file", "portal.import.unreadable");
            return None;
        }
    };
    let column: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    for required in REQUIRED_COLUMNS {
        if !column.contains_key(required) {
            problems.add(1, required, "portal.import.missing_column");
        }
    }
    if !NAME_COLUMNS.iter().any(|name| column.contains_key(name)) {
        problems.add(1, "roepnaam", "portal.import.missing_column");
    }
    if !problems.is_empty() {
        return None;
    }
    let mut file = RosterFile {
        encoding: Some(encoding),
        ..RosterFile::default()
    };
    let mut groups: BTreeMap<String, ImportedGroup> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line() as usize);
                problems.add(line, "file", "portal.import.unreadable");
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |name: &str| column.get(name).and_then(|i| record.get(*i));
        let key = text(
            get("leerlingnummer"),
            line,
            "leerlingnummer",
            true,
            100,
            problems,
        );
        let first_name = text(
            called_by(get("roepnaam"), get("voornamen"), get("voorletters")),
            line,
            "roepnaam",
            true,
            100,
            problems,
        );
        let name_prefix = text(
            get("tussenvoegsel"),
            line,
            "tussenvoegsel",
            false,
            30,
            problems,
        );
        let last_name = text(get("achternaam"), line, "achternaam", true, 100, problems);
        let date_of_birth =
            birth_date(get("geboortedatum"), line, "geboortedatum", today, problems);
        let group = text(get("groep"), line, "groep", true, 100, problems);
        let mut contacts = Vec::new();
        for n in 1..=super::MAX_CONTACTS {
            let field = |part: &str| format!("ouder{n}_{part}");
            let name = text(
                get(&field("naam")),
                line,
                &field("naam"),
                false,
                100,
                problems,
            );
            let relation = text(
                get(&field("relatie")),
                line,
                &field("relatie"),
                false,
                30,
                problems,
            );
            let mail = email(get(&field("email")), line, &field("email"), problems);
            let phone = phone(get(&field("telefoon")), line, &field("telefoon"), problems);
            if name.is_empty() {
                if mail.is_some() || phone.is_some() {
                    problems.add(line, field("naam"), "portal.import.missing");
                }
                continue;
            }
            contacts.push(Contact {
                relation,
                name,
                email: mail,
                phone,
            });
        }
        if !group.is_empty() {
            groups
                .entry(group.to_lowercase())
                .or_insert_with(|| ImportedGroup {
                    line,
                    key: group.clone(),
                    name: group.clone(),
                    years: years_in_name(&group),
                });
        }
        // Pushed even when the date is bad, so that checks over the whole file still see
        // the pupil; a file with any problem is refused, so the stand-in date goes nowhere.
        {
            let date_of_birth = date_of_birth.unwrap_or_default();
            file.pupils.push(ImportedPupil {
                line,
                key,
                first_name,
                name_prefix,
                last_name,
                date_of_birth,
                // Groups are named, not keyed, in CSV: the name (as first written) is the key.
                group_key: groups.get(&group.to_lowercase()).map(|g| g.key.clone()),
                contacts,
            });
        }
    }
    file.groups = groups.into_values().collect();
    check_whole(&file, ("leerlingnummer", "groep"), problems);
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::{Format, parse as parse_any};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn reads_the_documented_layout() {
        let file = "\u{feff}Leerlingnummer;Roepnaam;Tussenvoegsel;Achternaam;Geboortedatum;Groep;ouder1_relatie;ouder1_naam;ouder1_email;ouder1_telefoon\n\
                    1001;Sanne;de;Vries;14-03-2019;Groep 3b;moeder;Anna de Vries;anna@example.nl;06-12345678\n\
                    1002;Daan;;Bakker;2018-01-02;groep 4;;;;\n";
        let (format, roster) = parse_any(file.as_bytes(), today()).unwrap();
        assert_eq!(format, Format::Csv);
        assert_eq!(roster.groups.len(), 2);
        assert_eq!(roster.groups[0].name, "Groep 3b");
        assert_eq!(roster.groups[0].years, [3]);
        let sanne = &roster.pupils[0];
        assert_eq!(
            (sanne.line, sanne.key.as_str(), sanne.name_prefix.as_str()),
            (2, "1001", "de")
        );
        assert_eq!(sanne.group_key.as_deref(), Some("Groep 3b"));
        assert_eq!(sanne.contacts[0].email.as_deref(), Some("anna@example.nl"));
        assert!(roster.pupils[1].contacts.is_empty());
    }

    #[test]
    fn any_bad_line_refuses_the_whole_file_naming_line_and_field() {
        let file = "leerlingnummer,roepnaam,achternaam,geboortedatum,groep,ouder1_naam,ouder1_email\n\
                    1,Sanne,Vries,14-03-2019,Groep 3,Anna,anna@example.nl\n\
                    2,,Bakker,2018-01-02,Groep 4,,\n\
                    1,Tim,Smit,31-02-2018,Groep 4,Piet,geen-adres\n";
        let refused = parse_any(file.as_bytes(), today()).unwrap_err();
        let found: Vec<(usize, &str, &str)> = refused
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str(), p.reason))
            .collect();
        assert!(
            found.contains(&(3, "roepnaam", "portal.import.missing")),
            "{found:?}"
        );
        assert!(
            found.contains(&(4, "geboortedatum", "portal.import.bad_date")),
            "{found:?}"
        );
        assert!(
            found.contains(&(4, "ouder1_email", "portal.import.bad_email")),
            "{found:?}"
        );
        assert!(
            found.contains(&(4, "leerlingnummer", "portal.import.duplicate_key")),
            "{found:?}"
        );
    }

    #[test]
    fn missing_columns_are_named() {
        let refused = parse_any(b"leerlingnummer;naam\n1;Sanne\n", today()).unwrap_err();
        let fields: Vec<&str> = refused.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["achternaam", "geboortedatum", "groep", "roepnaam"]);
    }

    #[test]
    fn excel_files_in_windows_1252_and_utf16_read_with_their_accents() {
        let windows = b"leerlingnummer;roepnaam;achternaam;geboortedatum;groep\r\n1;Ren\xe9e;Vries;14-03-2019;Groep 3\r\n2;Zo\xeb;Bakker;01-02-2019;Groep 3\r\n";
        let (_, file) = parse_any(windows, today()).unwrap();
        let names: Vec<&str> = file.pupils.iter().map(|p| p.first_name.as_str()).collect();
        assert_eq!(names, ["Renée", "Zoë"]);
        assert_eq!(
            file.encoding,
            Some(super::super::encoding::TextEncoding::Windows1252)
        );
        let text = "leerlingnummer\troepnaam\tachternaam\tgeboortedatum\tgroep\r\n1\tŞeyma\tYılmaz\t14-03-2019\tGroep 3\r\n";
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let (_, file) = parse_any(&utf16, today()).unwrap();
        assert_eq!(file.pupils[0].first_name, "Şeyma");
        assert_eq!(file.pupils[0].last_name, "Yılmaz");
    }
}
