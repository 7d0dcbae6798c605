//! Parent–teacher conference rounds (K3, K4, K6): a teacher plans a round from the seed's
//! parameters and publishes it with mail; parents book, change and cancel on one page for all
//! their children; fair start; and the opening rush, where 300 parents want 30 slots at once.

use std::sync::Arc;

use chrono::{Duration, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::mailbox::Mailbox;
use schoolplein_tests::school::{self, Member, parent, quick_member};
use schoolplein_tests::{RawResponse, TestApp, TestAppOptions, TestDb, pdf_text, school_host};
use tenant_router::{TenantEntry, TenantTx};

use icalendar::Component as _;

use super::calendar::{events as feed_events, fetch_feed, instant, make_feed};

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

/// Runs one statement in the school's schema with one bound id.
async fn exec(app: &TestApp, school: &TenantEntry, sql: &'static str, id: i64) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

/// A round's slots in time order: id and local start and end (`15:00-15:10`).
async fn slots(app: &TestApp, school: &TenantEntry, round: i64) -> Vec<(i64, String)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT id, to_char(starts_at AT TIME ZONE 'Europe/Amsterdam', 'HH24:MI') || '-' ||
                    to_char(ends_at AT TIME ZONE 'Europe/Amsterdam', 'HH24:MI')
           FROM conference_slots WHERE round_id = $1 ORDER BY starts_at",
    )
    .bind(round)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
}

/// The bookings of a round: (slot, pupil, parent).
async fn bookings(app: &TestApp, school: &TenantEntry, round: i64) -> Vec<(i64, i64, Option<i64>)> {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT slot_id, pupil_id, parent_id FROM conference_bookings
          WHERE round_id = $1 ORDER BY slot_id",
    )
    .bind(round)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    rows
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

async fn group(app: &TestApp, school: &TenantEntry, key: &str) -> i64 {
    school::id(
        app,
        school,
        "SELECT id FROM groups WHERE import_key = $1",
        key,
    )
    .await
}

/// A day `days` from now, as a date field sends it.
fn day(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Posts the new-round form (after opening the page for its token).
async fn post_round(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> RawResponse {
    client.get(host, "/conference-rounds").await;
    client.post_form(host, "/conference-rounds", fields).await
}

/// Creates a round and returns its id.
async fn create_round(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> i64 {
    let answer = post_round(client, host, fields).await;
    assert_eq!(answer.status, 303, "{fields:?}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/conference-rounds/"))
        .and_then(|id| id.parse().ok())
        .expect("the new round's address")
}

async fn publish(client: &mut Client, host: &str, round: i64, mail: bool) {
    client
        .get(host, &format!("/conference-rounds/{round}"))
        .await;
    let mut fields = vec![("invitation", "Kies een tijd voor het rapportgesprek.")];
    if mail {
        fields.push(("mail", "1"));
    }
    let answer = client
        .post_form(
            host,
            &format!("/conference-rounds/{round}/publish"),
            &fields,
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
}

/// A parent's booking through the page's form.
async fn book(parent: &mut Member, host: &str, slot: i64, child: i64) -> RawResponse {
    parent.client.get(host, "/conferences").await;
    parent
        .client
        .post_form(
            host,
            "/conferences/book",
            &[("slot", &slot.to_string()), ("child", &child.to_string())],
        )
        .await
}

/// A small round: `talks` talks of 10 minutes from 15:00 on a day 30 days ahead.
fn small_round(group: &str, talks: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("group", group.to_owned()),
        ("title", format!("Gesprekken {group}")),
        ("talks", talks.to_owned()),
        ("talk_minutes", "10".to_owned()),
        ("start_date", day(30)),
        ("day_start", "15:00".to_owned()),
        ("day_end", "18:00".to_owned()),
    ]
}

fn fields<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn a_teacher_plans_a_round_from_the_seed_parameters_edits_its_slots_and_publishes_with_mail()
{
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Gesprekken", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mother = parent(&app, &school, "Moeder Aa", &["2026001"]).await;
    let other = parent(&app, &school, "Ouder Bee", &["2026002"]).await;
    let group_4 = parent(&app, &school, "Ouder Vier", &["2026003"]).await;
    let g3 = group(&app, &school, "G3B").await.to_string();
    let g4 = group(&app, &school, "G4").await.to_string();
    let (first, extra) = (day(30), day(32));
    let seed = |changes: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
        let mut all: Vec<(&'static str, String)> = vec![
            ("group", g3.clone()),
            ("title", "Rapportgesprekken".into()),
            ("talks", "20".into()),
            ("talk_minutes", "10".into()),
            ("talks_before_break", "5".into()),
            ("break_minutes", "10".into()),
            ("start_date", first.clone()),
            ("extra_day", extra.clone()),
            ("day_start", "15:00".into()),
            ("day_end", "18:30".into()),
        ];
        for (key, value) in changes {
            all.retain(|(k, _)| k != key);
            all.push((key, (*value).to_owned()));
        }
        all
    };

    // Bad input: a 400 naming the field and saying why, and nothing written.
    for (changes, field, says) in [
        (&[("day_end", "14:00")][..], "day_end", "eindtijd"),
        (
            &[("talk_minutes", "0")],
            "talk_minutes",
            "minstens 5 minuten",
        ),
        (&[("talks", "500")], "talks", "Hoogstens 300"),
        (
            &[
                ("talks", "40"),
                ("talk_minutes", "15"),
                ("talks_before_break", "4"),
                ("day_start", "12:00"),
                ("day_end", "20:00"),
                ("extra_day", ""),
            ],
            "talks",
            "duren 11:30 uur; de dagen bieden 8:00 uur",
        ),
        (
            &[("start_date", "2001-01-01"), ("extra_day", "2001-01-03")],
            "start_date",
            "verleden",
        ),
    ] {
        let owned = seed(changes);
        let sent = fields(&owned);
        let answer = post_round(&mut teacher.client, &host, &sent).await;
        assert_eq!(answer.status, 400, "{changes:?}");
        // The same form comes back with the mistake at its field and everything typed kept.
        let text = answer.text();
        let anchor = format!("round-{}", field.replace('_', "-"));
        assert!(
            text.contains("id=\"form-mistakes\"")
                && text.contains(&format!("href=\"#{anchor}\""))
                && text.contains(&format!("id=\"{anchor}-error\""))
                && text.contains(says),
            "{changes:?}: {text}"
        );
        for (name, value) in &sent {
            if !value.is_empty() && *name != "group" && *name != "booking_mode" {
                assert!(
                    text.contains(&format!("value=\"{value}\"")),
                    "{changes:?}: {name}={value} kept"
                );
            }
        }
    }
    let not_mine = post_round(
        &mut teacher.client,
        &host,
        &fields(&seed(&[]))
            .into_iter()
            .map(|(k, v)| {
                if k == "group" {
                    (k, g4.as_str())
                } else {
                    (k, v)
                }
            })
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(not_mine.status, 403, "a group the teacher does not teach");
    assert_eq!(
        scalar(
            &app,
            &school,
            "SELECT count(*) FROM conference_rounds WHERE id > $1",
            0
        )
        .await,
        0
    );

    // The seed's parameters: 18 talks fit on the first day (a break after every five), two
    // go to the extra day.
    let round = create_round(&mut teacher.client, &host, &fields(&seed(&[]))).await;
    let generated = slots(&app, &school, round).await;
    let times: Vec<&str> = generated.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(times.len(), 20);
    assert_eq!(
        &times[..7],
        [
            "15:00-15:10",
            "15:10-15:20",
            "15:20-15:30",
            "15:30-15:40",
            "15:40-15:50",
            "16:00-16:10",
            "16:10-16:20"
        ]
    );
    assert_eq!(times[17], "18:20-18:30");
    assert_eq!(times[18], "15:00-15:10", "the extra day");
    let page = teacher
        .client
        .get(&host, &format!("/conference-rounds/{round}"))
        .await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("15:40–15:50") && html.contains("16:00–16:10"));
    assert!(!html.contains("15:50–16:00"), "the break is no slot");
    assert_eq!(mailbox.delivered_count(|_| true), 0, "a draft mails nobody");

    // Double the first talk (it takes the second's time), and back.
    let path =
        |slot: i64, action: &str| format!("/conference-rounds/{round}/slots/{slot}/{action}");
    let (first_slot, second_slot) = (generated[0].0, generated[1].0);
    let answer = teacher
        .client
        .post_form(&host, &path(first_slot, "double"), &[])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let doubled = slots(&app, &school, round).await;
    assert_eq!(doubled.len(), 19);
    assert_eq!(doubled[0], (first_slot, "15:00-15:20".to_owned()));
    assert!(doubled.iter().all(|(id, _)| *id != second_slot));
    let answer = teacher
        .client
        .post_form(&host, &path(first_slot, "single"), &[])
        .await;
    assert_eq!(answer.status, 303);
    let singled = slots(&app, &school, round).await;
    assert_eq!(singled.len(), 20);
    assert_eq!(singled[1].1, "15:10-15:20");

    // A slot that overlaps another is refused; one after the day's last is added, and goes.
    let add = format!("/conference-rounds/{round}/slots");
    let overlap = teacher
        .client
        .post_form(&host, &add, &[("date", &first), ("start", "15:05")])
        .await;
    assert_eq!(overlap.status, 400);
    assert!(overlap.text().contains("start"));
    let added = teacher
        .client
        .post_form(&host, &add, &[("date", &first), ("start", "18:30")])
        .await;
    assert_eq!(added.status, 303);
    let with_extra = slots(&app, &school, round).await;
    assert_eq!(with_extra.len(), 21);
    let late = with_extra
        .iter()
        .find(|(_, t)| t == "18:30-18:40")
        .expect("the added slot")
        .0;
    let deleted = teacher
        .client
        .post_form(&host, &path(late, "delete"), &[])
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(slots(&app, &school, round).await.len(), 20);

    // The teacher assigns mother's child the 16:00 talk before publishing.
    let child = pupil(&app, &school, "2026001").await;
    let four = generated[5].0;
    let assigned = teacher
        .client
        .post_form(
            &host,
            &path(four, "assign"),
            &[("family", &child.to_string())],
        )
        .await;
    assert_eq!(assigned.status, 303, "{}", assigned.text());
    assert_eq!(bookings(&app, &school, round).await, [(four, child, None)]);
    let wrong = teacher
        .client
        .post_form(
            &host,
            &path(generated[6].0, "assign"),
            &[("family", "999999")],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.text().contains("family"));

    // Publishing mails every parent of the group, not the other group's.
    publish(&mut teacher.client, &host, round, true).await;
    let mail = mailbox.latest(&mother.email, 1).await;
    assert!(
        mail.subject.contains("Rapportgesprekken"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Kies een tijd voor het rapportgesprek."));
    assert_eq!(mail.link("/conferences").as_deref(), Some("/conferences"));
    mailbox.wait_for(&other.email, 1).await;
    assert!(mailbox.delivered_to(&group_4.email).await.is_empty());
    let again = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{round}/publish"),
            &[("invitation", "Nog eens")],
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        scalar(
            &app,
            &school,
            "SELECT count(*) FROM conference_rounds WHERE id = $1 AND status = 'published'",
            round
        )
        .await,
        1
    );
}

#[tokio::test]
async fn parents_book_on_one_page_change_atomically_cancel_and_are_refused_where_they_may_not() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Het Intekenen", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    school::teach(&app, &school, teacher.person_id, "G4").await;
    // P has a child in group 3 and one in group 4; Q a child in group 3; S is the other parent
    // of P's child in group 4.
    let mut p = parent(&app, &school, "Ouder Pee", &["2026001", "2026003"]).await;
    let mut q = parent(&app, &school, "Ouder Kuu", &["2026002"]).await;
    let mut s = parent(&app, &school, "Ouder Es", &["2026003"]).await;
    let (g3, g4) = (
        group(&app, &school, "G3B").await.to_string(),
        group(&app, &school, "G4").await.to_string(),
    );
    let (p3, p4, q3) = (
        pupil(&app, &school, "2026001").await,
        pupil(&app, &school, "2026003").await,
        pupil(&app, &school, "2026002").await,
    );
    let round_a = create_round(&mut teacher.client, &host, &fields(&small_round(&g3, "6"))).await;
    let round_b = create_round(&mut teacher.client, &host, &fields(&small_round(&g4, "6"))).await;
    // Unpublished rounds do not exist for parents.
    let a = slots(&app, &school, round_a).await;
    let b = slots(&app, &school, round_b).await;
    assert_eq!(book(&mut p, &host, a[0].0, p3).await.status, 404);
    publish(&mut teacher.client, &host, round_a, false).await;
    publish(&mut teacher.client, &host, round_b, false).await;

    // The home page leads there; one page, both children, the same day side by side.
    let home = p.client.get(&host, "/").await.text();
    assert!(home.contains("id=\"nav-conferences\""), "{home}");
    let page = p.client.get(&host, "/conferences").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains(&format!("id=\"column-{round_a}-{p3}\"")));
    assert!(html.contains(&format!("id=\"column-{round_b}-{p4}\"")));
    assert_eq!(
        html.matches("class=\"card day\"").count(),
        1,
        "one day, two columns"
    );

    // P books 15:20 for the group-3 child; the group-4 slots beside it are offered first.
    let answer = book(&mut p, &host, a[2].0, p3).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(bookings(&app, &school, round_a).await, [(a[2].0, p3, None)]);
    let html = p.client.get(&host, "/conferences?booked=1").await.text();
    for beside in [&b[1], &b[3]] {
        assert!(
            html.contains(&format!(
                "class=\"slot free next-to-sibling\" id=\"slot-{}-{p4}\"",
                beside.0
            )),
            "{} is next to the sibling's talk",
            beside.1
        );
    }
    assert!(html.contains("Naast het gesprek van een broer of zus"));
    assert!(
        html.contains("tegelijk met"),
        "the slot at the same time is marked"
    );

    // Q wants the same slot: a 409 with the page saying it is gone; nothing written.
    let lost = book(&mut q, &host, a[2].0, q3).await;
    assert_eq!(lost.status, 409);
    assert!(lost.text().contains("net door iemand anders gekozen"));
    assert_eq!(bookings(&app, &school, round_a).await, [(a[2].0, p3, None)]);

    // P's personal calendar feed holds the talk (read by an independent parser).
    let feed = make_feed(&mut p.client, &host, "").await;
    let talk = |calendar: &icalendar::Calendar| {
        let talks: Vec<_> = feed_events(calendar)
            .into_iter()
            .filter(|e| {
                e.get_summary()
                    .is_some_and(|s| s.starts_with("Oudergesprek: "))
            })
            .map(|e| {
                (
                    e.get_uid().unwrap_or_default().to_owned(),
                    e.get_start().map(instant),
                )
            })
            .collect();
        assert_eq!(talks.len(), 1, "one talk in the feed: {talks:?}");
        talks[0].clone()
    };
    let starts = |slot: i64| {
        let (app, school) = (&app, &school);
        async move {
            let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
            let at: chrono::DateTime<Utc> =
                sqlx::query_scalar("SELECT starts_at FROM conference_slots WHERE id = $1")
                    .bind(slot)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            at
        }
    };
    let (uid, at) = talk(&fetch_feed(&app, &host, &feed).await);
    assert_eq!(at, Some(starts(a[2].0).await));

    // P changes to 15:40: the old slot is free in the same step, and Q takes it.
    assert_eq!(book(&mut p, &host, a[4].0, p3).await.status, 303);
    assert_eq!(bookings(&app, &school, round_a).await, [(a[4].0, p3, None)]);
    // The feed moves the same entry (same UID) to the new time.
    assert_eq!(
        talk(&fetch_feed(&app, &host, &feed).await),
        (uid, Some(starts(a[4].0).await))
    );
    assert_eq!(book(&mut q, &host, a[2].0, q3).await.status, 303);

    // A stale form: Q's page still offers 15:40, which P has meanwhile.
    q.client.get(&host, "/conferences").await;
    let stale = q
        .client
        .post_form(
            &host,
            "/conferences/book",
            &[("slot", &a[4].0.to_string()), ("child", &q3.to_string())],
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(
        bookings(&app, &school, round_a).await,
        [(a[2].0, q3, None), (a[4].0, p3, None)]
    );

    // Another group's round, a child not one's own, a field that is no number: 4xx, nothing.
    assert_eq!(book(&mut p, &host, a[5].0, p4).await.status, 403);
    assert_eq!(book(&mut q, &host, a[5].0, p3).await.status, 403);
    p.client.get(&host, "/conferences").await;
    let garbage = p
        .client
        .post_form(&host, "/conferences/book", &[("slot", "x"), ("child", "1")])
        .await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.text().contains("slot"));
    assert_eq!(bookings(&app, &school, round_a).await.len(), 2);

    // Q cannot cancel P's talk; P can.
    let p_booking = scalar(
        &app,
        &school,
        "SELECT id FROM conference_bookings WHERE pupil_id = $1",
        p3,
    )
    .await;
    q.client.get(&host, "/conferences").await;
    let foreign = q
        .client
        .post_form(
            &host,
            "/conferences/cancel",
            &[("booking", &p_booking.to_string())],
        )
        .await;
    assert_eq!(foreign.status, 403);
    p.client.get(&host, "/conferences").await;
    let cancelled = p
        .client
        .post_form(
            &host,
            "/conferences/cancel",
            &[("booking", &p_booking.to_string())],
        )
        .await;
    assert_eq!(cancelled.status, 303);
    assert_eq!(bookings(&app, &school, round_a).await, [(a[2].0, q3, None)]);

    // The teacher closes the round: no more booking or cancelling there.
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{round_a}"))
        .await;
    let closed = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{round_a}/close"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(closed.status, 303);
    let refused = book(&mut p, &host, a[5].0, p3).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("gesloten"));
    let q_booking = scalar(
        &app,
        &school,
        "SELECT id FROM conference_bookings WHERE pupil_id = $1",
        q3,
    )
    .await;
    q.client.get(&host, "/conferences").await;
    let too_late = q
        .client
        .post_form(
            &host,
            "/conferences/cancel",
            &[("booking", &q_booking.to_string())],
        )
        .await;
    assert_eq!(too_late.status, 400);
    assert_eq!(bookings(&app, &school, round_a).await, [(a[2].0, q3, None)]);

    // Round B: each parent books their own talk; past the cut-off nobody changes anything.
    let settings = format!("/conference-rounds/{round_b}/settings");
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{round_b}"))
        .await;
    let per_parent = teacher
        .client
        .post_form(&host, &settings, &[("booking_mode", "per_parent")])
        .await;
    assert_eq!(per_parent.status, 303);
    assert_eq!(book(&mut p, &host, b[0].0, p4).await.status, 303);
    assert_eq!(book(&mut s, &host, b[0].0, p4).await.status, 409);
    assert_eq!(book(&mut s, &host, b[1].0, p4).await.status, 303);
    assert_eq!(
        bookings(&app, &school, round_b).await,
        [
            (b[0].0, p4, Some(p.person_id)),
            (b[1].0, p4, Some(s.person_id))
        ]
    );
    let shared_again = teacher
        .client
        .post_form(&host, &settings, &[("booking_mode", "shared")])
        .await;
    assert_eq!(shared_again.status, 400, "the mode is fixed once booked");
    assert!(shared_again.text().contains("booking_mode"));
    let cutoff = teacher
        .client
        .post_form(
            &host,
            &settings,
            &[("booking_mode", "per_parent"), ("change_until_days", "60")],
        )
        .await;
    assert_eq!(cutoff.status, 303);
    let past = book(&mut p, &host, b[4].0, p4).await;
    assert_eq!(past.status, 400);
    assert!(past.text().contains("staan nu vast"), "{}", past.text());
    assert_eq!(bookings(&app, &school, round_b).await.len(), 2);
}

#[tokio::test]
async fn booking_opens_at_its_moment_and_earlier_for_families_with_several_children() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Eerlijke Start", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Meester Vier", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G4").await;
    // Two families in group 4: one with a second child at school, one with one child.
    let mut siblings = parent(&app, &school, "Ouder Twee", &["2026003", "2026001"]).await;
    let mut single = parent(&app, &school, "Ouder Een", &["2026005"]).await;
    let g4 = group(&app, &school, "G4").await.to_string();
    let (child_of_siblings, child_of_single) = (
        pupil(&app, &school, "2026003").await,
        pupil(&app, &school, "2026005").await,
    );
    let opens = schoolplein_calendar::times::input_value(Utc::now() + Duration::days(1));
    let early = schoolplein_calendar::times::input_value(Utc::now() - Duration::hours(1));
    let mut round_fields = small_round(&g4, "6");
    round_fields.push(("opens_at", opens.clone()));
    round_fields.push(("siblings_open_at", early));
    let round = create_round(&mut teacher.client, &host, &fields(&round_fields)).await;
    publish(&mut teacher.client, &host, round, false).await;
    let all = slots(&app, &school, round).await;

    // Before the opening: the page says when, and booking is refused with nothing written.
    let page = single.client.get(&host, "/conferences").await.text();
    assert!(page.contains("Inschrijven opent op"), "{page}");
    assert!(
        !page.contains("/conferences/book"),
        "no booking buttons yet"
    );
    let refused = book(&mut single, &host, all[0].0, child_of_single).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("Inschrijven opent op"));
    assert!(bookings(&app, &school, round).await.is_empty());

    // A family with two children at school is in its earlier window.
    let early_bird = book(&mut siblings, &host, all[0].0, child_of_siblings).await;
    assert_eq!(early_bird.status, 303, "{}", early_bird.text());

    // The moment comes (the teacher moves it to now): everyone books.
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{round}"))
        .await;
    let now = schoolplein_calendar::times::input_value(Utc::now() - Duration::minutes(1));
    let moved = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{round}/settings"),
            &[("opens_at", &now)],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.text());
    assert_eq!(
        book(&mut single, &host, all[1].0, child_of_single)
            .await
            .status,
        303
    );
    assert_eq!(
        bookings(&app, &school, round).await,
        [
            (all[0].0, child_of_siblings, None),
            (all[1].0, child_of_single, None)
        ]
    );
}

/// A group of `n` pupils (keys `<prefix>1` …) taught by `teacher`; returns its id and the
/// pupils' ids.
async fn big_group(
    app: &TestApp,
    school: &TenantEntry,
    prefix: &str,
    n: i64,
    teacher: i64,
) -> (i64, Vec<i64>) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO groups (import_key, name, year) VALUES ($1, $1, 5) RETURNING id",
    )
    .bind(prefix)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let pupils: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
         SELECT $1 || n, 'Kind', 'Nummer ' || n, DATE '2017-05-01', $2
           FROM generate_series(1, $3::int8) n
         RETURNING id",
    )
    .bind(prefix)
    .bind(group)
    .bind(n)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO group_teachers (group_id, person_id) VALUES ($1, $2)")
        .bind(group)
        .bind(teacher)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (group, pupils)
}

/// A signed-in parent per pupil, each with the booking page open.
async fn parents_of(app: &TestApp, school: &TenantEntry, pupils: &[i64]) -> Vec<Member> {
    let host = school_host(&school.slug);
    let mut parents = Vec::new();
    for pupil in pupils {
        let mut member = quick_member(app, school, "Ouder", &[Role::Parent]).await;
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        sqlx::query(
            "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
             VALUES ($1, $2, 'active', now())",
        )
        .bind(pupil)
        .bind(member.person_id)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        member.client.get(&host, "/conferences").await;
        parents.push(member);
    }
    parents
}

#[tokio::test]
async fn three_hundred_parents_rush_thirty_slots_and_exactly_thirty_get_one() {
    let app = TestApp::spawn_with(TestAppOptions {
        max_connections: Some(20),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool De Drukte", "").await;
    let host = school_host(&school.slug);
    let mut teacher = school::member(&app, &school, "Juf Druk", &[Role::Teacher]).await;
    let (group, pupils) = big_group(&app, &school, "RUSH", 300, teacher.person_id).await;
    let parents = parents_of(&app, &school, &pupils).await;
    let mut round_fields: Vec<(&'static str, String)> = small_round(&group.to_string(), "30")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("day_"))
        .collect();
    round_fields.extend([
        ("day_start", "09:00".to_owned()),
        ("day_end", "17:00".to_owned()),
        (
            "opens_at",
            schoolplein_calendar::times::input_value(Utc::now() + Duration::days(1)),
        ),
    ]);
    let round = create_round(&mut teacher.client, &host, &fields(&round_fields)).await;
    publish(&mut teacher.client, &host, round, false).await;
    let all: Vec<i64> = slots(&app, &school, round)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(all.len(), 30);

    // Everyone has the page open; the round opens; all press at once, ten per slot.
    exec(
        &app,
        &school,
        "UPDATE conference_rounds SET opens_at = now() WHERE id = $1",
        round,
    )
    .await;
    let start = Arc::new(tokio::sync::Barrier::new(parents.len()));
    let mut tasks = Vec::new();
    for (i, mut member) in parents.into_iter().enumerate() {
        let (host, start) = (host.clone(), start.clone());
        let (slot, child) = (all[i % all.len()], pupils[i]);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let answer = member
                .client
                .post_form(
                    &host,
                    "/conferences/book",
                    &[("slot", &slot.to_string()), ("child", &child.to_string())],
                )
                .await;
            (answer.status, answer.text())
        }));
    }
    let mut won = 0;
    for task in tasks {
        let (status, text) = task.await.unwrap();
        match status {
            303 => won += 1,
            409 => assert!(text.contains("net door iemand anders gekozen"), "{text}"),
            other => panic!("answer {other}: {text}"),
        }
    }
    assert_eq!(won, 30);
    let booked = bookings(&app, &school, round).await;
    assert_eq!(booked.len(), 30);
    let mut slots_booked: Vec<i64> = booked.iter().map(|(slot, _, _)| *slot).collect();
    slots_booked.dedup();
    assert_eq!(slots_booked, {
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted
    });

    // Double clicks: every parent of a second round sends the same booking twice at once.
    let (group_2, pupils_2) = big_group(&app, &school, "KLIK", 10, teacher.person_id).await;
    let parents_2 = parents_of(&app, &school, &pupils_2).await;
    let round_2 = create_round(
        &mut teacher.client,
        &host,
        &fields(&small_round(&group_2.to_string(), "10")),
    )
    .await;
    publish(&mut teacher.client, &host, round_2, false).await;
    let all_2 = slots(&app, &school, round_2).await;
    let start = Arc::new(tokio::sync::Barrier::new(2 * parents_2.len()));
    let mut tasks = Vec::new();
    for (i, member) in parents_2.into_iter().enumerate() {
        for _ in 0..2 {
            let (host, start, mut client) = (host.clone(), start.clone(), member.client.clone());
            let (slot, child) = (all_2[i].0, pupils_2[i]);
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                client
                    .post_form(
                        &host,
                        "/conferences/book",
                        &[("slot", &slot.to_string()), ("child", &child.to_string())],
                    )
                    .await
                    .status
            }));
        }
    }
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            303,
            "both clicks land on the same booking"
        );
    }
    let booked = bookings(&app, &school, round_2).await;
    assert_eq!(booked.len(), 10);
    for (i, (slot, child, _)) in booked.iter().enumerate() {
        assert_eq!((*slot, *child), (all_2[i].0, pupils_2[i]));
    }
}

/// A slot's local time as mails write it (`15:20–15:30`).
fn mailed(slot: &(i64, String)) -> String {
    slot.1.replace('-', "–")
}

/// The Dutch and English weekday of a date field's value.
fn weekdays(date: &str) -> (&'static str, &'static str) {
    use chrono::Datelike;
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let i = date.weekday().num_days_from_monday() as usize;
    (
        [
            "maandag",
            "dinsdag",
            "woensdag",
            "donderdag",
            "vrijdag",
            "zaterdag",
            "zondag",
        ][i],
        [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ][i],
    )
}

/// How many mails the outbox holds for this school with `title` in the subject.
async fn queued(app: &TestApp, school: &TenantEntry, title: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM platform.outbox WHERE tenant_id = $1 AND subject LIKE '%' || $2 || '%'",
    )
    .bind(school.id.get())
    .bind(title)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn closing_mails_every_parent_their_final_time_or_that_there_is_none_once() {
    let db = TestDb::fresh().await;
    let mailbox = Mailbox::start(&db).await;
    let app = TestApp::spawn_with(TestAppOptions {
        db: Some(db),
        ..TestAppOptions::default()
    })
    .await;
    let school = app.create_school("Basisschool Het Slot", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    school::teach(&app, &school, teacher.person_id, "G4").await;
    // Group 3: Sanne's mother and father (who reads English); Daan's father books nothing.
    let mut mother = parent(&app, &school, "Anna de Vries", &["2026001"]).await;
    let father = parent(&app, &school, "Mark de Vries", &["2026001"]).await;
    let unbooked = parent(&app, &school, "Joost Bakker", &["2026002"]).await;
    exec(
        &app,
        &school,
        "UPDATE platform.accounts SET language = 'en'
          WHERE id = (SELECT account_id FROM people WHERE id = $1)",
        father.person_id,
    )
    .await;
    // Group 4: Elif's separated parents, each booking their own talk.
    let mut elif_mother = parent(&app, &school, "Ayşe Yılmaz", &["2026003"]).await;
    let mut elif_father = parent(&app, &school, "Emre Yılmaz", &["2026003"]).await;
    let (g3, g4) = (
        group(&app, &school, "G3B").await.to_string(),
        group(&app, &school, "G4").await.to_string(),
    );
    let (sanne, elif) = (
        pupil(&app, &school, "2026001").await,
        pupil(&app, &school, "2026003").await,
    );
    let shared_fields = small_round(&g3, "6");
    let (dutch_day, english_day) = weekdays(&shared_fields[4].1);
    let shared = create_round(&mut teacher.client, &host, &fields(&shared_fields)).await;
    let mut own_fields = small_round(&g4, "6");
    own_fields.push(("booking_mode", "per_parent".into()));
    let own = create_round(&mut teacher.client, &host, &fields(&own_fields)).await;
    publish(&mut teacher.client, &host, shared, false).await;
    publish(&mut teacher.client, &host, own, false).await;
    let a = slots(&app, &school, shared).await;
    let b = slots(&app, &school, own).await;
    assert_eq!(book(&mut mother, &host, a[2].0, sanne).await.status, 303);
    assert_eq!(
        book(&mut elif_mother, &host, b[0].0, elif).await.status,
        303
    );
    assert_eq!(
        book(&mut elif_father, &host, b[1].0, elif).await.status,
        303
    );
    // Elif's father changes his time before the close: the mail has the new one.
    assert_eq!(
        book(&mut elif_father, &host, b[3].0, elif).await.status,
        303
    );
    assert_eq!(queued(&app, &school, "Gesprekken").await, 0);

    // Closing without ticking the box that says every parent is mailed: refused, nothing sent.
    let page = teacher
        .client
        .get(&host, &format!("/conference-rounds/{shared}"))
        .await
        .text();
    assert!(page.contains("id=\"confirm-close\""), "{page}");
    let unconfirmed = teacher
        .client
        .post_form(&host, &format!("/conference-rounds/{shared}/close"), &[])
        .await;
    assert_eq!(unconfirmed.status, 400);
    assert!(
        unconfirmed.text().contains("confirm"),
        "{}",
        unconfirmed.text()
    );
    assert_eq!(queued(&app, &school, &format!("Gesprekken {g3}")).await, 0);

    // The teacher closes the shared round: one mail per parent, in their language.
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{shared}"))
        .await;
    let closed = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{shared}/close"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(closed.status, 303, "{}", closed.text());
    let title = format!("Gesprekken {g3}");
    assert_eq!(
        queued(&app, &school, &title).await,
        3,
        "one mail per parent"
    );
    let to_mother = mailbox.latest(&mother.email, 1).await;
    assert!(
        to_mother.subject.contains("Definitieve tijden"),
        "{}",
        to_mother.subject
    );
    for expected in [
        "Sanne de Vries",
        dutch_day,
        &mailed(&a[2]),
        "10 minuten",
        "met Juf Drie",
    ] {
        assert!(
            to_mother.text.contains(expected),
            "{expected}: {}",
            to_mother.text
        );
    }
    assert!(!to_mother.text.contains("geen tijd"), "{}", to_mother.text);
    let to_father = mailbox.latest(&father.email, 1).await;
    assert!(
        to_father.subject.contains("Final times"),
        "{}",
        to_father.subject
    );
    for expected in [english_day, &mailed(&a[2]), "10 minutes", "with Juf Drie"] {
        assert!(
            to_father.text.contains(expected),
            "{expected}: {}",
            to_father.text
        );
    }
    let to_unbooked = mailbox.latest(&unbooked.email, 1).await;
    assert!(
        to_unbooked
            .text
            .contains("Daan Bakker: voor dit kind is geen tijd ingepland")
            && to_unbooked.text.contains("contact op met Juf Drie"),
        "{}",
        to_unbooked.text
    );
    assert!(!to_unbooked.text.contains(&mailed(&a[2])));

    // The teacher sees it is closed and who has no time.
    let page = teacher
        .client
        .get(&host, &format!("/conference-rounds/{shared}"))
        .await
        .text();
    assert!(page.contains("id=\"closed-notice\""), "{page}");
    let without = &page[page.find("id=\"without-slot\"").expect("the list")..];
    let without = &without[..without.find("</section>").unwrap()];
    assert!(
        without.contains("Daan Bakker") && !without.contains("Sanne"),
        "{without}"
    );

    // Closing again is refused with its reason and mails nobody again; nor can parents book.
    let again = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{shared}/close"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(again.status, 400);
    assert!(again.text().contains("gesloten"), "{}", again.text());
    assert_eq!(queued(&app, &school, &title).await, 3);
    let late = book(&mut mother, &host, a[4].0, sanne).await;
    assert_eq!(late.status, 400);
    assert!(late.text().contains("gesloten"));
    assert_eq!(
        bookings(&app, &school, shared).await,
        [(a[2].0, sanne, None)]
    );

    // Per parent: each parent is told their own time only, the changed one its new time.
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{own}"))
        .await;
    let closed = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{own}/close"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(closed.status, 303);
    let to_elif_mother = mailbox.latest(&elif_mother.email, 1).await;
    let to_elif_father = mailbox.latest(&elif_father.email, 1).await;
    assert!(
        to_elif_mother.text.contains(&mailed(&b[0])),
        "{}",
        to_elif_mother.text
    );
    assert!(!to_elif_mother.text.contains(&mailed(&b[3])));
    assert!(
        to_elif_father.text.contains(&mailed(&b[3])),
        "{}",
        to_elif_father.text
    );
    assert!(!to_elif_father.text.contains(&mailed(&b[0])));
    assert!(
        !to_elif_father.text.contains(&mailed(&b[1])),
        "the old time is gone"
    );
    assert_eq!(
        queued(&app, &school, &format!("Gesprekken {g4}")).await,
        2,
        "Lotte's family has no account: nobody else to mail"
    );
}

#[tokio::test]
async fn the_teacher_downloads_a_pdf_overview_of_the_days_with_children_parents_free_slots_and_breaks()
 {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Het Overzicht", "").await;
    let other_school = app.create_school("Basisschool Ergens Anders", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut stranger =
        school::member(&app, &other_school, "Meester Elders", &[Role::Teacher]).await;
    let mut mother = parent(&app, &school, "Anna de Vries", &["2026001"]).await;
    parent(&app, &school, "Mark de Vries", &["2026001"]).await;
    let g3 = group(&app, &school, "G3B").await.to_string();
    let sanne = pupil(&app, &school, "2026001").await;
    let mut round_fields = small_round(&g3, "6");
    round_fields.push(("talks_before_break", "3".into()));
    round_fields.push(("break_minutes", "10".into()));
    let round = create_round(&mut teacher.client, &host, &fields(&round_fields)).await;
    publish(&mut teacher.client, &host, round, false).await;
    let all = slots(&app, &school, round).await;
    assert_eq!(all[3].1, "15:40-15:50", "a break after three talks");
    assert_eq!(book(&mut mother, &host, all[1].0, sanne).await.status, 303);

    let path = format!("/conference-rounds/{round}/overview.pdf");
    let page = teacher
        .client
        .get(&host, &format!("/conference-rounds/{round}"))
        .await
        .text();
    assert!(page.contains(&format!("href=\"{path}\"")), "{page}");
    let pdf = teacher.client.get(&host, &path).await;
    assert_eq!(pdf.status, 200, "{}", pdf.text());
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(
        pdf.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;") && d.contains(".pdf")),
        "{:?}",
        pdf.header("content-disposition")
    );
    assert!(pdf.body.starts_with(b"%PDF-"));
    // pdftotext spaces words as it measures them: compare with single spaces.
    let text = pdf_text(&pdf.body)
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let (dutch_day, _) = weekdays(&round_fields[4].1);
    for expected in [
        dutch_day,
        "15:10–15:20",
        "Sanne de Vries — Anna de Vries, Mark de Vries",
        "15:00–15:10 (vrij)",
        "15:30–15:40 pauze",
        "Juf Drie",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }

    // Parents may not; another school does not know the round; nor does an unknown id.
    assert_eq!(mother.client.get(&host, &path).await.status, 403);
    let elsewhere = stranger
        .client
        .get(&school_host(&other_school.slug), &path)
        .await;
    assert_eq!(elsewhere.status, 404);
    let unknown = teacher
        .client
        .get(
            &host,
            &format!("/conference-rounds/{}/overview.pdf", round + 1000),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
}
