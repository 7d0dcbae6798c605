//! Every registration, round-page, booking, platform, profile-photo and photo-tagging form sent
//! with a mistake comes back as the same page (400): the summary on top linking to the field,
//! the message at the field, everything typed kept but passwords (and files, which a browser
//! cannot be given back), and nothing written.

use chrono::{Duration, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, PASSWORD};
use schoolplein_tests::{
    BASE_DOMAIN, RawResponse, TestApp, TestAppOptions, TestDb, school_host, unique_slug,
};
use tenant_router::{TenantEntry, TenantTx};

/// A form sent with one mistake, and what must come back.
struct Case {
    name: &'static str,
    /// Which client sends it (an index into the test's clients).
    who: usize,
    /// The page to open first, for the form token.
    open: String,
    /// Where the form posts; `None` for a search sent by `GET` (on `open` itself).
    post: Option<String>,
    fields: Vec<(&'static str, String)>,
    /// The id of the form that must come back (for a slot's or a booking's buttons, which
    /// are a form per slot: the page's own form, or the card the mistake is named on).
    form: String,
    /// The id of the element holding the wrong field.
    anchor: String,
    /// Values that must come back as typed.
    kept: Vec<String>,
    /// Values that must never come back (passwords).
    secret: Vec<String>,
}

/// A fingerprint of everything a form could write: accounts, mails, links, people,
/// invitations, conference rounds, slots and bookings, profile photos, album photos and whom
/// they show.
async fn written(app: &TestApp, school: &TenantEntry) -> Vec<String> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let mut prints = Vec::new();
    for sql in [
        "SELECT md5(coalesce(string_agg(concat_ws('|', id, email, name, language, password_hash),
                ',' ORDER BY id), '')) FROM platform.accounts",
        "SELECT count(*)::text FROM platform.outbox",
        "SELECT count(*)::text FROM platform.pending_registrations",
        "SELECT count(*)::text FROM platform.email_changes",
        "SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), ''))
           FROM platform.password_resets r",
        "SELECT md5(coalesce(string_agg(concat_ws('|', id, name, email, blocked_at), ','
                ORDER BY id), '')) FROM people",
        "SELECT md5(coalesce(string_agg(i::text, ',' ORDER BY i::text), '')) FROM invitations i",
        "SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), ''))
           FROM conference_rounds r",
        "SELECT md5(coalesce(string_agg(s::text, ',' ORDER BY s::text), ''))
           FROM conference_slots s",
        "SELECT md5(coalesce(string_agg(b::text, ',' ORDER BY b::text), ''))
           FROM conference_bookings b",
        "SELECT md5(coalesce(string_agg(c::text, ',' ORDER BY c::text), ''))
           FROM conference_settings c",
        "SELECT md5(coalesce(string_agg(concat_ws('|', person_id, md5(bytes), updated_at), ','
                ORDER BY person_id), '')) FROM person_photos",
        "SELECT md5(coalesce(string_agg(concat_ws('|', id, album_id, md5(bytes)), ','
                ORDER BY id), '')) FROM photos",
        "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM photo_tags t",
    ] {
        let print: String = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
        prints.push(print);
    }
    tx.rollback().await.unwrap();
    prints
}

/// One number from the school's schema, with one bound id.
async fn scalar(app: &TestApp, school: &TenantEntry, sql: &'static str, id: i64) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let n = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

/// A day `days` from now, as a date field sends it.
fn day(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// A new round through its form; its id.
async fn create_round(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> i64 {
    client.get(host, "/conference-rounds").await;
    let answer = client.post_form(host, "/conference-rounds", fields).await;
    assert_eq!(answer.status, 303, "{fields:?}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/conference-rounds/"))
        .and_then(|id| id.parse().ok())
        .expect("the new round's address")
}

/// A small PNG picture that decodes (an album makes a thumbnail of every photo).
fn png_picture() -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(64, 48, image::Rgb([40, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encoded");
    out.into_inner()
}

/// Fields as `post_form` takes them.
fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Checks one answer against its case.
fn check(case: &Case, answer: &RawResponse) {
    let name = case.name;
    let text = answer.text();
    assert_eq!(answer.status, 400, "{name}: {text}");
    for needle in [
        format!("id=\"{}\"", case.form),
        "id=\"form-mistakes\"".to_owned(),
        format!("href=\"#{}\"", case.anchor),
        format!("id=\"{}-error\"", case.anchor),
    ] {
        assert!(text.contains(&needle), "{name}: {needle} missing in {text}");
    }
    assert_eq!(
        text.matches("id=\"form-mistakes\"").count(),
        1,
        "{name}: one summary, at the form that failed"
    );
    assert!(
        !text.contains("<code>"),
        "{name}: no raw field name: {text}"
    );
    for value in &case.kept {
        assert!(
            text.contains(value.as_str()),
            "{name}: {value} kept: {text}"
        );
    }
    for value in &case.secret {
        assert!(
            !text.contains(value.as_str()),
            "{name}: a password came back"
        );
    }
}

#[tokio::test]
async fn every_form_sent_with_a_mistake_comes_back_as_typed_and_writes_nothing() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Het Formulier", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mother = school::parent(&app, &school, "Moeder Aa", &["2026001"]).await;
    let g3 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await
    .to_string();
    let pupil = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await;

    // A draft round, and a published one that opens for booking tomorrow.
    let round_fields = |title: &'static str, opens_at: String| {
        vec![
            ("group", g3.clone()),
            ("title", title.to_owned()),
            ("talks", "6".to_owned()),
            ("talk_minutes", "10".to_owned()),
            ("start_date", day(30)),
            ("day_start", "15:00".to_owned()),
            ("day_end", "16:00".to_owned()),
            ("opens_at", opens_at),
        ]
    };
    let tomorrow = format!("{}T08:00", day(1));
    let draft_fields = round_fields("Concept", String::new());
    let draft = create_round(&mut teacher.client, &host, &borrowed(&draft_fields)).await;
    let published_fields = round_fields("Gepubliceerd", tomorrow);
    let published = create_round(&mut teacher.client, &host, &borrowed(&published_fields)).await;
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{published}"))
        .await;
    let publish = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{published}/publish"),
            &[("invitation", "Kies een tijd.")],
        )
        .await;
    assert_eq!(publish.status, 303, "{}", publish.text());
    let first_slot = scalar(
        &app,
        &school,
        "SELECT min(id) FROM conference_slots WHERE round_id = $1",
        draft,
    )
    .await;
    let published_slot = scalar(
        &app,
        &school,
        "SELECT min(id) FROM conference_slots WHERE round_id = $1",
        published,
    )
    .await;

    // Links that only come by mail: a staff invitation and a password reset.
    let invited = format!("{}@example.nl", unique_slug());
    admin.client.get(&host, "/admin/people").await;
    let invite = admin
        .client
        .post_form(
            &host,
            "/admin/people/invite",
            &[("name", "Tim"), ("email", &invited), ("role", "teacher")],
        )
        .await;
    assert_eq!(invite.status, 303, "{}", invite.text());
    let invitation = mailbox
        .latest(&invited, 1)
        .await
        .link("/invitation/")
        .expect("an invitation link");
    let mut anonymous = Client::new(app.addr);
    anonymous.get(&host, "/password/forgot").await;
    let asked = anonymous
        .post_form(&host, "/password/forgot", &[("email", &mother.email)])
        .await;
    assert_eq!(asked.status, 200);
    let reset = mailbox
        .latest(&mother.email, 1)
        .await
        .link("/password/reset/")
        .expect("a reset link");

    // A browser that entered a right code, on its way to make an account.
    let code: String = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let code = sqlx::query_scalar(
            "SELECT c.code FROM pupil_codes c JOIN pupils p ON p.id = c.pupil_id
              WHERE p.import_key = $1",
        )
        .bind("2026002")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        code
    };
    let mut registering = Client::new(app.addr);
    registering.get(&host, "/register").await;
    let entered = registering
        .post_form(&host, "/register", &[("code", &code)])
        .await;
    assert_eq!(entered.header("location"), Some("/register/account"));

    // An album of group 3B with one photo, tagged with the second pupil of the group.
    teacher.client.get(&host, "/albums").await;
    let made = teacher
        .client
        .post_form(
            &host,
            "/albums",
            &[("title", "Schoolreisje"), ("group_id", g3.as_str())],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let album: i64 = made
        .header("location")
        .and_then(|l| l.strip_prefix("/albums/"))
        .and_then(|id| id.parse().ok())
        .expect("the new album's address");
    teacher.client.get(&host, &format!("/albums/{album}")).await;
    let uploaded = teacher
        .client
        .post_file(
            &host,
            &format!("/albums/{album}/photos"),
            "reisje.png",
            &png_picture(),
            None,
        )
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.text());
    let photo = scalar(
        &app,
        &school,
        "SELECT max(id) FROM photos WHERE album_id = $1",
        album,
    )
    .await;
    let classmate = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026002",
    )
    .await;
    let photo_page = format!("/albums/{album}/photos/{photo}");
    let tags = format!("{photo_page}/tags");
    teacher.client.get(&host, &photo_page).await;
    let tagged = teacher
        .client
        .post_form(&host, &tags, &[("pupils", &classmate.to_string())])
        .await;
    assert_eq!(tagged.status, 303, "{}", tagged.text());

    let before = written(&app, &school).await;
    let (anyone, registrant, staff_admin, staff_teacher, parent) = (0, 1, 2, 3, 4);
    let mut clients = [
        anonymous,
        registering,
        admin.client.clone(),
        teacher.client.clone(),
        mother.client.clone(),
    ];
    let s = |text: &str| text.to_owned();
    let round_page = format!("/conference-rounds/{draft}");
    let wrong_password = s("Niet-Het-Wachtwoord-1");
    let long_note = "n".repeat(501);
    let long_invitation = "u".repeat(4001);
    let cases = vec![
        Case {
            name: "sign-in, a malformed address",
            who: anyone,
            open: s("/sign-in"),
            post: Some(s("/sign-in")),
            fields: vec![
                ("email", s("geen-adres")),
                ("password", wrong_password.clone()),
                ("keep", s("1")),
            ],
            form: s("sign-in-form"),
            anchor: s("email"),
            kept: vec![s("value=\"geen-adres\""), s("value=\"1\" checked")],
            secret: vec![wrong_password.clone()],
        },
        Case {
            name: "sign-in, a wrong password",
            who: anyone,
            open: s("/sign-in"),
            post: Some(s("/sign-in")),
            fields: vec![
                ("email", mother.email.clone()),
                ("password", wrong_password.clone()),
            ],
            form: s("sign-in-form"),
            anchor: s("password"),
            kept: vec![mother.email.clone()],
            secret: vec![wrong_password.clone()],
        },
        Case {
            name: "forgotten password, a malformed address",
            who: anyone,
            open: s("/password/forgot"),
            post: Some(s("/password/forgot")),
            fields: vec![("email", s("ouder@@example.nl"))],
            form: s("forgot-password-form"),
            anchor: s("email"),
            kept: vec![s("ouder@@example.nl")],
            secret: vec![],
        },
        Case {
            name: "new password, too short",
            who: anyone,
            open: reset.clone(),
            post: Some(reset.clone()),
            fields: vec![("new", s("kort")), ("repeat", s("kort"))],
            form: s("reset-password-form"),
            anchor: s("new"),
            kept: vec![],
            secret: vec![s("value=\"kort\"")],
        },
        Case {
            name: "new password, typed differently",
            who: anyone,
            open: reset.clone(),
            post: Some(reset.clone()),
            fields: vec![
                ("new", s("Zon-Maan-Ster-42")),
                ("repeat", s("Zon-Maan-Ster-43")),
            ],
            form: s("reset-password-form"),
            anchor: s("repeat"),
            kept: vec![],
            secret: vec![s("Zon-Maan-Ster-42"), s("Zon-Maan-Ster-43")],
        },
        Case {
            name: "register, an unknown code",
            who: anyone,
            open: s("/register"),
            post: Some(s("/register")),
            fields: vec![
                ("code", s("ZZZZ-ZZZZ-ZZZZ")),
                ("note", s("Mijn dochter Fien")),
            ],
            form: s("register-code"),
            anchor: s("code"),
            kept: vec![s("ZZZZ-ZZZZ-ZZZZ"), s("Mijn dochter Fien")],
            secret: vec![],
        },
        Case {
            name: "register, a note too long",
            who: anyone,
            open: s("/register"),
            post: Some(s("/register")),
            fields: vec![("code", s("ABCD-EFGH-JKLM")), ("note", long_note.clone())],
            form: s("register-code"),
            anchor: s("note"),
            kept: vec![s("ABCD-EFGH-JKLM")],
            secret: vec![],
        },
        Case {
            name: "register an account, passwords that differ",
            who: registrant,
            open: s("/register/account"),
            post: Some(s("/register/account")),
            fields: vec![
                ("name", s("Anna Ouder")),
                ("email", s("anna.ouder@example.nl")),
                ("password", s("Zon-Maan-Ster-42")),
                ("repeat", s("Zon-Maan-Ster-43")),
            ],
            form: s("register-account"),
            anchor: s("repeat"),
            kept: vec![s("Anna Ouder"), s("anna.ouder@example.nl")],
            secret: vec![s("Zon-Maan-Ster-42"), s("Zon-Maan-Ster-43")],
        },
        Case {
            name: "register an account, a malformed address",
            who: registrant,
            open: s("/register/account"),
            post: Some(s("/register/account")),
            fields: vec![
                ("name", s("Anna Ouder")),
                ("email", s("anna.ouder")),
                ("password", s("Zon-Maan-Ster-42")),
                ("repeat", s("Zon-Maan-Ster-42")),
            ],
            form: s("register-account"),
            anchor: s("email"),
            kept: vec![s("Anna Ouder"), s("value=\"anna.ouder\"")],
            secret: vec![s("Zon-Maan-Ster-42")],
        },
        Case {
            name: "an invitation accepted with passwords that differ",
            who: anyone,
            open: invitation.clone(),
            post: Some(invitation.clone()),
            fields: vec![
                ("name", s("Tim van Dijk")),
                ("password", s("Zon-Maan-Ster-42")),
                ("repeat", s("Zon-Maan-Ster-43")),
            ],
            form: s("accept-invitation"),
            anchor: s("repeat"),
            kept: vec![s("Tim van Dijk")],
            secret: vec![s("Zon-Maan-Ster-42"), s("Zon-Maan-Ster-43")],
        },
        Case {
            name: "account, an empty name",
            who: parent,
            open: s("/account"),
            post: Some(s("/account/profile")),
            fields: vec![("name", s("  ")), ("language", s("en"))],
            form: s("profile"),
            anchor: s("name"),
            kept: vec![s("value=\"en\" selected")],
            secret: vec![],
        },
        Case {
            name: "account, an unknown language",
            who: parent,
            open: s("/account"),
            post: Some(s("/account/profile")),
            fields: vec![("name", s("Moeder Bee")), ("language", s("fy"))],
            form: s("profile"),
            anchor: s("language"),
            kept: vec![s("Moeder Bee")],
            secret: vec![],
        },
        Case {
            name: "account, a malformed new address",
            who: parent,
            open: s("/account"),
            post: Some(s("/account/email")),
            fields: vec![("new_email", s("nieuw@")), ("password", s(PASSWORD))],
            form: s("email-change"),
            anchor: s("new_email"),
            kept: vec![s("value=\"nieuw@\"")],
            secret: vec![s(PASSWORD)],
        },
        Case {
            name: "account, a wrong password for a new address",
            who: parent,
            open: s("/account"),
            post: Some(s("/account/email")),
            fields: vec![
                ("new_email", s("nieuw.adres@example.nl")),
                ("password", wrong_password.clone()),
            ],
            form: s("email-change"),
            anchor: s("email_password"),
            kept: vec![s("nieuw.adres@example.nl")],
            secret: vec![wrong_password.clone()],
        },
        Case {
            name: "account, a new password that is too short",
            who: parent,
            open: s("/account"),
            post: Some(s("/account/password")),
            fields: vec![
                ("current", s(PASSWORD)),
                ("new", s("kort")),
                ("repeat", s("kort")),
            ],
            form: s("password-change"),
            anchor: s("new"),
            kept: vec![],
            secret: vec![s(PASSWORD), s("value=\"kort\"")],
        },
        Case {
            name: "invite staff, a malformed address",
            who: staff_admin,
            open: s("/admin/people"),
            post: Some(s("/admin/people/invite")),
            fields: vec![
                ("name", s("Meester Kees")),
                ("email", s("kees@")),
                ("role", s("school_admin")),
            ],
            form: s("invite-form"),
            anchor: s("invite-email"),
            kept: vec![
                s("Meester Kees"),
                s("value=\"kees@\""),
                s("value=\"school_admin\" selected"),
            ],
            secret: vec![],
        },
        Case {
            name: "invite staff, an unknown role",
            who: staff_admin,
            open: s("/admin/people"),
            post: Some(s("/admin/people/invite")),
            fields: vec![
                ("name", s("Meester Kees")),
                ("email", s("kees@example.nl")),
                ("role", s("rector")),
            ],
            form: s("invite-form"),
            anchor: s("invite-role"),
            kept: vec![s("Meester Kees"), s("kees@example.nl")],
            secret: vec![],
        },
        Case {
            name: "the school's invitation text, too long",
            who: staff_admin,
            open: s("/conference-rounds"),
            post: Some(s("/conference-rounds/invitation")),
            fields: vec![
                ("invitation_text", long_invitation.clone()),
                ("invitation_text_en", s("Pick a time.")),
            ],
            form: s("invitation-text"),
            anchor: s("invitation-nl"),
            kept: vec![s("Pick a time.")],
            secret: vec![],
        },
        Case {
            name: "a round's slot, a bad time",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!("/conference-rounds/{draft}/slots")),
            fields: vec![("date", day(31)), ("start", s("25:61")), ("double", s("1"))],
            form: s("add-slot"),
            anchor: s("slot-start"),
            kept: vec![day(31), s("value=\"25:61\""), s("value=\"1\" checked")],
            secret: vec![],
        },
        Case {
            name: "a round's slot, in the past",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!("/conference-rounds/{draft}/slots")),
            fields: vec![("date", s("2001-02-03")), ("start", s("09:15"))],
            form: s("add-slot"),
            anchor: s("slot-date"),
            kept: vec![s("2001-02-03"), s("09:15")],
            secret: vec![],
        },
        Case {
            name: "a round's settings, siblings not earlier",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!("/conference-rounds/{draft}/settings")),
            fields: vec![
                ("booking_mode", s("per_parent")),
                ("change_until_days", s("3")),
                ("opens_at", format!("{}T08:00", day(5))),
                ("siblings_open_at", format!("{}T09:00", day(5))),
                ("message", s("Neem het rapport mee.")),
            ],
            form: s("round-settings"),
            anchor: s("round-siblings-open-at"),
            kept: vec![
                s("value=\"per_parent\" checked"),
                s("value=\"3\""),
                format!("{}T08:00", day(5)),
                format!("{}T09:00", day(5)),
                s("Neem het rapport mee."),
            ],
            secret: vec![],
        },
        Case {
            name: "a round's settings, a cut-off out of range",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!("/conference-rounds/{draft}/settings")),
            fields: vec![("change_until_days", s("99")), ("message", s("Tot dan."))],
            form: s("round-settings"),
            anchor: s("round-change-until"),
            kept: vec![s("value=\"99\""), s("Tot dan.")],
            secret: vec![],
        },
        Case {
            name: "publishing with mail but no invitation",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!("/conference-rounds/{draft}/publish")),
            fields: vec![
                ("mail", s("1")),
                ("invitation", s("")),
                ("invitation_en", s("Please pick a time.")),
            ],
            form: s("publish"),
            anchor: s("publish-invitation"),
            kept: vec![s("Please pick a time.")],
            secret: vec![],
        },
        Case {
            name: "a single talk made single",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!(
                "/conference-rounds/{draft}/slots/{first_slot}/single"
            )),
            fields: vec![],
            form: s("add-slot"),
            anchor: format!("slot-{first_slot}"),
            kept: vec![],
            secret: vec![],
        },
        Case {
            name: "a slot assigned to no family of the group",
            who: staff_teacher,
            open: round_page.clone(),
            post: Some(format!(
                "/conference-rounds/{draft}/slots/{first_slot}/assign"
            )),
            fields: vec![("family", s("999999"))],
            form: s("add-slot"),
            anchor: format!("family-{first_slot}"),
            kept: vec![],
            secret: vec![],
        },
        Case {
            name: "closing without saying so",
            who: staff_teacher,
            open: format!("/conference-rounds/{published}"),
            post: Some(format!("/conference-rounds/{published}/close")),
            fields: vec![],
            form: s("close-round-form"),
            anchor: s("confirm-close"),
            kept: vec![],
            secret: vec![],
        },
        Case {
            name: "booking before the round opens",
            who: parent,
            open: s("/conferences"),
            post: Some(s("/conferences/book")),
            fields: vec![
                ("slot", published_slot.to_string()),
                ("child", pupil.to_string()),
            ],
            form: format!("round-{published}-{pupil}"),
            anchor: format!("round-{published}-{pupil}"),
            kept: vec![],
            secret: vec![],
        },
        Case {
            name: "tagging a photo with a pupil who is not at the school",
            who: staff_teacher,
            open: photo_page.clone(),
            post: Some(tags.clone()),
            fields: vec![("pupils", pupil.to_string()), ("pupils", s("999999"))],
            form: s("tag-pupils"),
            anchor: s("photo-pupils"),
            kept: vec![format!("value=\"{pupil}\" checked")],
            secret: vec![],
        },
        Case {
            name: "tagging a photo with a value that is no pupil's number",
            who: staff_teacher,
            open: photo_page.clone(),
            post: Some(tags.clone()),
            fields: vec![("pupils", pupil.to_string()), ("pupils", s("twee"))],
            form: s("tag-pupils"),
            anchor: s("photo-pupils"),
            kept: vec![format!("value=\"{pupil}\" checked")],
            secret: vec![],
        },
        Case {
            name: "finding a school, too long a search",
            who: anyone,
            open: format!("/?q={}", "a".repeat(101)),
            post: None,
            fields: vec![],
            form: s("find-school"),
            anchor: s("q"),
            kept: vec!["a".repeat(101)],
            secret: vec![],
        },
    ];
    for case in &cases {
        let client = &mut clients[case.who];
        let answer = match &case.post {
            None => client.get(BASE_DOMAIN, &case.open).await,
            Some(post) => {
                let opened = client.get(&host, &case.open).await;
                assert_eq!(opened.status, 200, "{}: {}", case.name, opened.text());
                client.post_form(&host, post, &borrowed(&case.fields)).await
            }
        };
        check(case, &answer);
    }
    // The tagging form came back with the boxes as ticked, not as stored.
    let tags_back = clients[staff_teacher]
        .post_form(
            &host,
            &tags,
            &[("pupils", &pupil.to_string()), ("pupils", "999999")],
        )
        .await;
    assert_eq!(tags_back.status, 400, "{}", tags_back.text());
    assert!(
        tags_back
            .text()
            .contains(&format!("value=\"{classmate}\">")),
        "the stored tag is not ticked on the form as sent: {}",
        tags_back.text()
    );

    // The profile photo form sends a file, as `(file name, bytes)` with each case; a browser
    // sends an empty name and no bytes for a file input left empty. A file cannot be kept.
    let photo_case = |name: &'static str| Case {
        name,
        who: parent,
        open: s("/children"),
        post: Some(s("/children/photo")),
        fields: vec![],
        form: s("photo-form"),
        anchor: s("photo"),
        kept: vec![],
        secret: vec![],
    };
    let too_large = vec![0xFF; schoolplein_portal::routes::photos::MAX_PHOTO_BYTES + 1];
    let uploads: Vec<(Case, &str, &[u8])> = vec![
        (
            photo_case("profile photo, not a picture"),
            "foto.png",
            &b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"[..],
        ),
        (
            photo_case("profile photo, a GIF rather than a JPEG or PNG"),
            "foto.gif",
            &b"GIF89a\x01\0\x01\0\0\0\0;"[..],
        ),
        (
            photo_case("profile photo, too large"),
            "groot.jpg",
            &too_large,
        ),
        (photo_case("profile photo, none chosen"), "", &[][..]),
    ];
    for (case, file_name, bytes) in &uploads {
        let client = &mut clients[case.who];
        let opened = client.get(&host, &case.open).await;
        assert_eq!(opened.status, 200, "{}: {}", case.name, opened.text());
        let post = case.post.as_deref().expect("an upload posts");
        let answer = client
            .post_multipart(
                &host,
                post,
                &borrowed(&case.fields),
                &[("photo", file_name, bytes)],
            )
            .await;
        check(case, &answer);
    }
    assert_eq!(
        written(&app, &school).await,
        before,
        "no form sent with a mistake wrote anything"
    );
}
