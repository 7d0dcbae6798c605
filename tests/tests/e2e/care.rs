//! After-school care and lunch (D3): forty parents rushing twenty places get exactly twenty;
//! sign-up closes the evening before in Dutch time; a weekly pattern; the day list with
//! allergies for staff only; the month per family on the page and as CSV; the module switch.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::school::{self, Member, parent, quick_member};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::{TenantEntry, TenantTx};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn sql(app: &TestApp, school: &TenantEntry, statement: &str) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(statement.to_owned()))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    n
}

/// Adds a moment through the admin's form; its id.
async fn add_moment(
    app: &TestApp,
    school: &TenantEntry,
    admin: &mut Member,
    host: &str,
    fields: &[(&str, &str)],
) -> i64 {
    admin.client.get(host, "/care/admin").await;
    let added = admin.client.post_form(host, "/care/moments", fields).await;
    assert_eq!(added.status, 303, "{}", added.text());
    sql(app, school, "SELECT max(id) FROM care_moments").await
}

#[tokio::test]
async fn forty_parents_rushing_twenty_places_get_exactly_twenty() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Drukte", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    let moment = add_moment(
        &app,
        &school,
        &mut admin,
        &host,
        &[
            ("name", "Overblijven"),
            ("weekdays", "1"),
            ("weekdays", "2"),
            ("weekdays", "4"),
            ("capacity", "20"),
            ("price", "3,50"),
        ],
    )
    .await;
    sql(
        &app,
        &school,
        "WITH g AS (INSERT INTO groups (name) VALUES ('Groep 5') RETURNING id),
              p AS (INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
                    SELECT 'K' || n, 'Kind', 'Nummer ' || n, DATE '2018-01-01', g.id
                      FROM generate_series(1, 40) n, g RETURNING 1)
         SELECT count(*) FROM p",
    )
    .await;
    let mut parents = Vec::new();
    for n in 1..=40 {
        let member = quick_member(&app, &school, "Ouder", &[Role::Parent]).await;
        school::link_child(&app, &school, member.person_id, &format!("K{n}")).await;
        let child: i64 = school::id(
            &app,
            &school,
            "SELECT id FROM pupils WHERE import_key = $1",
            &format!("K{n}"),
        )
        .await;
        parents.push((member, child));
    }
    // Monday morning; Tuesday's places are open until Monday 18:00.
    app.state.clock.set(at("2026-12-07T09:00:00Z"));
    for (member, _) in &mut parents {
        assert_eq!(member.client.get(&host, "/care").await.status, 200);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(parents.len()));
    let tasks: Vec<_> = parents
        .into_iter()
        .map(|(mut member, child)| {
            let (barrier, host) = (barrier.clone(), host.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let answer = member
                    .client
                    .post_form(
                        &host,
                        "/care/signups",
                        &[
                            ("child", &child.to_string()),
                            ("moment", &moment.to_string()),
                            ("day", "2026-12-08"),
                        ],
                    )
                    .await;
                (
                    answer.status,
                    answer.header("location").unwrap_or_default().to_owned(),
                )
            })
        })
        .collect();
    let mut signed = 0;
    let mut full = 0;
    for task in tasks {
        let (status, location) = task.await.unwrap();
        assert_eq!(status, 303, "{location}");
        if location.contains("signed=1") {
            signed += 1;
        } else if location.contains("full=2026-12-08") {
            full += 1;
        }
    }
    assert_eq!((signed, full), (20, 20));
    assert_eq!(
        sql(&app, &school, "SELECT count(*) FROM care_signups").await,
        20
    );
    assert_eq!(
        sql(&app, &school, "SELECT taken::bigint FROM care_days").await,
        20
    );
}

#[tokio::test]
async fn sign_up_closes_the_evening_before_and_the_day_list_shows_allergies_to_staff_only() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Opvang", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf Drie", &[Role::Teacher]).await;
    let mut mother = parent(&app, &school, "Anna de Vries", &["2026001", "2026003"]).await;
    let sanne = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026001",
    )
    .await
    .to_string();
    let elif = school::id(
        &app,
        &school,
        "SELECT id FROM pupils WHERE import_key = $1",
        "2026003",
    )
    .await
    .to_string();
    sql(
        &app,
        &school,
        "WITH m AS (INSERT INTO pupil_medical (pupil_id, allergies, medical)
                    SELECT id, 'Pinda''s (EpiPen in de tas)', 'Astma' FROM pupils WHERE import_key = '2026001'
                    RETURNING 1) SELECT count(*) FROM m",
    )
    .await;

    // The moment form keeps what was typed after a mistake.
    admin.client.get(&host, "/care/admin").await;
    let wrong = admin
        .client
        .post_form(
            &host,
            "/care/moments",
            &[
                ("name", "Overblijven"),
                ("weekdays", "1"),
                ("capacity", "20"),
                ("price", "drie euro"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.text().contains("id=\"price-error\"") && wrong.text().contains("value=\"drie euro\""),
        "{}",
        wrong.text()
    );
    let none = admin
        .client
        .post_form(
            &host,
            "/care/moments",
            &[("name", "Overblijven"), ("capacity", "20"), ("price", "3")],
        )
        .await;
    assert_eq!(none.status, 400);
    let moment = add_moment(
        &app,
        &school,
        &mut admin,
        &host,
        &[
            ("name", "Overblijven"),
            ("weekdays", "1"),
            ("weekdays", "2"),
            ("weekdays", "4"),
            ("capacity", "10"),
            ("price", "3,50"),
        ],
    )
    .await
    .to_string();

    // Monday 7 December, 17:59 Dutch time: Tuesday is still open.
    app.state.clock.set(at("2026-12-07T16:59:00Z"));
    mother.client.get(&host, "/care").await;
    let tuesday = mother
        .client
        .post_form(
            &host,
            "/care/signups",
            &[
                ("child", &sanne),
                ("moment", &moment),
                ("day", "2026-12-08"),
            ],
        )
        .await;
    assert_eq!(tuesday.status, 303);
    assert!(tuesday.header("location").unwrap().contains("signed=1"));
    // 18:01: closed, for signing up and for cancelling.
    app.state.clock.set(at("2026-12-07T17:01:00Z"));
    let late = mother
        .client
        .post_form(
            &host,
            "/care/signups",
            &[("child", &elif), ("moment", &moment), ("day", "2026-12-08")],
        )
        .await;
    assert_eq!(late.status, 400);
    assert!(
        late.text().contains("tot de avond ervoor") && late.text().contains("id=\"day-error\""),
        "{}",
        late.text()
    );
    let signup = sql(&app, &school, "SELECT max(id) FROM care_signups").await;
    assert_eq!(
        mother
            .client
            .post_form(&host, &format!("/care/signups/{signup}/cancel"), &[])
            .await
            .status,
        400
    );
    // Not on a day the moment does not run.
    let wednesday = mother
        .client
        .post_form(
            &host,
            "/care/signups",
            &[("child", &elif), ("moment", &moment), ("day", "2026-12-09")],
        )
        .await;
    assert_eq!(wednesday.status, 400);
    assert!(
        wednesday.text().contains("geen opvang"),
        "{}",
        wednesday.text()
    );
    // Every Monday and Thursday until 17 December: Thursday the 10th, Monday 14, Thursday 17.
    let weekly = mother
        .client
        .post_form(
            &host,
            "/care/signups",
            &[
                ("child", &elif),
                ("moment", &moment),
                ("repeat", "weekly"),
                ("weekdays", "1"),
                ("weekdays", "4"),
                ("from_day", "2026-12-07"),
                ("until_day", "2026-12-17"),
            ],
        )
        .await;
    assert_eq!(weekly.status, 303);
    assert!(
        weekly.header("location").unwrap().contains("signed=3"),
        "{:?}",
        weekly.header("location")
    );
    let page = mother.client.get(&host, "/care").await.text();
    assert!(
        page.contains("donderdag 10 december 2026") && page.contains("4 dagen, € 14,00"),
        "{page}"
    );
    // Another parent of nobody here cannot cancel it.
    let mut stranger = parent(&app, &school, "Joost Bakker", &["2026002"]).await;
    stranger.client.get(&host, "/care").await;
    let elifs = sql(&app, &school, "SELECT max(id) FROM care_signups").await;
    assert_eq!(
        stranger
            .client
            .post_form(&host, &format!("/care/signups/{elifs}/cancel"), &[])
            .await
            .status,
        404
    );
    assert_eq!(
        mother
            .client
            .post_form(&host, &format!("/care/signups/{elifs}/cancel"), &[])
            .await
            .status,
        303
    );

    // The day list: staff see the allergies; parents may not open it.
    let list = teacher
        .client
        .get(&host, &format!("/care/day?day=2026-12-08&moment={moment}"))
        .await
        .text();
    assert!(
        list.contains("Sanne de Vries")
            && list.contains("Pinda&#x27;s (EpiPen in de tas)")
            && list.contains("Astma"),
        "{list}"
    );
    assert!(list.contains("1 / 10"), "{list}");
    assert_eq!(mother.client.get(&host, "/care/day").await.status, 403);

    // The month per family, and as CSV for the billing.
    let month = admin
        .client
        .get(&host, "/care/month?month=2026-12")
        .await
        .text();
    assert!(
        month.contains("Anna de Vries") && month.contains("€ 10,50"),
        "{month}"
    );
    let csv = admin
        .client
        .get(&host, "/care/month.csv?month=2026-12")
        .await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    assert!(
        text.contains("Ouder;E-mail;Kinderen;Moment;Dagen;Bedrag in centen;Bedrag"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Anna de Vries;{};", mother.email))
            && text.contains(";Overblijven;3;1050;10,50"),
        "{text}"
    );
    assert_eq!(
        teacher.client.get(&host, "/care/month.csv").await.status,
        403
    );
    assert_eq!(
        admin
            .client
            .get(&host, "/care/month?month=2026-13")
            .await
            .status,
        400
    );

    // The module off: gone for everyone.
    school::switch_off(
        &mut admin.client,
        &host,
        schoolplein_kernel::settings::Module::Care,
    )
    .await;
    for path in [
        "/care",
        "/care/day",
        "/care/admin",
        "/care/month",
        "/care/month.csv",
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
            .contains("nav-care")
    );
}
