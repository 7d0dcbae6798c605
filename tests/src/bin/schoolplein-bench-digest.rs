//! Sets up the digest benchmark for `scripts/bench digest`: 100 schools of 500 parents with
//! accounts, each school with a history of posts and a day's worth of new ones, everyone's
//! digest marks at the previous day's slot. `fill` prints the slot to run the digests at;
//! the script then times `schoolplein jobs run --at <slot>` as its own process (wall time and
//! peak memory), and `check` counts what that run queued.

use std::io::Write as _;

use clap::{Parser, Subcommand};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tenant_router::provision::{self, NewSchool};
use tenant_router::{SchoolName, TenantId, TenantMigrations, TenantSlug, TenantTx};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates the schools (once; later runs reuse them) and puts every digest mark back at
    /// the previous slot, so each run finds the same work.
    Fill {
        #[arg(long, default_value_t = 100)]
        schools: u32,
        #[arg(long, default_value_t = 500)]
        parents: u32,
    },
    /// What the digest run queued: mails and distinct recipients.
    Check,
}

/// The slot the digests run at: a Thursday, 17:30 in Amsterdam (CET, so 16:30 UTC). Fixed, so
/// that reruns on any day see the same posts as new.
const SLOT: &str = "2026-11-19T16:30:00Z";

/// One school: 20 groups of 25 pupils with a parent each (their accounts in the platform's
/// table), 20 teachers and a head; 300 posts over the two months before, 70 % of them read;
/// 20 posts since the previous slot (4 to the whole school, 3 of the 20 agenda items), a fifth
/// of them read. A tenth of the parents want news by the item, a tenth twice a day, one in
/// twenty nothing; the rest have the default daily digest.
const SCHOOL_SQL: &str = "
INSERT INTO groups (import_key, name, year)
SELECT 'G' || g, 'Groep ' || (1 + (g - 1) / 3) || chr(65 + (g - 1) % 3), 1 + (g - 1) / 3
  FROM generate_series(1, 20) g;
INSERT INTO people (name, email, kind, roles)
VALUES ('Directeur', 'directie@$domain', 'staff', '{school_admin}');
INSERT INTO people (name, email, kind, roles)
SELECT 'Leerkracht ' || g, 'leerkracht' || g || '@$domain', 'staff', '{teacher}'
  FROM generate_series(1, 20) g;
INSERT INTO group_teachers (group_id, person_id)
SELECT gr.id, pe.id FROM groups gr
  JOIN people pe ON pe.email = 'leerkracht' || substr(gr.import_key, 2) || '@$domain';
INSERT INTO pupils (import_key, first_name, last_name, date_of_birth, group_id)
SELECT 'P' || n, 'Kind', 'Nummer ' || n, DATE '2015-01-01' + (n % 2500),
       (SELECT id FROM groups WHERE import_key = 'G' || (1 + n % 20))
  FROM generate_series(1, $parents) n;
WITH accounts AS (
    INSERT INTO platform.accounts (email, name, language)
    SELECT 'ouder' || n || '@$domain', 'Ouder ' || n, CASE WHEN n % 10 = 7 THEN 'en' ELSE 'nl' END
      FROM generate_series(1, $parents) n
    RETURNING id, email, name)
INSERT INTO people (name, email, kind, roles, account_id)
SELECT name, email, 'parent', '{parent}', id FROM accounts;
INSERT INTO guardians (pupil_id, person_id, status, approved_at)
SELECT p.id, pe.id, 'active', now()
  FROM pupils p JOIN people pe ON pe.email = 'ouder' || substr(p.import_key, 2) || '@$domain';
INSERT INTO notification_preferences (person_id, kind, delivery)
SELECT pe.id, k.kind, CASE WHEN pe.n % 10 = 0 THEN 'each'
                           WHEN pe.n % 10 = 2 THEN 'twice_daily' ELSE 'none' END
  FROM (SELECT id, substring(email FROM '^ouder([0-9]+)@')::int AS n
          FROM people WHERE kind = 'parent') pe,
       (VALUES ('news'), ('agenda'), ('board')) k(kind)
 WHERE pe.n % 10 IN (0, 2) OR pe.n % 20 = 5;
WITH plan AS (
    SELECT n, n > 300 AS fresh, n % 5 = 0 AS whole_school, 1 + n % 20 AS group_no,
           CASE WHEN n % 7 = 0 THEN 'agenda' ELSE 'news' END AS kind,
           CASE WHEN n > 300
                THEN timestamptz '2026-11-18 17:00Z' + (n - 300) * interval '55 minutes'
                ELSE timestamptz '2026-11-18 12:00Z' - (300 - n) * interval '5 hours'
           END AS published_at
      FROM generate_series(1, 320) n
), inserted AS (
    INSERT INTO posts (kind, title, body, happens_on, author_id, whole_school, published_at)
    SELECT plan.kind,
           CASE WHEN plan.whole_school THEN 'Nieuws voor de hele school ' ELSE 'Uit de groep ' END
               || plan.n,
           repeat('Deze week hebben we veel gedaan in de klas. ', 3),
           CASE WHEN plan.kind = 'agenda' THEN (plan.published_at + interval '9 days')::date END,
           CASE WHEN plan.whole_school
                THEN (SELECT id FROM people WHERE email = 'directie@$domain')
                ELSE (SELECT person_id FROM group_teachers gt JOIN groups g ON g.id = gt.group_id
                       WHERE g.import_key = 'G' || plan.group_no)
           END,
           plan.whole_school, plan.published_at
      FROM plan ORDER BY plan.n
    RETURNING id, published_at
)
INSERT INTO post_groups (post_id, group_id)
SELECT inserted.id, g.id
  FROM inserted
  JOIN plan ON plan.published_at = inserted.published_at AND NOT plan.whole_school
  JOIN groups g ON g.import_key = 'G' || plan.group_no;
INSERT INTO post_reads (post_id, person_id, read_at)
SELECT po.id, g.person_id, po.published_at + interval '1 hour'
  FROM posts po
  JOIN pupils p ON po.whole_school
                OR p.group_id IN (SELECT group_id FROM post_groups WHERE post_id = po.id)
  JOIN guardians g ON g.pupil_id = p.id
 WHERE (po.id * 7 + g.person_id * 13) % 10 < CASE WHEN po.published_at < '2026-11-18 16:30Z'
                                                  THEN 7 ELSE 2 END;
UPDATE school_settings SET digest_time = '17:30', digest_days = '{1,2,3,4,5}';
ANALYZE groups, people, pupils, guardians, posts, post_groups, post_reads,
        notification_preferences;
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&args.database_url)
        .await?;
    match args.command {
        Command::Fill { schools, parents } => fill(&pool, schools, parents).await,
        Command::Check => check(&pool).await,
    }
}

async fn fill(pool: &PgPool, schools: u32, parents: u32) -> anyhow::Result<()> {
    tenant_router::fleet::migrate_platform(pool).await?;
    let migrations = TenantMigrations::embedded();
    let mut created = 0;
    for number in 1..=schools {
        let slug = format!("digest-{number}");
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM platform.tenants WHERE slug = $1")
                .bind(&slug)
                .fetch_optional(pool)
                .await?;
        let id = match existing {
            Some(id) => TenantId::new(id),
            None => {
                let school = provision::create_school(
                    pool,
                    &migrations,
                    &NewSchool {
                        slug: TenantSlug::parse(&slug)?,
                        name: SchoolName::parse(&format!("Basisschool Overzicht {number}"))?,
                        welcome_text: String::new(),
                    },
                )
                .await?;
                let mut tx = TenantTx::begin(pool, school.id).await?;
                let sql = SCHOOL_SQL
                    .replace("$parents", &parents.to_string())
                    .replace("$domain", &format!("digest{number}.example.nl"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                created += 1;
                school.id
            }
        };
        // Everyone's last digest was the previous day's slot.
        let mut tx = TenantTx::begin(pool, id).await?;
        sqlx::query(
            "UPDATE people SET digest_through = $1::timestamptz - interval '1 day',
                               daily_digest_through = $1::timestamptz - interval '1 day'",
        )
        .bind(SLOT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    // Only this run's digests in the outbox, so `check` counts them.
    sqlx::query("TRUNCATE platform.outbox CASCADE")
        .execute(pool)
        .await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "digest: {schools} schools × {parents} parents ready ({created} created now); slot {SLOT}"
    )?;
    Ok(())
}

async fn check(pool: &PgPool) -> anyhow::Result<()> {
    let (mails, recipients, schools): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT recipient), count(DISTINCT tenant_id)
           FROM platform.outbox",
    )
    .fetch_one(pool)
    .await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "digest: queued {mails} mails to {recipients} recipients in {schools} schools"
    )?;
    Ok(())
}
