//! Importing the pupil administration's file (P2): EDEXML and CSV, re-imports that update by
//! the pupil's key and mark pupils who left, and bad files refused whole, naming line and
//! field, with nothing imported and never a 5xx.

use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_tests::client::Client;
use schoolplein_tests::edex::EdexSchool;
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

/// One number from the school's schema.
async fn scalar(app: &TestApp, school: &TenantEntry, sql: &'static str) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let n = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test]
async fn an_export_with_combination_groups_imports_whole_and_a_second_import_changes_nothing() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let mut admin = signed_in(&app, &school, &[Role::SchoolAdmin]).await;
    let shape = EdexSchool {
        classes: 12,
        years_per_class: 2,
        pupils: 260,
        contacts_per_pupil: 2,
        mail_tag: 1,
    };
    let xml = shape.xml();

    let first = upload(&mut admin, &school, "export.xml", xml.as_bytes()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(counts(&first.text()), (260, 0, 0, 0));
    assert_eq!(
        count_of(&first.text(), "count-groups"),
        12,
        "one group per class"
    );
    assert_eq!(
        scalar(&app, &school, "SELECT count(*) FROM groups").await,
        12
    );
    assert_eq!(
        scalar(&app, &school, "SELECT count(*) FROM group_keys").await,
        24,
        "every key of the administration is kept"
    );
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let beren: (Vec<i16>, i16, i64) = sqlx::query_as(
        "SELECT g.years, g.year, (SELECT count(*) FROM pupils p WHERE p.group_id = g.id)
           FROM groups g WHERE g.name = '1-2 Beren'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        beren,
        (vec![1, 2], 1, 22),
        "both years' pupils are in one class"
    );
    let daan: (String, String, String) = sqlx::query_as(
        "SELECT p.first_name, p.name_prefix, g.name FROM pupils p JOIN groups g ON g.id = p.group_id
          WHERE p.import_key = '3000001'",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        daan,
        ("Daan".into(), "de".into(), shape.class_name(1)),
        "no roepnaam: the first voornaam; elements in another order"
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        scalar(&app, &school, "SELECT count(*) FROM imported_teachers").await,
        12,
        "the <leerkrachten> block is read"
    );

    // The teachers of the file are offered; those the admin ticks become staff of their groups.
    let host = school_host(&school.slug);
    assert!(first.text().contains("id=\"invite-teachers\""));
    let offered = admin.get(&host, "/admin/import/teachers").await;
    assert_eq!(offered.status, 200);
    assert_eq!(offered.text().matches("name=\"teacher\"").count(), 12);
    let none = admin.post_form(&host, "/admin/import/teachers", &[]).await;
    assert_eq!(none.status, 400, "choosing nobody is named");
    assert!(none.text().contains("teacher"));
    let invited = admin
        .post_form(
            &host,
            "/admin/import/teachers",
            &[("teacher", "lk-0"), ("teacher", "lk-1")],
        )
        .await;
    assert_eq!(
        invited.header("location"),
        Some("/admin/import/teachers?invited=2")
    );
    assert_eq!(
        scalar(
            &app,
            &school,
            "SELECT count(*) FROM group_teachers t JOIN people p ON p.id = t.person_id
              WHERE p.email LIKE 'leerkracht_.t1@example.nl'"
        )
        .await,
        2,
        "each made teacher of their one class"
    );
    assert_eq!(
        scalar(&app, &school, "SELECT count(*) FROM invitations").await,
        2
    );
    let again_offered = admin.get(&host, "/admin/import/teachers").await.text();
    assert_eq!(
        again_offered.matches(" disabled").count(),
        2,
        "staff already are not offered again"
    );

    let again = upload(&mut admin, &school, "export.xml", xml.as_bytes()).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(counts(&again.text()), (0, 0, 260, 0));
    assert_eq!(count_of(&again.text(), "count-groups"), 0);
    assert_eq!(
        scalar(&app, &school, "SELECT count(*) FROM groups").await,
        12
    );

    // A real mistake still refuses the whole file, naming line and field.
    let broken = xml.replacen("<geboortedatum>2019-", "<geboortedatum>2019-13-", 1);
    let refused = upload(&mut admin, &school, "export.xml", broken.as_bytes()).await;
    assert_eq!(refused.status, 422);
    let text = refused.text();
    assert!(text.contains("geboortedatum"), "{text}");
    assert_eq!(imports(&app, &school).await, 2, "nothing imported");
}

async fn group_id(app: &TestApp, school: &TenantEntry, name: &str) -> Option<i64> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let id = sqlx::query_scalar("SELECT id FROM groups WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    id
}

/// (group name, pupils) for every group, by name.
async fn group_sizes(app: &TestApp, school: &TenantEntry) -> Vec<(String, i64)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT g.name, (SELECT count(*) FROM pupils p WHERE p.group_id = g.id)
           FROM groups g ORDER BY g.name",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

#[tokio::test]
async fn a_school_splits_and_merges_groups_by_hand_and_the_next_import_keeps_its_choice() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = signed_in(&app, &school, &[Role::SchoolAdmin]).await;
    let shape = EdexSchool {
        classes: 4,
        years_per_class: 2,
        pupils: 40,
        contacts_per_pupil: 0,
        mail_tag: 2,
    };
    let xml = shape.xml();
    assert_eq!(
        upload(&mut admin, &school, "export.xml", xml.as_bytes())
            .await
            .status,
        200
    );
    let beren = group_id(&app, &school, &shape.class_name(0)).await.unwrap();
    let vossen = group_id(&app, &school, &shape.class_name(1)).await.unwrap();
    let uilen = group_id(&app, &school, &shape.class_name(2)).await.unwrap();
    let page = admin.get(&host, "/admin/groups").await;
    assert!(page.text().contains("split-group"), "{}", page.text());

    // Mistakes are named, and change nothing.
    let wrong_key = admin
        .post_form(
            &host,
            &format!("/admin/groups/{beren}/split"),
            &[("key", "no-such-key"), ("name", "2 Beren")],
        )
        .await;
    assert_eq!(wrong_key.status, 400);
    assert!(wrong_key.text().contains("key"));
    let taken = admin
        .post_form(
            &host,
            &format!("/admin/groups/{beren}/split"),
            &[
                ("key", &EdexSchool::group_key(0, 2)),
                ("name", &shape.class_name(1)),
            ],
        )
        .await;
    assert_eq!(taken.status, 400, "a name another group has");
    let same = admin
        .post_form(
            &host,
            "/admin/groups/merge",
            &[("from", &beren.to_string()), ("into", &beren.to_string())],
        )
        .await;
    assert_eq!(same.status, 400);
    assert_eq!(group_sizes(&app, &school).await.len(), 4);

    // Year 2 of "1-2 Beren" becomes a group of its own; "3-4 Vossen" joins "5-6 Uilen".
    let split = admin
        .post_form(
            &host,
            &format!("/admin/groups/{beren}/split"),
            &[("key", &EdexSchool::group_key(0, 2)), ("name", "2 Beren")],
        )
        .await;
    assert_eq!(split.status, 303, "{}", split.text());
    // The merge is asked first, with what would move; asking changes nothing.
    let asked = admin
        .get(
            &host,
            &format!("/admin/groups/merge?from={vossen}&into={uilen}"),
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.text());
    assert!(asked.text().contains("merge-confirm"));
    assert!(asked.text().contains(&shape.class_name(1)));
    assert!(
        asked.text().contains("<td>10</td>"),
        "the pupils that move: {}",
        asked.text()
    );
    assert_eq!(group_sizes(&app, &school).await.len(), 5);
    let asked_same = admin
        .get(
            &host,
            &format!("/admin/groups/merge?from={uilen}&into={uilen}"),
        )
        .await;
    assert_eq!(asked_same.status, 400);
    let merged = admin
        .post_form(
            &host,
            "/admin/groups/merge",
            &[("from", &vossen.to_string()), ("into", &uilen.to_string())],
        )
        .await;
    assert_eq!(merged.status, 303, "{}", merged.text());
    let arranged = group_sizes(&app, &school).await;
    let size = |name: &str| {
        arranged
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, size)| *size)
    };
    assert_eq!(size("2 Beren"), Some(5));
    assert_eq!(size(&shape.class_name(0)), Some(5));
    assert_eq!(size(&shape.class_name(1)), None, "merged away");
    assert_eq!(size(&shape.class_name(2)), Some(20));

    // The same file again: the school's arrangement stands.
    let again = upload(&mut admin, &school, "export.xml", xml.as_bytes()).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(counts(&again.text()), (0, 0, 40, 0));
    assert_eq!(count_of(&again.text(), "count-groups"), 0);
    assert_eq!(group_sizes(&app, &school).await, arranged);
}

#[tokio::test]
async fn merging_moves_every_column_that_refers_to_a_group() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let mut found: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, a.attname::text
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
          WHERE c.contype = 'f' AND c.confrelid = 'groups'::regclass",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    found.sort();
    let mut known: Vec<(String, String)> = schoolplein_portal::db::groups::GROUP_REFERENCES
        .iter()
        .map(|(t, c)| ((*t).to_owned(), (*c).to_owned()))
        .collect();
    known.sort();
    assert_eq!(found, known, "db::groups::merge must move every reference");
}
