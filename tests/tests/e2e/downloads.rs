//! Every file the app sends — zips, photos, PDFs, documents, attachments, calendar feeds,
//! JSON, the stylesheet and script — arrives whole under every content encoding a client may
//! ask for (browsers always ask for gzip and br), and a body stream that fails half-way
//! ends as a failed response while the server goes on.

use axum::Router;
use axum::routing::get;
use schoolplein_kernel::{AppState, Role};
use schoolplein_tests::archive::{decoded, unzip};
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, publish};
use schoolplein_tests::{RawResponse, TestApp, TestAppOptions, http, pdf_text, school_host};

/// What clients send: one encoding at a time, none, and what Chromium sends.
const ENCODINGS: [&str; 7] = [
    "gzip",
    "br",
    "deflate",
    "zstd",
    "identity",
    "",
    "gzip, deflate, br, zstd",
];

fn picture(format: image::ImageFormat, colour: [u8; 3]) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(640, 480, image::Rgb(colour));
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, format).expect("encoded");
    out.into_inner()
}

/// The last number in a `Location` header after `prefix`.
fn created(answer: &RawResponse, prefix: &str) -> i64 {
    answer
        .header("location")
        .and_then(|l| l.strip_prefix(prefix))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix}… address: {} {}", answer.status, answer.text()))
}

/// `client`'s request with `Accept-Encoding: encoding` (none when empty).
async fn fetch(
    client: &mut Client,
    host: &str,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
    encoding: &str,
) -> RawResponse {
    let saved = client.extra_headers.clone();
    if !encoding.is_empty() {
        client
            .extra_headers
            .push(("Accept-Encoding".into(), encoding.into()));
    }
    let answer = match method {
        "GET" => client.get(host, path).await,
        _ => client.post_form(host, path, form).await,
    };
    client.extra_headers = saved;
    answer
}

#[tokio::test]
async fn every_file_arrives_whole_under_every_encoding_a_client_asks_for() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Bestanden", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();

    // An album with two photos.
    admin.client.get(&host, "/albums").await;
    let made = admin
        .client
        .post_form(
            &host,
            "/albums",
            &[("title", "Schoolreis"), ("group_id", &g3)],
        )
        .await;
    let album = created(&made, "/albums/");
    let red = picture(image::ImageFormat::Jpeg, [200, 30, 30]);
    let blue = picture(image::ImageFormat::Png, [30, 30, 200]);
    for (name, bytes) in [("rood.jpg", &red), ("blauw.png", &blue)] {
        admin.client.get(&host, &format!("/albums/{album}")).await;
        let answer = admin
            .client
            .post_file(&host, &format!("/albums/{album}/photos"), name, bytes, None)
            .await;
        assert_eq!(answer.status, 303, "{name}: {}", answer.text());
    }
    let photos: Vec<String> = admin
        .client
        .get(&host, &format!("/albums/{album}"))
        .await
        .text()
        .split("id=\"photo-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(photos.len(), 2);

    // A post with a PDF attachment, and a document in a folder.
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let post = publish(
        &mut admin.client,
        &host,
        &[("kind", "news"), ("title", "Brief"), ("groups", &g3)],
    )
    .await;
    admin.client.get(&host, &format!("/posts/{post}")).await;
    let attached = admin
        .client
        .post_file(
            &host,
            &format!("/posts/{post}/attachments"),
            "brief.pdf",
            &pdf,
            None,
        )
        .await;
    assert!(attached.status < 400, "{}", attached.text());
    let attachment: i64 = {
        let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
            .await
            .unwrap();
        let id = sqlx::query_scalar("SELECT id FROM post_attachments WHERE post_id = $1")
            .bind(post)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    admin.client.get(&host, "/documents").await;
    let made = admin
        .client
        .post_form(
            &host,
            "/documents",
            &[("name", "Formulieren"), ("group_id", "")],
        )
        .await;
    let folder = created(&made, "/documents/");
    admin
        .client
        .get(&host, &format!("/documents/{folder}"))
        .await;
    let uploaded = admin
        .client
        .post_file(
            &host,
            &format!("/documents/{folder}/files"),
            "gids.pdf",
            &pdf,
            None,
        )
        .await;
    assert!(uploaded.status < 400, "{}", uploaded.text());
    let document: i64 = {
        let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
            .await
            .unwrap();
        let id = sqlx::query_scalar("SELECT id FROM documents WHERE folder_id = $1")
            .bind(folder)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };

    // A calendar feed of the group.
    admin.client.get(&host, "/calendar/feeds").await;
    let feeds = admin
        .client
        .post_form(&host, "/calendar/feeds/renew", &[("group_id", &g3)])
        .await
        .text();
    let marker = "class=\"feed-url\" value=\"";
    let at = feeds.find(marker).expect("a new feed address") + marker.len();
    let url = feeds[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2F;", "/");
    let feed = url[url.find("/feeds/").expect("a feed path")..].to_owned();

    // The school day's files: a task's worksheet, a leave request's employer's statement and
    // its decision letter, and the registers as CSV.
    admin.client.get(&host, "/tasks").await;
    let task = admin
        .client
        .post_multipart(
            &host,
            "/tasks",
            &[
                ("group", &g3),
                ("title", "Rekenen"),
                ("due_day", "2099-01-05"),
            ],
            &[("files", "werkblad.pdf", &pdf)],
        )
        .await;
    let task = created(&task, "/tasks/");
    let school_day = |sql: &'static str| {
        let (app, school) = (&app, &school);
        async move {
            let mut tx = tenant_router::TenantTx::begin(&app.db.pool, school.id)
                .await
                .expect("a school transaction");
            let id: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut *tx)
                .await
                .expect("an id");
            tx.rollback().await.expect("rollback");
            id
        }
    };
    let worksheet = school_day("SELECT max(id) FROM task_files").await;
    let mut mother = school::parent(&app, &school, "Anna de Vries", &["2026001"]).await;
    let sanne = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await
    .to_string();
    mother.client.get(&host, "/leave").await;
    let asked = mother
        .client
        .post_multipart(
            &host,
            "/leave",
            &[
                ("children", &sanne),
                ("kind", "circumstances"),
                ("first_day", "2099-01-05"),
                ("reason", "Bruiloft"),
            ],
            &[("statement", "verklaring.pdf", &pdf)],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.text());
    let request = school_day("SELECT max(id) FROM leave_requests").await;
    admin
        .client
        .get(&host, &format!("/leave/requests/{request}"))
        .await;
    let decided = admin
        .client
        .post_form(
            &host,
            &format!("/leave/requests/{request}/decide"),
            &[
                ("decision", "approved"),
                ("reason", "Huwelijk in de familie."),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.text());

    let photo_fields: Vec<(&str, &str)> = photos.iter().map(|p| ("photos", p.as_str())).collect();
    let (p1, p2) = (&photos[0], &photos[1]);
    // (method, path, form, how the decoded bytes are checked)
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let routes: Vec<(&str, String, Form, Check)> = vec![
        (
            "POST",
            format!("/albums/{album}/download"),
            photo_fields.clone(),
            Check::Zip,
        ),
        (
            "GET",
            format!("/albums/{album}/photos/{p1}"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/albums/{album}/photos/{p2}/thumbnail"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/albums/{album}/photos/{p2}/original"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/posts/{post}/attachments/{attachment}"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/documents/{folder}/files/{document}"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/groups/{g3}/class-list.pdf"),
            vec![],
            Check::Pdf,
        ),
        (
            "GET",
            format!("/groups/{g3}/address-list.pdf"),
            vec![],
            Check::Pdf,
        ),
        (
            "GET",
            format!("/admin/groups/{g3}/letters.pdf"),
            vec![],
            Check::Pdf,
        ),
        ("GET", format!("/api/groups/{g3}"), vec![], Check::Same),
        (
            "GET",
            format!("/tasks/{task}/files/{worksheet}"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/leave/requests/{request}/statement"),
            vec![],
            Check::Same,
        ),
        (
            "GET",
            format!("/leave/{request}/decision.pdf"),
            vec![],
            Check::Pdf,
        ),
        ("GET", "/absence/register.csv".into(), vec![], Check::Same),
        ("GET", "/care/month.csv".into(), vec![], Check::Same),
        ("GET", feed, vec![], Check::Calendar),
        ("GET", "/static/site.css".into(), vec![], Check::Same),
        ("GET", "/static/editor.js".into(), vec![], Check::Same),
        ("GET", "/static/favicon.svg".into(), vec![], Check::Same),
        ("GET", "/readyz".into(), vec![], Check::Readiness),
        ("GET", "/healthz".into(), vec![], Check::Same),
    ];
    for (method, path, form, check) in &routes {
        let plain = fetch(&mut admin.client, &host, method, path, form, "").await;
        assert_eq!(plain.status, 200, "{path}: {}", plain.text());
        let plain = decoded(&plain);
        for encoding in ENCODINGS {
            let answer = fetch(&mut admin.client, &host, method, path, form, encoding).await;
            assert_eq!(answer.status, 200, "{path} with {encoding:?}");
            let sent = answer.header("content-encoding").unwrap_or("identity");
            assert!(
                sent == "identity" || encoding.contains(sent),
                "{path}: {sent} was not asked for ({encoding:?})"
            );
            let body = decoded(&answer);
            match check {
                Check::Same => assert!(body == plain, "{path} with {encoding:?}"),
                Check::Zip => {
                    let entries = unzip(&body);
                    let mut contents: Vec<&Vec<u8>> = entries.iter().map(|(_, b)| b).collect();
                    contents.sort();
                    let mut expected = vec![&red, &blue];
                    expected.sort();
                    assert_eq!(contents, expected, "{path} with {encoding:?}");
                }
                Check::Pdf => {
                    assert!(body.starts_with(b"%PDF-"), "{path} with {encoding:?}");
                    assert_eq!(pdf_text(&body).await, pdf_text(&plain).await, "{path}");
                }
                Check::Readiness => {
                    let states = |bytes: &[u8]| {
                        let report: serde_json::Value =
                            serde_json::from_slice(bytes).expect("a JSON report");
                        (report["postgres"].clone(), report["redis"].clone())
                    };
                    assert_eq!(states(&body), states(&plain), "{path} with {encoding:?}");
                }
                Check::Calendar => {
                    let text = String::from_utf8(body).expect("UTF-8");
                    assert!(text.starts_with("BEGIN:VCALENDAR"), "{path}");
                    assert!(text.trim_end().ends_with("END:VCALENDAR"), "{path}");
                }
            }
        }
    }
    // Text is compressed for browsers; what is compressed already is sent as it is.
    let css = fetch(
        &mut admin.client,
        &host,
        "GET",
        "/static/site.css",
        &[],
        "gzip, br",
    )
    .await;
    assert!(css.header("content-encoding").is_some());
    let zip = fetch(
        &mut admin.client,
        &host,
        "POST",
        &format!("/albums/{album}/download"),
        &photo_fields,
        "gzip, br",
    )
    .await;
    assert_eq!(zip.header("content-encoding"), None);
}

#[derive(Debug, Clone, Copy)]
enum Check {
    /// The same bytes as without any encoding.
    Same,
    /// A zip of exactly the two photos.
    Zip,
    /// A PDF with the same text (a PDF carries the moment it was made).
    Pdf,
    /// A whole iCalendar text.
    Calendar,
    /// The readiness report: the same servers' states (the count of schools moves as other
    /// tests, sharing the database, make theirs).
    Readiness,
}

/// A long text made as a stream, end to end; and one whose stream panics half-way.
fn streaming_routes() -> Router<AppState> {
    use axum::body::Bytes;
    use futures_util::stream;
    Router::new()
        .route(
            "/test/stream",
            get(|| async {
                // `unfold` panics when polled past its end: the case the compression layer met.
                let lines = stream::unfold(0u32, |n| async move {
                    (n < 2000).then(|| {
                        let line = format!("regel {n} van een lange tekst\n");
                        (Ok::<_, std::io::Error>(Bytes::from(line)), n + 1)
                    })
                });
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; charset=utf-8",
                    )],
                    schoolplein_kernel::body::streamed(lines),
                )
            }),
        )
        .route(
            "/test/broken-stream",
            get(|| async {
                let lines = stream::iter(0u32..2000).map(|n| {
                    assert!(n < 1000, "a body that fails half-way");
                    Ok::<_, std::io::Error>(Bytes::from(format!("regel {n}\n")))
                });
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; charset=utf-8",
                    )],
                    schoolplein_kernel::body::streamed(lines),
                )
            }),
        )
}

use futures_util::StreamExt as _;

#[tokio::test]
async fn a_streamed_body_is_whole_under_every_encoding_and_a_failing_one_ends_as_failed() {
    let app = TestApp::spawn_with(TestAppOptions {
        school_routes: Some(streaming_routes()),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Stroom", "").await;
    let host = school_host(&school.slug);
    let expected: String = (0..2000)
        .map(|n| format!("regel {n} van een lange tekst\n"))
        .collect();
    for encoding in ENCODINGS {
        let headers: Vec<(&str, &str)> = if encoding.is_empty() {
            vec![]
        } else {
            vec![("Accept-Encoding", encoding)]
        };
        let answer = http::get(app.addr, &host, "/test/stream", &headers)
            .await
            .unwrap_or_else(|e| panic!("{encoding:?}: {e}"));
        assert_eq!(answer.status, 200, "{encoding:?}");
        assert_eq!(
            String::from_utf8(decoded(&answer)).unwrap(),
            expected,
            "{encoding:?}"
        );
        // The one that fails half-way: headers went out, the body does not end as a whole
        // one does, so no client takes it for complete.
        let broken = http::get(app.addr, &host, "/test/broken-stream", &headers).await;
        if let Ok(broken) = broken {
            assert_eq!(broken.status, 200);
            panic!("{encoding:?}: a failed body arrived as complete");
        }
    }
    // The server goes on.
    let after = http::get(
        app.addr,
        &host,
        "/test/stream",
        &[("Accept-Encoding", "br")],
    )
    .await
    .unwrap();
    assert_eq!(String::from_utf8(decoded(&after)).unwrap(), expected);
}
