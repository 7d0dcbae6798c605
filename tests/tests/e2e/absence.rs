//! Sick reports (D1): the cut-off in Dutch time on the mornings the clocks change, the
//! confirmation mail, the teachers' "today" with exactly their groups' children, ending and
//! marking present by the right people only, two parents reporting one child at once, the
//! register as CSV, the children absent often, the settings form and the module switch.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, Member, parent};
use schoolplein_tests::{TestApp, TestAppOptions, TestDb, part_of, school_host};
use tenant_router::{TenantEntry, TenantTx};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn pupil(app: &TestApp, school: &TenantEntry, key: &str) -> i64 {
    school::id(
        app,
        school,
        "SELECT id FROM pupils WHERE import_key = $1",
        key,
    )
    .await
}

/// The reports of a pupil: (first day, last day, back again) as text.
async fn reports_of(
    app: &TestApp,
    school: &TenantEntry,
    pupil_id: i64,
) -> Vec<(String, Option<String>, bool)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT first_day::text, last_day::text, back_at IS NOT NULL FROM absences
          WHERE pupil_id = $1 ORDER BY first_day, id",
    )
    .bind(pupil_id)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

/// The id of a pupil's newest report.
async fn newest_report(app: &TestApp, school: &TenantEntry, pupil_id: i64) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let id = sqlx::query_scalar("SELECT max(id) FROM absences WHERE pupil_id = $1")
        .bind(pupil_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    id
}

/// Sends the report form (after opening the page, for its token).
async fn report(
    member: &mut Member,
    host: &str,
    fields: &[(&str, &str)],
) -> schoolplein_tests::RawResponse {
    member.client.get(host, "/absence").await;
    member.client.post_form(host, "/absence", fields).await
}

struct School {
    app: TestApp,
    mailbox: Mailbox,
    school: TenantEntry,
    host: String,
    admin: Member,
    teacher_3b: Member,
    teacher_4: Member,
    /// Sanne (2026001, group 3B) and Elif (2026003, group 4).
    mother: Member,
    /// Daan (2026002, group 3B).
    father: Member,
}

async fn school_with_families(name: &str) -> School {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school(name, "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher_3b = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher_3b.person_id, "G3B").await;
    let teacher_4 = school::member(&app, &school, "Meester Vier", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher_4.person_id, "G4").await;
    let mother = parent(&app, &school, "Anna de Vries", &["2026001", "2026003"]).await;
    let father = parent(&app, &school, "Joost Bakker", &["2026002"]).await;
    School {
        app,
        mailbox,
        school,
        host,
        admin,
        teacher_3b,
        teacher_4,
        mother,
        father,
    }
}

#[tokio::test]
async fn reports_are_taken_until_the_cut_off_in_dutch_time_confirmed_by_mail_and_shown_to_exactly_the_childs_teachers()
 {
    let School {
        app,
        mailbox,
        school,
        host,
        mut admin,
        mut teacher_3b,
        mut teacher_4,
        mut mother,
        mut father,
    } = school_with_families("Basisschool De Ziekmelding").await;
    let (sanne, daan, elif) = (
        pupil(&app, &school, "2026001").await,
        pupil(&app, &school, "2026002").await,
        pupil(&app, &school, "2026003").await,
    );
    let (sanne, daan, elif) = (sanne.to_string(), daan.to_string(), elif.to_string());

    // Sunday 29 March 2026, the morning summer time starts: 08:10 Dutch time is 06:10 UTC.
    app.state.clock.set(at("2026-03-29T06:10:00Z"));
    let page = mother.client.get(&host, "/absence").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("tot 08:15 uur"), "{}", page.text());
    assert!(!page.text().contains("id=\"too-late\""));
    let taken = report(
        &mut mother,
        &host,
        &[
            ("children", &sanne),
            ("when", "until_better"),
            ("reason", "ill"),
            ("note", "Koorts sinds gisteravond"),
        ],
    )
    .await;
    assert_eq!(taken.status, 303, "{}", taken.text());
    assert_eq!(taken.header("location"), Some("/absence?reported=1"));
    let mail = mailbox.latest(&mother.email, 1).await;
    assert!(
        mail.subject.contains("Ziekmelding ontvangen") && mail.subject.contains("Sanne"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text.contains("vanaf zondag 29 maart 2026 (tot beter)") && mail.text.contains("Ziek"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("/absence"), "{}", mail.text);

    // Ten minutes later, 08:20 in summer time (an hour too early for a clock still on winter
    // time): too late for today, with the school's phone number; what was typed is kept.
    app.state.clock.set(at("2026-03-29T06:20:00Z"));
    let late = report(
        &mut mother,
        &host,
        &[
            ("children", &elif),
            ("when", "today"),
            ("reason", "dentist"),
            ("note", "Kies getrokken"),
        ],
    )
    .await;
    assert_eq!(late.status, 400);
    let text = late.text();
    assert!(
        text.contains("kan nu niet meer online") && text.contains("id=\"when-error\""),
        "{text}"
    );
    assert!(
        text.contains("Kies getrokken")
            && text.contains(&format!("value=\"{elif}\" id=\"child-{elif}\" checked")),
        "{text}"
    );
    assert!(text.contains("id=\"too-late\""), "{text}");
    assert!(
        reports_of(&app, &school, elif.parse().unwrap())
            .await
            .is_empty()
    );
    // For tomorrow it is still taken.
    let tomorrow = report(
        &mut mother,
        &host,
        &[
            ("children", &elif),
            ("when", "days"),
            ("first_day", "2026-03-30"),
            ("last_day", "30-03-2026"),
            ("reason", "dentist"),
        ],
    )
    .await;
    assert_eq!(tomorrow.status, 303, "{}", tomorrow.text());
    mailbox.wait_for(&mother.email, 2).await;

    // Monday 30 March, 08:14 Dutch time: Daan's father reports for today.
    app.state.clock.set(at("2026-03-30T06:14:00Z"));
    let daan_today = report(
        &mut father,
        &host,
        &[("children", &daan), ("when", "today"), ("reason", "doctor")],
    )
    .await;
    assert_eq!(daan_today.status, 303, "{}", daan_today.text());

    // Group 3B's teacher sees Sanne (still ill) and Daan; not Elif, who is in group 4.
    let today_3b = teacher_3b.client.get(&host, "/absence/today").await.text();
    assert!(
        today_3b.contains("Sanne") && today_3b.contains("Daan"),
        "{today_3b}"
    );
    assert!(!today_3b.contains("Elif"), "{today_3b}");
    assert!(
        today_3b.contains("Koorts sinds gisteravond") && today_3b.contains("maandag 30 maart 2026"),
        "{today_3b}"
    );
    let today_4 = teacher_4.client.get(&host, "/absence/today").await.text();
    assert!(
        today_4.contains("Elif") && !today_4.contains("Sanne") && !today_4.contains("Daan"),
        "{today_4}"
    );
    // The home page says the same.
    let home_3b = teacher_3b.client.get(&host, "/").await.text();
    let absent = part_of(&home_3b, "id=\"absent-today\"", "</section>");
    assert!(
        absent.contains("Sanne") && absent.contains("Daan") && !absent.contains("Elif"),
        "{absent}"
    );
    // The admin sees the whole school, and any day.
    let whole = admin.client.get(&host, "/absence/today").await.text();
    assert!(
        whole.contains("Sanne") && whole.contains("Daan") && whole.contains("Elif"),
        "{whole}"
    );
    let sunday = admin
        .client
        .get(&host, "/absence/today?day=2026-03-29")
        .await
        .text();
    assert!(
        sunday.contains("Sanne") && !sunday.contains("Daan"),
        "{sunday}"
    );
    assert_eq!(
        admin
            .client
            .get(&host, "/absence/today?day=morgen")
            .await
            .status,
        400
    );
    let admin_home = admin.client.get(&host, "/").await.text();
    assert!(admin_home.contains("id=\"school-absent\""), "{admin_home}");

    // Marking present: group 4's teacher cannot touch Daan; his own teacher can.
    let daan_report = newest_report(&app, &school, daan.parse().unwrap()).await;
    teacher_4.client.get(&host, "/absence/today").await;
    let not_theirs = teacher_4
        .client
        .post_form(&host, &format!("/absence/{daan_report}/present"), &[])
        .await;
    assert_eq!(not_theirs.status, 404);
    let present = teacher_3b
        .client
        .post_form(&host, &format!("/absence/{daan_report}/present"), &[])
        .await;
    assert_eq!(present.status, 303);
    assert_eq!(
        reports_of(&app, &school, daan.parse().unwrap()).await,
        vec![("2026-03-30".to_owned(), Some("2026-03-30".to_owned()), true)]
    );
    let marked = teacher_3b.client.get(&host, "/absence/today").await.text();
    assert!(marked.contains("weer aanwezig om 08:14"), "{marked}");

    // Sanne is better from tomorrow: only her own parents may say so.
    let sanne_report = newest_report(&app, &school, sanne.parse().unwrap()).await;
    father.client.get(&host, "/absence").await;
    let stranger = father
        .client
        .post_form(&host, &format!("/absence/{sanne_report}/end"), &[])
        .await;
    assert_eq!(stranger.status, 404);
    let again = report(
        &mut mother,
        &host,
        &[("children", &sanne), ("when", "today"), ("reason", "ill")],
    )
    .await;
    assert_eq!(again.status, 400);
    assert!(
        again
            .text()
            .contains("Sanne is al ziek gemeld vanaf zondag 29 maart 2026"),
        "{}",
        again.text()
    );
    let better = mother
        .client
        .post_form(&host, &format!("/absence/{sanne_report}/end"), &[])
        .await;
    assert_eq!(better.status, 303);
    assert_eq!(
        reports_of(&app, &school, sanne.parse().unwrap()).await,
        vec![(
            "2026-03-29".to_owned(),
            Some("2026-03-30".to_owned()),
            false
        )]
    );
    // A report for days to come is withdrawn rather than ended.
    let later = report(
        &mut mother,
        &host,
        &[
            ("children", &sanne),
            ("when", "days"),
            ("first_day", "2026-04-02"),
            ("last_day", "2026-04-03"),
            ("reason", "orthodontist"),
        ],
    )
    .await;
    assert_eq!(later.status, 303, "{}", later.text());
    let later_id = newest_report(&app, &school, sanne.parse().unwrap()).await;
    mother.client.get(&host, "/absence").await;
    assert_eq!(
        mother
            .client
            .post_form(&host, &format!("/absence/{later_id}/end"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        reports_of(&app, &school, sanne.parse().unwrap())
            .await
            .len(),
        1
    );
    // The parent's page shows the school year per child.
    let history = mother.client.get(&host, "/absence").await.text();
    assert!(
        history.contains("id=\"history\"") && history.contains("2025–2026"),
        "{history}"
    );
    assert!(
        history.contains("Sanne de Vries") && history.contains("1 melding, 1 schooldag"),
        "{history}"
    );

    // Only parents report, and only their own children.
    let by_teacher = teacher_3b
        .client
        .post_form(
            &host,
            "/absence",
            &[("children", &sanne), ("reason", "ill")],
        )
        .await;
    assert_eq!(by_teacher.status, 403);
    let not_mine = report(
        &mut father,
        &host,
        &[
            ("children", &sanne),
            ("when", "days"),
            ("first_day", "2026-04-06"),
            ("last_day", "2026-04-06"),
            ("reason", "ill"),
        ],
    )
    .await;
    assert_eq!(not_mine.status, 400);
    assert!(
        not_mine.text().contains("alleen uw eigen kinderen"),
        "{}",
        not_mine.text()
    );
    // The register of one child: its teacher and the admin, nobody else.
    assert_eq!(
        teacher_3b
            .client
            .get(&host, &format!("/absence/pupils/{sanne}"))
            .await
            .status,
        200
    );
    assert_eq!(
        teacher_4
            .client
            .get(&host, &format!("/absence/pupils/{sanne}"))
            .await
            .status,
        404
    );
    assert_eq!(
        mother
            .client
            .get(&host, &format!("/absence/pupils/{sanne}"))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn two_parents_reporting_one_child_at_the_same_moment_make_one_report() {
    let School {
        app,
        school,
        host,
        mut mother,
        ..
    } = school_with_families("Basisschool Tegelijk").await;
    let sanne = pupil(&app, &school, "2026001").await;
    let mut father = parent(&app, &school, "Mark de Vries", &["2026001"]).await;
    app.state.clock.set(at("2026-12-03T06:30:00Z"));
    mother.client.get(&host, "/absence").await;
    father.client.get(&host, "/absence").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let child = sanne.to_string();
    let send =
        |mut member: Member, barrier: Arc<tokio::sync::Barrier>, child: String, host: String| {
            tokio::spawn(async move {
                barrier.wait().await;
                member
                    .client
                    .post_form(
                        &host,
                        "/absence",
                        &[("children", &child), ("when", "today"), ("reason", "ill")],
                    )
                    .await
                    .status
            })
        };
    let first = send(mother, barrier.clone(), child.clone(), host.clone());
    let second = send(father, barrier, child, host);
    let mut statuses = vec![first.await.unwrap(), second.await.unwrap()];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![303, 400]);
    assert_eq!(reports_of(&app, &school, sanne).await.len(), 1);
}

#[tokio::test]
async fn the_register_exports_the_school_year_and_lists_children_absent_often() {
    let School {
        app,
        school,
        host,
        mut admin,
        mut teacher_3b,
        mut mother,
        ..
    } = school_with_families("Basisschool Het Register").await;
    let sanne = pupil(&app, &school, "2026001").await.to_string();
    let elif = pupil(&app, &school, "2026003").await.to_string();
    // Sanne three times in six weeks, Elif once.
    for (now, day) in [
        ("2026-10-05T06:00:00Z", "2026-10-05"),
        ("2026-10-26T07:00:00Z", "2026-10-26"),
        ("2026-11-13T07:00:00Z", "2026-11-13"),
    ] {
        app.state.clock.set(at(now));
        let sent = report(
            &mut mother,
            &host,
            &[
                ("children", &sanne),
                ("when", "days"),
                ("first_day", day),
                ("last_day", day),
                ("reason", "ill"),
                ("note", "=HYPERLINK(\"x\")"),
            ],
        )
        .await;
        assert_eq!(sent.status, 303, "{}", sent.text());
    }
    app.state.clock.set(at("2026-11-16T07:00:00Z"));
    let sent = report(
        &mut mother,
        &host,
        &[
            ("children", &elif),
            ("when", "until_better"),
            ("reason", "other"),
        ],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.text());

    let signals = admin.client.get(&host, "/absence/signals").await.text();
    let table = part_of(&signals, "id=\"signals\"", "</table>");
    assert!(
        table.contains("Sanne de Vries") && !table.contains("Elif"),
        "{signals}"
    );
    assert!(
        signals.contains("3 of meer ziekmeldingen in 8 weken"),
        "{signals}"
    );

    let csv = admin
        .client
        .get(&host, "/absence/register.csv?year=2026")
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("ziekmeldingen-2026-2027.csv")
    );
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"));
    let text = csv.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0]
            .starts_with("Leerlingnummer;Leerling;Groep;Eerste dag;Laatste dag;Schooldagen;Reden"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2026001;Sanne de Vries;")
                && l.contains(";2026-10-26;2026-10-26;1;Ziek;")),
        "{text}"
    );
    // Still ill: Monday 16 November to today (the clock's Monday) is one school day.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2026003;") && l.contains(";2026-11-16;;1;Anders;")),
        "{text}"
    );
    // Parents' notes stay out of the register.
    assert!(!text.contains("HYPERLINK"), "{text}");
    // Another school year has none of these.
    let earlier = admin
        .client
        .get(&host, "/absence/register.csv?year=2025")
        .await
        .text();
    assert_eq!(
        earlier.trim_start_matches('\u{feff}').lines().count(),
        1,
        "{earlier}"
    );
    assert_eq!(
        admin
            .client
            .get(&host, "/absence/register.csv?year=99999")
            .await
            .status,
        400
    );

    // Admins only.
    assert_eq!(
        teacher_3b
            .client
            .get(&host, "/absence/register.csv")
            .await
            .status,
        403
    );
    assert_eq!(
        teacher_3b
            .client
            .get(&host, "/absence/signals")
            .await
            .status,
        403
    );
    assert_eq!(mother.client.get(&host, "/absence/today").await.status, 403);
    let register = teacher_3b
        .client
        .get(&host, &format!("/absence/pupils/{sanne}?year=2026"))
        .await
        .text();
    assert!(
        register.contains("3 meldingen, 3 schooldagen"),
        "{register}"
    );
}

#[tokio::test]
async fn the_settings_form_keeps_what_was_typed_and_the_module_switch_removes_every_route() {
    let School {
        app,
        school,
        host,
        mut admin,
        mut teacher_3b,
        mut mother,
        ..
    } = school_with_families("Basisschool De Instelling").await;
    let sanne = pupil(&app, &school, "2026001").await.to_string();
    admin.client.get(&host, "/absence/settings").await;
    let wrong = admin
        .client
        .post_form(
            &host,
            "/absence/settings",
            &[
                ("report_until", "8 uur"),
                ("late_text", "Bel ons vóór half negen."),
                ("reasons", "ill"),
                ("signal_reports", "3"),
                ("signal_weeks", "8"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    let text = wrong.text();
    assert!(
        text.contains("id=\"report-until-error\"")
            && text.contains("Bel ons vóór half negen.")
            && text.contains("value=\"8 uur\""),
        "{text}"
    );
    for (fields, field) in [
        (
            vec![
                ("report_until", "08:00"),
                ("signal_reports", "3"),
                ("signal_weeks", "8"),
            ],
            "reasons",
        ),
        (
            vec![
                ("report_until", "08:00"),
                ("reasons", "ill"),
                ("signal_reports", "1"),
                ("signal_weeks", "8"),
            ],
            "signal-reports",
        ),
        (
            vec![
                ("report_until", "08:00"),
                ("reasons", "ill"),
                ("signal_reports", "3"),
                ("signal_weeks", "x"),
            ],
            "signal-weeks",
        ),
    ] {
        let refused = admin
            .client
            .post_form(&host, "/absence/settings", &fields)
            .await;
        assert_eq!(refused.status, 400, "{fields:?}");
        assert!(
            refused.text().contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            refused.text()
        );
    }
    let saved = admin
        .client
        .post_form(
            &host,
            "/absence/settings",
            &[
                ("report_until", "08:00"),
                ("late_text", "Bel ons vóór half negen."),
                ("reasons", "other"),
                ("reasons", "ill"),
                ("signal_reports", "4"),
                ("signal_weeks", "6"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert_eq!(
        teacher_3b
            .client
            .get(&host, "/absence/settings")
            .await
            .status,
        403
    );
    // 08:05 in winter: after the school's own cut-off; the parent reads its text.
    app.state.clock.set(at("2026-12-03T07:05:00Z"));
    let page = mother.client.get(&host, "/absence").await.text();
    assert!(
        page.contains("Bel ons vóór half negen.") && page.contains("id=\"too-late\""),
        "{page}"
    );
    assert!(
        page.contains("id=\"reason-other\"") && !page.contains("id=\"reason-dentist\""),
        "{page}"
    );

    // The module off: every route is gone, for every role, and so are the menu and home links.
    let home = mother.client.get(&host, "/").await.text();
    assert!(
        home.contains("id=\"nav-absence\"") && home.contains("id=\"to-report-sick\""),
        "{home}"
    );
    school::switch_off(
        &mut admin.client,
        &host,
        schoolplein_kernel::settings::Module::Absence,
    )
    .await;
    for path in [
        "/absence",
        "/absence/today",
        "/absence/signals",
        "/absence/settings",
        "/absence/register.csv",
        &format!("/absence/pupils/{sanne}"),
    ] {
        assert_eq!(mother.client.get(&host, path).await.status, 404, "{path}");
        assert_eq!(admin.client.get(&host, path).await.status, 404, "{path}");
    }
    assert_eq!(
        mother
            .client
            .post_form(
                &host,
                "/absence",
                &[("children", &sanne), ("reason", "ill")]
            )
            .await
            .status,
        404
    );
    let home = mother.client.get(&host, "/").await.text();
    assert!(
        !home.contains("nav-absence") && !home.contains("to-report-sick"),
        "{home}"
    );
    let teacher_home = teacher_3b.client.get(&host, "/").await.text();
    assert!(
        !teacher_home.contains("nav-absence-today") && !teacher_home.contains("absent-today"),
        "{teacher_home}"
    );
}
