//! The calendar (K1) and its feeds (K2): who sees which event (the whole school, a group,
//! staff only, private, public on the visitors' page, another group, another school), the home
//! page's seven days with their counts, the month in Dutch time across the October change, the
//! checks on what staff type, and the iCalendar feeds read by an independent parser: escaping,
//! folding, instants on both sides of the change, renewing, and another school's host.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use icalendar::{
    Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, EventLike,
};
use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, parent};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::{TenantEntry, TenantTx};

async fn group_id(app: &TestApp, school: &TenantEntry, key: &str) -> String {
    school::id(
        app,
        school,
        "SELECT id FROM groups WHERE import_key = $1",
        key,
    )
    .await
    .to_string()
}

/// Adds an event through the form and returns its id.
async fn add_event(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> i64 {
    client.get(host, "/calendar/events/new").await;
    let answer = client.post_form(host, "/calendar/events", fields).await;
    assert_eq!(answer.status, 303, "{fields:?}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/calendar/events/"))
        .and_then(|id| id.parse().ok())
        .expect("the new event's address")
}

/// Today in the Netherlands, `days` ahead, as the form writes a date.
fn day(days: i64) -> String {
    (today() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .date_naive()
}

/// A timed event's fields on a day, 10:00–11:00, for the given audience and visibility.
fn timed<'a>(
    title: &'a str,
    date: &'a str,
    audience: (&'a str, &'a str),
    visibility: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        ("start_date", date),
        ("start_time", "10:00"),
        ("end_time", "11:00"),
        audience,
        ("visibility", visibility),
    ]
}

const WHOLE_SCHOOL: (&str, &str) = ("whole_school", "on");

/// A form's fields, owned.
type Fields = Vec<(&'static str, String)>;

async fn event_count(app: &TestApp, school: &TenantEntry) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let count = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    count
}

#[tokio::test]
async fn events_reach_exactly_their_audience() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Kalender", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher_3 = school::member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher_3.person_id, "G3B").await;
    let mut teacher_4 = school::member(&app, &school, "Meester 4", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher_4.person_id, "G4").await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let mut p4 = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let g3 = group_id(&app, &school, "G3B").await;
    let g4 = group_id(&app, &school, "G4").await;
    let date = day(2);

    let school_wide = add_event(
        &mut admin.client,
        &host,
        &timed("Sportdag", &date, WHOLE_SCHOOL, "members"),
    )
    .await;
    let group_3 = add_event(
        &mut teacher_3.client,
        &host,
        &timed("Uitje groep 3b", &date, ("groups", &g3), "members"),
    )
    .await;
    let staff_meeting = add_event(
        &mut admin.client,
        &host,
        &timed("Teamvergadering", &date, WHOLE_SCHOOL, "staff"),
    )
    .await;
    let staff_4 = add_event(
        &mut admin.client,
        &host,
        &timed("Overleg groep 4", &date, ("groups", &g4), "staff"),
    )
    .await;
    let private = add_event(
        &mut teacher_3.client,
        &host,
        &timed("Eigen notitie", &date, ("groups", &g3), "private"),
    )
    .await;
    let public = add_event(
        &mut admin.client,
        &host,
        &timed("Open dag", &date, ("groups", &g4), "public"),
    )
    .await;

    let other = app.create_school("Andere school", "").await;
    let other_host = school_host(&other.slug);
    let mut elsewhere = school::member(&app, &other, "Ouder elders", &[Role::Parent]).await;

    let all = [
        school_wide,
        group_3,
        staff_meeting,
        staff_4,
        private,
        public,
    ];
    for (who, client, sees) in [
        (
            "admin",
            &mut admin.client,
            vec![school_wide, group_3, staff_meeting, staff_4, public],
        ),
        (
            "teacher 3b",
            &mut teacher_3.client,
            vec![school_wide, group_3, staff_meeting, private, public],
        ),
        (
            "teacher 4",
            &mut teacher_4.client,
            vec![school_wide, staff_meeting, staff_4, public],
        ),
        (
            "parent 3b",
            &mut p3.client,
            vec![school_wide, group_3, public],
        ),
        ("parent 4", &mut p4.client, vec![school_wide, public]),
    ] {
        let list = client.get(&host, "/calendar/upcoming").await;
        assert_eq!(list.status, 200, "{who}");
        let list = list.text();
        let month = client
            .get(&host, &format!("/calendar?month={}", &date[..7]))
            .await
            .text();
        for id in all {
            let expected = sees.contains(&id);
            assert_eq!(
                list.contains(&format!("id=\"event-{id}\"")),
                expected,
                "{who}, event {id} in the list: {list}"
            );
            assert_eq!(
                month.contains(&format!("-event-{id}\"")),
                expected,
                "{who}, event {id} in the month"
            );
            let page = client.get(&host, &format!("/calendar/events/{id}")).await;
            assert_eq!(page.status, if expected { 200 } else { 404 }, "{who}, {id}");
        }
    }

    // Another school's member sees none of it, not even by the event's number.
    let list = elsewhere
        .client
        .get(&other_host, "/calendar/upcoming")
        .await;
    assert_eq!(list.status, 200);
    assert!(!list.text().contains("Sportdag"));
    for id in all {
        let page = elsewhere
            .client
            .get(&other_host, &format!("/calendar/events/{id}"))
            .await;
        assert_eq!(page.status, 404, "{id}");
    }

    // Visitors: only the public event, on the school's page; the calendar wants a sign-in.
    let visitor = app.get(&host, "/").await.text();
    assert!(
        visitor.contains(&format!("id=\"public-event-{public}\"")) && visitor.contains("Open dag"),
        "{visitor}"
    );
    for hidden in [
        "Sportdag",
        "Uitje groep 3b",
        "Teamvergadering",
        "Eigen notitie",
    ] {
        assert!(!visitor.contains(hidden), "{hidden}");
    }
    assert_eq!(app.get(&host, "/calendar").await.status, 303);
    assert!(
        !app.get(&other_host, "/").await.text().contains("Open dag"),
        "another school's visitors page"
    );

    // Changing: the author's colleague of the group may, a teacher of another group may not,
    // parents may not; a private event is its author's alone.
    let edit = |title: &'static str, audience: (&'static str, String)| {
        vec![
            ("title", title.to_owned()),
            ("start_date", date.clone()),
            ("start_time", "13:00".to_owned()),
            ("end_time", "14:00".to_owned()),
            (audience.0, audience.1),
            ("visibility", "members".to_owned()),
        ]
    };
    for (who, client, event, status) in [
        (
            "teacher 4 on group 3's, unseen",
            &mut teacher_4.client,
            group_3,
            404,
        ),
        (
            "teacher 3b on the school's",
            &mut teacher_3.client,
            school_wide,
            403,
        ),
        ("parent on group 3's", &mut p3.client, group_3, 403),
        ("admin on the private one", &mut admin.client, private, 404),
    ] {
        client.get(&host, "/calendar").await;
        let fields = edit("Gekaapt", ("groups", g3.clone()));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = client
            .post_form(&host, &format!("/calendar/events/{event}/edit"), &fields)
            .await;
        assert_eq!(answer.status, status, "{who}: {}", answer.text());
        let delete = client
            .post_form(&host, &format!("/calendar/events/{event}/delete"), &[])
            .await;
        assert_eq!(delete.status, status, "{who} deleting");
    }
    let fields = edit("Uitje groep 3b, verzet", ("groups", g3.clone()));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = teacher_3
        .client
        .post_form(&host, &format!("/calendar/events/{group_3}/edit"), &fields)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let page = p3
        .client
        .get(&host, &format!("/calendar/events/{group_3}"))
        .await
        .text();
    assert!(
        page.contains("Uitje groep 3b, verzet") && page.contains("13:00"),
        "{page}"
    );
    let gone = teacher_3
        .client
        .post_form(&host, &format!("/calendar/events/{private}/delete"), &[])
        .await;
    assert_eq!(gone.status, 303);
    assert_eq!(
        teacher_3
            .client
            .get(&host, &format!("/calendar/events/{private}"))
            .await
            .status,
        404
    );
    assert_eq!(event_count(&app, &school).await, 5);
}

#[tokio::test]
async fn the_home_page_counts_the_events_of_the_next_seven_days() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Teller", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let g3 = group_id(&app, &school, "G3B").await;
    let g4 = group_id(&app, &school, "G4").await;

    let tomorrow = day(1);
    add_event(
        &mut admin.client,
        &host,
        &timed("Luizencontrole", &tomorrow, ("groups", &g3), "members"),
    )
    .await;
    add_event(
        &mut admin.client,
        &host,
        &[
            ("title", "Studiedag"),
            ("all_day", "on"),
            ("start_date", &tomorrow),
            WHOLE_SCHOOL,
            ("visibility", "members"),
        ],
    )
    .await;
    // Not for this parent: another group, and staff only.
    add_event(
        &mut admin.client,
        &host,
        &timed("Schoolreis groep 4", &tomorrow, ("groups", &g4), "members"),
    )
    .await;
    add_event(
        &mut admin.client,
        &host,
        &timed("Teamoverleg", &tomorrow, WHOLE_SCHOOL, "staff"),
    )
    .await;
    // Two days: counted on both.
    let (third, fourth) = (day(3), day(4));
    add_event(
        &mut admin.client,
        &host,
        &[
            ("title", "Kamp"),
            ("all_day", "on"),
            ("start_date", &third),
            ("end_date", &fourth),
            ("groups", &g3),
            ("visibility", "members"),
        ],
    )
    .await;
    // Beyond the seven days.
    let eighth = day(7);
    add_event(
        &mut admin.client,
        &host,
        &timed("Kerstviering", &eighth, WHOLE_SCHOOL, "members"),
    )
    .await;

    let home = p3.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"next-days\""), "{home}");
    let strip: Vec<String> = (0..7).map(day).collect();
    for date in &strip {
        assert!(home.contains(&format!("id=\"next-{date}\"")), "{date}");
    }
    assert!(
        !home.contains(&format!("id=\"next-{eighth}\"")),
        "seven days only"
    );
    let count = |page: &str, date: &str| -> Option<u32> {
        let marker = format!("id=\"count-{date}\"");
        let at = page.find(&marker)?;
        page[at..]
            .split('>')
            .nth(1)?
            .split('<')
            .next()?
            .trim()
            .parse()
            .ok()
    };
    assert_eq!(count(&home, &tomorrow), Some(2), "{home}");
    assert_eq!(count(&home, &third), Some(1));
    assert_eq!(count(&home, &fourth), Some(1));
    for quiet in [day(0), day(2), day(5), day(6)] {
        assert_eq!(count(&home, &quiet), None, "{quiet}");
    }
    // The admin sees everything of tomorrow.
    let home = admin.client.get(&host, "/").await.text();
    assert_eq!(count(&home, &tomorrow), Some(4), "{home}");
    // Visitors get no strip.
    assert!(!app.get(&host, "/").await.text().contains("next-days"));
}

#[tokio::test]
async fn the_month_shows_dutch_time_on_both_sides_of_the_october_change() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klok", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let before = add_event(
        &mut admin.client,
        &host,
        &timed("Voor de wissel", "2026-10-24", WHOLE_SCHOOL, "members"),
    )
    .await;
    let after = add_event(
        &mut admin.client,
        &host,
        &timed("Na de wissel", "2026-10-26", WHOLE_SCHOOL, "members"),
    )
    .await;
    // 02:30 happens twice that night: the first, still summer time, is meant.
    let twice = add_event(
        &mut admin.client,
        &host,
        &[
            ("title", "Nachtwacht"),
            ("start_date", "2026-10-25"),
            ("start_time", "02:30"),
            ("end_time", "03:30"),
            WHOLE_SCHOOL,
            ("visibility", "members"),
        ],
    )
    .await;

    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let stored: Vec<(i64, DateTime<Utc>, DateTime<Utc>)> =
        sqlx::query_as("SELECT id, starts_at, ends_at FROM events ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    let utc = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(
        stored,
        vec![
            (
                before,
                utc("2026-10-24T08:00:00Z"),
                utc("2026-10-24T09:00:00Z")
            ),
            (
                after,
                utc("2026-10-26T09:00:00Z"),
                utc("2026-10-26T10:00:00Z")
            ),
            (
                twice,
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-25T02:30:00Z")
            ),
        ]
    );

    let month = admin.client.get(&host, "/calendar?month=2026-10").await;
    assert_eq!(month.status, 200);
    let month = month.text();
    assert!(month.contains("oktober 2026"), "{month}");
    // Weeks start on Monday: the grid of October 2026 opens on Monday 28 September.
    let first_cell = month.find("id=\"day-").map(|at| &month[at + 8..at + 18]);
    assert_eq!(first_cell, Some("2026-09-28"));
    let header = month
        .find("<th scope")
        .map(|at| &month[at..])
        .unwrap_or_default();
    assert!(header.starts_with("<th scope=\"col\">ma</th>"), "{header}");
    let cell = |date: &str| -> String {
        let at = month.find(&format!("id=\"day-{date}\"")).unwrap();
        month[at..].split("</td>").next().unwrap().to_owned()
    };
    assert!(cell("2026-10-24").contains("10:00</span> Voor de wissel"));
    assert!(cell("2026-10-26").contains("10:00</span> Na de wissel"));
    assert!(cell("2026-10-25").contains("02:30</span> Nachtwacht"));
    for page in [before, after] {
        let page = admin
            .client
            .get(&host, &format!("/calendar/events/{page}"))
            .await
            .text();
        assert!(page.contains("10:00–11:00"), "{page}");
    }

    // In English for a person who chose English.
    admin.client.get(&host, "/account").await;
    let english = admin
        .client
        .post_form(
            &host,
            "/account/profile",
            &[("name", "Directeur"), ("language", "en")],
        )
        .await;
    assert_eq!(english.status, 303, "{}", english.text());
    let month = admin
        .client
        .get(&host, "/calendar?month=2026-10")
        .await
        .text();
    assert!(
        month.contains("October 2026") && month.contains(">Mon</th>"),
        "{month}"
    );
    let page = admin
        .client
        .get(&host, &format!("/calendar/events/{before}"))
        .await
        .text();
    assert!(
        page.contains("Saturday 24 October 2026, 10:00–11:00"),
        "{page}"
    );

    for bad in ["2026-13", "oktober", "2026-1"] {
        let answer = admin
            .client
            .get(&host, &format!("/calendar?month={bad}"))
            .await;
        assert_eq!(answer.status, 400, "{bad}");
        assert!(answer.text().contains("<code>month</code>"));
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Zeef", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let g3 = group_id(&app, &school, "G3B").await;
    let g4 = group_id(&app, &school, "G4").await;

    let good = |changes: &[(&'static str, &'static str)]| {
        let mut fields: Vec<(&'static str, String)> = vec![
            ("title", "Ouderavond".into()),
            ("start_date", "2026-12-01".into()),
            ("start_time", "19:30".into()),
            ("end_time", "21:00".into()),
            ("groups", g3.clone()),
            ("visibility", "members".into()),
        ];
        for (key, value) in changes {
            fields.retain(|(k, _)| k != key);
            if !value.is_empty() {
                fields.push((key, (*value).to_owned()));
            }
        }
        fields
    };
    let cases: Vec<(&str, Fields, &str, &str)> = vec![
        (
            "end before start",
            good(&[("end_time", "18:00")]),
            "end_time",
            "Het einde moet na het begin liggen",
        ),
        (
            "no title",
            good(&[("title", "")]),
            "title",
            "Vul een titel in",
        ),
        (
            "bad date",
            good(&[("start_date", "2026-02-30")]),
            "start_date",
            "geldige datum",
        ),
        (
            "bad time",
            good(&[("start_time", "7 uur")]),
            "start_time",
            "geldige tijd",
        ),
        (
            "a time the clock skips",
            good(&[
                ("start_date", "2027-03-28"),
                ("start_time", "02:30"),
                ("end_time", "04:00"),
            ]),
            "start_time",
            "bestaat niet",
        ),
        (
            "unknown visibility",
            good(&[("visibility", "iedereen")]),
            "visibility",
            "Kies wie de activiteit ziet",
        ),
        (
            "no audience",
            good(&[("groups", "")]),
            "groups",
            "hele school of een of meer groepen",
        ),
        (
            "another teacher's group",
            good(&[("groups", "")])
                .into_iter()
                .chain([("groups", g4.clone())])
                .collect(),
            "groups",
            "alleen activiteiten plaatsen voor de groepen waaraan u lesgeeft",
        ),
        (
            "the whole school",
            good(&[("groups", ""), ("whole_school", "on")]),
            "whole_school",
            "alleen activiteiten plaatsen voor de groepen waaraan u lesgeeft",
        ),
    ];
    teacher.client.get(&host, "/calendar/events/new").await;
    for (what, fields, field, reason) in cases {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = teacher
            .client
            .post_form(&host, "/calendar/events", &fields)
            .await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.text());
        // The same form comes back: the mistake on top and at its field, everything typed
        // still there.
        let page = answer.text();
        assert!(page.contains("id=\"event-form\""), "{what}: the form again");
        assert!(page.contains("id=\"form-mistakes\""), "{what}: the summary");
        let at_field = match field {
            "groups" | "whole_school" => "for-whom-error".to_owned(),
            "visibility" => "who-sees-error".to_owned(),
            other => format!("{}-error", other.replace('_', "-")),
        };
        assert!(
            page.contains(&format!("id=\"{at_field}\"")) && page.contains(reason),
            "{what}: the message at {at_field}: {page}"
        );
        for (name, value) in &fields {
            if *name != "groups"
                && *name != "whole_school"
                && *name != "visibility"
                && !value.is_empty()
            {
                assert!(
                    page.contains(&format!("value=\"{value}\""))
                        || page.contains(&format!(">{value}<")),
                    "{what}: {name} kept"
                );
            }
        }
    }
    // Parents may not add events at all.
    p3.client.get(&host, "/calendar").await;
    let fields = good(&[]);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = p3
        .client
        .post_form(&host, "/calendar/events", &fields)
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        p3.client.get(&host, "/calendar/events/new").await.status,
        403
    );
    assert_eq!(event_count(&app, &school).await, 0, "nothing was written");
    // The same form, put right, is taken.
    let answer = teacher
        .client
        .post_form(&host, "/calendar/events", &fields)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(event_count(&app, &school).await, 1);
}

/// The subscription address a feeds page shows right after a link was made.
fn feed_path(page: &str) -> String {
    let at = page
        .find("class=\"feed-url\" value=\"")
        .expect("a new link on the page");
    let url = page[at + 24..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2F;", "/");
    let path = url.split_once(".schoolplein.test").unwrap().1;
    path.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit())
        .to_owned()
}

/// Makes (or renews) a feed link from the feeds page and returns its path.
pub(crate) async fn make_feed(client: &mut Client, host: &str, group: &str) -> String {
    client.get(host, "/calendar/feeds").await;
    let page = client
        .post_form(host, "/calendar/feeds/renew", &[("group_id", group)])
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    feed_path(&page.text())
}

/// Fetches a feed without any session, checks it is a well-formed iCalendar text, and parses
/// it with the independent parser.
pub(crate) async fn fetch_feed(app: &TestApp, host: &str, path: &str) -> Calendar {
    Calendar::from_str(&fetch_feed_text(app, host, path).await).expect("the feed parses")
}

/// A feed's text, fetched without a session, checked to be CRLF lines of at most 75 octets.
async fn fetch_feed_text(app: &TestApp, host: &str, path: &str) -> String {
    let answer = app.get(host, path).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(
        answer
            .header("cache-control")
            .is_some_and(|c| c.starts_with("private")),
    );
    let text = String::from_utf8(answer.body.clone()).expect("UTF-8");
    assert!(
        text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{text}"
    );
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a line of {} octets: {line}", line.len());
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
    text
}

pub(crate) fn events(calendar: &Calendar) -> Vec<&icalendar::Event> {
    calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

fn by_summary<'a>(calendar: &'a Calendar, summary: &str) -> Option<&'a icalendar::Event> {
    events(calendar)
        .into_iter()
        .find(|e| e.get_summary() == Some(summary))
}

/// The instant of a DTSTART or DTEND: UTC, or a local time in its TZID.
pub(crate) fn instant(value: DatePerhapsTime) -> DateTime<Utc> {
    match value {
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(at)) => at,
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            let zone: chrono_tz::Tz = tzid.parse().expect("a known zone");
            zone.from_local_datetime(&date_time)
                .earliest()
                .expect("an existing local time")
                .with_timezone(&Utc)
        }
        other => panic!("not an instant: {other:?}"),
    }
}

#[tokio::test]
async fn feeds_hold_what_their_owner_sees_and_renewing_ends_the_old_link() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Feed", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let mut p4 = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let g3 = group_id(&app, &school, "G3B").await;
    let g4 = group_id(&app, &school, "G4").await;

    let tricky_title = "Ouderavond; groep 3, 4 \\ 5";
    let long_text = format!(
        "Beste ouders,\nWe beginnen om 19:30; koffie staat klaar, thee ook.\n{}",
        "Één café-bezoek na afloop — ‘gezellig’ 😀 ".repeat(12)
    );
    add_event(
        &mut admin.client,
        &host,
        &[
            ("title", tricky_title),
            ("description", &long_text),
            ("place", "Aula, gebouw B; ingang Schoolstraat"),
            ("start_date", "2026-10-24"),
            ("start_time", "10:00"),
            ("end_time", "11:30"),
            ("groups", &g3),
            ("visibility", "members"),
        ],
    )
    .await;
    add_event(
        &mut admin.client,
        &host,
        &timed("Na de wissel", "2026-10-26", WHOLE_SCHOOL, "members"),
    )
    .await;
    add_event(
        &mut admin.client,
        &host,
        &[
            ("title", "Kerstvakantie"),
            ("all_day", "on"),
            ("start_date", "2026-12-19"),
            ("end_date", "2027-01-03"),
            WHOLE_SCHOOL,
            ("visibility", "public"),
        ],
    )
    .await;
    add_event(
        &mut admin.client,
        &host,
        &timed(
            "Schoolreis groep 4",
            "2026-12-02",
            ("groups", &g4),
            "members",
        ),
    )
    .await;
    add_event(
        &mut admin.client,
        &host,
        &timed("Teamoverleg", "2026-12-02", WHOLE_SCHOOL, "staff"),
    )
    .await;

    // The personal feed: the school's and the children's groups', nothing else.
    let personal = make_feed(&mut p3.client, &host, "").await;
    assert!(
        personal.starts_with("/feeds/") && personal.ends_with(".ics"),
        "{personal}"
    );
    let text = fetch_feed_text(&app, &host, &personal).await;
    // The parser is lenient about unescaped commas and semicolons; the text itself is not.
    assert!(
        text.replace("\r\n ", "")
            .contains("\r\nLOCATION:Aula\\, gebouw B\\; ingang Schoolstraat\r\n"),
        "{text}"
    );
    assert!(
        text.contains("SUMMARY:Ouderavond\\; groep 3\\, 4 \\\\ 5\r\n"),
        "{text}"
    );
    let feed = Calendar::from_str(&text).expect("the feed parses");
    let mut summaries: Vec<&str> = events(&feed)
        .iter()
        .filter_map(|e| e.get_summary())
        .collect();
    summaries.sort_unstable();
    assert_eq!(
        summaries,
        vec!["Kerstvakantie", "Na de wissel", tricky_title]
    );

    // Escaping and folding survive the round trip exactly.
    let evening = by_summary(&feed, tricky_title).expect("the evening");
    // The form trims what is typed; nothing else changes on the way.
    assert_eq!(evening.get_description(), Some(long_text.trim_end()));
    assert_eq!(
        evening.get_location(),
        Some("Aula, gebouw B; ingang Schoolstraat")
    );
    let uid = evening.get_uid().expect("a UID").to_owned();
    assert!(
        uid.starts_with("event-") && uid.ends_with("@schoolplein.test"),
        "{uid}"
    );

    // Instants on both sides of the change, as UTC.
    let utc = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(
        instant(evening.get_start().unwrap()),
        utc("2026-10-24T08:00:00Z")
    );
    assert_eq!(
        instant(evening.get_end().unwrap()),
        utc("2026-10-24T09:30:00Z")
    );
    let after = by_summary(&feed, "Na de wissel").unwrap();
    assert_eq!(
        instant(after.get_start().unwrap()),
        utc("2026-10-26T09:00:00Z")
    );
    // All day: dates, the end exclusive.
    let holiday = by_summary(&feed, "Kerstvakantie").unwrap();
    assert_eq!(
        holiday.get_start(),
        Some(DatePerhapsTime::Date(
            NaiveDate::from_ymd_opt(2026, 12, 19).unwrap()
        ))
    );
    assert_eq!(
        holiday.get_end(),
        Some(DatePerhapsTime::Date(
            NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
        ))
    );

    // The same entry keeps its UID from fetch to fetch.
    let again = fetch_feed(&app, &host, &personal).await;
    assert_eq!(
        by_summary(&again, tricky_title).and_then(|e| e.get_uid()),
        Some(uid.as_str())
    );

    // A group feed holds only that group's events; another group's parent cannot have it.
    let group_feed = make_feed(&mut p3.client, &host, &g3).await;
    let feed = fetch_feed(&app, &host, &group_feed).await;
    let summaries: Vec<&str> = events(&feed)
        .iter()
        .filter_map(|e| e.get_summary())
        .collect();
    assert_eq!(summaries, vec![tricky_title]);
    p4.client.get(&host, "/calendar/feeds").await;
    let refused = p4
        .client
        .post_form(&host, "/calendar/feeds/renew", &[("group_id", &g3)])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("<code>group_id</code>"));

    // Staff's personal feed holds the staff meeting; the parent's did not.
    let staff_feed = make_feed(&mut admin.client, &host, "").await;
    let feed = fetch_feed(&app, &host, &staff_feed).await;
    assert!(by_summary(&feed, "Teamoverleg").is_some());
    assert!(by_summary(&feed, "Schoolreis groep 4").is_some());

    // The database keeps only hashes: the secret is nowhere in it.
    let secret = personal
        .trim_start_matches("/feeds/")
        .trim_end_matches(".ics")
        .to_owned();
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM calendar_feeds")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|hash| {
        hash.len() == 32
            && !hash
                .windows(8)
                .any(|w| secret.as_bytes().windows(8).any(|s| s == w))
    }));

    // Another school's host does not serve it.
    let other = app.create_school("Andere school", "").await;
    assert_eq!(
        app.get(&school_host(&other.slug), &personal).await.status,
        404
    );
    // Nor does a made-up or malformed secret.
    for path in [
        "/feeds/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics".to_owned(),
        format!("/feeds/{secret}"),
        "/feeds/x.ics".to_owned(),
    ] {
        assert_eq!(app.get(&host, &path).await.status, 404, "{path}");
    }

    // Renewing: the old address answers 404 at once, the new one works.
    let renewed = make_feed(&mut p3.client, &host, "").await;
    assert_ne!(renewed, personal);
    assert_eq!(app.get(&host, &personal).await.status, 404);
    fetch_feed(&app, &host, &renewed).await;
    let page = p3.client.get(&host, "/calendar/feeds").await.text();
    assert!(
        !page.contains("class=\"feed-url\""),
        "the address is shown only once"
    );

    // Stopping: a malformed group stops nothing; the personal link then stops for good.
    let refused = p3
        .client
        .post_form(&host, "/calendar/feeds/revoke", &[("group_id", "drie")])
        .await;
    assert_eq!(refused.status, 400);
    fetch_feed(&app, &host, &renewed).await;
    let stopped = p3
        .client
        .post_form(&host, "/calendar/feeds/revoke", &[("group_id", "")])
        .await;
    assert_eq!(stopped.status, 303);
    assert_eq!(app.get(&host, &renewed).await.status, 404);
    fetch_feed(&app, &host, &group_feed).await;

    // A blocked parent's links stop working too.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE platform.memberships SET blocked_at = now() WHERE person_id = $1 AND tenant_id = $2")
        .bind(p3.person_id)
        .bind(school.id.get())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.get(&host, &group_feed).await.status, 404);
}
