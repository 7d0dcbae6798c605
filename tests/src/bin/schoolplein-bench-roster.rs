//! Benchmarks of the school's roster for `scripts/bench roster`: importing a 1,000-pupil,
//! 1,800-parent school (CSV and EDEXML) and re-importing it with 20 changes, the group page
//! of a 30-pupil group under 50 concurrent clients (wrk), and a 30-pupil class-list PDF.
//! The real app runs in this process against the benchmark's PostgreSQL and Redis.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use clap::Parser;
use schoolplein_kernel::Role;
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use schoolplein_server::app;
use schoolplein_tests::bench;
use schoolplein_tests::client::Client;
use tenant_router::TenantTx;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "BENCH_REDIS_URL")]
    redis_url: String,
    #[arg(long, default_value_t = 1000)]
    pupils: usize,
    /// wrk's run on the group page, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rounds of the group page, each kept in memory and then read every time.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Further paths to measure the same way after the group page (comma-separated), e.g. a
    /// page that only reads the session, to see what the rest of the way costs; `{group}`
    /// stands for the measured group's id.
    #[arg(long, value_delimiter = ',')]
    also: Vec<String>,
}

const PASSWORD: &str = "Bench-Wacht-2026!";
const PUPILS_PER_GROUP: usize = 30;

/// One made-up pupil with one or two contacts (1.8 on average).
struct Pupil {
    key: String,
    first: String,
    last: String,
    born: String,
    group: usize,
    contacts: Vec<(String, String, String)>,
}

fn school_file(pupils: usize, changed: usize) -> Vec<Pupil> {
    (0..pupils)
        .map(|n| {
            let first = if n < changed {
                format!("Gewijzigd{n}")
            } else {
                format!("Kind{n}")
            };
            let contacts = (0..if n % 5 == 0 { 1 } else { 2 })
                .map(|c| {
                    (
                        format!("Ouder{n}x{c} Achternaam{n}"),
                        format!("ouder{n}x{c}@example.nl"),
                        format!("06-{:08}", n * 2 + c),
                    )
                })
                .collect();
            Pupil {
                key: format!("{:07}", 1_000_000 + n),
                first,
                last: format!("Achternaam{n}"),
                born: format!("{:02}-{:02}-{}", 1 + n % 28, 1 + n % 12, 2015 + n % 7),
                group: n / PUPILS_PER_GROUP,
                contacts,
            }
        })
        .collect()
}

fn csv(pupils: &[Pupil]) -> String {
    let mut out = String::from(
        "leerlingnummer;roepnaam;achternaam;geboortedatum;groep;ouder1_relatie;ouder1_naam;ouder1_email;ouder1_telefoon;ouder2_relatie;ouder2_naam;ouder2_email;ouder2_telefoon\n",
    );
    for p in pupils {
        let _ = write!(
            out,
            "{};{};{};{};Groep {}",
            p.key,
            p.first,
            p.last,
            p.born,
            p.group + 1
        );
        for c in 0..2 {
            match p.contacts.get(c) {
                Some((name, email, phone)) => {
                    let _ = write!(out, ";ouder;{name};{email};{phone}");
                }
                None => out.push_str(";;;;"),
            }
        }
        out.push('\n');
    }
    out
}

fn edexml(pupils: &[Pupil]) -> String {
    let groups = pupils.iter().map(|p| p.group).max().unwrap_or(0) + 1;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<EDEX><school><brincode>99ZZ</brincode></school><groepen>\n",
    );
    for g in 0..groups {
        let _ = writeln!(
            out,
            "<groep key=\"G{g}\"><naam>Groep {}</naam></groep>",
            g + 1
        );
    }
    out.push_str("</groepen><leerlingen>\n");
    for p in pupils {
        let (d, rest) = p.born.split_at(2);
        let (m, y) = rest[1..].split_at(2);
        let _ = write!(
            out,
            "<leerling key=\"{}\"><achternaam>{}</achternaam><roepnaam>{}</roepnaam><geboortedatum>{}-{}-{d}</geboortedatum><groep key=\"G{}\"/><contactpersonen>",
            p.key,
            p.last,
            p.first,
            &y[1..],
            m,
            p.group
        );
        for (name, email, phone) in &p.contacts {
            let _ = write!(
                out,
                "<contactpersoon><relatie>ouder</relatie><achternaam>{name}</achternaam><emailadres>{email}</emailadres><telefoonnummer>{phone}</telefoonnummer></contactpersoon>"
            );
        }
        out.push_str("</contactpersonen></leerling>\n");
    }
    out.push_str("</leerlingen></EDEX>\n");
    out
}

/// Uploads a file and returns the wall time and the page's counts line.
async fn import(
    client: &mut Client,
    host: &str,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = client
        .post_file(host, "/admin/import", name, bytes, None)
        .await;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        response.status == 200 && response.text().contains("id=\"import-report\""),
        "import of {name} failed with {}",
        response.status
    );
    Ok(elapsed)
}

/// A fresh school `roster-<name>` with a signed-in admin who has opened the import page.
async fn school_with_admin(
    state: &schoolplein_kernel::AppState,
    addr: std::net::SocketAddr,
    name: &str,
) -> anyhow::Result<(tenant_router::TenantEntry, String, Client)> {
    let school =
        bench::create_school(state, &format!("roster-{name}"), "Basisschool Meting").await?;
    let email = format!("admin-{name}@example.nl");
    enroll(
        state,
        school.id,
        "Beheerder",
        &EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!(e.key()))?,
        &[Role::SchoolAdmin],
        Some(&NewPassword::parse(PASSWORD).map_err(|e| anyhow::anyhow!(e.key()))?),
    )
    .await?;
    let host = format!("{}.schoolplein.test", school.slug);
    let mut admin = Client::new(addr);
    anyhow::ensure!(
        admin.sign_in(&host, &email, PASSWORD, false).await.status == 303,
        "admin sign-in"
    );
    admin.get(&host, "/admin/import").await;
    Ok((school, host, admin))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

// glibc's allocator spent about a tenth of the server's CPU on a busy page (measured with
// perf, docs/BENCHMARKS.md); mimalloc's per-thread heaps do the same work for less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    schoolplein_server::serve::install_crypto_provider();
    let config = bench::config(&args.database_url, &args.redis_url, "bench-roster:", &[])?;
    // The same app with nothing of the roster kept in memory: every group page reads it.
    let reading_config = bench::config(
        &args.database_url,
        &args.redis_url,
        "bench-roster:",
        &[("SCHOOLPLEIN__DATABASE__SCHOOL_CACHE_MIB", "0")],
    )?;
    let platform = schoolplein_kernel::db::postgres_pool(&config.database)?;
    tenant_router::fleet::migrate_platform(&platform).await?;
    platform.close().await;
    let state = app::build_state(config).await?;
    let _refresh = state
        .tenants
        .spawn_refresh(state.db.pool().clone(), Duration::from_secs(60));
    let addr = bench::serve(&state).await?;
    let reading_state = app::build_state(reading_config).await?;
    let _reading_refresh = reading_state
        .tenants
        .spawn_refresh(reading_state.db.pool().clone(), Duration::from_secs(60));
    let reading_addr = bench::serve(&reading_state).await?;
    let mut out = std::io::stdout().lock();

    // Two fresh schools, one per format.
    let stamp = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut schools = Vec::new();
    for format in ["csv", "xml"] {
        schools.push(school_with_admin(&state, addr, &format!("{format}-{stamp}")).await?);
    }
    let first = school_file(args.pupils, 0);
    let second = school_file(args.pupils, 20);
    let parents: usize = first.iter().map(|p| p.contacts.len()).sum();
    let files = [
        ("csv", csv(&first).into_bytes(), csv(&second).into_bytes()),
        (
            "edexml",
            edexml(&first).into_bytes(),
            edexml(&second).into_bytes(),
        ),
    ];
    for ((format, whole, changed), (_, host, admin)) in files.iter().zip(schools.iter_mut()) {
        let name = if *format == "csv" {
            "school.csv"
        } else {
            "school.xml"
        };
        let full = import(admin, host, name, whole).await?;
        let again = import(admin, host, name, changed).await?;
        writeln!(
            out,
            "roster: {format}: {} pupils, {parents} contacts, {} KiB: import {} ms (target < 5000); re-import with 20 changes {} ms (target < 2000)",
            args.pupils,
            whole.len() / 1024,
            full.as_millis(),
            again.as_millis()
        )?;
        out.flush()?;
    }

    // The shape administrations export: 40 combination groups as one entry per year group
    // (80 keys), pupils without roepnaam, elements in two orders, a <leerkrachten> block.
    {
        let (_, host, mut admin) =
            school_with_admin(&state, addr, &format!("combi-{stamp}")).await?;
        let shape = schoolplein_tests::edex::EdexSchool {
            classes: 40,
            years_per_class: 2,
            pupils: args.pupils,
            contacts_per_pupil: 2,
            mail_tag: 0,
        };
        let xml = shape.xml();
        let full = import(&mut admin, &host, "export.xml", xml.as_bytes()).await?;
        let again = import(&mut admin, &host, "export.xml", xml.as_bytes()).await?;
        writeln!(
            out,
            "roster: edexml with 40 combination groups: {} pupils, {} contacts, {} KiB: import {} ms (target < 2000); unchanged re-import {} ms",
            args.pupils,
            args.pupils * 2,
            xml.len() / 1024,
            full.as_millis(),
            again.as_millis()
        )?;
        out.flush()?;
    }

    // A 30-pupil group whose pupils each have a registered parent showing everything to the group.
    let (school, host, admin) = &mut schools[1];
    let group_id: i64 = {
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        let id = sqlx::query_scalar("SELECT id FROM groups WHERE import_key = 'G0'")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        id
    };
    let pupil_keys: Vec<String> = first
        .iter()
        .filter(|p| p.group == 0)
        .map(|p| p.key.clone())
        .collect();
    let mut viewer_email = String::new();
    for (n, key) in pupil_keys.iter().enumerate() {
        let email = format!("groepsouder{n}-{stamp}@example.nl");
        let enrolled = enroll(
            &state,
            school.id,
            &format!("Groepsouder {n}"),
            &EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!(e.key()))?,
            &[Role::Parent],
            Some(&NewPassword::parse(PASSWORD).map_err(|e| anyhow::anyhow!(e.key()))?),
        )
        .await?;
        let mut tx = TenantTx::begin(&state.schools, school.id).await?;
        sqlx::query(
            "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
             SELECT id, $1, 'active', now() FROM pupils WHERE import_key = $2",
        )
        .bind(enrolled.person_id)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE people SET address = 'Dorpsstraat ' || id, phone_mobile = '06-12345678' WHERE id = $1",
        )
        .bind(enrolled.person_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO privacy_choices (person_id, pupil_id, field, audience)
             SELECT $1, p.id, f, 'group' FROM pupils p,
                    unnest(ARRAY['name','address','phone_mobile','email']) AS f
              WHERE p.import_key = $2",
        )
        .bind(enrolled.person_id)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if n == 0 {
            viewer_email = email;
        }
    }
    let mut parent = Client::new(addr);
    anyhow::ensure!(
        parent
            .sign_in(host, &viewer_email, PASSWORD, false)
            .await
            .status
            == 303,
        "parent sign-in"
    );
    let page = parent.get(host, &format!("/groups/{group_id}")).await;
    anyhow::ensure!(
        page.status == 200 && page.text().matches("class=\"family\"").count() == PUPILS_PER_GROUP,
        "the group page lists 30 families"
    );
    let cookie = format!(
        "sp_session={}",
        parent.cookie(host, "sp_session").unwrap_or_default()
    );
    let group_page = format!("/groups/{group_id}");
    // Side by side, taking turns: kept in memory (as shipped), then read on every page.
    for round in 1..=args.rounds {
        for (label, at) in [("kept", addr), ("read every time", reading_addr)] {
            let run = bench::wrk(at, host, Some(&cookie), &group_page, 50, args.seconds).await?;
            writeln!(
                out,
                "roster: group page (30 pupils, 30 parents, as a parent of the group), roster {label}, round {round}, wrk -c50 {}s: {run} (target p99 < 20 ms)",
                args.seconds
            )?;
            out.flush()?;
        }
    }
    // Pages that do less, for comparison: what the rest of the way costs.
    for path in args.also.iter().filter(|p| !p.is_empty()) {
        let path = path.replace("{group}", &group_id.to_string());
        let run = bench::wrk(addr, host, Some(&cookie), &path, 50, args.seconds).await?;
        writeln!(
            out,
            "roster: {path} as the same parent, wrk -c50 {}s: {run}",
            args.seconds
        )?;
    }
    out.flush()?;

    // The class-list PDF of the same group, one request at a time.
    let mut times = Vec::new();
    for _ in 0..60 {
        let started = Instant::now();
        let pdf = admin
            .get(host, &format!("/groups/{group_id}/class-list.pdf"))
            .await;
        times.push(started.elapsed());
        anyhow::ensure!(
            pdf.status == 200 && pdf.body.starts_with(b"%PDF"),
            "class list"
        );
    }
    times.sort();
    writeln!(
        out,
        "roster: class-list PDF (30 pupils), 60 requests one at a time: p50 {} ms, p99 {} ms (target < 200 ms)",
        percentile(&times, 0.5).as_millis(),
        percentile(&times, 0.99).as_millis()
    )?;
    Ok(())
}
