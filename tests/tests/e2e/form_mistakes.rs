//! Every form of the portal, sent with a mistake, comes back as its own page (400): the
//! summary on top, the message at the field, everything typed or ticked still there, and
//! nothing written. One table per school, for an admin, a teacher and a parent.

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, Member, parent};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::{TenantEntry, TenantTx};

/// What a case sends: a form posted, a form sent by GET, or a file in a multipart form's
/// `file` field.
enum Sent {
    Form(Vec<(&'static str, String)>),
    Query(Vec<(&'static str, String)>),
    File(&'static str, Vec<u8>),
}

/// One form sent with one mistake.
struct Case {
    what: &'static str,
    /// The page the form is on, opened first (for the form's token).
    page: String,
    /// Where it is sent.
    action: String,
    sent: Sent,
    /// The form's id on the page that comes back.
    form: String,
    /// The id of the element whose message is `message` (`<id>-error`).
    at: String,
    message: &'static str,
    /// Values typed that must be on the page again (as a value or as a textarea's text).
    kept: Vec<String>,
}

fn form(fields: &[(&'static str, &str)]) -> Sent {
    Sent::Form(fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
}

#[allow(clippy::too_many_arguments)]
fn case(
    what: &'static str,
    page: &str,
    action: &str,
    sent: Sent,
    form: &str,
    at: &str,
    message: &'static str,
    kept: &[&str],
) -> Case {
    Case {
        what,
        page: page.to_owned(),
        action: action.to_owned(),
        sent,
        form: form.to_owned(),
        at: at.to_owned(),
        message,
        kept: kept.iter().map(|k| (*k).to_owned()).collect(),
    }
}

/// Sends every case as `member` and checks the page that comes back.
async fn check(member: &mut Member, host: &str, cases: Vec<Case>) {
    let client: &mut Client = &mut member.client;
    for case in cases {
        let what = case.what;
        let opened = client.get(host, &case.page).await;
        assert_eq!(opened.status, 200, "{what}: the page opens");
        let answer = match &case.sent {
            Sent::Form(fields) => {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                client.post_form(host, &case.action, &fields).await
            }
            Sent::Query(fields) => {
                let query: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let query = schoolplein_tests::client::encode_form(&query);
                client.get(host, &format!("{}?{query}", case.action)).await
            }
            Sent::File(name, bytes) => {
                client
                    .post_file(host, &case.action, name, bytes, None)
                    .await
            }
        };
        let page = answer.text();
        assert_eq!(answer.status, 400, "{what}: {page}");
        assert!(
            !page.contains("Dit verzoek klopt niet"),
            "{what}: the generic error page: {page}"
        );
        assert!(
            page.contains(&format!("id=\"{}\"", case.form)),
            "{what}: the form again: {page}"
        );
        assert_eq!(
            page.matches("id=\"form-mistakes\"").count(),
            1,
            "{what}: one summary: {page}"
        );
        assert!(
            page.contains(&format!("href=\"#{}\"", case.at)),
            "{what}: the summary links to {}: {page}",
            case.at
        );
        let error = format!("<p class=\"field-error\" id=\"{}-error\">", case.at);
        let at_field = page
            .split_once(&error)
            .map(|(_, after)| after.split("</p>").next().unwrap_or_default())
            .unwrap_or_else(|| panic!("{what}: no message at {}: {page}", case.at));
        assert!(
            at_field.contains(case.message),
            "{what}: the message at the field: {at_field}"
        );
        assert!(
            page.contains(&format!("aria-describedby=\"{}-error\"", case.at))
                || !page.contains("aria-invalid"),
            "{what}: the field points at its message"
        );
        for value in &case.kept {
            // A value with a quote in it names what follows the value too (`12" selected`).
            let as_value = if value.contains('"') {
                format!("value=\"{value}")
            } else {
                format!("value=\"{value}\"")
            };
            assert!(
                page.contains(&as_value) || page.contains(&format!(">{value}</textarea>")),
                "{what}: {value:?} kept: {page}"
            );
        }
    }
}

/// Everything the forms could write, in one line: compared before and after the mistakes.
async fn stored(app: &TestApp, school: &TenantEntry) -> String {
    let tables = [
        "groups",
        "group_keys",
        "group_teachers",
        "pupils",
        "special_groups",
        "special_group_groups",
        "recipient_lists",
        "document_folders",
        "documents",
        "albums",
        "photos",
        "person_contacts",
        "school_settings",
        "notification_preferences",
        "privacy_choices",
        "pupil_medical",
        "partner_requests",
        "access_changes",
        "invitations",
        "roster_imports",
    ];
    let mut tx = TenantTx::begin(&app.db.pool, school.id)
        .await
        .expect("a school transaction");
    let mut all = Vec::new();
    for table in tables {
        let sql = format!(
            "SELECT coalesce(md5(string_agg(t::text, ';' ORDER BY t::text)), '') FROM {table} t"
        );
        // The table names are the constants above.
        let hash: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await
            .expect("the table's hash");
        all.push(format!("{table}={hash}"));
    }
    let people: String = sqlx::query_scalar(
        "SELECT md5(string_agg(concat_ws(',', id, name, address, phone_mobile, phone_other,
                                         about, partner_id), ';' ORDER BY id))
           FROM people",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("the people's hash");
    all.push(format!("people={people}"));
    tx.rollback().await.expect("rollback");
    all.join("\n")
}

async fn id_of(app: &TestApp, school: &TenantEntry, sql: &'static str, key: &str) -> String {
    school::id(app, school, sql, key).await.to_string()
}

/// The id at the end of a redirect's address (`/documents/12`).
fn made(answer: &schoolplein_tests::http::RawResponse) -> String {
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.rsplit('/').next())
        .expect("the new thing's address")
        .to_owned()
}

fn png() -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(64, 48, image::Rgb([20, 120, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoded");
    out.into_inner()
}

#[tokio::test]
async fn every_portal_form_comes_back_with_its_mistake_and_everything_typed() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Vergissing", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    // Another parent of the same child, for the partner form to offer.
    parent(&app, &school, "Tweede ouder 3b", &["2026001"]).await;
    let group = "SELECT id FROM groups WHERE import_key = $1";
    let g3 = id_of(&app, &school, group, "G3B").await;
    let g12 = id_of(&app, &school, group, "G12A").await;
    let g4 = id_of(&app, &school, group, "G4").await;
    let sanne = id_of(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await;

    // What the mistakes are made on: a combination group (merged, so it has two keys and can
    // be split), a folder, and an album with a photo.
    admin.client.get(&host, "/admin/groups").await;
    let merged = admin
        .client
        .post_form(
            &host,
            "/admin/groups/merge",
            &[("from", g4.as_str()), ("into", g12.as_str())],
        )
        .await;
    assert_eq!(merged.status, 303, "{}", merged.text());
    teacher.client.get(&host, "/documents").await;
    let folder = made(
        &teacher
            .client
            .post_form(
                &host,
                "/documents",
                &[("name", "Nieuwsbrieven"), ("group_id", g3.as_str())],
            )
            .await,
    );
    teacher.client.get(&host, "/albums").await;
    let album = made(
        &teacher
            .client
            .post_form(
                &host,
                "/albums",
                &[("title", "Schoolreis"), ("group_id", g3.as_str())],
            )
            .await,
    );
    teacher.client.get(&host, &format!("/albums/{album}")).await;
    let uploaded = teacher
        .client
        .post_file(
            &host,
            &format!("/albums/{album}/photos"),
            "bus.png",
            &png(),
            None,
        )
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.text());

    let before = stored(&app, &school).await;

    let p3_id = p3.person_id.to_string();
    let parent_page = format!("/admin/parents/{p3_id}");
    let admin_cases = vec![
        case(
            "settings: an intranet address without https",
            "/admin/settings",
            "/admin/settings",
            form(&[
                ("intranet_url", "http://intranet.example"),
                ("pdf_header", "Kop van de school"),
                ("portal_open", "1"),
                ("extra_fields", "Huisarts"),
                ("module_name_documents", "Boekenkast"),
            ]),
            "settings",
            "intranet_url",
            "Het adres moet met https",
            &["Kop van de school", "Boekenkast", "Huisarts"],
        ),
        case(
            "settings: a digest too late",
            "/admin/settings",
            "/admin/settings/digest",
            form(&[("digest_time", "23:30"), ("digest_days", "2")]),
            "digest-settings",
            "digest_time",
            "Kies een tijd tussen 06:00 en 22:00",
            &["23:30"],
        ),
        case(
            "groups: a year that is not one",
            "/admin/groups",
            "/admin/groups",
            form(&[("name", "Groep 9x"), ("year", "12")]),
            "new-group",
            "group-year",
            "De jaargroep is een getal van 0 tot en met 8",
            &["Groep 9x", "12"],
        ),
        case(
            "groups: moving pupils to their own group",
            "/admin/groups",
            "/admin/groups/move",
            form(&[("from", &g3), ("to", &g3)]),
            "move-pupils",
            "move-to",
            "Kies twee verschillende groepen",
            &[&format!("{g3}\" selected")],
        ),
        case(
            "groups: merging a group into itself",
            "/admin/groups",
            "/admin/groups/merge",
            Sent::Query(vec![("from", g3.clone()), ("into", g3.clone())]),
            "merge-groups",
            "merge-into",
            "Kies twee verschillende groepen",
            &[&format!("{g3}\" selected")],
        ),
        case(
            "groups: a split without a name",
            "/admin/groups",
            &format!("/admin/groups/{g12}/split"),
            form(&[("key", "G4"), ("name", "")]),
            &format!("split-{g12}"),
            &format!("split-name-{g12}"),
            "Een groep heeft een naam van 1 tot 100 tekens",
            &["G4\" selected"],
        ),
        case(
            "groups: a teacher who is not staff",
            "/admin/groups",
            &format!("/admin/groups/{g3}/teachers"),
            form(&[("person_id", "niemand")]),
            &format!("add-teacher-{g3}"),
            &format!("add-teacher-person-{g3}"),
            "Alleen iemand van het team kan leerkracht",
            &[],
        ),
        case(
            "a parent's details: a phone that is not one",
            &parent_page,
            &format!("{parent_page}/details"),
            form(&[
                ("name", "Ouder Drie"),
                ("address", "Kerkstraat 9"),
                ("phone_mobile", "bel me"),
                ("phone_other", ""),
            ]),
            "parent-details",
            "phone_mobile",
            "Geen geldig telefoonnummer",
            &["Ouder Drie", "Kerkstraat 9", "bel me"],
        ),
        case(
            "image consent: a pupil that is not a number",
            "/admin/image-consent",
            "/admin/image-consent",
            form(&[("consent", &sanne), ("consent", "iemand")]),
            "image-consent",
            "consents",
            "Dit is geen geldig nummer",
            &[&format!("{sanne}\" id=\"consent-{sanne}\" checked")],
        ),
        case(
            "import: no file",
            "/admin/import",
            "/admin/import",
            Sent::File("leeg.csv", Vec::new()),
            "import-form",
            "file",
            "Kies een bestand om in te lezen",
            &[],
        ),
        case(
            "special groups: a date that does not exist",
            "/special-groups",
            "/special-groups",
            form(&[
                ("name", "Schaakclub"),
                ("description", "Op woensdag"),
                ("activity", "1"),
                ("signup_until", "2026-02-30"),
                ("max_participants", "12"),
                ("groups", &g3),
            ]),
            "new-special-group",
            "special-until",
            "Geen geldige datum",
            &["Schaakclub", "Op woensdag", "2026-02-30", "12"],
        ),
    ];
    check(&mut admin, &host, admin_cases).await;

    let teacher_cases = vec![
        case(
            "recipient lists: a group that is not one",
            "/recipient-lists",
            "/recipient-lists",
            form(&[("name", "Ouders 3b"), ("rule", "group"), ("group", "geen")]),
            "list-form",
            "list-group",
            "Kies waar de lijst over gaat",
            &["Ouders 3b"],
        ),
        case(
            "documents: a folder without a name",
            "/documents",
            "/documents",
            form(&[("name", " "), ("group_id", &g3)]),
            "new-folder",
            "folder-name",
            "Geef de map een naam",
            &[&format!("{g3}\" selected")],
        ),
        case(
            "documents: a file of a kind not taken",
            &format!("/documents/{folder}"),
            &format!("/documents/{folder}/files"),
            Sent::File("script.html", b"<html><script>alert(1)</script>".to_vec()),
            "upload-documents",
            "file",
            "Alleen pdf-, jpeg-, png-, Word-, Excel- en PowerPoint-bestanden",
            &[],
        ),
        case(
            "albums: an album without a title",
            "/albums",
            "/albums",
            form(&[
                ("title", ""),
                ("group_id", &g3),
                ("parents_may_upload", "on"),
            ]),
            "new-album",
            "album-title",
            "Geef het album een titel",
            &[
                &format!("{g3}\" selected"),
                "on\" id=\"album-parents-upload\" checked",
            ],
        ),
        case(
            "albums: a file that is not a photo",
            &format!("/albums/{album}"),
            &format!("/albums/{album}/photos"),
            Sent::File(
                "foto.jpg",
                b"\xFF\xD8\xFF\xE0 not a picture at all".to_vec(),
            ),
            "upload-photos",
            "file",
            "Alleen JPEG- en PNG-foto",
            &[],
        ),
        case(
            "albums: a download of nothing",
            &format!("/albums/{album}"),
            &format!("/albums/{album}/download"),
            form(&[]),
            "download-photos",
            "photos",
            "Kies eerst een of meer foto",
            &[],
        ),
        case(
            "albums: a switch neither on nor off",
            &format!("/albums/{album}"),
            &format!("/albums/{album}/settings"),
            form(&[("parents_may_upload", "ja")]),
            "album-settings",
            "album-parents-may-upload",
            "Kies aan of uit",
            &[],
        ),
    ];
    check(&mut teacher, &host, teacher_cases).await;

    let too_long = "x".repeat(2001);
    let parent_cases = vec![
        case(
            "details: a phone that is not one",
            "/children",
            "/children/details",
            form(&[
                ("address", "Dorpsstraat 1"),
                ("phone_mobile", "bel me"),
                ("phone_other", "020-1234567"),
                ("about", "Vader van Sanne"),
            ]),
            "details",
            "phone_mobile",
            "Geen geldig telefoonnummer",
            &["Dorpsstraat 1", "bel me", "020-1234567", "Vader van Sanne"],
        ),
        case(
            "contacts: a phone without a label",
            "/children",
            "/children/contacts",
            form(&[
                ("label_0", "Werk"),
                ("name_0", "Kantoor"),
                ("phone_0", "030-7654321"),
                ("label_1", ""),
                ("name_1", "Oma"),
                ("phone_1", "0612345678"),
            ]),
            "contacts",
            "label_1",
            "Zeg erbij wie dit is",
            &["Werk", "Kantoor", "030-7654321", "Oma", "0612345678"],
        ),
        case(
            "medical: too long",
            "/children",
            &format!("/children/{sanne}/medical"),
            Sent::Form(vec![
                ("medical", too_long.clone()),
                ("allergies", "Pinda".to_owned()),
            ]),
            &format!("medical-form-{sanne}"),
            &format!("medical-{sanne}"),
            "Dit is te lang",
            &[&too_long, "Pinda"],
        ),
        case(
            "privacy: an audience that is not one",
            "/children",
            &format!("/children/{sanne}/privacy"),
            form(&[
                ("name", "school"),
                ("phone_mobile", "iedereen"),
                ("address", "group"),
            ]),
            &format!("privacy-{sanne}"),
            &format!("privacy-{sanne}-phone_mobile"),
            "Kies niemand, de ouders van de groep of alle ouders van de school",
            &["school\" selected", "group\" selected"],
        ),
        case(
            "notifications: a delivery that is not one",
            "/notifications",
            "/notifications",
            form(&[("news", "daily"), ("agenda", "soms"), ("board", "none")]),
            "notifications-form",
            "delivery-agenda",
            "Kies een mail per bericht",
            &["daily\" selected", "none\" selected"],
        ),
        case(
            "partner: a parent that is not one",
            "/partner",
            "/partner/request",
            form(&[("partner", "iemand")]),
            "partner-request",
            "partner",
            "Kies een andere ouder van uw kind",
            &[],
        ),
        case(
            "partner: joint use neither on nor off",
            "/partner",
            "/partner/joint-use",
            form(&[("joint_use", "misschien")]),
            "joint-use",
            "joint-use-on",
            "Kies aan of uit",
            &[],
        ),
    ];
    check(&mut p3, &host, parent_cases).await;

    assert_eq!(stored(&app, &school).await, before, "nothing was written");
}
