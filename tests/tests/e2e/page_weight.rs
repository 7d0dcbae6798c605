//! Page weight (issue 18, "a portal people use every day"): every page a visitor, a parent, a
//! teacher and an admin can reach in a school with realistic content — its HTML with the
//! stylesheets and scripts it loads from the school's own host, each compressed with gzip as
//! it travels (images aside) — weighs under 30 KB. Sizes are deterministic, so the target is
//! asserted; the table of every page, heaviest first, is printed (`--no-capture`).
//!
//! The pages: the GET routes of every module (as `frame.rs` lists them) with real ids filled
//! in, plus every same-host link found on the pages reached, up to two pages per kind of
//! address (`/posts/12` and `/posts/13` are one kind), leaving out files, downloads, feeds
//! and links that sign out, switch schools or use a token.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Write as _;

use chrono::{Datelike, Duration, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use schoolplein_kernel::Role;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, Member};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::{TenantEntry, TenantTx};

/// The target: HTML + CSS + JS of one page, compressed.
const LIMIT: usize = 30 * 1024;
/// Pages of one kind of address weighed per person (beyond the ones asked for by name).
const PER_KIND: usize = 2;
/// Pages weighed per person at most, so a link pattern nobody foresaw cannot run away.
const MAX_PAGES: usize = 300;

/// Groups of the school, as the administration names them (the CSV's key), 28 pupils each.
const GROUPS: [&str; 8] = [
    "Groep 1/2a",
    "Groep 1/2b",
    "Groep 3",
    "Groep 4",
    "Groep 5",
    "Groep 6",
    "Groep 7",
    "Groep 8",
];
const PUPILS_PER_GROUP: usize = 28;
/// The teacher's group, where the album, the group's folder and the conference round are.
const TEACHERS_GROUP: &str = "Groep 3";
/// The signed-in parent's children: one in group 3, one in group 6.
const CHILDREN: [&str; 2] = ["2026060", "2026150"];

const FIRST_NAMES: [&str; 24] = [
    "Sanne", "Daan", "Elif", "Noah", "Emma", "Liam", "Julia", "Sem", "Tess", "Lucas", "Mila",
    "Finn", "Zoë", "Mohammed", "Saar", "Levi", "Nora", "Bram", "Yara", "Thijs", "Lotte", "Ayoub",
    "Fenna", "Jesse",
];
const LAST_NAMES: [(&str, &str); 20] = [
    ("de", "Vries"),
    ("", "Bakker"),
    ("", "Yılmaz"),
    ("", "Jansen"),
    ("van", "Dijk"),
    ("", "Visser"),
    ("", "Smit"),
    ("de", "Boer"),
    ("", "Mulder"),
    ("van den", "Berg"),
    ("", "El Amrani"),
    ("", "Meijer"),
    ("van der", "Linden"),
    ("", "Hendriks"),
    ("", "Kaya"),
    ("", "Peters"),
    ("de", "Graaf"),
    ("", "Kok"),
    ("van", "Leeuwen"),
    ("", "Dekker"),
];
const PARENT_NAMES: [&str; 16] = [
    "Anna", "Mark", "Petra", "Joost", "Ayşe", "Karim", "Linda", "Erik", "Fatima", "Dennis",
    "Marloes", "Hans", "Sarah", "Youssef", "Ingrid", "Tim",
];

/// A name as the local part of an address writes it: lower case, plain letters.
fn mailbox(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'ş' => Some('s'),
            'ı' => Some('i'),
            'ë' => Some('e'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The pupil administration's export: `GROUPS` × `PUPILS_PER_GROUP` pupils, keys 2026001 on,
/// most with two contacts (mother and father), every fifth with one.
fn roster_csv() -> String {
    let this_year = Utc::now().year();
    let mut csv = String::from(
        "leerlingnummer;roepnaam;tussenvoegsel;achternaam;geboortedatum;groep;\
         ouder1_relatie;ouder1_naam;ouder1_email;ouder1_telefoon;\
         ouder2_relatie;ouder2_naam;ouder2_email;ouder2_telefoon\n",
    );
    for (g, group) in GROUPS.iter().enumerate() {
        // Groups 1/2 are four or five years old, group 3 six, … group 8 eleven.
        let age = 5 + g.saturating_sub(1) as i32;
        for p in 0..PUPILS_PER_GROUP {
            let n = g * PUPILS_PER_GROUP + p + 1;
            let first = FIRST_NAMES[n % FIRST_NAMES.len()];
            let (prefix, last) = LAST_NAMES[(n * 7) % LAST_NAMES.len()];
            let full_last = if prefix.is_empty() {
                last.to_owned()
            } else {
                format!("{prefix} {last}")
            };
            let mail_last = mailbox(&full_last);
            let born = format!("{:02}-{:02}-{}", 1 + n % 28, 1 + n % 12, this_year - age);
            let mother = PARENT_NAMES[n % PARENT_NAMES.len()];
            let father = PARENT_NAMES[(n + 5) % PARENT_NAMES.len()];
            let mut line = format!(
                "{};{first};{prefix};{last};{born};{group};moeder;{mother} {full_last};{}.{mail_last}{n}@voorbeeld.nl;06-{:08}",
                2026000 + n,
                mailbox(mother),
                10_000_000 + n * 7919
            );
            if n.is_multiple_of(5) {
                line.push_str(";;;;");
            } else {
                line.push_str(&format!(
                    ";vader;{father} {full_last};{}.{mail_last}{n}@voorbeeld.nl;06-{:08}",
                    mailbox(father),
                    20_000_000 + n * 6007
                ));
            }
            csv.push_str(&line);
            csv.push('\n');
        }
    }
    csv
}

/// A school in use, after the roster's import: nine in ten contacts registered as parents and
/// linked to their child; a teacher for every group; the last four months of posts (about
/// three a week for the whole school and one or two a week per group), which the parents
/// opened except the last week's; and the calendar around today (about one event a school
/// day, a third for the whole school, over ten months).
const SCHOOL_IN_USE_SQL: &str = "
INSERT INTO people (name, email, kind, roles, created_at)
SELECT DISTINCT ON (lower(c->>'email')) c->>'name', c->>'email', 'parent', '{parent}', now() - interval '90 days'
  FROM pupils p, jsonb_array_elements(p.contacts) c
 WHERE c->>'email' IS NOT NULL AND p.id % 10 <> 7
ON CONFLICT DO NOTHING;
INSERT INTO guardians (pupil_id, person_id, status, approved_at)
SELECT p.id, pe.id, 'active', now() - interval '90 days'
  FROM pupils p, jsonb_array_elements(p.contacts) c
  JOIN people pe ON lower(pe.email) = lower(c->>'email')
ON CONFLICT DO NOTHING;
INSERT INTO people (name, email, kind, roles)
SELECT 'Leerkracht ' || g.name, 'leerkracht' || g.id || '@klimop.example.nl', 'staff', '{teacher}'
  FROM groups g;
INSERT INTO group_teachers (group_id, person_id)
SELECT g.id, pe.id FROM groups g JOIN people pe ON pe.email = 'leerkracht' || g.id || '@klimop.example.nl';
WITH plan AS (
    SELECT n, n % 5 = 0 AS whole_school,
           (SELECT id FROM groups ORDER BY year, name OFFSET n % 8 LIMIT 1) AS group_id,
           now() - interval '120 days' + n * interval '12 hours' AS published_at
      FROM generate_series(1, 230) n
), inserted AS (
    INSERT INTO posts (kind, title, body, author_id, whole_school, published_at)
    SELECT 'news',
           CASE WHEN plan.whole_school THEN 'Nieuws van de directie, week ' ELSE 'Uit de klas, bericht ' END || plan.n,
           repeat('Deze week hebben we in de klas gewerkt aan het thema herfst en de kinderen hebben veel geleerd. ', 2 + plan.n % 4)
               || E'\\n\\n' || repeat('Vergeet u niet de gymspullen mee te geven op dinsdag en donderdag? ', 1 + plan.n % 2)
               || E'\\n\\nMet vriendelijke groet,\\nHet team van De Klimop',
           (SELECT person_id FROM group_teachers WHERE group_id = plan.group_id LIMIT 1),
           plan.whole_school, plan.published_at
      FROM plan ORDER BY plan.n
    RETURNING id, published_at
)
INSERT INTO post_groups (post_id, group_id)
SELECT inserted.id, plan.group_id
  FROM inserted JOIN plan ON plan.published_at = inserted.published_at
 WHERE NOT plan.whole_school;
INSERT INTO post_reads (post_id, person_id, read_at)
SELECT po.id, g.person_id, po.published_at + interval '3 hours'
  FROM posts po
  JOIN pupils p ON po.whole_school OR p.group_id IN (SELECT group_id FROM post_groups WHERE post_id = po.id)
  JOIN guardians g ON g.pupil_id = p.id
 WHERE po.published_at < now() - interval '7 days'
ON CONFLICT DO NOTHING;
WITH plan AS (
    SELECT n, n % 3 = 0 AS whole_school, n % 9 = 4 AS all_day,
           (ARRAY['Gymles buiten', 'Excursie naar het museum', 'Ouderavond', 'Studiedag team',
                  'Voorleesontbijt', 'Schoolfotograaf', 'Sportdag', 'Kijkmiddag'])[1 + n % 8]
               || ' (' || n || ')' AS title,
           (SELECT id FROM groups ORDER BY year, name OFFSET n % 8 LIMIT 1) AS group_id,
           CASE WHEN n % 10 = 0 THEN 'staff' WHEN n % 7 = 0 THEN 'public' ELSE 'members' END AS visibility,
           date_trunc('day', now()) - interval '150 days' + n * interval '1 day'
               + (8 + n % 7) * interval '1 hour' AS starts_at
      FROM generate_series(1, 300) n
     WHERE extract(isodow FROM date_trunc('day', now()) - interval '150 days' + n * interval '1 day') < 6
), inserted AS (
    INSERT INTO events (title, description, place, visibility, whole_school, starts_at, ends_at,
                        first_day, last_day, author_id)
    SELECT plan.title,
           repeat('Graag op tijd komen; neemt uw kind een lunchpakket en een drinkbeker mee? ', 1 + plan.n % 3),
           CASE WHEN plan.n % 2 = 0 THEN 'Gymzaal Schoolstraat' ELSE '' END,
           plan.visibility, plan.whole_school,
           CASE WHEN plan.all_day
                THEN (plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date::timestamp AT TIME ZONE 'Europe/Amsterdam'
                ELSE plan.starts_at END,
           CASE WHEN plan.all_day
                THEN ((plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam'
                ELSE plan.starts_at + interval '90 minutes' END,
           CASE WHEN plan.all_day THEN (plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date END,
           CASE WHEN plan.all_day THEN (plan.starts_at AT TIME ZONE 'Europe/Amsterdam')::date END,
           (SELECT person_id FROM group_teachers WHERE group_id = plan.group_id LIMIT 1)
      FROM plan ORDER BY plan.n
    RETURNING id, title
)
INSERT INTO event_groups (event_id, group_id)
SELECT inserted.id, plan.group_id
  FROM inserted JOIN plan ON plan.title = inserted.title
 WHERE NOT plan.whole_school;
";

/// The school's monthly newsletter as the admin writes it: headings, lists, a link, ~6,000
/// characters.
fn newsletter() -> String {
    let mut body = String::from(
        "<h2>Van de directie</h2>\n\nBeste ouders en verzorgers,\n\nDe eerste maanden van het \
         schooljaar zijn voorbij gevlogen. In deze nieuwsbrief leest u wat er de komende weken \
         gebeurt, wat we van u vragen en wat de kinderen de afgelopen tijd hebben gedaan.\n\n",
    );
    let sections = [
        (
            "Sinterklaas",
            "Op vrijdag 5 december komt Sinterklaas op school. De kinderen van groep 1 tot en met 4 \
             vieren het feest in de aula, de bovenbouw maakt surprises en gedichten voor elkaar.",
        ),
        (
            "Kerstviering",
            "Donderdag 18 december eten we met alle kinderen in de klas. Op de intekenlijst bij \
             de deur van de klas kunt u aangeven wat u wilt maken; denkt u aan de allergieën?",
        ),
        (
            "Luizencontrole",
            "Na elke vakantie controleren de luizenouders alle kinderen. Wilt u op de eerste \
             maandag na de vakantie geen gel of vlechten in het haar doen?",
        ),
        (
            "Verkeersveiligheid",
            "Het is 's ochtends erg druk voor de school. Parkeer alstublieft niet op de stoep \
             en laat de kinderen zoveel mogelijk lopend of met de fiets komen.",
        ),
        (
            "Nieuws uit de medezeggenschapsraad",
            "De MR heeft ingestemd met de schoolgids en het jaarplan. De notulen liggen ter \
             inzage bij de administratie en staan op de website.",
        ),
    ];
    for (title, text) in sections {
        body.push_str(&format!("<h2>{title}</h2>\n\n{text} {text}\n\n"));
        body.push_str(
            "<ul><li>Neem op tijd contact op met de leerkracht als er iets is.</li>\
             <li>Kijk in de kalender van het portaal voor de juiste data.</li>\
             <li>Vragen? De administratie is bereikbaar van 8:00 tot 12:30.</li></ul>\n\n",
        );
    }
    body.push_str(
        "Meer informatie vindt u op <a href=\"https://www.example.nl/schoolgids\">de website</a>.\
         \n\nMet vriendelijke groet,\nNamens het team,\nde directie",
    );
    body
}

/// A photo with some detail in it, as a phone's picture scaled down would have.
fn photo(seed: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([
            ((x * 3 + seed * 40) % 256) as u8,
            ((y * 2 + x / 4) % 256) as u8,
            ((x ^ y).wrapping_add(seed * 17) % 256) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encoded");
    out.into_inner()
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// The id in the `Location` of a 303 after `prefix`.
fn created(answer: &schoolplein_tests::RawResponse, prefix: &str, what: &str) -> i64 {
    assert_eq!(answer.status, 303, "{what}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split(['?', '/']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{what}: the new address in {:?}", answer.headers))
}

/// What the test made, by id, to fill into the routes.
struct Content {
    newsletter: i64,
    questionnaire: i64,
    board: i64,
    event: i64,
    album: i64,
    photo: i64,
    school_folder: i64,
    group_folder: i64,
    round: i64,
    group: i64,
    parent: i64,
    next_month: String,
}

/// The school's roster, people and content; returns the signed-in admin, teacher and parent.
async fn school_with_content(
    app: &TestApp,
    school: &TenantEntry,
) -> (Member, Member, Member, Content) {
    let host = school_host(&school.slug);
    let mut admin = school::member(app, school, "Directeur Van Dam", &[Role::SchoolAdmin]).await;
    admin.client.get(&host, "/admin/import").await;
    let imported = admin
        .client
        .post_file(
            &host,
            "/admin/import",
            "leerlingen.csv",
            roster_csv().as_bytes(),
            None,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text());
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::raw_sql(SCHOOL_IN_USE_SQL)
        .execute(&mut *tx)
        .await
        .expect("the school in use");
    tx.commit().await.unwrap();

    let mut teacher = school::member(app, school, "Juf Marieke", &[Role::Teacher]).await;
    school::teach(app, school, teacher.person_id, TEACHERS_GROUP).await;
    let mut parent = school::parent(app, school, "Anna de Vries", &CHILDREN).await;
    // Like the other parents, she has read what came before the last week.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query(
        "INSERT INTO post_reads (post_id, person_id, read_at)
         SELECT po.id, $1, po.published_at + interval '3 hours' FROM posts po
          WHERE po.published_at < now() - interval '7 days'
         ON CONFLICT DO NOTHING",
    )
    .bind(parent.person_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let group = school::id(
        app,
        school,
        "SELECT id FROM groups WHERE import_key = $1",
        TEACHERS_GROUP,
    )
    .await;
    let g = group.to_string();

    // Posts through the form: the newsletter, an urgent message, a questionnaire, a board
    // item with answers, an agenda item.
    let newsletter_body = newsletter();
    let newsletter = school::publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Nieuwsbrief december"),
            ("body", &newsletter_body),
            ("whole_school", "on"),
        ],
    )
    .await;
    school::publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "School morgen dicht door storm"),
            (
                "body",
                "Vanwege het zware weer is de school morgen gesloten. Opvang is er niet.\n\nDe directie",
            ),
            ("whole_school", "on"),
            ("urgent", "on"),
        ],
    )
    .await;
    let in_four_weeks = (Utc::now() + Duration::days(28)).format("%Y-%m-%dT12:00");
    let until = in_four_weeks.to_string();
    let questionnaire = school::publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "news"),
            ("title", "Kijkavond groep 3"),
            (
                "body",
                "Op de kijkavond laten de kinderen zien waar ze aan werken. Komt u ook?",
            ),
            ("groups", &g),
            ("q1_kind", "yes_no"),
            ("q1_prompt", "Komt u naar de kijkavond?"),
            ("q2_kind", "one_choice"),
            ("q2_prompt", "Hoe laat komt u?"),
            ("q2_options", "17:00\n18:00\n19:00"),
            ("q3_kind", "many_choices"),
            ("q3_prompt", "Wat neemt u mee?"),
            ("q3_options", "taart\nfruit\ndrinken"),
            ("q4_kind", "short_text"),
            ("q4_prompt", "Opmerking"),
            ("answers_until", &until),
        ],
    )
    .await;
    let board = school::publish(
        &mut teacher.client,
        &host,
        &[
            ("kind", "board"),
            ("title", "Wie kan vrijdag rijden naar het museum?"),
            ("body", "We zoeken vier ouders met een auto."),
            ("groups", &g),
        ],
    )
    .await;
    parent.client.get(&host, &format!("/posts/{board}")).await;
    let answered = parent
        .client
        .post_form(
            &host,
            &format!("/posts/{board}/answers"),
            &[("body", "Ik kan rijden, met drie plekken.")],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.text());
    let in_two_weeks = (Utc::now() + Duration::days(14)).format("%Y-%m-%d");
    let happens_on = in_two_weeks.to_string();
    school::publish(
        &mut admin.client,
        &host,
        &[
            ("kind", "agenda"),
            ("title", "Kerstviering"),
            ("body", "Alle kinderen eten 's avonds in de klas."),
            ("happens_on", &happens_on),
            ("whole_school", "on"),
        ],
    )
    .await;

    // An event through the form, with a long description.
    let description = "Alle ouders zijn welkom op de informatieavond over het nieuwe schooljaar. \
                       We vertellen over de methodes, de toetsen en de rapporten. "
        .repeat(6);
    admin.client.get(&host, "/calendar/events/new").await;
    let event = created(
        &admin
            .client
            .post_form(
                &host,
                "/calendar/events",
                &[
                    ("title", "Informatieavond"),
                    ("start_date", &happens_on),
                    ("start_time", "19:30"),
                    ("end_time", "21:00"),
                    ("whole_school", "on"),
                    ("visibility", "public"),
                    ("place", "Aula"),
                    ("description", &description),
                ],
            )
            .await,
        "/calendar/events/",
        "the event",
    );

    // An album of the group's outing, six photos.
    teacher.client.get(&host, "/albums").await;
    let album = created(
        &teacher
            .client
            .post_form(
                &host,
                "/albums",
                &[("title", "Uitje naar de kinderboerderij"), ("group_id", &g)],
            )
            .await,
        "/albums/",
        "the album",
    );
    for seed in 0..6 {
        teacher.client.get(&host, &format!("/albums/{album}")).await;
        let answer = teacher
            .client
            .post_file(
                &host,
                &format!("/albums/{album}/photos"),
                &format!("boerderij-{seed}.jpg"),
                &photo(seed),
                None,
            )
            .await;
        assert_eq!(answer.status, 303, "photo {seed}: {}", answer.text());
    }
    let album_page = teacher
        .client
        .get(&host, &format!("/albums/{album}"))
        .await
        .text();
    let photo_id = album_page
        .split("id=\"photo-")
        .nth(1)
        .and_then(|rest| rest.split('"').next()?.parse().ok())
        .expect("a photo on the album's page");

    // Documents: the school's folder with newsletters, the group's with homework.
    admin.client.get(&host, "/documents").await;
    let school_folder = created(
        &admin
            .client
            .post_form(
                &host,
                "/documents",
                &[("name", "Nieuwsbrieven"), ("group_id", "")],
            )
            .await,
        "/documents/",
        "the school's folder",
    );
    for month in ["september", "oktober", "november", "december"] {
        admin
            .client
            .get(&host, &format!("/documents/{school_folder}"))
            .await;
        let answer = admin
            .client
            .post_file(
                &host,
                &format!("/documents/{school_folder}/files"),
                &format!("nieuwsbrief-{month}.pdf"),
                PDF,
                None,
            )
            .await;
        assert_eq!(answer.status, 303, "{month}: {}", answer.text());
    }
    teacher.client.get(&host, "/documents").await;
    let group_folder = created(
        &teacher
            .client
            .post_form(
                &host,
                "/documents",
                &[("name", "Huiswerk groep 3"), ("group_id", &g)],
            )
            .await,
        "/documents/",
        "the group's folder",
    );
    teacher
        .client
        .get(&host, &format!("/documents/{group_folder}"))
        .await;
    let answer = teacher
        .client
        .post_file(
            &host,
            &format!("/documents/{group_folder}/files"),
            "rekenblad.pdf",
            PDF,
            None,
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());

    // A special group parents can join.
    admin.client.get(&host, "/special-groups").await;
    let answer = admin
        .client
        .post_form(
            &host,
            "/special-groups",
            &[
                ("name", "Voorleesouders"),
                ("activity", "1"),
                ("max_participants", "10"),
                (
                    "description",
                    "Elke vrijdagochtend lezen we voor in de onderbouw.",
                ),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());

    // The group's conference round: a talk for each of its 28 children over two afternoons,
    // published; the parent books one.
    teacher.client.get(&host, "/conference-rounds").await;
    let start_date = (Utc::now() + Duration::days(21))
        .format("%Y-%m-%d")
        .to_string();
    let extra_day = (Utc::now() + Duration::days(23))
        .format("%Y-%m-%d")
        .to_string();
    let talks = PUPILS_PER_GROUP.to_string();
    let round = created(
        &teacher
            .client
            .post_form(
                &host,
                "/conference-rounds",
                &[
                    ("group", &g),
                    ("title", "Rapportgesprekken groep 3"),
                    ("talks", &talks),
                    ("talk_minutes", "10"),
                    ("start_date", &start_date),
                    ("extra_day", &extra_day),
                    ("day_start", "15:00"),
                    ("day_end", "18:00"),
                ],
            )
            .await,
        "/conference-rounds/",
        "the conference round",
    );
    teacher
        .client
        .get(&host, &format!("/conference-rounds/{round}"))
        .await;
    let answer = teacher
        .client
        .post_form(
            &host,
            &format!("/conference-rounds/{round}/publish"),
            &[("invitation", "Kies een tijd voor het rapportgesprek.")],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    let slot: i64 = sqlx::query_scalar(
        "SELECT id FROM conference_slots WHERE round_id = $1 ORDER BY starts_at OFFSET 3 LIMIT 1",
    )
    .bind(round)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let child = school::id(
        app,
        school,
        "SELECT id FROM pupils WHERE import_key = $1",
        CHILDREN[0],
    )
    .await;
    parent.client.get(&host, "/conferences").await;
    let answer = parent
        .client
        .post_form(
            &host,
            "/conferences/book",
            &[("slot", &slot.to_string()), ("child", &child.to_string())],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());

    let next_month = (Utc::now() + Duration::days(31))
        .format("%Y-%m")
        .to_string();
    let content = Content {
        newsletter,
        questionnaire,
        board,
        event,
        album,
        photo: photo_id,
        school_folder,
        group_folder,
        round,
        group,
        parent: parent.person_id,
        next_month,
    };
    (admin, teacher, parent, content)
}

/// The pages asked for by name: the GET routes of every module with this school's ids.
fn routes(c: &Content) -> Vec<String> {
    let mut paths: Vec<String> = [
        "/",
        "/sign-in",
        "/register",
        "/password/forgot",
        "/timeline",
        "/posts/new",
        "/notifications",
        "/recipient-lists",
        "/notices",
        "/account",
        "/schools",
        "/partner",
        "/children",
        "/calendar",
        "/calendar/upcoming",
        "/calendar/events/new",
        "/calendar/feeds",
        "/conference-rounds",
        "/conferences",
        "/albums",
        "/documents",
        "/groups",
        "/special-groups",
        "/admin/settings",
        "/admin/groups",
        "/admin/import",
        "/admin/import/teachers",
        "/admin/invitations",
        "/admin/parents",
        "/admin/people",
        "/admin/image-consent",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    paths.extend([
        format!("/posts/{}", c.newsletter),
        format!("/posts/{}/edit", c.newsletter),
        format!("/posts/{}/delete", c.newsletter),
        format!("/posts/{}", c.questionnaire),
        format!("/posts/{}", c.board),
        format!("/calendar?month={}", c.next_month),
        format!("/calendar/events/{}", c.event),
        format!("/calendar/events/{}/edit", c.event),
        format!("/conference-rounds/{}", c.round),
        format!("/albums/{}", c.album),
        format!("/albums/{}/photos/{}", c.album, c.photo),
        format!("/documents/{}", c.school_folder),
        format!("/documents/{}", c.group_folder),
        format!("/groups/{}", c.group),
        format!("/admin/parents/{}", c.parent),
    ]);
    paths
}

/// Whether a link found on a page is a page to weigh: not a file, download, feed or image,
/// and nothing that signs out, switches schools or spends a token.
fn worth_weighing(path: &str) -> bool {
    let bare = path.split(['?', '#']).next().unwrap_or(path);
    const FILES: [&str; 7] = [
        ".pdf",
        ".ics",
        ".svg",
        "/download",
        "/original",
        "/thumbnail",
        "/photo",
    ];
    const AWAY: [&str; 12] = [
        "/static/",
        "/feeds/",
        "/api/",
        "/dev/",
        "/r/",
        "/session/",
        "/sign-out",
        "/account/email/",
        "/password/reset/",
        "/invitation/",
        "/invited/",
        "/register/confirm/",
    ];
    path.starts_with('/')
        && !path.starts_with("//")
        && !FILES.iter().any(|end| bare.ends_with(end))
        && !bare.contains("/files/")
        && !bare.contains("/attachments/")
        && !AWAY.iter().any(|start| bare.starts_with(start))
        && !(bare.starts_with("/schools/") && bare != "/schools")
}

/// The kind of an address: digits and query values left out (`/posts/#`, `/calendar?month`).
fn kind_of(path: &str) -> String {
    let (bare, query) = path.split_once('?').unwrap_or((path, ""));
    let mut kind: String = bare
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    // "/posts/12" and "/posts/3" are one kind: a run of digits is one '#'.
    while kind.contains("##") {
        kind = kind.replace("##", "#");
    }
    let mut keys: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter(|key| !key.is_empty())
        .collect();
    keys.sort_unstable();
    if !keys.is_empty() {
        kind.push('?');
        kind.push_str(&keys.join("&"));
    }
    kind
}

/// The values of `attribute` on the tags named `tag` that satisfy `wanted`.
fn attributes(
    html: &str,
    tag: &str,
    attribute: &str,
    wanted: impl Fn(&str) -> bool,
) -> Vec<String> {
    let open = format!("<{tag} ");
    let needle = format!("{attribute}=\"");
    html.split(&open)
        .skip(1)
        .filter_map(|rest| {
            let element = &rest[..rest.find('>')?];
            if !wanted(element) {
                return None;
            }
            let at = element.find(&needle)? + needle.len();
            Some(element[at..at + element[at..].find('"')?].to_owned())
        })
        .collect()
}

/// HTML attribute text as the browser reads it (Tera escapes `/` and `&`).
fn unescape(value: &str) -> String {
    value
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
        .replace("&#x3D;", "=")
}

fn gzip(bytes: &[u8]) -> usize {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("compressed");
    encoder.finish().expect("compressed").len()
}

/// One page's weight.
struct Weight {
    role: &'static str,
    path: String,
    html: usize,
    /// Stylesheets and scripts, as sent.
    assets: usize,
    /// HTML, stylesheets and scripts, each compressed as it travels.
    compressed: usize,
}

/// Every page `client` reaches from `routes` and the links on them, weighed.
async fn weigh_pages(
    role: &'static str,
    client: &mut Client,
    host: &str,
    routes: &[String],
    assets: &mut HashMap<String, (usize, usize)>,
) -> Vec<Weight> {
    let mut queue: VecDeque<(String, bool)> =
        routes.iter().map(|path| (path.clone(), true)).collect();
    let mut seen: HashSet<String> = routes.iter().cloned().collect();
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut weights = Vec::new();
    while let Some((path, named)) = queue.pop_front() {
        assert!(
            weights.len() < MAX_PAGES,
            "{role} reached more than {MAX_PAGES} pages: a link pattern to leave out?"
        );
        let kind = kind_of(&path);
        let count = per_kind.entry(kind).or_default();
        if !named && *count >= PER_KIND {
            continue;
        }
        let page = client.get(host, &path).await;
        let is_html = page
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"));
        if page.status != 200 || !is_html {
            continue;
        }
        *count += 1;
        let html = page.text();
        let mut weight = Weight {
            role,
            path: path.clone(),
            html: page.body.len(),
            assets: 0,
            compressed: gzip(&page.body),
        };
        let styles = attributes(&html, "link", "href", |e| e.contains("rel=\"stylesheet\""));
        let scripts = attributes(&html, "script", "src", |_| true);
        for asset in styles.iter().chain(&scripts).map(|a| unescape(a)) {
            assert!(
                asset.starts_with('/') && !asset.starts_with("//"),
                "{role} {path}: {asset} is not on the school's own host"
            );
            if !assets.contains_key(&asset) {
                let answer = client.get(host, &asset).await;
                assert_eq!(answer.status, 200, "{asset}");
                assets.insert(asset.clone(), (answer.body.len(), gzip(&answer.body)));
            }
            let (raw, compressed) = assets[&asset];
            weight.assets += raw;
            weight.compressed += compressed;
        }
        weights.push(weight);
        for link in attributes(&html, "a", "href", |_| true) {
            let link = unescape(&link);
            let link = link.split('#').next().unwrap_or_default().to_owned();
            if worth_weighing(&link) && seen.insert(link.clone()) {
                queue.push_back((link, false));
            }
        }
    }
    weights
}

#[tokio::test]
async fn every_page_each_person_reaches_weighs_under_30_kb_compressed() {
    let app = TestApp::spawn().await;
    let school = app
        .create_school(
            "Openbare Basisschool De Klimop",
            "Welkom bij De Klimop, de school in het hart van de wijk. Wij zijn een openbare \
             basisschool met 224 leerlingen in acht groepen. Hier vindt u het nieuws, de \
             kalender en alles wat u als ouder nodig hebt.",
        )
        .await;
    let host = school_host(&school.slug);
    let (admin, teacher, parent, content) = school_with_content(&app, &school).await;
    let routes = routes(&content);

    let mut assets = HashMap::new();
    let mut weights = Vec::new();
    let people = [
        ("visitor", Client::new(app.addr)),
        ("parent", parent.client),
        ("teacher", teacher.client),
        ("admin", admin.client),
    ];
    for (role, mut client) in people {
        let reached = weigh_pages(role, &mut client, &host, &routes, &mut assets).await;
        let paths: Vec<&str> = reached.iter().map(|w| w.path.as_str()).collect();
        // Each person reached their own pages, not only error pages or redirects.
        let expected: &[&str] = match role {
            "visitor" => &["/", "/sign-in", "/register"],
            "parent" => &["/", "/timeline", "/calendar", "/children", "/conferences"],
            "teacher" => &[
                "/",
                "/timeline",
                "/posts/new",
                "/conference-rounds",
                "/groups",
            ],
            _ => &[
                "/",
                "/admin/people",
                "/admin/invitations",
                "/admin/settings",
            ],
        };
        for path in expected {
            assert!(
                paths.contains(path),
                "{role} did not reach {path}: {paths:?}"
            );
        }
        weights.extend(reached);
    }
    assert!(
        weights
            .iter()
            .any(|w| w.path == format!("/posts/{}", content.newsletter)),
        "the newsletter was weighed"
    );

    weights.sort_by(|a, b| b.compressed.cmp(&a.compressed).then(a.path.cmp(&b.path)));
    let mut table = format!(
        "page weight: {} pages of 4 people (HTML + CSS + JS, each gzipped, level 6; limit {LIMIT} bytes)\n\
         {:>4}  {:<8} {:<44} {:>9} {:>9} {:>9}\n",
        weights.len(),
        "#",
        "person",
        "page",
        "html",
        "css+js",
        "gzipped"
    );
    for (rank, w) in weights.iter().enumerate() {
        table.push_str(&format!(
            "{:>4}  {:<8} {:<44} {:>9} {:>9} {:>9}\n",
            rank + 1,
            w.role,
            w.path,
            w.html,
            w.assets,
            w.compressed
        ));
    }
    let largest = &weights[0];
    table.push_str(&format!(
        "largest: {} as {}, {} bytes gzipped ({:.1} KB of {} KB)\n",
        largest.path,
        largest.role,
        largest.compressed,
        largest.compressed as f64 / 1024.0,
        LIMIT / 1024
    ));
    // On stderr, where nextest shows it with `--no-capture` or when the test fails.
    eprintln!("{table}");
    let over: Vec<String> = weights
        .iter()
        .filter(|w| w.compressed >= LIMIT)
        .map(|w| format!("{} as {}: {} bytes", w.path, w.role, w.compressed))
        .collect();
    assert!(
        over.is_empty(),
        "pages of {LIMIT} bytes or more compressed: {over:?}\n{table}"
    );
}
