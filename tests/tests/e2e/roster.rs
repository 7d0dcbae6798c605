//! Importing the pupil administration's file (P2): EDEXML and CSV, re-imports that update by
//! the pupil's key and mark pupils who left, and bad files refused whole, naming line and
//! field, with nothing imported and never a 5xx.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::{RawResponse, TestApp, school_host, unique_slug};
use tenant_router::{TenantEntry, TenantTx};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "Kn1kker-Boom-Zeil";
const EDEXML: &str = include_str!("../../../docs/samples/edexml-voorbeeld.xml");
const CSV: &str = include_str!("../../../docs/samples/leerlingen-voorbeeld.csv");

async fn signed_in(app: &TestApp, school: &TenantEntry, roles: &[Role]) -> Client {
    let email = format!("{}@example.nl", unique_slug());
    enroll(
        &app.state,
        school.id,
        "Beheerder",
        &EmailAddress::parse(&email).unwrap(),
        roles,
        Some(&NewPassword::parse(PASSWORD).unwrap()),
    )
    .await
    .unwrap();
    let mut client = Client::new(app.addr);
    let host = school_host(&school.slug);
    assert_eq!(
        client.sign_in(&host, &email, PASSWORD, false).await.status,
        303
    );
    client.get(&host, "/account").await;
    client
}

async fn upload(
    client: &mut Client,
    school: &TenantEntry,
    name: &str,
    bytes: &[u8],
) -> RawResponse {
    client
        .post_file(
            &school_host(&school.slug),
            "/admin/import",
            name,
            bytes,
            None,
        )
        .await
}

fn count_of(html: &str, id: &str) -> i64 {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("{id} in {html}"));
    let rest = &html[start + id.len() + 6..];
    rest[..rest.find('<').unwrap()].parse().unwrap()
}

/// (added, changed, unchanged, left) from a report page.
fn counts(html: &str) -> (i64, i64, i64, i64) {
    (
        count_of(html, "count-added"),
        count_of(html, "count-changed"),
        count_of(html, "count-unchanged"),
        count_of(html, "count-left"),
    )
}

async fn pupils(
    app: &TestApp,
    school: &TenantEntry,
) -> Vec<(String, String, Option<String>, bool, i64)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT p.import_key, p.first_name || ' ' || p.last_name, g.name, p.left_at IS NOT NULL,
                jsonb_array_length(p.contacts)::bigint
           FROM pupils p LEFT JOIN groups g ON g.id = p.group_id ORDER BY p.import_key",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

async fn imports(app: &TestApp, school: &TenantEntry) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let n = sqlx::query_scalar("SELECT count(*) FROM roster_imports")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test]
async fn edexml_imports_and_reimports_update_by_key_and_mark_who_left() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let mut admin = signed_in(&app, &school, &[Role::SchoolAdmin]).await;

    let first = upload(&mut admin, &school, "export.xml", EDEXML.as_bytes()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let html = first.text();
    assert_eq!(counts(&html), (6, 0, 0, 0));
    assert_eq!(count_of(&html, "count-groups"), 3);
    let rows = pupils(&app, &school).await;
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[0],
        (
            "2026001".into(),
            "Sanne Vries".into(),
            Some("Groep 3b".into()),
            false,
            2
        )
    );

    // The same file again changes nothing and duplicates nothing.
    let again = upload(&mut admin, &school, "export.xml", EDEXML.as_bytes()).await;
    assert_eq!(counts(&again.text()), (0, 0, 6, 0));
    assert_eq!(pupils(&app, &school).await.len(), 6);

    // Next year's file: Daan moves to group 4, Finn has left, Mila is new.
    let next = EDEXML
        .replace("<geboortedatum>2019-07-02</geboortedatum>\n      <geslacht>1</geslacht>\n      <jaargroep>3</jaargroep>\n      <groep key=\"G3B\"/>",
                 "<geboortedatum>2019-07-02</geboortedatum>\n      <geslacht>1</geslacht>\n      <jaargroep>4</jaargroep>\n      <groep key=\"G4\"/>");
    let finn_start = next.find("<leerling key=\"2026006\">").unwrap();
    let finn_end =
        finn_start + next[finn_start..].find("</leerling>").unwrap() + "</leerling>".len();
    let mila = "<leerling key=\"2026007\"><achternaam>Visser</achternaam><roepnaam>Mila</roepnaam>\
                <geboortedatum>2021-08-08</geboortedatum><groep key=\"G12A\"/></leerling>";
    let next = format!("{}{}{}", &next[..finn_start], mila, &next[finn_end..]);
    let report = upload(&mut admin, &school, "export.xml", next.as_bytes()).await;
    assert_eq!(report.status, 200, "{}", report.text());
    assert_eq!(counts(&report.text()), (1, 1, 4, 1));
    let rows = pupils(&app, &school).await;
    assert_eq!(rows.len(), 7, "nobody is deleted");
    let daan = rows.iter().find(|r| r.0 == "2026002").unwrap();
    assert_eq!(daan.2.as_deref(), Some("Groep 4"));
    let finn = rows.iter().find(|r| r.0 == "2026006").unwrap();
    assert!(finn.3, "Finn is marked as left");
    // Finn comes back: changed, no longer left.
    let back = upload(&mut admin, &school, "export.xml", EDEXML.replace("G3B\"/>\n      <contactpersonen>\n        <contactpersoon>\n          <relatie>vader</relatie>\n          <roepnaam>Joost", "G4\"/>\n      <contactpersonen>\n        <contactpersoon>\n          <relatie>vader</relatie>\n          <roepnaam>Joost").as_bytes()).await;
    assert_eq!(counts(&back.text()), (0, 1, 5, 1), "Finn back, Mila gone");
    assert_eq!(imports(&app, &school).await, 4);
    assert!(back.text().contains("id=\"recent-imports\""));
}

#[tokio::test]
async fn the_csv_sample_gives_the_same_roster_as_the_edexml_sample() {
    let app = TestApp::spawn().await;
    let from_xml = app.create_school("School XML", "").await;
    let from_csv = app.create_school("School CSV", "").await;
    let mut xml_admin = signed_in(&app, &from_xml, &[Role::SchoolAdmin]).await;
    let mut csv_admin = signed_in(&app, &from_csv, &[Role::SchoolAdmin]).await;
    assert_eq!(
        upload(&mut xml_admin, &from_xml, "a.xml", EDEXML.as_bytes())
            .await
            .status,
        200
    );
    let csv = upload(&mut csv_admin, &from_csv, "a.csv", CSV.as_bytes()).await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert_eq!(counts(&csv.text()), (6, 0, 0, 0));
    assert_eq!(pupils(&app, &from_xml).await, pupils(&app, &from_csv).await);
    // Each school's import reached only its own schema.
    let other = app.create_school("School Leeg", "").await;
    assert!(pupils(&app, &other).await.is_empty());
}

#[tokio::test]
async fn bad_files_are_refused_whole_naming_line_and_field() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Streng", "").await;
    let host = school_host(&school.slug);
    let mut admin = signed_in(&app, &school, &[Role::SchoolAdmin]).await;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            // Windows-1252 is read (see below), but 0x81 is no character in it.
            "stuurteken.csv",
            b"leerlingnummer;roepnaam;achternaam;geboortedatum;groep\n1;Ren\xe9e\x81;Vries;14-03-2019;Groep 3\n".to_vec(),
            "onzichtbaar stuurteken",
        ),
        (
            "kolommen.csv",
            b"leerlingnummer;naam\n1;Sanne\n".to_vec(),
            "Deze kolom ontbreekt",
        ),
        (
            "dubbel.csv",
            format!("{CSV}2026001;Sanne;;Kopie;14-03-2019;Groep 3b;;;;;;;;\n").into_bytes(),
            "komt vaker voor",
        ),
        (
            "bom.xml",
            br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><EDEX><leerlingen><leerling key="&lol1;"/></leerlingen></EDEX>"#.to_vec(),
            "DOCTYPE",
        ),
        ("kapot.xml", b"<EDEX><leerlingen></EDEX>".to_vec(), "geen geldig XML"),
        ("leeg.csv", b"".to_vec(), "Kies een bestand"),
    ];
    for (name, bytes, says) in cases {
        let refused = upload(&mut admin, &school, name, &bytes).await;
        assert!(
            matches!(refused.status, 400 | 422),
            "{name}: {} {}",
            refused.status,
            refused.text()
        );
        assert!(refused.text().contains(says), "{name}: {}", refused.text());
    }
    // Line and field are named.
    let bad_line = CSV.replace(
        "2026003;Elif;;Yılmaz;30-11-2018",
        "2026003;Elif;;Yılmaz;31-11-2018",
    );
    let refused = upload(&mut admin, &school, "fout.csv", bad_line.as_bytes())
        .await
        .text();
    assert!(
        refused.contains("<td>4</td><td><code>geboortedatum</code></td>"),
        "{refused}"
    );

    // A 50 MB file: refused as too large, before it is read.
    let huge = vec![b'x'; 50 * 1024 * 1024];
    let status = post_huge(&app, &host, &admin, &huge).await;
    assert_eq!(status, Some(413));

    // A form without its token, a parent, a stranger: refused.
    let forged = admin
        .post_file(
            &host,
            "/admin/import",
            "a.xml",
            EDEXML.as_bytes(),
            Some("wrong"),
        )
        .await;
    assert_eq!(forged.status, 403);
    let mut parent = signed_in(&app, &school, &[Role::Parent]).await;
    assert_eq!(
        upload(&mut parent, &school, "a.xml", EDEXML.as_bytes())
            .await
            .status,
        403
    );
    let mut stranger = Client::new(app.addr);
    stranger.get(&host, "/sign-in").await;
    assert_eq!(
        upload(&mut stranger, &school, "a.xml", EDEXML.as_bytes())
            .await
            .status,
        303
    );

    assert!(
        pupils(&app, &school).await.is_empty(),
        "nothing was imported"
    );
    assert_eq!(imports(&app, &school).await, 0);
}

/// Sends a 50 MB upload while reading the answer: the server may answer before the body is
/// sent. `None` when no answer came.
async fn post_huge(app: &TestApp, host: &str, client: &Client, body: &[u8]) -> Option<u16> {
    let cookie = format!(
        "sp_csrf={}",
        client.cookie(host, "sp_csrf").unwrap_or_default()
    );
    let head = format!(
        "POST /admin/import HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let stream = tokio::net::TcpStream::connect(app.addr).await.ok()?;
    let (mut read, mut write) = stream.into_split();
    let body = body.to_vec();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&body).await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        read.read_to_end(&mut answer),
    )
    .await;
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

/// A text as Excel on a Dutch Windows machine saves "CSV (gescheiden door
/// lijstscheidingsteken)": Windows-1252, CRLF line ends. Panics on a character it lacks.
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '–' => 0x96,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u8,
            c => panic!("{c} is not in Windows-1252"),
        })
        .collect()
}

#[tokio::test]
async fn a_csv_from_excel_on_windows_imports_with_its_accents_and_says_how_it_was_read() {
    let app = TestApp::spawn().await;
    let school = app.create_school("School Excel", "").await;
    let mut admin = signed_in(&app, &school, &[Role::SchoolAdmin]).await;
    let file = "leerlingnummer;roepnaam;tussenvoegsel;achternaam;geboortedatum;groep\r\n\
                3001;Zoë;;Bakker;14-03-2019;Groep 3\r\n\
                3002;Chloë;van;Dijk;02-11-2018;Groep 3\r\n\
                3003;Fenna-Maëlle;;Jansen;21-06-2019;Groep 3\r\n\
                3004;Anaïs;d';Hondt;05-01-2019;Groep 3\r\n";
    let answer = upload(&mut admin, &school, "leerlingen.csv", &windows_1252(file)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let page = answer.text();
    assert_eq!(counts(&page), (4, 0, 0, 0));
    assert!(
        page.contains("Tekens gelezen als Windows-1252"),
        "the page says how the file was read: {page}"
    );
    let names: Vec<String> = pupils(&app, &school)
        .await
        .into_iter()
        .map(|(_, name, _, _, _)| name)
        .collect();
    assert_eq!(
        names,
        [
            "Zoë Bakker",
            "Chloë Dijk",
            "Fenna-Maëlle Jansen",
            "Anaïs Hondt"
        ]
    );
    // The same file saved as "CSV UTF-8" (with Excel's byte-order mark) changes nothing.
    let utf8 = [b"\xEF\xBB\xBF".as_slice(), file.as_bytes()].concat();
    let again = upload(&mut admin, &school, "leerlingen.csv", &utf8).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(counts(&again.text()), (0, 0, 4, 0));
    assert!(again.text().contains("Tekens gelezen als UTF-8"));
}

#[tokio::test]
async fn pupils_without_a_roepnaam_are_called_by_their_first_voornaam_or_their_initials() {
    let app = TestApp::spawn().await;
    let school = app.create_school("School Voornamen", "").await;
    let mut admin = signed_in(&app, &school, &[Role::SchoolAdmin]).await;
    // As administrations export pupils whose roepnaam was never filled in.
    let file = EDEXML
        .replacen(
            "<roepnaam>Sanne</roepnaam>",
            "<voornamen>Susanna Maria</voornamen>",
            1,
        )
        .replacen("<roepnaam>Daan</roepnaam>", "", 1);
    assert_ne!(file, EDEXML, "the sample changed");
    let answer = upload(&mut admin, &school, "export.xml", file.as_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let names: Vec<String> = pupils(&app, &school)
        .await
        .into_iter()
        .map(|(_, name, _, _, _)| name)
        .collect();
    assert!(names.contains(&"Susanna Vries".to_owned()), "{names:?}");
    // Daan's file gives only his initials.
    assert!(names.iter().any(|n| n.starts_with("D. ")), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("Daan")), "{names:?}");
}
