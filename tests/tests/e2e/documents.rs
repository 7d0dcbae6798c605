//! Documents (C7): who sees which folder and file (the whole school, a group, another group,
//! another school), what staff may upload and parents may not, files that lie about their
//! type, names that try to be markup or headers, newest first, and the module switched off.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, parent};
use schoolplein_tests::{TestApp, eventually, school_host};
use std::time::Duration;
use tenant_router::{TenantEntry, TenantTx};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

async fn group_id(app: &TestApp, school: &TenantEntry, key: &str) -> i64 {
    school::id(
        app,
        school,
        "SELECT id FROM groups WHERE import_key = $1",
        key,
    )
    .await
}

/// Makes a folder and returns its id.
async fn folder(client: &mut Client, host: &str, name: &str, group: &str) -> i64 {
    client.get(host, "/documents").await;
    let answer = client
        .post_form(host, "/documents", &[("name", name), ("group_id", group)])
        .await;
    assert_eq!(answer.status, 303, "{name}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/documents/"))
        .and_then(|id| id.parse().ok())
        .expect("the new folder's address")
}

/// Uploads one file into a folder and returns the answer.
async fn upload(client: &mut Client, host: &str, folder: i64, name: &str, bytes: &[u8]) -> u16 {
    client.get(host, &format!("/documents/{folder}")).await;
    client
        .post_file(
            host,
            &format!("/documents/{folder}/files"),
            name,
            bytes,
            None,
        )
        .await
        .status
}

/// The download links of a folder's page, in the order shown.
fn links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&#x2F;", "/"))
        .filter(|href| href.contains("/files/") && !href.ends_with("/delete"))
        .collect()
}

/// A zip archive in the shape Office writes, with the parts that name a Word document.
fn docx() -> Vec<u8> {
    let mut bytes = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
    bytes.extend_from_slice(&[0; 18]);
    bytes.extend_from_slice(&19u16.to_le_bytes());
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(b"[Content_Types].xml<Types/>PK\x03\x04word/document.xml<w/>");
    bytes
}

#[tokio::test]
async fn folders_reach_exactly_their_audience_and_files_always_download() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Boekenkast", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut teacher_4 = school::member(&app, &school, "Meester 4", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher_4.person_id, "G4").await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let mut p4 = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let g3 = group_id(&app, &school, "G3B").await.to_string();
    let g4 = group_id(&app, &school, "G4").await.to_string();

    let letters = folder(&mut admin.client, &host, "Nieuwsbrieven", "").await;
    let group_3 = folder(&mut teacher.client, &host, "Huiswerk groep 3b", &g3).await;
    assert_eq!(
        upload(&mut admin.client, &host, letters, "nieuwsbrief.pdf", PDF).await,
        303
    );
    assert_eq!(
        upload(&mut teacher.client, &host, group_3, "rekenblad.pdf", PDF).await,
        303
    );

    // Another school's parent, signed in there, finds nothing of this school.
    let other = app.create_school("Andere school", "").await;
    let other_host = school_host(&other.slug);
    let mut elsewhere = school::member(&app, &other, "Ouder elders", &[Role::Parent]).await;

    // The list: the school's folder for everyone, the group's for its parents and teacher.
    for (who, client, sees_group) in [
        ("admin", &mut admin.client, true),
        ("teacher 3b", &mut teacher.client, true),
        ("parent 3b", &mut p3.client, true),
        ("parent 4", &mut p4.client, false),
        ("teacher 4", &mut teacher_4.client, false),
    ] {
        let page = client.get(&host, "/documents").await;
        assert_eq!(page.status, 200, "{who}");
        let page = page.text();
        assert!(page.contains(&format!("id=\"folder-{letters}\"")), "{who}");
        assert_eq!(
            page.contains(&format!("id=\"folder-{group_3}\"")),
            sees_group,
            "{who}: {page}"
        );
        let folder_page = client.get(&host, &format!("/documents/{group_3}")).await;
        assert_eq!(
            folder_page.status,
            if sees_group { 200 } else { 404 },
            "{who}"
        );
    }
    let page = elsewhere.client.get(&other_host, "/documents").await.text();
    // The page's own part: the menu has a place called "Huiswerk" too.
    let content = page
        .split("<main")
        .nth(1)
        .and_then(|rest| rest.split("</main>").next())
        .unwrap_or(&page);
    assert!(
        !content.contains("Nieuwsbrieven") && !content.contains("Huiswerk"),
        "{page}"
    );

    // Downloads: the parent of the group gets the file as an attachment with safe headers.
    let page = p3
        .client
        .get(&host, &format!("/documents/{group_3}"))
        .await
        .text();
    let link = links(&page).pop().expect("a link to the file");
    let file = p3.client.get(&host, &link).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, PDF);
    assert_eq!(file.header("content-type"), Some("application/pdf"));
    assert!(
        file.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"rekenblad.pdf\""))
    );
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    assert!(
        file.header("cache-control")
            .is_some_and(|c| c.starts_with("private"))
    );
    // Not for another group's parent, not through another folder's address, not elsewhere.
    assert_eq!(p4.client.get(&host, &link).await.status, 404);
    let sideways = link.replace(
        &format!("/documents/{group_3}/"),
        &format!("/documents/{letters}/"),
    );
    assert_eq!(p4.client.get(&host, &sideways).await.status, 404);
    for path in [link.clone(), format!("/documents/{group_3}")] {
        let answer = elsewhere.client.get(&other_host, &path).await;
        assert_eq!(answer.status, 404, "{path}");
    }

    // Who may add: not a parent, not the teacher of another group, not a teacher for the
    // whole school; a teacher's folder is for their own group.
    assert_eq!(
        upload(&mut p3.client, &host, group_3, "ouder.pdf", PDF).await,
        403
    );
    assert_eq!(
        upload(&mut teacher_4.client, &host, group_3, "vreemd.pdf", PDF).await,
        404
    );
    assert_eq!(
        upload(&mut teacher.client, &host, letters, "school.pdf", PDF).await,
        403
    );
    for group in ["", g4.as_str(), "999999", "drie"] {
        teacher.client.get(&host, "/documents").await;
        let answer = teacher
            .client
            .post_form(&host, "/documents", &[("name", "Map"), ("group_id", group)])
            .await;
        assert_eq!(answer.status, 400, "{group:?}");
        assert!(answer.text().contains("group_id"), "{}", answer.text());
    }
    p3.client.get(&host, "/documents").await;
    let answer = p3
        .client
        .post_form(&host, "/documents", &[("name", "Map"), ("group_id", &g3)])
        .await;
    assert_eq!(answer.status, 403);

    // Deleting: parents cannot; staff of the folder can, and the file is gone for everyone.
    let answer = p3
        .client
        .post_form(&host, &format!("{link}/delete"), &[])
        .await;
    assert_eq!(answer.status, 403);
    let answer = teacher_4
        .client
        .post_form(&host, &format!("{link}/delete"), &[])
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(p3.client.get(&host, &link).await.status, 200);
    let answer = teacher
        .client
        .post_form(&host, &format!("{link}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(p3.client.get(&host, &link).await.status, 404);
    let answer = teacher
        .client
        .post_form(&host, &format!("/documents/{group_3}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        teacher
            .client
            .get(&host, &format!("/documents/{group_3}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn uploads_are_what_their_bytes_say_names_stay_text_and_the_newest_comes_first() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Brieven", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut reader = parent(&app, &school, "Ouder", &["2026001"]).await;
    let letters = folder(&mut admin.client, &host, "Brieven", "").await;
    let path = format!("/documents/{letters}/files");

    // Files that lie about what they are, empty files and zips that are no Office file.
    for (name, bytes) in [
        (
            "brief.pdf",
            &b"<!doctype html><script>alert(1)</script>"[..],
        ),
        (
            "plaatje.png",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        ),
        ("archief.docx", b"PK\x03\x04\x14\x00\x00\x00evil.exe"),
        ("oud.doc", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0"),
        ("leeg.pdf", b""),
    ] {
        admin
            .client
            .get(&host, &format!("/documents/{letters}"))
            .await;
        let answer = admin
            .client
            .post_file(&host, &path, name, bytes, None)
            .await;
        assert_eq!(answer.status, 400, "{name}");
        assert!(answer.text().contains("file"), "{name}: {}", answer.text());
    }
    let too_big = vec![b'%'; 10 * 1024 * 1024 + 1];
    let answer = admin
        .client
        .post_file(&host, &path, "groot.pdf", &too_big, None)
        .await;
    assert!([400, 413].contains(&answer.status), "{}", answer.status);
    let answer = admin
        .client
        .post_file(&host, &path, "brief.pdf", PDF, Some("forged"))
        .await;
    assert_eq!(answer.status, 403, "a forged form");
    // One bad file among good ones: nothing of the form is kept.
    admin
        .client
        .get(&host, &format!("/documents/{letters}"))
        .await;
    let answer = admin
        .client
        .post_files(
            &host,
            &path,
            "file",
            &[("goed.pdf", PDF), ("fout.pdf", b"<html>")],
        )
        .await;
    assert_eq!(answer.status, 400);
    let page = reader
        .client
        .get(&host, &format!("/documents/{letters}"))
        .await
        .text();
    assert!(links(&page).is_empty(), "{page}");

    // Real files, one with a hostile name, one a Word document; the newest first.
    let hostile = "<img src=x onerror=alert(1)>;.pdf";
    for (name, bytes) in [
        ("eerste.pdf", PDF.to_vec()),
        (hostile, PDF.to_vec()),
        ("ouderavond.docx", docx()),
    ] {
        assert_eq!(
            upload(&mut admin.client, &host, letters, name, &bytes).await,
            303,
            "{name}"
        );
    }
    let page = reader
        .client
        .get(&host, &format!("/documents/{letters}"))
        .await
        .text();
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;;.pdf"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"), "{page}");
    let shown = links(&page);
    assert_eq!(shown.len(), 3, "{page}");
    let names: Vec<String> = {
        let mut names = Vec::new();
        for link in &shown {
            let file = reader.client.get(&host, link).await;
            assert_eq!(file.status, 200);
            names.push(
                file.header("content-disposition")
                    .unwrap_or_default()
                    .to_owned(),
            );
            if link == &shown[0] {
                assert_eq!(file.body, docx());
                assert_eq!(
                    file.header("content-type"),
                    Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
                );
            }
        }
        names
    };
    assert!(names[0].contains("ouderavond.docx"), "{names:?}");
    assert!(names[2].contains("eerste.pdf"), "{names:?}");
    // The hostile name cannot end the header or start another.
    assert!(
        names[1].starts_with("attachment; filename=\"_img src_x onerror_alert_1___.pdf\";"),
        "{names:?}"
    );
    assert!(!names[1].contains('<') && !names[1].contains('\n'));
}

#[tokio::test]
async fn a_school_that_switches_documents_off_hides_them_from_parents() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Zonder Kast", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut reader = parent(&app, &school, "Ouder", &["2026001"]).await;
    let letters = folder(&mut admin.client, &host, "Brieven", "").await;
    assert_eq!(
        upload(&mut admin.client, &host, letters, "brief.pdf", PDF).await,
        303
    );
    let page = reader
        .client
        .get(&host, &format!("/documents/{letters}"))
        .await;
    let link = links(&page.text()).pop().expect("a file");
    assert!(
        reader
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("id=\"nav-documents\"")
    );

    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query(
        "UPDATE school_settings SET modules = '{\"documents\": {\"on\": false, \"name\": null}}'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    schoolplein_kernel::settings::announce_change(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let hidden = eventually(Duration::from_secs(5), || {
        let mut client = reader.client.clone();
        let host = host.clone();
        async move { client.get(&host, "/documents").await.status == 404 }
    })
    .await;
    assert!(hidden.is_some(), "the documents stay open to parents");
    for path in [format!("/documents/{letters}"), link.clone()] {
        assert_eq!(reader.client.get(&host, &path).await.status, 404, "{path}");
    }
    assert!(
        !reader
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("nav-documents")
    );
    // Off is off for every role: staff too find nothing there until the school switches it on.
    assert_eq!(admin.client.get(&host, &link).await.status, 404);
}
