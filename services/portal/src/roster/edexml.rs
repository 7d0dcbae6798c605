//! EDEXML, the exchange format that Dutch pupil administrations (ParnasSys, ESIS) export:
//! `<EDEX>` with `<school>`, `<groepen>` (`<groep key>` with `<naam>`, `<jaargroep>`) and
//! `<leerlingen>` (`<leerling key>` with names, `<geboortedatum>`, `<groep key>` and the
//! pupil's `<contactpersonen>`) and `<leerkrachten>`. Read as the schema allows: elements in
//! any order, optional ones optional, unknown ones ignored. Read without DTDs or entity
//! expansion: an XML bomb is a refused file, not a busy server.

use chrono::NaiveDate;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::{
    Contact, ImportedGroup, ImportedPupil, ImportedTeacher, MAX_CONTACTS, Problems, RosterFile,
    birth_date, called_by, check_whole, email, phone, text, years_in_name,
};

/// Deepest nesting a sensible file has (EDEX needs five levels).
const MAX_DEPTH: usize = 16;
/// Most elements read: ~40 per pupil for 10,000 pupils.
const MAX_ELEMENTS: usize = 1_000_000;

/// An element with its text, attributes and children, and the line it starts on.
#[derive(Debug, Default)]
struct Element {
    name: String,
    line: usize,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Line numbers from byte offsets.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Self(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }

    fn at(&self, offset: usize) -> usize {
        1 + self.0.partition_point(|&newline| newline < offset)
    }
}

/// Reads the document into elements, refusing DTDs, unknown entities, deep nesting and
/// documents that are not well-formed.
fn read_tree(xml: &str, problems: &mut Problems) -> Option<Element> {
    let lines = Lines::new(xml);
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut elements = 0usize;
    loop {
        let offset = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(_) => {
                problems.add(
                    lines.at(reader.error_position() as usize),
                    "xml",
                    "portal.import.not_well_formed",
                );
                return None;
            }
        };
        let line = lines.at(offset);
        match event {
            Event::Start(start) | Event::Empty(start) if elements >= MAX_ELEMENTS => {
                let _ = start;
                problems.add(line, "file", "portal.import.too_large");
                return None;
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                elements += 1;
                let self_closing = matches!(event, Event::Empty(_));
                let mut element = Element {
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    line,
                    ..Element::default()
                };
                for attribute in start.attributes() {
                    let Ok(attribute) = attribute else {
                        problems.add(line, "xml", "portal.import.not_well_formed");
                        return None;
                    };
                    let Ok(value) = attribute.unescape_value() else {
                        problems.add(line, "xml", "portal.import.entity_refused");
                        return None;
                    };
                    let key =
                        String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
                    element.attributes.push((key, value.into_owned()));
                }
                if stack.len() > MAX_DEPTH {
                    problems.add(line, "xml", "portal.import.too_deep");
                    return None;
                }
                stack.push(element);
                if self_closing {
                    close(&mut stack);
                }
            }
            Event::End(_) => close(&mut stack),
            Event::Text(content) => {
                let Ok(decoded) = content.decode() else {
                    problems.add(line, "xml", "portal.import.not_utf8");
                    return None;
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&decoded);
                }
            }
            Event::CData(content) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&String::from_utf8_lossy(&content));
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(String::from)
                } else {
                    reference
                        .decode()
                        .ok()
                        .and_then(|name| resolve_predefined_entity(&name))
                        .map(str::to_owned)
                };
                let Some(resolved) = resolved else {
                    problems.add(line, "xml", "portal.import.entity_refused");
                    return None;
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&resolved);
                }
            }
            Event::DocType(_) => {
                problems.add(line, "xml", "portal.import.doctype_refused");
                return None;
            }
            Event::Decl(declaration) => {
                let declared = declaration
                    .encoding()
                    .and_then(Result::ok)
                    .map(|e| String::from_utf8_lossy(&e).to_ascii_lowercase());
                if declared.is_some_and(|e| e != "utf-8" && e != "utf8") {
                    problems.add(line, "xml", "portal.import.not_utf8");
                    return None;
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if stack.len() != 1 {
        problems.add(lines.at(xml.len()), "xml", "portal.import.not_well_formed");
        return None;
    }
    stack
        .pop()
        .and_then(|document| document.children.into_iter().next())
}

fn close(stack: &mut Vec<Element>) {
    if stack.len() > 1
        && let Some(done) = stack.pop()
        && let Some(parent) = stack.last_mut()
    {
        parent.children.push(done);
    }
}

pub(crate) fn parse(bytes: &[u8], today: NaiveDate, problems: &mut Problems) -> Option<RosterFile> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let xml = match std::str::from_utf8(bytes) {
        Ok(xml) => xml,
        Err(error) => {
            let line = 1 + bytes[..error.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            problems.add(line, "file", "portal.import.not_utf8");
            return None;
        }
    };
    let root = read_tree(xml, problems)?;
    if root.name != "EDEX" {
        problems.add(root.line, "EDEX", "portal.import.not_edexml");
        return None;
    }
    let mut file = RosterFile::default();
    for group in root.children("groepen").flat_map(|g| g.children("groep")) {
        let line = group.line;
        let key = text(
            group.attribute("key"),
            line,
            "groep key",
            true,
            100,
            problems,
        );
        let name = text(
            group.child_text("naam"),
            line,
            "groep naam",
            true,
            100,
            problems,
        );
        // The schema's year groups are 0–8, and letters for other kinds of pupils (S for
        // special needs): those are no year group, not a mistake.
        let years = match group.child_text("jaargroep").map(str::trim) {
            Some(year) if year.bytes().all(|b| b.is_ascii_digit()) && !year.is_empty() => {
                match year.parse::<i16>() {
                    Ok(year) if (0..=8).contains(&year) => vec![year],
                    _ => {
                        problems.add(line, "jaargroep", "portal.import.bad_year");
                        Vec::new()
                    }
                }
            }
            Some(year) if !year.is_empty() => Vec::new(),
            _ => years_in_name(&name),
        };
        file.groups.push(ImportedGroup {
            line,
            key,
            name,
            years,
        });
    }
    for pupil in root
        .children("leerlingen")
        .flat_map(|l| l.children("leerling"))
    {
        let line = pupil.line;
        let key = text(
            pupil.attribute("key"),
            line,
            "leerling key",
            true,
            100,
            problems,
        );
        let first_name = text(
            called_by(
                pupil.child_text("roepnaam"),
                pupil.child_text("voornamen"),
                // EDEX names the initials `voorletters-1`.
                pupil
                    .child_text("voorletters-1")
                    .or_else(|| pupil.child_text("voorletters")),
            ),
            line,
            "roepnaam",
            true,
            100,
            problems,
        );
        let name_prefix = text(
            pupil.child_text("voorvoegsel"),
            line,
            "voorvoegsel",
            false,
            30,
            problems,
        );
        let last_name = text(
            pupil.child_text("achternaam"),
            line,
            "achternaam",
            true,
            100,
            problems,
        );
        let date_of_birth = birth_date(
            pupil.child_text("geboortedatum"),
            line,
            "geboortedatum",
            today,
            problems,
        );
        // A pupil may be in no group yet (enrolled for later): the schema makes it optional.
        let group_key = pupil.child("groep").and_then(|group| {
            let key = text(
                group.attribute("key"),
                group.line,
                "groep key",
                true,
                100,
                problems,
            );
            (!key.is_empty()).then_some(key)
        });
        let mut contacts = Vec::new();
        for contact in pupil
            .children("contactpersonen")
            .flat_map(|c| c.children("contactpersoon"))
        {
            let line = contact.line;
            let first = text(
                called_by(
                    contact.child_text("roepnaam"),
                    contact.child_text("voornamen"),
                    contact
                        .child_text("voorletters-1")
                        .or_else(|| contact.child_text("voorletters")),
                ),
                line,
                "contactpersoon roepnaam",
                false,
                100,
                problems,
            );
            let prefix = text(
                contact.child_text("voorvoegsel"),
                line,
                "contactpersoon voorvoegsel",
                false,
                30,
                problems,
            );
            let last = text(
                contact.child_text("achternaam"),
                line,
                "contactpersoon achternaam",
                true,
                100,
                problems,
            );
            let relation = text(
                contact.child_text("relatie"),
                line,
                "relatie",
                false,
                30,
                problems,
            );
            let mail = email(
                contact.child_text("emailadres"),
                line,
                "emailadres",
                problems,
            );
            let phone = phone(
                contact.child_text("telefoonnummer"),
                line,
                "telefoonnummer",
                problems,
            );
            let name = [first.as_str(), prefix.as_str(), last.as_str()]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if contacts.len() == MAX_CONTACTS {
                problems.add(line, "contactpersoon", "portal.import.too_many_contacts");
                break;
            }
            contacts.push(Contact {
                relation,
                name,
                email: mail,
                phone,
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
                group_key,
                contacts,
            });
        }
    }
    for teacher in root
        .children("leerkrachten")
        .flat_map(|l| l.children("leerkracht"))
    {
        file.teachers.push(read_teacher(teacher, &file, problems));
    }
    check_whole(&file, ("leerling key", "groep key"), problems);
    Some(file)
}

/// A `<leerkracht>`: their name, address and the keys of their groups (`<groepen>` holds
/// `<groep key>`; composed groups such as a reading group are not classes and are skipped).
fn read_teacher(teacher: &Element, file: &RosterFile, problems: &mut Problems) -> ImportedTeacher {
    let line = teacher.line;
    let key = text(
        teacher.attribute("key"),
        line,
        "leerkracht key",
        true,
        100,
        problems,
    );
    let first = text(
        called_by(
            teacher.child_text("roepnaam"),
            teacher.child_text("voornamen"),
            teacher
                .child_text("voorletters-1")
                .or_else(|| teacher.child_text("voorletters")),
        ),
        line,
        "leerkracht roepnaam",
        false,
        100,
        problems,
    );
    let prefix = text(
        teacher.child_text("voorvoegsel"),
        line,
        "leerkracht voorvoegsel",
        false,
        30,
        problems,
    );
    let last = text(
        teacher.child_text("achternaam"),
        line,
        "leerkracht achternaam",
        true,
        100,
        problems,
    );
    let email = email(
        teacher.child_text("emailadres"),
        line,
        "leerkracht emailadres",
        problems,
    );
    let mut group_keys = Vec::new();
    for group in teacher
        .children("groepen")
        .flat_map(|g| g.children("groep"))
    {
        let Some(group_key) = group.attribute("key").map(str::trim) else {
            continue;
        };
        if file.groups.iter().any(|g| g.key == group_key) {
            group_keys.push(group_key.to_owned());
        } else {
            problems.add(
                group.line,
                "leerkracht groep key",
                "portal.import.unknown_group",
            );
        }
    }
    ImportedTeacher {
        key,
        name: [first.as_str(), prefix.as_str(), last.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        email,
        group_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::{Format, parse as parse_any};

    const SAMPLE: &str = include_str!("../../../../docs/samples/edexml-voorbeeld.xml");
    const CSV_SAMPLE: &str = include_str!("../../../../docs/samples/leerlingen-voorbeeld.csv");

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn reasons(xml: &str) -> Vec<&'static str> {
        parse_any(xml.as_bytes(), today())
            .unwrap_err()
            .problems
            .iter()
            .map(|p| p.reason)
            .collect()
    }

    #[test]
    fn the_sample_reads_as_the_csv_sample_does() {
        let (format, roster) = parse_any(SAMPLE.as_bytes(), today()).unwrap();
        assert_eq!(format, Format::Edexml);
        assert_eq!(roster.groups.len(), 3);
        assert_eq!(roster.pupils.len(), 6);
        let sanne = &roster.pupils[0];
        assert_eq!(sanne.key, "2026001");
        assert_eq!(
            (
                sanne.first_name.as_str(),
                sanne.name_prefix.as_str(),
                sanne.last_name.as_str()
            ),
            ("Sanne", "de", "Vries")
        );
        assert_eq!(sanne.group_key.as_deref(), Some("G3B"));
        assert_eq!(sanne.contacts.len(), 2);
        assert_eq!(sanne.contacts[1].name, "Mark de Vries");
        assert_eq!(roster.pupils[2].last_name, "Yılmaz");
        let (_, from_csv) = parse_any(CSV_SAMPLE.as_bytes(), today()).unwrap();
        for (xml, csv) in roster.pupils.iter().zip(&from_csv.pupils) {
            assert_eq!(
                (
                    &xml.key,
                    &xml.first_name,
                    &xml.name_prefix,
                    &xml.last_name,
                    xml.date_of_birth,
                    &xml.contacts
                ),
                (
                    &csv.key,
                    &csv.first_name,
                    &csv.name_prefix,
                    &csv.last_name,
                    csv.date_of_birth,
                    &csv.contacts
                ),
            );
        }
    }

    #[test]
    fn bombs_doctypes_and_unknown_entities_are_refused() {
        let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<EDEX><leerlingen><leerling key="1"><achternaam>&lol2;</achternaam></leerling></leerlingen></EDEX>"#;
        assert_eq!(reasons(billion_laughs), ["portal.import.doctype_refused"]);
        let external = r#"<EDEX><leerlingen><leerling key="&xxe;"/></leerlingen></EDEX>"#;
        assert_eq!(reasons(external), ["portal.import.entity_refused"]);
        let undefined = "<EDEX><leerlingen><leerling key=\"1\"><achternaam>&lol;</achternaam></leerling></leerlingen></EDEX>";
        assert_eq!(reasons(undefined), ["portal.import.entity_refused"]);
        let deep = format!("<EDEX>{}{}</EDEX>", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(reasons(&deep), ["portal.import.too_deep"]);
        assert_eq!(
            reasons("<EDEX><leerlingen></EDEX>"),
            ["portal.import.not_well_formed"]
        );
        assert_eq!(
            reasons("<EDEX><leerlingen>"),
            ["portal.import.not_well_formed"]
        );
        assert_eq!(
            reasons("<html><body/></html>"),
            ["portal.import.not_edexml"]
        );
        assert_eq!(
            reasons("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><EDEX/>"),
            ["portal.import.not_utf8"]
        );
    }

    #[test]
    fn escapes_are_read_and_problems_name_line_and_field() {
        let xml = "<EDEX>\n<groepen><groep key=\"G\"><naam>Groep &amp; co</naam></groep></groepen>\n<leerlingen>\n\
                   <leerling key=\"1\"><roepnaam>Z&#233;</roepnaam><achternaam>A</achternaam><geboortedatum>2019-01-01</geboortedatum><groep key=\"G\"/></leerling>\n\
                   <leerling key=\"1\"><roepnaam>B</roepnaam><achternaam>B</achternaam><geboortedatum>01-13-2019</geboortedatum><groep key=\"X\"/></leerling>\n\
                   </leerlingen></EDEX>";
        let refused = parse_any(xml.as_bytes(), today()).unwrap_err();
        let found: Vec<(usize, &str, &str)> = refused
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str(), p.reason))
            .collect();
        assert_eq!(
            found,
            [
                (5, "geboortedatum", "portal.import.bad_date"),
                (5, "leerling key", "portal.import.duplicate_key"),
                (5, "groep key", "portal.import.unknown_group"),
            ],
            "every problem of the file at once"
        );
        let fine = xml
            .replace("01-13-2019", "2019-01-13")
            .replace("key=\"1\"><roepnaam>B", "key=\"2\"><roepnaam>B")
            .replace("key=\"X\"", "key=\"G\"");
        let (_, roster) = parse_any(fine.as_bytes(), today()).unwrap();
        assert_eq!(roster.groups[0].name, "Groep & co");
        assert_eq!(roster.pupils[0].first_name, "Zé");
    }
}
