//! Homework and tasks (D4): a task for a whole group and one for chosen pupils reach exactly
//! their children's parents, week by week; the form's mistakes come back at their fields; only
//! a parent of the child ticks a task done, and the teacher sees who is done; files reach who
//! the task reaches; the module switch.

use chrono::{DateTime, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::school::{self, Member, parent};
use schoolplein_tests::{RawResponse, TestApp, part_of, school_host};
use tenant_router::{TenantEntry, TenantTx};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const WORKSHEET: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

async fn id_of(app: &TestApp, school: &TenantEntry, sql: &'static str, key: &str) -> String {
    school::id(app, school, sql, key).await.to_string()
}

async fn give(
    member: &mut Member,
    host: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> RawResponse {
    member.client.get(host, "/tasks").await;
    member
        .client
        .post_multipart(host, "/tasks", fields, files)
        .await
}

fn task_id(answer: &RawResponse) -> i64 {
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/tasks/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a task's address: {}", answer.text()))
}

#[tokio::test]
async fn tasks_reach_their_group_or_pupils_and_only_the_childs_parent_marks_them_done() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Het Huiswerk", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut other_teacher = school::member(&app, &school, "Meester Vier", &[Role::Teacher]).await;
    school::teach(&app, &school, other_teacher.person_id, "G4").await;
    let mut mother = parent(&app, &school, "Anna de Vries", &["2026001", "2026003"]).await;
    let mut father = parent(&app, &school, "Joost Bakker", &["2026002"]).await;
    let pupil = "SELECT id FROM pupils WHERE import_key = $1";
    let group = "SELECT id FROM groups WHERE import_key = $1";
    let (sanne, daan, elif) = (
        id_of(&app, &school, pupil, "2026001").await,
        id_of(&app, &school, pupil, "2026002").await,
        id_of(&app, &school, pupil, "2026003").await,
    );
    let (g3b, g4) = (
        id_of(&app, &school, group, "G3B").await,
        id_of(&app, &school, group, "G4").await,
    );
    app.state.clock.set(at("2026-12-07T08:00:00Z"));

    // Mistakes come back at their fields, with what was typed.
    let cases: [(Vec<(&str, &str)>, &str); 4] = [
        (
            vec![
                ("group", &g3b),
                ("title", "Rekenen"),
                ("due_day", "2026-12-04"),
            ],
            "due-day-error",
        ),
        (
            vec![
                ("group", &g4),
                ("title", "Rekenen"),
                ("due_day", "2026-12-10"),
            ],
            "group-error",
        ),
        (
            vec![
                ("group", &g3b),
                ("title", "Rekenen"),
                ("due_day", "2026-12-10"),
                ("audience", "pupils"),
                ("pupils", &elif),
            ],
            "pupils-error",
        ),
        (
            vec![("group", &g3b), ("title", ""), ("due_day", "2026-12-10")],
            "title-error",
        ),
    ];
    for (fields, error) in cases {
        let mut all = fields.clone();
        all.push(("description", "Maak opgave 1 tot en met 8"));
        let refused = give(&mut teacher, &host, &all, &[]).await;
        assert_eq!(refused.status, 400, "{fields:?}");
        let text = refused.text();
        assert!(
            text.contains(&format!("id=\"{error}\""))
                && text.contains("Maak opgave 1 tot en met 8"),
            "{error}: {text}"
        );
    }
    let not_a_file = give(
        &mut teacher,
        &host,
        &[
            ("group", &g3b),
            ("title", "Rekenen"),
            ("due_day", "2026-12-10"),
        ],
        &[("files", "virus.exe", b"MZ\x90\x00")],
    )
    .await;
    assert_eq!(not_a_file.status, 400);

    // For the whole group, with a worksheet; and one for Daan alone.
    let whole = give(
        &mut teacher,
        &host,
        &[
            ("group", &g3b),
            ("title", "Rekenen blz. 12"),
            ("description", "Maak opgave 1 tot en met 8"),
            ("due_day", "10-12-2026"),
            ("audience", "group"),
        ],
        &[("files", "werkblad.pdf", WORKSHEET)],
    )
    .await;
    assert_eq!(whole.status, 303, "{}", whole.text());
    let whole = task_id(&whole);
    let extra = give(
        &mut teacher,
        &host,
        &[
            ("group", &g3b),
            ("title", "Extra lezen"),
            ("due_day", "2026-12-11"),
            ("audience", "pupils"),
            ("pupils", &daan),
        ],
        &[],
    )
    .await;
    let extra = task_id(&extra);

    // Parents see their children's tasks of the week, and only those.
    let mothers = mother.client.get(&host, "/tasks").await.text();
    assert!(
        mothers.contains("Rekenen blz. 12") && mothers.contains("werkblad.pdf"),
        "{mothers}"
    );
    assert!(!mothers.contains("Extra lezen"), "{mothers}");
    assert!(
        mothers.contains(&format!("id=\"task-{whole}-{sanne}\""))
            && !mothers.contains(&format!("task-{whole}-{elif}")),
        "{mothers}"
    );
    let fathers = father.client.get(&host, "/tasks").await.text();
    assert!(
        fathers.contains("Rekenen blz. 12") && fathers.contains("Extra lezen"),
        "{fathers}"
    );
    // The Friday before, the week's page already names what is due after it.
    app.state.clock.set(at("2026-12-04T15:00:00Z"));
    let friday = mother.client.get(&host, "/tasks").await.text();
    assert!(
        part_of(&friday, "id=\"coming\"", "</section>").contains("Rekenen blz. 12"),
        "{friday}"
    );
    app.state.clock.set(at("2026-12-07T08:00:00Z"));
    let next_week = mother
        .client
        .get(&host, "/tasks?week=2026-W51")
        .await
        .text();
    assert!(next_week.contains("id=\"no-tasks\""), "{next_week}");
    assert_eq!(
        mother
            .client
            .get(&host, "/tasks?week=volgende")
            .await
            .status,
        400
    );
    assert_eq!(
        mother
            .client
            .get(&host, &format!("/tasks/{extra}"))
            .await
            .status,
        404
    );

    // Only the child's parent ticks it done.
    let done = mother
        .client
        .post_form(
            &host,
            &format!("/tasks/{whole}/done"),
            &[("pupil", &sanne), ("done", "1")],
        )
        .await;
    assert_eq!(done.status, 303);
    father.client.get(&host, "/tasks").await;
    assert_eq!(
        father
            .client
            .post_form(
                &host,
                &format!("/tasks/{whole}/done"),
                &[("pupil", &sanne), ("done", "1")]
            )
            .await
            .status,
        404
    );
    assert_eq!(
        mother
            .client
            .post_form(
                &host,
                &format!("/tasks/{extra}/done"),
                &[("pupil", &daan), ("done", "1")]
            )
            .await
            .status,
        404
    );
    assert_eq!(
        mother
            .client
            .post_form(
                &host,
                &format!("/tasks/{extra}/done"),
                &[("pupil", &sanne), ("done", "1")]
            )
            .await
            .status,
        404
    );
    let page = teacher
        .client
        .get(&host, &format!("/tasks/{whole}"))
        .await
        .text();
    assert!(
        page.contains("(1 / 2)") && page.contains("Anna de Vries"),
        "{page}"
    );
    let after = mother.client.get(&host, "/tasks").await.text();
    assert!(
        after.contains(&format!("id=\"undo-{whole}-{sanne}\"")),
        "{after}"
    );

    // The teacher changes the task; the parents read the change; the done mark stays.
    teacher
        .client
        .get(&host, &format!("/tasks/{whole}/edit"))
        .await;
    let past = teacher
        .client
        .post_form(
            &host,
            &format!("/tasks/{whole}/edit"),
            &[
                ("title", "Rekenen blz. 12 en 13"),
                ("description", ""),
                ("due_day", "2026-12-01"),
            ],
        )
        .await;
    assert_eq!(past.status, 400);
    assert!(
        past.text().contains("id=\"due-day-error\"")
            && past.text().contains("Rekenen blz. 12 en 13"),
        "{}",
        past.text()
    );
    let changed = teacher
        .client
        .post_form(
            &host,
            &format!("/tasks/{whole}/edit"),
            &[
                ("title", "Rekenen blz. 12 en 13"),
                ("description", "Opgave 1 tot en met 12"),
                ("due_day", "2026-12-10"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303);
    let mothers = mother.client.get(&host, "/tasks").await.text();
    assert!(
        mothers.contains("Rekenen blz. 12 en 13")
            && mothers.contains(&format!("id=\"undo-{whole}-{sanne}\"")),
        "{mothers}"
    );
    assert_eq!(
        other_teacher
            .client
            .get(&host, &format!("/tasks/{whole}/edit"))
            .await
            .status,
        404
    );
    assert_eq!(
        mother
            .client
            .get(&host, &format!("/tasks/{whole}/edit"))
            .await
            .status,
        404
    );

    // Files reach who the task reaches.
    let file_id: i64 = {
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let id = sqlx::query_scalar("SELECT id FROM task_files")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        id
    };
    let file = mother
        .client
        .get(&host, &format!("/tasks/{whole}/files/{file_id}"))
        .await;
    assert_eq!((file.status, file.body.as_slice()), (200, WORKSHEET));
    assert_eq!(
        other_teacher
            .client
            .get(&host, &format!("/tasks/{whole}/files/{file_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        other_teacher
            .client
            .get(&host, &format!("/tasks/{whole}"))
            .await
            .status,
        404
    );
    let theirs = other_teacher.client.get(&host, "/tasks").await.text();
    assert!(!theirs.contains("Rekenen blz. 12"), "{theirs}");

    // The module off: gone, for everyone.
    school::switch_off(
        &mut admin.client,
        &host,
        schoolplein_kernel::settings::Module::Tasks,
    )
    .await;
    for path in [
        "/tasks".to_owned(),
        format!("/tasks/{whole}"),
        format!("/tasks/{whole}/files/{file_id}"),
    ] {
        assert_eq!(mother.client.get(&host, &path).await.status, 404, "{path}");
        assert_eq!(teacher.client.get(&host, &path).await.status, 404, "{path}");
    }
    assert!(
        !mother
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("nav-tasks")
    );
}
