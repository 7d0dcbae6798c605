//! Conversations (C4): who may write to whom, a question and its answer read by their
//! participants only, the office as a shared inbox, and the message form's mistakes.

use std::time::Duration;

use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::inbound::notices_at;
use schoolplein_tests::school::{self, Member};
use schoolplein_tests::{TestApp, eventually, school_host};
use tenant_router::{TenantEntry, TenantTx};

/// Runs statements in the school's schema.
async fn run(app: &TestApp, school: &TenantEntry, sql: &str) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A parent of `child` who lets their name be seen in its group (P7), or not.
async fn parent(
    app: &TestApp,
    school: &TenantEntry,
    name: &str,
    child: &str,
    name_seen: bool,
) -> Member {
    let parent = school::parent(app, school, name, &[child]).await;
    if name_seen {
        run(
            app,
            school,
            &format!(
                "INSERT INTO privacy_choices (person_id, pupil_id, field, audience)
                 SELECT {}, id, 'name', 'group' FROM pupils WHERE import_key = '{child}'",
                parent.person_id
            ),
        )
        .await;
    }
    parent
}

/// The people and crowds the suggestions offer for `letters`, as `(address, name)`.
async fn suggested(client: &mut Client, host: &str, letters: &str) -> Vec<(String, String)> {
    let answer = client
        .get(host, &format!("/messages/suggest?q={letters}"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let found: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["address"].as_str().unwrap().to_owned(),
                s["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Sends a message to `to` (addresses), opening the form first; the answer.
async fn send(
    client: &mut Client,
    host: &str,
    to: &[&str],
    subject: &str,
    body: &str,
) -> schoolplein_tests::http::RawResponse {
    client.get(host, "/messages/new").await;
    let mut fields: Vec<(&str, &str)> =
        vec![("action", "send"), ("subject", subject), ("body", body)];
    fields.extend(to.iter().map(|address| (*address, "to")));
    client.post_form(host, "/messages", &fields).await
}

/// The conversation a sent message went into, from the answer's `Location`.
fn conversation_of(answer: &schoolplein_tests::http::RawResponse) -> i64 {
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/messages/"))
        .and_then(|l| l.split('#').next())
        .and_then(|id| id.parse().ok())
        .expect("the conversation's address")
}

/// The number at the menu's "Berichten", if any.
fn messages_count(html: &str) -> Option<u32> {
    let start = html.find("id=\"nav-messages\"")?;
    let link = &html[start..start + html[start..].find("</a>")?];
    let count = &link[link.find("class=\"nav-count\">")? + 18..];
    count[..count.find('<')?].parse().ok()
}

/// Waits until `client`'s menu shows `expected` unread messages.
async fn count_becomes(client: &Client, host: &str, expected: Option<u32>) {
    let reached = eventually(Duration::from_secs(5), || {
        let mut client = client.clone();
        let host = host.to_owned();
        async move { messages_count(&client.get(&host, "/").await.text()) == expected }
    })
    .await;
    assert!(reached.is_some(), "the menu never showed {expected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_write_to_whom_follows_roles_settings_privacy_blocks_and_leaving() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let other_teacher = school::member(&app, &school, "Tim Leerkracht", &[Role::Teacher]).await;
    school::teach(&app, &school, other_teacher.person_id, "G4").await;
    // In group 3b: three parents who show their name, one who does not.
    let petra = parent(&app, &school, "Petra Pieters", "2026001", true).await;
    let paul = parent(&app, &school, "Paul Peters", "2026002", true).await;
    let hidden = parent(&app, &school, "Hanna Verborgen", "2026002", false).await;
    let blocker = parent(&app, &school, "Bram Blokker", "2026001", true).await;
    // In group 4: a parent who shows their name, and the class parent of group 3b.
    let gerrit = parent(&app, &school, "Gerrit Groepvier", "2026003", true).await;
    let klaas = parent(&app, &school, "Klaas Klassenouder", "2026005", true).await;
    let g3b = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    run(
        &app,
        &school,
        &format!(
            "INSERT INTO class_parents (group_id, person_id) VALUES ({g3b}, {})",
            klaas.person_id
        ),
    )
    .await;
    // A parent who left: no account here any more, no children.
    let left = parent(&app, &school, "Lies Vertrokken", "2026001", true).await;
    run(
        &app,
        &school,
        &format!(
            "DELETE FROM guardians WHERE person_id = {0};
             UPDATE people SET account_id = NULL, roles = '{{}}' WHERE id = {0}",
            left.person_id
        ),
    )
    .await;
    // Bram blocked Petra.
    run(
        &app,
        &school,
        &format!(
            "INSERT INTO blocked_senders (person_id, sender_id) VALUES ({}, {})",
            blocker.person_id, petra.person_id
        ),
    )
    .await;
    // Another school's parent, with a name like those here.
    let elsewhere = app.create_school("Basisschool Elders", "").await;
    let mut elsewhere_admin =
        school::member(&app, &elsewhere, "Eva Elders", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut elsewhere_admin.client, &elsewhere).await;
    let stranger = parent(&app, &elsewhere, "Petra Vreemd", "2026002", true).await;

    let mut writers = [
        petra.client.clone(),
        klaas.client.clone(),
        teacher.client.clone(),
    ];
    let person = |id: i64| format!("person:{id}");
    // (writer, whom, parents may write to parents, may write)
    struct Case<'a> {
        what: &'a str,
        /// Petra (0), Klaas the class parent (1), the teacher (2).
        writer: usize,
        target: i64,
        letters: &'a str,
        parents_write_parents: bool,
        expected: bool,
    }
    let cases = vec![
        Case {
            what: "a parent to their child's teacher",
            writer: 0,
            target: teacher.person_id,
            letters: "Tes",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a parent to another teacher",
            writer: 0,
            target: other_teacher.person_id,
            letters: "Tim",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a parent to an admin",
            writer: 0,
            target: admin.person_id,
            letters: "Ann",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a parent to a parent of the same group, school says no",
            writer: 0,
            target: paul.person_id,
            letters: "Pau",
            parents_write_parents: false,
            expected: false,
        },
        Case {
            what: "a parent to a parent of the same group, school says yes",
            writer: 0,
            target: paul.person_id,
            letters: "Pau",
            parents_write_parents: true,
            expected: true,
        },
        Case {
            what: "a parent to a parent who hides their name",
            writer: 0,
            target: hidden.person_id,
            letters: "Han",
            parents_write_parents: true,
            expected: false,
        },
        Case {
            what: "a parent to a parent of another group",
            writer: 0,
            target: gerrit.person_id,
            letters: "Ger",
            parents_write_parents: true,
            expected: false,
        },
        Case {
            what: "a parent to a parent who blocked them",
            writer: 0,
            target: blocker.person_id,
            letters: "Bra",
            parents_write_parents: true,
            expected: false,
        },
        Case {
            what: "a parent to a parent who left",
            writer: 0,
            target: left.person_id,
            letters: "Lie",
            parents_write_parents: true,
            expected: false,
        },
        Case {
            what: "a class parent to a parent of their group",
            writer: 1,
            target: paul.person_id,
            letters: "Pau",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a class parent to a parent of their group who hides their name",
            writer: 1,
            target: hidden.person_id,
            letters: "Han",
            parents_write_parents: false,
            expected: false,
        },
        Case {
            what: "a class parent to a parent of another group",
            writer: 1,
            target: gerrit.person_id,
            letters: "Ger",
            parents_write_parents: false,
            expected: false,
        },
        Case {
            what: "a teacher to a parent of any group",
            writer: 2,
            target: gerrit.person_id,
            letters: "Ger",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a teacher to a parent who hides their name",
            writer: 2,
            target: hidden.person_id,
            letters: "Han",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a teacher to a parent who blocked someone else",
            writer: 2,
            target: blocker.person_id,
            letters: "Bra",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a teacher to a colleague",
            writer: 2,
            target: other_teacher.person_id,
            letters: "Tim",
            parents_write_parents: false,
            expected: true,
        },
        Case {
            what: "a teacher to a parent who left",
            writer: 2,
            target: left.person_id,
            letters: "Lie",
            parents_write_parents: false,
            expected: false,
        },
        Case {
            what: "a teacher to another school's parent (by id)",
            writer: 2,
            target: stranger.person_id + 1000,
            letters: "Vre",
            parents_write_parents: false,
            expected: false,
        },
    ];
    for case in &cases {
        run(
            &app,
            &school,
            &format!(
                "UPDATE school_settings SET parents_write_parents = {}",
                case.parents_write_parents
            ),
        )
        .await;
        // The settings are kept per process; the write above announces nothing.
        app.state.settings.forget(school.id);
        let offered = suggested(&mut writers[case.writer], &host, case.letters).await;
        assert_eq!(
            offered.iter().any(|(a, _)| *a == person(case.target)),
            case.expected,
            "suggested: {}: {offered:?}",
            case.what
        );
        assert!(
            !offered.iter().any(|(_, name)| name.contains("Vreemd")),
            "{}: another school's people are never suggested",
            case.what
        );
        let address = person(case.target);
        let answer = send(
            &mut writers[case.writer],
            &host,
            &[&address],
            case.what,
            "Hallo",
        )
        .await;
        assert_eq!(
            answer.status,
            if case.expected { 303 } else { 400 },
            "sent: {}: {}",
            case.what,
            answer.text()
        );
    }
    // Crowds: a class parent and a teacher to their group; a parent to no group at all.
    for (writer, expected) in [(1, true), (2, true), (0, false)] {
        let answer = send(
            &mut writers[writer],
            &host,
            &[&format!("group:{g3b}")],
            "Groep 3b",
            "Hallo",
        )
        .await;
        assert_eq!(
            answer.status,
            if expected { 303 } else { 400 },
            "{}",
            answer.text()
        );
    }
    let g4 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G4",
    )
    .await;
    let answer = send(
        &mut writers[1],
        &host,
        &[&format!("group:{g4}")],
        "Groep 4",
        "Hallo",
    )
    .await;
    assert_eq!(
        answer.status, 400,
        "a class parent of 3b writes to group 4's parents"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_and_its_answer_are_read_by_their_participants_only() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut other_teacher = school::member(&app, &school, "Tim Leerkracht", &[Role::Teacher]).await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;

    // The group page has the button (P10), and the teacher of her child is offered on the
    // form before anything is typed.
    let g3b = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    let group_page = petra
        .client
        .get(&host, &format!("/groups/{g3b}"))
        .await
        .text();
    assert!(
        group_page.contains(&format!(
            "href=\"/messages/new?to=person:{}\" id=\"message-teachers\"",
            teacher.person_id
        )),
        "{group_page}"
    );
    let form = petra.client.get(&host, "/messages/new").await;
    assert_eq!(form.status, 200);
    assert!(
        form.text()
            .contains(&format!("name=\"person:{}\"", teacher.person_id))
    );
    assert!(
        !form
            .text()
            .contains(&format!("name=\"person:{}\"", other_teacher.person_id))
    );

    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let pupil = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await;
    let teacher_address = format!("person:{}", teacher.person_id);
    let about = pupil.to_string();
    let sent = petra
        .client
        .post_multipart(
            &host,
            "/messages",
            &[
                ("action", "send"),
                (teacher_address.as_str(), "to"),
                ("subject", "Zwemles"),
                ("about", about.as_str()),
                ("body", "Mag Lotte vrijdag eerder weg?\nGroet, Petra"),
            ],
            &[("files", "briefje.pdf", pdf)],
        )
        .await;
    let conversation = conversation_of(&sent);

    count_becomes(&teacher.client, &host, Some(1)).await;
    let inbox = teacher.client.get(&host, "/messages").await.text();
    assert!(
        inbox.contains("Zwemles") && inbox.contains("Petra Pieters"),
        "{inbox}"
    );
    let page = teacher
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(
        text.contains("Mag Lotte vrijdag eerder weg?\nGroet, Petra"),
        "{text}"
    );
    assert!(text.contains("briefje.pdf"));
    let file_id: i64 = text
        .split(&format!("/messages/{conversation}/files/"))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the file's link");
    let file_path = format!("/messages/{conversation}/files/{file_id}");
    // Whole under the encodings a browser asks for (a PDF is not compressed again).
    teacher
        .client
        .extra_headers
        .push(("Accept-Encoding".into(), "gzip, deflate, br, zstd".into()));
    let file = teacher.client.get(&host, &file_path).await;
    teacher.client.extra_headers.clear();
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-encoding"), None);
    assert_eq!(file.body, pdf);
    assert!(
        file.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "always a download"
    );
    count_becomes(&teacher.client, &host, None).await;

    // An admin who is not in it, a colleague, and another parent find nothing there.
    let mut other_parent = parent(&app, &school, "Paul Peters", "2026002", false).await;
    for (who, client) in [
        ("admin", &mut admin.client),
        ("colleague", &mut other_teacher.client),
        ("other parent", &mut other_parent.client),
    ] {
        for path in [format!("/messages/{conversation}"), file_path.clone()] {
            assert_eq!(client.get(&host, &path).await.status, 404, "{who}: {path}");
        }
        assert!(
            !client
                .get(&host, "/messages")
                .await
                .text()
                .contains("Zwemles"),
            "{who}"
        );
    }

    // The teacher answers; the parent sees the answer waiting and reads it.
    let message_id: i64 = text
        .split("id=\"message-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    let reply_form = teacher
        .client
        .get(&host, &format!("/messages/new?reply={message_id}"))
        .await;
    assert_eq!(reply_form.status, 200);
    let petra_address = format!("person:{}", petra.person_id);
    let reply_form = reply_form.text();
    let author_row = reply_form
        .split(&format!("name=\"{petra_address}\""))
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .expect("the author is on the reply form");
    assert!(
        author_row.contains("<option value=\"to\" selected>"),
        "the author is chosen in To: {author_row}"
    );
    let switcher_count = |html: String| -> u32 {
        html.split("class=\"badge\"")
            .nth(1)
            .and_then(|rest| rest.split('>').nth(1))
            .and_then(|text| text.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let before = switcher_count(petra.client.get(&host, "/schools").await.text());
    let conversation_field = conversation.to_string();
    let answering = message_id.to_string();
    let replied = teacher
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("conversation", conversation_field.as_str()),
                ("answering", answering.as_str()),
                (petra_address.as_str(), "to"),
                ("subject", "Zwemles"),
                ("body", "Dat is goed."),
            ],
        )
        .await;
    assert_eq!(conversation_of(&replied), conversation);
    count_becomes(&petra.client, &host, Some(1)).await;
    let after = switcher_count(petra.client.get(&host, "/schools").await.text());
    assert_eq!(
        after,
        before + 1,
        "the school switcher counts the message too"
    );
    let home = petra.client.get(&host, "/").await.text();
    assert!(
        home.contains("id=\"unread-messages\">1<"),
        "the home page says so too"
    );
    let read = petra
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(read.contains("Dat is goed.") && read.contains("Tessa Leerkracht"));
    count_becomes(&petra.client, &host, None).await;
    // Both see it under Sent too.
    for client in [&mut petra.client, &mut teacher.client] {
        let sent = client.get(&host, "/messages?folder=sent").await.text();
        assert!(sent.contains(&format!("id=\"conversation-{conversation}\"")));
    }
    // Archived, it leaves the inbox; a new message brings it back.
    let archived = petra
        .client
        .post_form(
            &host,
            &format!("/messages/{conversation}/archive"),
            &[("archived", "true")],
        )
        .await;
    assert_eq!(archived.status, 303);
    let conversation_id = format!("id=\"conversation-{conversation}\"");
    assert!(
        !petra
            .client
            .get(&host, "/messages")
            .await
            .text()
            .contains(&conversation_id)
    );
    assert!(
        petra
            .client
            .get(&host, "/messages?folder=archive")
            .await
            .text()
            .contains(&conversation_id)
    );
    let again = teacher
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("conversation", conversation_field.as_str()),
                (petra_address.as_str(), "to"),
                ("body", "Nog één ding."),
            ],
        )
        .await;
    assert_eq!(conversation_of(&again), conversation);
    assert!(
        petra
            .client
            .get(&host, "/messages")
            .await
            .text()
            .contains(&conversation_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_is_one_inbox_that_every_admin_reads_and_answers_for() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut anna = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut anna.client, &school).await;
    let mut bert = school::member(&app, &school, "Bert Beheer", &[Role::SchoolAdmin]).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;

    let sent = send(
        &mut petra.client,
        &host,
        &["office"],
        "Nieuw adres",
        "Wij zijn verhuisd.",
    )
    .await;
    let conversation = conversation_of(&sent);
    count_becomes(&anna.client, &host, Some(1)).await;
    count_becomes(&bert.client, &host, Some(1)).await;
    assert_eq!(
        teacher
            .client
            .get(&host, &format!("/messages/{conversation}"))
            .await
            .status,
        404,
        "a teacher does not read the office's mail"
    );
    // Anna reads it: read for the office, so for Bert too.
    let page = anna
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(page.contains("Wij zijn verhuisd."));
    count_becomes(&bert.client, &host, None).await;
    let message_id: i64 = page
        .split("id=\"message-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    let reply_form = bert
        .client
        .get(&host, &format!("/messages/new?reply={message_id}"))
        .await
        .text();
    assert!(
        reply_form.contains("id=\"as-office\""),
        "an admin answers for the office"
    );
    let petra_address = format!("person:{}", petra.person_id);
    let replied = bert
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("conversation", conversation.to_string().as_str()),
                ("answering", message_id.to_string().as_str()),
                ("as_office", "1"),
                (petra_address.as_str(), "to"),
                ("body", "Dank u, aangepast."),
            ],
        )
        .await;
    assert_eq!(conversation_of(&replied), conversation);
    let seen = petra
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(seen.contains("Administratie (Bert Beheer)") && seen.contains("Dank u, aangepast."));
    // Anna sees the office's answer as the office's own.
    let anna_page = anna
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(anna_page.contains("Dank u, aangepast."));
    // A parent cannot write for the office.
    let forged = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("as_office", "1"),
                ("office", "to"),
                ("subject", "Namens"),
                ("body", "Ik ben de administratie"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_form_comes_back_with_its_mistake_and_everything_typed() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;
    let teacher_address = format!("person:{}", teacher.person_id);
    petra.client.get(&host, "/messages/new").await;
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("subject", "Vraag"), ("body", "Mijn lange tekst")],
            "Kies minstens één ontvanger",
        ),
        (
            &[
                (teacher_address.as_str(), "to"),
                ("body", "Mijn lange tekst"),
            ],
            "Vul een onderwerp in",
        ),
        (
            &[
                (teacher_address.as_str(), "to"),
                ("subject", "Vraag"),
                ("body", "  "),
            ],
            "Schrijf een bericht",
        ),
        (
            &[
                ("person:999999", "to"),
                ("subject", "Vraag"),
                ("body", "Mijn lange tekst"),
            ],
            "kunt u geen bericht sturen",
        ),
        (
            &[
                (teacher_address.as_str(), "to"),
                ("subject", "Vraag"),
                ("about", "999999"),
                ("body", "Mijn lange tekst"),
            ],
            "Kies een van uw eigen kinderen",
        ),
        (
            &[
                ("find", "T"),
                ("subject", "Vraag"),
                ("body", "Mijn lange tekst"),
            ],
            "minstens twee letters",
        ),
    ];
    for (fields, said) in cases {
        let action = if fields.iter().any(|(name, _)| *name == "find") {
            "find"
        } else {
            "send"
        };
        let mut all = vec![("action", action)];
        all.extend_from_slice(fields);
        let answer = petra.client.post_form(&host, "/messages", &all).await;
        assert_eq!(answer.status, 400, "{fields:?}: {}", answer.text());
        let page = answer.text();
        assert!(page.contains(said), "{fields:?}: {page}");
        assert!(page.contains("id=\"form-mistakes\""));
        if let Some((_, body)) = fields.iter().find(|(name, _)| *name == "body") {
            assert!(
                page.contains(&format!(">{body}</textarea>")),
                "{fields:?}: the text stays"
            );
        }
    }
    assert!(
        !petra
            .client
            .get(&host, "/messages?folder=sent")
            .await
            .text()
            .contains("Vraag"),
        "nothing was sent"
    );
    // Finding: the form again with the teacher offered and what was typed kept.
    let found = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "find"),
                ("find", "tes"),
                ("subject", "Vraag"),
                ("body", "Mijn tekst"),
            ],
        )
        .await;
    assert_eq!(found.status, 200);
    assert!(
        found
            .text()
            .contains(&format!("name=\"{teacher_address}\""))
    );
    assert!(found.text().contains(">Mijn tekst</textarea>"));
    // A draft: kept, listed, opened again and sent.
    let kept = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "draft"),
                (teacher_address.as_str(), "to"),
                ("subject", "Concept"),
                ("body", "Nog niet af"),
            ],
        )
        .await;
    assert_eq!(kept.status, 303);
    let drafts = petra
        .client
        .get(&host, "/messages?folder=drafts")
        .await
        .text();
    let draft_id: i64 = drafts
        .split("/messages/drafts/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the draft is listed");
    let opened = petra
        .client
        .get(&host, &format!("/messages/drafts/{draft_id}"))
        .await
        .text();
    assert!(opened.contains(">Nog niet af</textarea>") && opened.contains("value=\"Concept\""));
    let draft_field = draft_id.to_string();
    let sent = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("draft", draft_field.as_str()),
                (teacher_address.as_str(), "to"),
                ("subject", "Concept"),
                ("body", "Nu wel af"),
            ],
        )
        .await;
    let conversation = conversation_of(&sent);
    assert!(
        !petra
            .client
            .get(&host, "/messages?folder=drafts")
            .await
            .text()
            .contains(&format!("/messages/drafts/{draft_id}")),
        "a sent draft is a draft no more"
    );
    let mut teacher_client = teacher.client.clone();
    let read = teacher_client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(read.contains("Nu wel af"));
    // Sent twice from two tabs: the second finds no draft any more.
    let twice = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                ("draft", draft_field.as_str()),
                (teacher_address.as_str(), "to"),
                ("subject", "Concept"),
                ("body", "Nu wel af"),
            ],
        )
        .await;
    assert_eq!(twice.status, 404);
    // With the module off, the pages are gone.
    run(
        &app,
        &school,
        "UPDATE school_settings SET modules = '{\"messages\": {\"on\": false, \"name\": null}}'",
    )
    .await;
    app.state.settings.forget(school.id);
    assert_eq!(petra.client.get(&host, "/messages").await.status, 404);
    assert!(
        !petra
            .client
            .get(&host, "/")
            .await
            .text()
            .contains("id=\"nav-messages\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_blocks_a_parent_who_wrote_and_unblocks_them_but_never_staff() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    run(
        &app,
        &school,
        "UPDATE school_settings SET parents_write_parents = true",
    )
    .await;
    app.state.settings.forget(school.id);
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", true).await;
    let mut paul = parent(&app, &school, "Paul Peters", "2026002", true).await;
    let gerrit = parent(&app, &school, "Gerrit Groepvier", "2026003", true).await;
    let petra_address = format!("person:{}", petra.person_id);
    conversation_of(
        &send(
            &mut paul.client,
            &host,
            &[&petra_address],
            "Speelafspraak",
            "Zullen we?",
        )
        .await,
    );
    conversation_of(
        &send(
            &mut teacher.client,
            &host,
            &[&petra_address],
            "Zwemles",
            "Vrijdag",
        )
        .await,
    );

    let inbox = petra.client.get(&host, "/messages").await;
    assert_eq!(inbox.status, 200);
    let block = |sender: i64| sender.to_string();
    // Staff cannot be blocked; someone who never wrote cannot be named.
    let refused = petra
        .client
        .post_form(
            &host,
            "/messages/block",
            &[("sender", block(teacher.person_id).as_str())],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let unknown = petra
        .client
        .post_form(
            &host,
            "/messages/block",
            &[("sender", block(gerrit.person_id).as_str())],
        )
        .await;
    assert_eq!(unknown.status, 404);
    let blocked = petra
        .client
        .post_form(
            &host,
            "/messages/block",
            &[("sender", block(paul.person_id).as_str())],
        )
        .await;
    assert_eq!(blocked.status, 303);
    let listed = petra.client.get(&host, "/messages/settings").await.text();
    assert!(
        listed.contains(&format!("id=\"blocked-{}\"", paul.person_id))
            && listed.contains("Paul Peters")
    );
    let again = send(
        &mut paul.client,
        &host,
        &[&petra_address],
        "Nog eens",
        "Hallo?",
    )
    .await;
    assert_eq!(again.status, 400, "a blocked sender's message does not go");
    assert!(
        suggested(&mut paul.client, &host, "Pet").await.is_empty(),
        "nor is she suggested"
    );
    // The teacher still reaches her.
    conversation_of(
        &send(
            &mut teacher.client,
            &host,
            &[&petra_address],
            "Zwemles 2",
            "Maandag",
        )
        .await,
    );
    let unblocked = petra
        .client
        .post_form(
            &host,
            "/messages/unblock",
            &[("sender", block(paul.person_id).as_str())],
        )
        .await;
    assert_eq!(unblocked.status, 303);
    assert!(
        petra
            .client
            .get(&host, "/messages/settings")
            .await
            .text()
            .contains("id=\"none-blocked\"")
    );
    conversation_of(
        &send(
            &mut paul.client,
            &host,
            &[&petra_address],
            "Nog eens",
            "Hallo!",
        )
        .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_makes_a_parent_class_parent_of_their_child_s_group_only() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut klaas = parent(&app, &school, "Klaas Klassenouder", "2026003", true).await;
    let mut gerrit = parent(&app, &school, "Gerrit Groepvier", "2026005", false).await;
    let g3b = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G3B",
    )
    .await;
    let g4 = school::id(
        &app,
        &school,
        "SELECT id FROM groups WHERE import_key = $1",
        "G4",
    )
    .await;
    let page_path = format!("/admin/parents/{}", klaas.person_id);
    let page = admin.client.get(&host, &page_path).await.text();
    assert!(
        page.contains(&format!("id=\"class-parent-{g4}\"")),
        "{page}"
    );
    assert!(!page.contains(&format!("id=\"class-parent-{g3b}\"")));
    let grant_path = format!("{page_path}/class-parent");
    let group = |id: i64| id.to_string();
    let refused = admin
        .client
        .post_form(
            &host,
            &grant_path,
            &[("group", group(g3b).as_str()), ("granted", "true")],
        )
        .await;
    assert_eq!(refused.status, 400, "no child of his in 3b");
    let to_group = format!("group:{g4}");
    assert_eq!(
        send(
            &mut klaas.client,
            &host,
            &[&to_group],
            "Juffendag",
            "Wie helpt?"
        )
        .await
        .status,
        400
    );
    let granted = admin
        .client
        .post_form(
            &host,
            &grant_path,
            &[("group", group(g4).as_str()), ("granted", "true")],
        )
        .await;
    assert_eq!(granted.status, 303);
    assert!(
        admin
            .client
            .get(&host, &page_path)
            .await
            .text()
            .contains("klassenouder</strong>")
    );
    let conversation = conversation_of(
        &send(
            &mut klaas.client,
            &host,
            &[&to_group],
            "Juffendag",
            "Wie helpt?",
        )
        .await,
    );
    // A parent of the group gets the message, without seeing who else did; the writer sees
    // how many.
    let seen = gerrit
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(
        seen.contains("Wie helpt?") && !seen.contains("hidden-count"),
        "{seen}"
    );
    let own = klaas
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(
        own.contains("<span class=\"hidden-count\">1</span>"),
        "{own}"
    );
    let ended = admin
        .client
        .post_form(
            &host,
            &grant_path,
            &[("group", group(g4).as_str()), ("granted", "false")],
        )
        .await;
    assert_eq!(ended.status, 303);
    assert_eq!(
        send(&mut klaas.client, &host, &[&to_group], "Nog eens", "Wie?")
            .await
            .status,
        400
    );
    // A teacher cannot grant it.
    let teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut teacher_client = teacher.client.clone();
    teacher_client.get(&host, "/").await;
    let forbidden = teacher_client
        .post_form(
            &host,
            &grant_path,
            &[("group", group(g4).as_str()), ("granted", "true")],
        )
        .await;
    assert_eq!(forbidden.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_mail_names_waiting_messages_once_folded_and_never_what_was_read() {
    let db = schoolplein_tests::TestDb::fresh().await;
    let mailbox = schoolplein_tests::mailbox::Mailbox::start(&db).await;
    let app = TestApp::spawn_with(schoolplein_tests::TestAppOptions {
        db: Some(db),
        ..schoolplein_tests::TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;
    let mut paul = parent(&app, &school, "Paul Peters", "2026002", false).await;
    let petra_address = format!("person:{}", petra.person_id);
    let paul_address = format!("person:{}", paul.person_id);

    // Ten messages to Petra in the window, one to Paul that he reads at once.
    let mut conversation = 0;
    for n in 0..10 {
        let subject = format!("Bericht {n}");
        conversation = conversation_of(
            &send(
                &mut teacher.client,
                &host,
                &[&petra_address],
                &subject,
                "Geheime inhoud",
            )
            .await,
        );
    }
    let read_at_once = conversation_of(
        &send(
            &mut teacher.client,
            &host,
            &[&paul_address],
            "Voor Paul",
            "Geheim",
        )
        .await,
    );
    assert_eq!(
        paul.client
            .get(&host, &format!("/messages/{read_at_once}"))
            .await
            .status,
        200
    );
    // Not yet due: nothing. Due: one mail for Petra, none for Paul.
    assert_eq!(
        notices_at(&app, 1).await,
        0,
        "a message waits its turn first"
    );
    assert_eq!(notices_at(&app, 6).await, 1);
    assert_eq!(notices_at(&app, 7).await, 0, "each message is noticed once");
    let notice = mailbox.latest(&petra.email, 1).await;
    assert!(
        notice.subject.starts_with("10 nieuwe berichten voor u"),
        "{}",
        notice.subject
    );
    assert!(
        notice.text.contains("Tessa Leerkracht: Bericht 0") && notice.text.contains("Bericht 9")
    );
    assert!(!notice.text.contains("Geheime inhoud"), "never the text");
    assert!(
        notice.text.contains(&format!("/messages/{conversation}")),
        "{}",
        notice.text
    );
    assert!(
        mailbox.delivered_to(&paul.email).await.is_empty(),
        "read in time: no mail"
    );
    // The teacher sees of her message that its notice went and it is not read yet (N7).
    let before = teacher
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(
        before.contains("<span class=\"read-count\">0</span>"),
        "{before}"
    );
    assert!(!before.contains(">wacht<"), "its notice went");
    let paul_read = teacher
        .client
        .get(&host, &format!("/messages/{read_at_once}"))
        .await
        .text();
    assert!(
        paul_read.contains("<span class=\"read-count\">1</span>"),
        "{paul_read}"
    );
    // The link opens the conversation for her (signed in).
    let link = notice.link("/messages/").expect("a link in the notice");
    let path = link.split_once(".test").map_or(link.as_str(), |(_, p)| p);
    let path = path.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
    assert_eq!(petra.client.get(&host, path).await.status, 200, "{link}");
    petra
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await;
    let after = teacher
        .client
        .get(&host, &format!("/messages/{conversation}"))
        .await
        .text();
    assert!(
        after.contains("<span class=\"read-count\">1</span>"),
        "read now"
    );
    // A parent sees no such figures of her own messages.
    let own_office =
        conversation_of(&send(&mut petra.client, &host, &["office"], "Vraag", "Hoi").await);
    let own = petra
        .client
        .get(&host, &format!("/messages/{own_office}"))
        .await
        .text();
    assert!(!own.contains("read-count"));
    // A message to the office: one notice per admin, folded with nothing else.
    conversation_of(
        &send(
            &mut petra.client,
            &host,
            &["office"],
            "Verhuisd",
            "Nieuw adres",
        )
        .await,
    );
    let bert = school::member(&app, &school, "Bert Beheer", &[Role::SchoolAdmin]).await;
    assert_eq!(
        notices_at(&app, 6).await,
        2,
        "both admins hear of the office's messages, folded"
    );
    let to_bert = mailbox.latest(&bert.email, 1).await;
    assert!(
        to_bert.text.contains("Petra Pieters: Verhuisd")
            && to_bert.text.contains("Petra Pieters: Vraag"),
        "{}",
        to_bert.text
    );
    assert_eq!(notices_at(&app, 8).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_read_each_other_s_conversations_about_their_children_only_when_both_share() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;
    let mut piet = parent(&app, &school, "Piet Pieters", "2026001", false).await;
    run(
        &app,
        &school,
        &format!(
            "UPDATE people SET partner_id = {1} WHERE id = {0};
             UPDATE people SET partner_id = {0} WHERE id = {1};",
            petra.person_id, piet.person_id
        ),
    )
    .await;
    let lotte = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await;
    let teacher_address = format!("person:{}", teacher.person_id);
    petra.client.get(&host, "/messages/new").await;
    let about = lotte.to_string();
    let asked = petra
        .client
        .post_form(
            &host,
            "/messages",
            &[
                ("action", "send"),
                (teacher_address.as_str(), "to"),
                ("subject", "Lotte en zwemmen"),
                ("about", about.as_str()),
                ("body", "Mag ze?"),
            ],
        )
        .await;
    let about_lotte = conversation_of(&asked);
    let private = conversation_of(
        &send(
            &mut petra.client,
            &host,
            &[&teacher_address],
            "Iets anders",
            "Alleen van mij",
        )
        .await,
    );
    let petra_address = format!("person:{}", petra.person_id);
    conversation_of(
        &teacher
            .client
            .post_form(
                &host,
                "/messages",
                &[
                    ("action", "send"),
                    ("conversation", about_lotte.to_string().as_str()),
                    (petra_address.as_str(), "to"),
                    ("body", "Ja hoor."),
                ],
            )
            .await,
    );
    let path = format!("/messages/{about_lotte}");
    let share = |client: &mut Client, on: &'static str| {
        let mut client = client.clone();
        let host = host.clone();
        async move {
            client.get(&host, "/partner").await;
            let answer = client
                .post_form(&host, "/partner/share-conversations", &[("share", on)])
                .await;
            assert_eq!(answer.status, 303, "{}", answer.text());
        }
    };
    assert_eq!(
        piet.client.get(&host, &path).await.status,
        404,
        "nobody shares yet"
    );
    share(&mut piet.client, "on").await;
    assert_eq!(
        piet.client.get(&host, &path).await.status,
        404,
        "only Piet shares"
    );
    share(&mut petra.client, "on").await;
    let read = piet.client.get(&host, &path).await;
    assert_eq!(read.status, 200);
    let text = read.text();
    assert!(
        text.contains("id=\"shared-by\"") && text.contains("Ja hoor."),
        "{text}"
    );
    assert!(
        !text.contains("class=\"reply\""),
        "a partner reads, does not answer"
    );
    assert!(
        piet.client
            .get(&host, "/messages")
            .await
            .text()
            .contains(&format!("id=\"shared-{about_lotte}\""))
    );
    assert_eq!(
        piet.client
            .get(&host, &format!("/messages/{private}"))
            .await
            .status,
        404,
        "not about a child"
    );
    // What Piet read still waits for Petra.
    count_becomes(&petra.client, &host, Some(1)).await;
    // Joint use off for one of them: nothing shared any more.
    run(
        &app,
        &school,
        &format!(
            "UPDATE people SET joint_use = false WHERE id = {}",
            petra.person_id
        ),
    )
    .await;
    assert_eq!(piet.client.get(&host, &path).await.status, 404);
}

/// Signs in through the form in the browser.
async fn browser_sign_in(browser: &schoolplein_tests::browser::Browser, origin: &str, email: &str) {
    browser.goto(&format!("{origin}/sign-in")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", school::PASSWORD).await;
    browser.click("#sign-in").await;
    browser.wait_for_url(|url| !url.contains("/sign-in")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_a_parent_asks_the_teacher_with_a_file_and_reads_the_answer_from_the_notice()
{
    use schoolplein_tests::browser::Browser;

    let db = schoolplein_tests::TestDb::fresh().await;
    let mailbox = schoolplein_tests::mailbox::Mailbox::start(&db).await;
    let app = TestApp::spawn_with(schoolplein_tests::TestAppOptions {
        db: Some(db),
        ..schoolplein_tests::TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;
    let origin = format!("http://{}.localhost:{}", school.slug, app.addr.port());
    let file = std::env::temp_dir().join(format!("briefje-{}.pdf", petra.person_id));
    std::fs::write(&file, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").unwrap();

    let browser = Browser::start().await;
    // The parent finds the teacher by typing, with a file, and sends.
    browser_sign_in(&browser, &origin, &petra.email).await;
    browser.goto(&format!("{origin}/messages/new")).await;
    browser.look_at("message-form").await;
    browser.send_keys("#message-find", "Tes").await;
    browser
        .wait_for_text("#suggestions", "Tessa Leerkracht")
        .await;
    browser.click("#suggestions button").await;
    let choice = format!("#r-person-{}", teacher.person_id);
    assert_eq!(
        browser
            .run_on(&choice, "return arguments[0].value;", &[])
            .await,
        serde_json::json!("to")
    );
    browser.fill("#message-subject", "Zwemles vrijdag").await;
    browser
        .fill(
            "#message-body",
            "Mag Lotte vrijdag eerder weg? Zie het briefje.",
        )
        .await;
    browser
        .send_keys("#message-files", file.to_str().unwrap())
        .await;
    browser.click("#send-message").await;
    let url = browser
        .wait_for_url(|url| url.contains("/messages/") && !url.contains("/new"))
        .await;
    let conversation: i64 = url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('#').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a conversation's address: {url}"));
    browser.look_at("conversation").await;
    assert!(browser.text_of(".files").await.contains(".pdf"));
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;

    // The teacher sees the counter, opens it from the inbox and answers.
    browser_sign_in(&browser, &origin, &teacher.email).await;
    browser.goto(&format!("{origin}/messages")).await;
    assert_eq!(
        browser
            .text_of("#nav-messages .nav-count")
            .await
            .split_whitespace()
            .next(),
        Some("1")
    );
    browser.look_at("inbox").await;
    browser
        .click(&format!("#conversation-{conversation} a"))
        .await;
    browser
        .wait_for_text("#conversation", "Mag Lotte vrijdag eerder weg?")
        .await;
    browser.click(".reply").await;
    browser.wait_for("#message-body").await;
    browser
        .fill("#message-body", "Dat is goed, tot vrijdag.")
        .await;
    browser.click("#send-message").await;
    browser
        .wait_for_text("#conversation", "Dat is goed, tot vrijdag.")
        .await;
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;

    // Five minutes on, the parent's notice arrives; its link opens the answer once signed in.
    assert_eq!(notices_at(&app, 6).await, 1);
    let notice = mailbox.latest(&petra.email, 1).await;
    assert!(!notice.text.contains("Dat is goed"), "never the text");
    let link = notice.link("/messages/").expect("the notice's link");
    let path = link
        .split_once("/messages/")
        .map(|(_, rest)| format!("/messages/{rest}"))
        .unwrap();
    browser_sign_in(&browser, &origin, &petra.email).await;
    browser.goto(&format!("{origin}{path}")).await;
    browser
        .wait_for_text("#conversation", "Dat is goed, tot vrijdag.")
        .await;
    browser.goto(&format!("{origin}/account")).await;
    browser.click("#sign-out").await;

    // An admin who is not in it finds nothing there.
    browser_sign_in(&browser, &origin, &admin.email).await;
    browser
        .goto(&format!("{origin}/messages/{conversation}"))
        .await;
    assert!(!browser.has("#conversation").await);
    assert!(
        browser.title().await.contains("niet gevonden"),
        "{}",
        browser.title().await
    );
    browser.close().await;
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_unsubscribes_in_one_click_without_a_session_once_and_never_by_a_forged_link() {
    let db = schoolplein_tests::TestDb::fresh().await;
    let mailbox = schoolplein_tests::mailbox::Mailbox::start(&db).await;
    let app = TestApp::spawn_with(schoolplein_tests::TestAppOptions {
        db: Some(db),
        ..schoolplein_tests::TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let mut petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;
    let petra_address = format!("person:{}", petra.person_id);
    let notices_on = |app: &TestApp| {
        let pool = app.db.pool.clone();
        let (school, person) = (school.id, petra.person_id);
        async move {
            let mut tx = TenantTx::begin(&pool, school).await.unwrap();
            let on: bool = sqlx::query_scalar("SELECT message_notices FROM people WHERE id = $1")
                .bind(person)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            on
        }
    };
    conversation_of(
        &send(
            &mut teacher.client,
            &host,
            &[&petra_address],
            "Eerste",
            "Een",
        )
        .await,
    );
    assert_eq!(notices_at(&app, 6).await, 1);
    mailbox.wait_for(&petra.email, 1).await;
    let received = mailbox
        .smtp
        .received()
        .into_iter()
        .find(|m| {
            m.rcpt_to
                .iter()
                .any(|to| to.eq_ignore_ascii_case(&petra.email))
        })
        .expect("the notice at the server");
    assert_eq!(
        received.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert_eq!(
        received.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let list = received
        .header("List-Unsubscribe")
        .expect("List-Unsubscribe");
    let path = list
        .trim_matches(|c| c == '<' || c == '>')
        .split_once("/unsubscribe/")
        .map(|(_, token)| format!("/unsubscribe/{token}"))
        .expect("an unsubscribe address");
    // A forged or malformed link finds nothing; the page asks before doing anything.
    let mut stranger = Client::new(app.addr);
    let forged = format!(
        "/unsubscribe/{}",
        schoolplein_kernel::tokens::SecretToken::generate().expose()
    );
    for bad in [forged.as_str(), "/unsubscribe/kort"] {
        let answer = stranger
            .post_raw(&host, bad, "List-Unsubscribe=One-Click")
            .await;
        assert_eq!(answer.status, 404, "{bad}");
    }
    let page = stranger.get(&host, &path).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"unsubscribe\""));
    assert!(notices_on(&app).await, "opening the link changes nothing");
    // The one-click post, as a mailbox provider makes it: no session, no form token.
    let done = stranger
        .post_raw(&host, &path, "List-Unsubscribe=One-Click")
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("id=\"unsubscribed\""));
    assert!(!notices_on(&app).await);
    conversation_of(
        &send(
            &mut teacher.client,
            &host,
            &[&petra_address],
            "Tweede",
            "Twee",
        )
        .await,
    );
    assert_eq!(notices_at(&app, 6).await, 0, "turned off");
    // She turns them back on; the old link, replayed, changes nothing.
    petra.client.get(&host, "/notifications").await;
    let saved = petra
        .client
        .post_form(
            &host,
            "/notifications",
            &[
                ("news", "daily"),
                ("agenda", "daily"),
                ("board", "daily"),
                ("message_notices", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    assert!(notices_on(&app).await);
    let replayed = stranger
        .post_raw(&host, &path, "List-Unsubscribe=One-Click")
        .await;
    assert_eq!(replayed.status, 200);
    assert!(notices_on(&app).await, "a used link does nothing again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_to_several_people_in_one_minute_each_carry_that_person_s_own_links() {
    let db = schoolplein_tests::TestDb::fresh().await;
    let mailbox = schoolplein_tests::mailbox::Mailbox::start(&db).await;
    let app = TestApp::spawn_with(schoolplein_tests::TestAppOptions {
        db: Some(db),
        ..schoolplein_tests::TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Anna Admin", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Tessa Leerkracht", &[Role::Teacher]).await;
    let petra = parent(&app, &school, "Petra Pieters", "2026001", false).await;
    let karim = parent(&app, &school, "Karim Bakker", "2026002", false).await;
    let mut conversations = Vec::new();
    for (who, subject) in [(&petra, "Voor Petra"), (&karim, "Voor Karim")] {
        let to = format!("person:{}", who.person_id);
        conversations.push(conversation_of(
            &send(&mut teacher.client, &host, &[&to], subject, "Tekst").await,
        ));
    }
    // One sweep notices both: their links are written together, and must not be swapped.
    assert_eq!(notices_at(&app, 6).await, 2);
    let notices_on = |person: i64| {
        let pool = app.db.pool.clone();
        let id = school.id;
        async move {
            let mut tx = TenantTx::begin(&pool, id).await.unwrap();
            let on: bool = sqlx::query_scalar("SELECT message_notices FROM people WHERE id = $1")
                .bind(person)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            on
        }
    };
    let mut unsubscribe_paths = Vec::new();
    for (who, conversation) in [(&petra, conversations[0]), (&karim, conversations[1])] {
        mailbox.wait_for(&who.email, 1).await;
        let mail = mailbox
            .smtp
            .received()
            .into_iter()
            .find(|m| {
                m.rcpt_to
                    .iter()
                    .any(|to| to.eq_ignore_ascii_case(&who.email))
            })
            .expect("the notice at the server");
        // The reply address answers into this person's own conversation, as this person.
        let reply_to = mail.header("Reply-To").expect("a reply address");
        let local = reply_to
            .trim_matches(|c| c == '<' || c == '>')
            .split_once('@')
            .map(|(local, _)| local.to_owned())
            .expect("an address");
        let (tenant, token) =
            schoolplein_mailing::replies::parse_local(&local).expect("a reply address");
        assert_eq!(tenant, school.id);
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        let found = schoolplein_mailing::replies::find(&mut tx, token)
            .await
            .unwrap()
            .expect("the reply address is known");
        tx.rollback().await.unwrap();
        assert_eq!(found.person_id, who.person_id);
        assert_eq!(
            found.target,
            schoolplein_mailing::replies::ReplyTarget::Conversation(conversation)
        );
        let list = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
        let path = list
            .trim_matches(|c| c == '<' || c == '>')
            .split_once("/unsubscribe/")
            .map(|(_, token)| format!("/unsubscribe/{token}"))
            .expect("an unsubscribe address");
        unsubscribe_paths.push(path);
    }
    // Karim's link turns off Karim's notices, and Petra's stay on.
    let mut stranger = Client::new(app.addr);
    let done = stranger
        .post_raw(&host, &unsubscribe_paths[1], "List-Unsubscribe=One-Click")
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(!notices_on(karim.person_id).await);
    assert!(notices_on(petra.person_id).await);
}
