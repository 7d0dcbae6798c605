//! Leave requests (D2) and the school's holidays: the region's official holidays taken over,
//! every rule of art. 11 and 13a refused at its field by name, the headmaster's decision and
//! the attendance officer's recorded one mailed with a decision letter (read back with a PDF
//! reader), approved leave in the teacher's day, and one family's requests out of every other
//! family's and every other school's reach.

use chrono::{DateTime, Utc};
use mail_parser::MimeHeaders as _;
use schoolplein_kernel::Role;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, Member, parent};
use schoolplein_tests::{
    RawResponse, TestApp, TestAppOptions, TestDb, part_of, pdf_text, school_host,
};
use tenant_router::{TenantEntry, TenantTx};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A tiny PDF, as an employer's statement.
const STATEMENT: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

async fn pupil(app: &TestApp, school: &TenantEntry, key: &str) -> String {
    school::id(
        app,
        school,
        "SELECT id FROM pupils WHERE import_key = $1",
        key,
    )
    .await
    .to_string()
}

/// The newest request's id and state.
async fn newest(app: &TestApp, school: &TenantEntry) -> (i64, String) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let row = sqlx::query_as("SELECT id, state FROM leave_requests ORDER BY id DESC LIMIT 1")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    row
}

async fn ask(
    member: &mut Member,
    host: &str,
    fields: &[(&str, &str)],
    statement: Option<&[u8]>,
) -> RawResponse {
    member.client.get(host, "/leave").await;
    let files: Vec<(&str, &str, &[u8])> = match statement {
        Some(bytes) => vec![("statement", "werkgeversverklaring.pdf", bytes)],
        None => vec![("statement", "", b"")],
    };
    member
        .client
        .post_multipart(host, "/leave", fields, &files)
        .await
}

/// A text with its line breaks and runs of spaces as single spaces (a PDF's lines break where
/// the page does).
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The PDF attached to the newest mail to `to`.
async fn attached_pdf(mailbox: &Mailbox, to: &str) -> Vec<u8> {
    let received = mailbox
        .smtp
        .received()
        .into_iter()
        .rev()
        .find(|r| r.rcpt_to.iter().any(|a| a.eq_ignore_ascii_case(to)))
        .expect("a mail");
    let message = mail_parser::MessageParser::default()
        .parse(received.data.as_bytes())
        .expect("a MIME message");
    let attachment = message.attachments().next().expect("an attachment");
    assert_eq!(
        attachment
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))),
        Some("application/pdf".to_owned())
    );
    assert!(
        attachment
            .attachment_name()
            .unwrap()
            .starts_with("besluit-verlof-")
    );
    attachment.contents().to_vec()
}

#[tokio::test]
async fn leave_follows_the_law_is_decided_with_a_letter_and_stays_within_the_family() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Het Verlof", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur De Wit", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut mother = parent(&app, &school, "Anna de Vries", &["2026001", "2026003"]).await;
    let mut father = parent(&app, &school, "Joost Bakker", &["2026002"]).await;
    let (sanne, elif) = (
        pupil(&app, &school, "2026001").await,
        pupil(&app, &school, "2026003").await,
    );

    // The school follows region midden: summer ends 30 August 2026, autumn 17–25 October.
    app.state.clock.set(at("2026-09-01T08:00:00Z"));
    admin.client.get(&host, "/holidays").await;
    let followed = admin
        .client
        .post_form(&host, "/holidays/region", &[("region", "midden")])
        .await;
    assert_eq!(followed.status, 303);
    let holidays = mother.client.get(&host, "/holidays").await.text();
    assert!(
        holidays.contains("Herfstvakantie") && holidays.contains("zaterdag 17 oktober 2026"),
        "{holidays}"
    );
    assert!(
        !holidays.contains("id=\"region-form\""),
        "parents only read: {holidays}"
    );
    assert_eq!(
        mother
            .client
            .post_form(&host, "/holidays/region", &[("region", "zuid")])
            .await
            .status,
        403
    );

    // Art. 11 g, a Friday: the headmaster's.
    let wedding = ask(
        &mut mother,
        &host,
        &[
            ("children", &sanne),
            ("kind", "circumstances"),
            ("first_day", "2026-11-20"),
            ("last_day", ""),
            ("reason", "Bruiloft van mijn zus"),
        ],
        None,
    )
    .await;
    assert_eq!(wedding.status, 303, "{}", wedding.text());
    assert_eq!(wedding.header("location"), Some("/leave?sent=pending"));
    let (wedding_id, state) = newest(&app, &school).await;
    assert_eq!(state, "pending");

    // Every rule the form can check refuses at its field and names the rule; nothing written.
    // (fields, statement, the id of the field's error, what the message says)
    type Rule<'a> = (&'a [(&'a str, &'a str)], Option<&'a [u8]>, &'a str, &'a str);
    let rules: &[Rule] = &[
        (
            &[
                ("kind", "holiday"),
                ("first_day", "2026-12-08"),
                ("last_day", "2027-01-04"),
            ],
            None,
            "statement-error",
            "werkgeversverklaring",
        ),
        (
            &[
                ("kind", "holiday"),
                ("first_day", "2026-09-10"),
                ("last_day", "2026-09-11"),
            ],
            Some(STATEMENT),
            "first-day-error",
            "eerste twee weken na de zomervakantie",
        ),
        (
            &[
                ("kind", "holiday"),
                ("first_day", "2026-12-04"),
                ("last_day", "2026-12-18"),
            ],
            Some(STATEMENT),
            "last-day-error",
            "hoogstens 10 schooldagen",
        ),
        (
            &[
                ("kind", "circumstances"),
                ("first_day", "2026-10-19"),
                ("last_day", "2026-10-23"),
            ],
            None,
            "first-day-error",
            "schoolvakantie",
        ),
        (
            &[
                ("kind", "circumstances"),
                ("first_day", "2026-08-31"),
                ("last_day", ""),
            ],
            None,
            "first-day-error",
            "niet voor vandaag of een dag die al voorbij is",
        ),
        (
            &[
                ("kind", "religious"),
                ("first_day", "2026-09-02"),
                ("last_day", ""),
            ],
            None,
            "first-day-error",
            "twee dagen van tevoren",
        ),
        (
            &[
                ("kind", "holiday"),
                ("first_day", "2026-12-08"),
                ("last_day", "2027-01-04"),
            ],
            Some(b"not a pdf at all"),
            "statement-error",
            "",
        ),
    ];
    for (fields, statement, error_id, says) in rules {
        let mut all = vec![
            ("children", sanne.as_str()),
            ("reason", "Werk van vader in de horeca"),
        ];
        all.extend_from_slice(fields);
        let refused = ask(&mut mother, &host, &all, *statement).await;
        assert_eq!(refused.status, 400, "{fields:?}");
        let text = refused.text();
        assert!(
            text.contains(&format!("id=\"{error_id}\"")) && text.contains(says),
            "{fields:?}: {text}"
        );
        assert!(
            text.contains("Werk van vader in de horeca"),
            "typed text kept: {text}"
        );
    }
    assert_eq!(newest(&app, &school).await.0, wedding_id);

    // Holiday leave with the statement: Christmas does not count, so 10 school days.
    let holiday = ask(
        &mut mother,
        &host,
        &[
            ("children", &sanne),
            ("children", &elif),
            ("kind", "holiday"),
            ("first_day", "2026-12-08"),
            ("last_day", "2027-01-04"),
            ("reason", "Vader werkt in de horeca"),
        ],
        Some(STATEMENT),
    )
    .await;
    assert_eq!(holiday.status, 303, "{}", holiday.text());
    let (holiday_id, _) = newest(&app, &school).await;
    // Once a school year, for either child.
    let again = ask(
        &mut mother,
        &host,
        &[
            ("children", &elif),
            ("kind", "holiday"),
            ("first_day", "2027-03-01"),
            ("last_day", "2027-03-05"),
            ("reason", "Nog een keer"),
        ],
        Some(STATEMENT),
    )
    .await;
    assert_eq!(again.status, 400);
    assert!(
        again.text().contains("één keer per schooljaar"),
        "{}",
        again.text()
    );
    // Eleven school days of art. 11 g: the attendance officer's.
    let long = ask(
        &mut mother,
        &host,
        &[
            ("children", &elif),
            ("kind", "circumstances"),
            ("first_day", "2026-11-09"),
            ("last_day", "2026-11-23"),
            ("reason", "Begrafenis van oma in Turkije"),
        ],
        None,
    )
    .await;
    assert_eq!(long.header("location"), Some("/leave?sent=officer"));
    let (long_id, state) = newest(&app, &school).await;
    assert_eq!(state, "officer");

    // Another family sees none of it; the letter and the statement are out of its reach.
    let other = father.client.get(&host, "/leave").await.text();
    assert!(
        !other.contains("Bruiloft") && !other.contains("horeca"),
        "{other}"
    );
    assert_eq!(
        father
            .client
            .get(&host, &format!("/leave/{wedding_id}/decision.pdf"))
            .await
            .status,
        404
    );
    assert_eq!(
        father
            .client
            .get(&host, &format!("/leave/requests/{holiday_id}/statement"))
            .await
            .status,
        403
    );
    father.client.get(&host, "/leave").await;
    assert_eq!(
        father
            .client
            .post_form(&host, &format!("/leave/{holiday_id}/withdraw"), &[])
            .await
            .status,
        404
    );

    // The headmaster's home page says requests wait.
    let home = admin.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"leave-waiting\">3<"), "{home}");

    // The school's list, and the statement for the admin.
    let list = admin.client.get(&host, "/leave/requests").await.text();
    let waiting = part_of(&list, "id=\"list-waiting\"", "</section>");
    assert!(
        waiting.contains("Sanne de Vries")
            && waiting.contains(&format!("/leave/requests/{holiday_id}")),
        "{list}"
    );
    let officer = part_of(&list, "id=\"list-officer\"", "</section>");
    assert!(
        officer.contains(&format!("/leave/requests/{long_id}")),
        "{list}"
    );
    let statement = admin
        .client
        .get(&host, &format!("/leave/requests/{holiday_id}/statement"))
        .await;
    assert_eq!(
        (statement.status, statement.body.as_slice()),
        (200, STATEMENT)
    );

    // A decision needs its grounds; then it goes out with the letter.
    admin
        .client
        .get(&host, &format!("/leave/requests/{wedding_id}"))
        .await;
    let bare = admin
        .client
        .post_form(
            &host,
            &format!("/leave/requests/{wedding_id}/decide"),
            &[("decision", "approved"), ("reason", "")],
        )
        .await;
    assert_eq!(bare.status, 400);
    assert!(
        bare.text().contains("id=\"reason-error\""),
        "{}",
        bare.text()
    );
    let granted = admin
        .client
        .post_form(
            &host,
            &format!("/leave/requests/{wedding_id}/decide"),
            &[
                ("decision", "approved"),
                (
                    "reason",
                    "Huwelijk van een bloedverwant in de tweede graad.",
                ),
            ],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.text());
    let mail = mailbox.latest(&mother.email, 1).await;
    assert!(
        mail.subject.contains("Verlof toegestaan") && mail.subject.contains("Sanne de Vries"),
        "{}",
        mail.subject
    );
    let letter = words(&pdf_text(&attached_pdf(&mailbox, &mother.email).await).await);
    for says in [
        "Besluit: het verlof is toegestaan",
        "Leerplichtwet 1969, artikel 11 onder g",
        "vrijdag 20 november 2026",
        "Huwelijk van een bloedverwant",
        "Directeur De Wit",
        "Bezwaar maken",
        "binnen zes weken",
        "de directeur van de school",
    ] {
        assert!(letter.contains(says), "{says}: {letter}");
    }
    // The same letter from the leave page; a decision is final.
    let pdf = mother
        .client
        .get(&host, &format!("/leave/{wedding_id}/decision.pdf"))
        .await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let again = admin
        .client
        .post_form(
            &host,
            &format!("/leave/requests/{wedding_id}/decide"),
            &[("decision", "refused"), ("reason", "Toch niet")],
        )
        .await;
    assert_eq!(again.status, 400);

    // The calendar shows the holidays, and to the family the child's leave.
    let november = mother
        .client
        .get(&host, "/calendar?month=2026-11")
        .await
        .text();
    let friday = part_of(&november, "id=\"day-2026-11-20\"", "</td>");
    assert!(friday.contains("Sanne: verlof"), "{friday}");
    let october = mother
        .client
        .get(&host, "/calendar?month=2026-10")
        .await
        .text();
    let autumn = part_of(&october, "id=\"day-2026-10-19\"", "</td>");
    assert!(autumn.contains("Herfstvakantie"), "{autumn}");
    let strangers = father
        .client
        .get(&host, "/calendar?month=2026-11")
        .await
        .text();
    assert!(!strangers.contains("Sanne: verlof"), "{strangers}");

    // The officer's decision is recorded with the officer's name; objection goes to the
    // municipality.
    admin
        .client
        .get(&host, &format!("/leave/requests/{long_id}"))
        .await;
    let nameless = admin
        .client
        .post_form(
            &host,
            &format!("/leave/requests/{long_id}/decide"),
            &[("decision", "refused"), ("reason", "Te lang.")],
        )
        .await;
    assert_eq!(nameless.status, 400);
    assert!(
        nameless.text().contains("id=\"officer-name-error\""),
        "{}",
        nameless.text()
    );
    let refused = admin
        .client
        .post_form(
            &host,
            &format!("/leave/requests/{long_id}/decide"),
            &[
                ("decision", "refused"),
                ("reason", "Elf schooldagen is te lang voor deze reden."),
                ("officer_name", "M. Jansen"),
            ],
        )
        .await;
    assert_eq!(refused.status, 303);
    mailbox.wait_for(&mother.email, 2).await;
    let letter = words(&pdf_text(&attached_pdf(&mailbox, &mother.email).await).await);
    for says in [
        "het verlof is geweigerd",
        "leerplichtambtenaar: M. Jansen",
        "burgemeester en wethouders",
        "zonder toestemming",
    ] {
        assert!(letter.contains(says), "{says}: {letter}");
    }

    // Withdrawn, the holiday leave no longer counts for the year.
    mother.client.get(&host, "/leave").await;
    assert_eq!(
        mother
            .client
            .post_form(&host, &format!("/leave/{holiday_id}/withdraw"), &[])
            .await
            .status,
        303
    );
    let page = mother.client.get(&host, "/leave").await.text();
    assert!(
        page.contains("ingetrokken") && page.contains("toegestaan") && page.contains("geweigerd"),
        "{page}"
    );

    // Approved leave in the teacher's day.
    app.state.clock.set(at("2026-11-20T07:00:00Z"));
    let day = teacher.client.get(&host, "/absence/today").await.text();
    let on_leave = day
        .split("id=\"on-leave\"")
        .nth(1)
        .expect("the children on leave");
    assert!(
        on_leave.contains("Sanne de Vries") && on_leave.contains("Gewichtige omstandigheden"),
        "{day}"
    );
    // And on the teacher's home page, beside today's sick reports.
    let home = teacher.client.get(&host, "/").await.text();
    let on_leave = schoolplein_tests::part_of(&home, "id=\"home-on-leave\"", "</ul>");
    assert!(
        on_leave.contains("Sanne de Vries") && on_leave.contains("Gewichtige omstandigheden"),
        "{home}"
    );
    // Not on a day outside it.
    app.state.clock.set(at("2026-11-30T07:00:00Z"));
    let home = teacher.client.get(&host, "/").await.text();
    assert!(!home.contains("id=\"home-on-leave\""), "{home}");

    // Another school's admin reaches nothing of this school's requests.
    let other_school = app.create_school("Basisschool Elders", "").await;
    let other_host = school_host(&other_school.slug);
    let mut stranger = school::member(
        &app,
        &other_school,
        "Directeur Elders",
        &[Role::SchoolAdmin],
    )
    .await;
    let theirs = stranger
        .client
        .get(&other_host, "/leave/requests")
        .await
        .text();
    assert!(
        !theirs.contains("Sanne") && !theirs.contains("Bruiloft"),
        "{theirs}"
    );
    assert_eq!(
        stranger
            .client
            .get(&other_host, &format!("/leave/requests/{wedding_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        stranger
            .client
            .get(&other_host, &format!("/leave/{wedding_id}/decision.pdf"))
            .await
            .status,
        404
    );
    assert_ne!(
        stranger
            .client
            .get(&host, &format!("/leave/requests/{wedding_id}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_school_keeps_its_own_days_off_and_the_leave_module_switches_off_whole() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Vrije Dag", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut mother = parent(&app, &school, "Anna de Vries", &["2026001"]).await;
    let sanne = pupil(&app, &school, "2026001").await;
    app.state.clock.set(at("2026-09-01T08:00:00Z"));
    admin.client.get(&host, "/holidays").await;
    let wrong = admin
        .client
        .post_form(
            &host,
            "/holidays",
            &[
                ("name", "Studiedag"),
                ("first_day", "2026-11-12"),
                ("last_day", "2026-11-11"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.text().contains("id=\"last-day-error\"")
            && wrong.text().contains("value=\"Studiedag\""),
        "{}",
        wrong.text()
    );
    assert_eq!(
        admin
            .client
            .post_form(
                &host,
                "/holidays",
                &[("name", ""), ("first_day", "2026-11-12")]
            )
            .await
            .status,
        400
    );
    assert_eq!(
        admin
            .client
            .post_form(&host, "/holidays/region", &[("region", "oost")])
            .await
            .status,
        400
    );
    let added = admin
        .client
        .post_form(
            &host,
            "/holidays",
            &[
                ("name", "Studiedag"),
                ("first_day", "12-11-2026"),
                ("last_day", ""),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    // The region's table leaves the school's own day where it is.
    admin
        .client
        .post_form(&host, "/holidays/region", &[("region", "noord")])
        .await;
    admin
        .client
        .post_form(&host, "/holidays/region", &[("region", "zuid")])
        .await;
    let page = admin.client.get(&host, "/holidays").await.text();
    assert!(
        page.contains("Studiedag") && page.contains("<strong>Zuid</strong>"),
        "{page}"
    );
    assert_eq!(
        page.matches("<td>Herfstvakantie").count(),
        3,
        "one autumn holiday per school year, once: {page}"
    );

    // A request for the study day alone needs no leave.
    let none_needed = ask(
        &mut mother,
        &host,
        &[
            ("children", &sanne),
            ("kind", "circumstances"),
            ("first_day", "2026-11-12"),
            ("reason", "Verhuizing"),
        ],
        None,
    )
    .await;
    assert_eq!(none_needed.status, 400);
    assert!(
        none_needed.text().contains("hoeft u geen verlof"),
        "{}",
        none_needed.text()
    );

    // The module off: its routes are gone and so is the menu item; holidays stay.
    let home = mother.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"nav-leave\""), "{home}");
    school::switch_off(
        &mut admin.client,
        &host,
        schoolplein_kernel::settings::Module::Leave,
    )
    .await;
    for path in [
        "/leave",
        "/leave/requests",
        "/leave/1/decision.pdf",
        "/leave/requests/1",
    ] {
        assert_eq!(mother.client.get(&host, path).await.status, 404, "{path}");
        assert_eq!(admin.client.get(&host, path).await.status, 404, "{path}");
    }
    assert!(
        !mother
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("nav-leave")
    );
    assert_eq!(mother.client.get(&host, "/holidays").await.status, 200);
}
