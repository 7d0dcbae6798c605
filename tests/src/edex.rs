//! EDEXML files in the shape pupil administrations export, made up for tests and benchmarks:
//! combination groups as one `<groep>` per year group (own key, same name), pupils without a
//! roepnaam, elements in the order each administration likes, elements this portal does not
//! read, and a `<leerkrachten>` block. Every name, date and address is invented.

use std::fmt::Write;

/// What the file holds.
#[derive(Debug, Clone, Copy)]
pub struct EdexSchool {
    /// Classes; each spans `years_per_class` year groups.
    pub classes: usize,
    pub years_per_class: usize,
    pub pupils: usize,
    /// Contacts per pupil with an e-mail address (at most 2).
    pub contacts_per_pupil: usize,
    /// Appended to every e-mail address's local part, so files of two tests never share one.
    pub mail_tag: u32,
}

const FIRST_NAMES: [&str; 12] = [
    "Sanne",
    "Daan",
    "Zoë",
    "Noah",
    "Chloë",
    "Finn",
    "Anaïs",
    "Mila",
    "Sem",
    "Fenna-Maëlle",
    "Lucas",
    "Yara",
];
const LAST_NAMES: [(&str, &str); 8] = [
    ("de", "Vries"),
    ("", "Jansen"),
    ("van", "Dijk"),
    ("", "Yılmaz"),
    ("van der", "Berg"),
    ("", "Bakker"),
    ("el", "Amrani"),
    ("", "Smit"),
];
const ANIMALS: [&str; 10] = [
    "Beren", "Vossen", "Uilen", "Egels", "Dassen", "Reigers", "Otters", "Mollen", "Kikkers",
    "Spechten",
];

impl EdexSchool {
    /// The key of the `<groep>` entry for `year` of class `class`, as ParnasSys writes them.
    pub fn group_key(class: usize, year: usize) -> String {
        format!("c0ffee{class:04}-5a7e-4e1d-9b1a-00000000{class:04}_lj_{year}")
    }

    /// The shared name of class `class`: "1-2 Beren", "3-4 Vossen 2", …
    pub fn class_name(&self, class: usize) -> String {
        let years: Vec<String> = self.years_of(class).iter().map(usize::to_string).collect();
        let animal = ANIMALS[class % ANIMALS.len()];
        let round = class / ANIMALS.len();
        if round == 0 {
            format!("{} {animal}", years.join("-"))
        } else {
            format!("{} {animal} {}", years.join("-"), round + 1)
        }
    }

    /// The year groups of class `class` (1–8, wrapping).
    pub fn years_of(&self, class: usize) -> Vec<usize> {
        let first = 1 + (class * self.years_per_class) % 8;
        (0..self.years_per_class)
            .map(|i| (first + i - 1) % 8 + 1)
            .collect()
    }

    /// The pupil's class and year.
    pub fn placement(&self, pupil: usize) -> (usize, usize) {
        let class = pupil % self.classes;
        let years = self.years_of(class);
        (class, years[(pupil / self.classes) % years.len()])
    }

    /// The address of contact `n` (0 or 1) of pupil `pupil`.
    pub fn contact_email(&self, pupil: usize, n: usize) -> String {
        format!("ouder{pupil}-{n}.t{}@example.nl", self.mail_tag)
    }

    pub fn xml(&self) -> String {
        let mut xml = String::with_capacity(self.pupils * 1200);
        xml.push_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EDEX>\n  <school>\n    \
             <schooljaar>2026-2027</schooljaar>\n    <brincode>99ZZ</brincode>\n    \
             <dependancecode>00</dependancecode>\n    <schoolkey>99ZZ00</schoolkey>\n    \
             <aanmaakdatum>2026-11-20T09:12:00</aanmaakdatum>\n    <auteur>ParnasSys</auteur>\n    \
             <xsdversie>2.1</xsdversie>\n  </school>\n  <groepen>\n",
        );
        for class in 0..self.classes {
            let name = self.class_name(class);
            for year in self.years_of(class) {
                let key = Self::group_key(class, year);
                // Some administrations put the year before the name; both are allowed.
                if class.is_multiple_of(2) {
                    let _ = write!(
                        xml,
                        "    <groep key=\"{key}\">\n      <naam>{name}</naam>\n      \
                         <jaargroep>{year}</jaargroep>\n      <omschrijving>Combinatiegroep</omschrijving>\n    </groep>\n"
                    );
                } else {
                    let _ = write!(
                        xml,
                        "    <groep key=\"{key}\">\n      <jaargroep>{year}</jaargroep>\n      \
                         <naam>{name}</naam>\n    </groep>\n"
                    );
                }
            }
        }
        xml.push_str(
            "  </groepen>\n  <samengestelde_groepen>\n    <samengestelde_groep key=\"sg-lezen\">\n      \
             <naam>Leesgroep plus</naam>\n    </samengestelde_groep>\n  </samengestelde_groepen>\n  <leerlingen>\n",
        );
        for pupil in 0..self.pupils {
            self.write_pupil(&mut xml, pupil);
        }
        xml.push_str("  </leerlingen>\n  <leerkrachten>\n");
        for class in 0..self.classes {
            let (prefix, last) = LAST_NAMES[(class + 3) % LAST_NAMES.len()];
            let _ = write!(
                xml,
                "    <leerkracht key=\"lk-{class}\">\n      <achternaam>{last}</achternaam>\n      \
                 <voorvoegsel>{prefix}</voorvoegsel>\n      <roepnaam>Juf{class}</roepnaam>\n      \
                 <emailadres>leerkracht{class}.t{tag}@example.nl</emailadres>\n      <groepen>\n",
                tag = self.mail_tag
            );
            for year in self.years_of(class) {
                let _ = writeln!(
                    xml,
                    "        <groep key=\"{}\"/>",
                    Self::group_key(class, year)
                );
            }
            xml.push_str(
                "        <samengestelde_groep key=\"sg-lezen\"/>\n      </groepen>\n    </leerkracht>\n",
            );
        }
        xml.push_str("  </leerkrachten>\n</EDEX>\n");
        xml
    }

    fn write_pupil(&self, xml: &mut String, pupil: usize) {
        let (class, year) = self.placement(pupil);
        let first = FIRST_NAMES[pupil % FIRST_NAMES.len()];
        let (prefix, last) = LAST_NAMES[(pupil / 3) % LAST_NAMES.len()];
        let born = format!(
            "{}-{:02}-{:02}",
            2021 - year,
            1 + pupil % 12,
            1 + pupil % 28
        );
        // Every third pupil has no roepnaam, only voornamen and voorletters.
        let names = if pupil % 3 == 1 {
            format!(
                "<voornamen>{first} Maria</voornamen>\n      <voorletters-1>{}.M.</voorletters-1>",
                first.chars().next().unwrap_or('X')
            )
        } else {
            format!(
                "<roepnaam>{first}</roepnaam>\n      <voorletters-1>{}.</voorletters-1>",
                first.chars().next().unwrap_or('X')
            )
        };
        let group = format!("<groep key=\"{}\"/>", Self::group_key(class, year));
        let mut contacts = String::new();
        for n in 0..self.contacts_per_pupil.min(2) {
            let relation = ["moeder", "vader"][n];
            let roepnaam = ["Anna", "Mark"][n];
            let _ = write!(
                contacts,
                "\n        <contactpersoon>\n          <relatie>{relation}</relatie>\n          \
                 <roepnaam>{roepnaam}</roepnaam>\n          <voorvoegsel>{prefix}</voorvoegsel>\n          \
                 <achternaam>{last}</achternaam>\n          <emailadres>{}</emailadres>\n          \
                 <telefoonnummer>06-{:08}</telefoonnummer>\n        </contactpersoon>",
                self.contact_email(pupil, n),
                10_000_000 + pupil * 2 + n
            );
        }
        // Two orders of elements, as two administrations write them.
        if pupil.is_multiple_of(2) {
            let _ = write!(
                xml,
                "    <leerling key=\"{key}\">\n      <achternaam>{last}</achternaam>\n      \
                 <voorvoegsel>{prefix}</voorvoegsel>\n      {names}\n      \
                 <geboortedatum>{born}</geboortedatum>\n      <geslacht>{g}</geslacht>\n      \
                 <jaargroep>{year}</jaargroep>\n      {group}\n      <contactpersonen>{contacts}\n      </contactpersonen>\n    </leerling>\n",
                key = 3_000_000 + pupil,
                g = 1 + pupil % 2,
            );
        } else {
            let _ = write!(
                xml,
                "    <leerling key=\"{key}\">\n      {group}\n      <samengestelde_groepen>\
                 <samengestelde_groep key=\"sg-lezen\"/></samengestelde_groepen>\n      \
                 <geboortedatum>{born}</geboortedatum>\n      {names}\n      \
                 <achternaam>{last}</achternaam>\n      <voorvoegsel>{prefix}</voorvoegsel>\n      \
                 <nationaliteit>0001</nationaliteit>\n      <contactpersonen>{contacts}\n      </contactpersonen>\n    </leerling>\n",
                key = 3_000_000 + pupil,
            );
        }
    }
}
