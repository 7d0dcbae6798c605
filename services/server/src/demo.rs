//! `schoolplein dev seed-demo`: the demo schools of `scripts/dev` as people find them — the
//! demo people (an admin and a teacher in the demo school, a parent in both) with one known
//! password, a first news post in each school, and De Klimop as a school in use (see
//! [`klimop`]). Development only; running it again changes nothing.

mod klimop;

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use schoolplein_kernel::{AppState, Config, Role};
use schoolplein_portal::db::{posts, school_settings};
use schoolplein_portal::rich_text;
use schoolplein_registration::{EmailAddress, Enrolled, NewPassword, enroll};
use tenant_router::{TenantId, TenantSlug, TenantTx};

use crate::app;
use crate::cli::CliError;

pub use klimop::KlimopReport;

/// The password of every demo account (it meets the password rules).
pub const DEMO_PASSWORD: &str = "Demo-Klimop-2026";

/// The slug of De Klimop, the demo school that is seeded as a school in use.
pub const DEMO_SCHOOL: &str = "demo";

/// (school slug, name, address, roles) of every demo membership.
const DEMO_PEOPLE: &[(&str, &str, &str, &[Role])] = &[
    (
        DEMO_SCHOOL,
        "Anja Bakker (directeur)",
        ADMIN_ADDRESS,
        &[Role::SchoolAdmin],
    ),
    (
        DEMO_SCHOOL,
        "Meester Tim de Vries",
        TEACHER_ADDRESS,
        &[Role::Teacher],
    ),
    (DEMO_SCHOOL, PARENT_NAME, PARENT_ADDRESS, &[Role::Parent]),
    ("tweede", PARENT_NAME, PARENT_ADDRESS, &[Role::Parent]),
    (
        "tweede",
        "Joost Smit (directeur)",
        "admin@tweede.example",
        &[Role::SchoolAdmin],
    ),
];

const ADMIN_ADDRESS: &str = "admin@demo.example";
const TEACHER_ADDRESS: &str = "leerkracht@demo.example";
const PARENT_ADDRESS: &str = "ouder@demo.example";
const PARENT_NAME: &str = "Sanne Jansen";

/// (school slug, address of the admin who writes it, title, text) of the first news post in
/// each demo school.
const DEMO_POSTS: &[(&str, &str, &str, &str)] = &[
    (
        DEMO_SCHOOL,
        ADMIN_ADDRESS,
        "Welkom op het nieuwe ouderportaal",
        "Vanaf vandaag leest u hier het nieuws van De Klimop en van de groep van uw kind.\n\nVragen? Loop gerust even binnen bij de administratie.",
    ),
    (
        "tweede",
        "admin@tweede.example",
        "Eerste schooldag",
        "Maandag begint het nieuwe schooljaar. De deuren gaan om 8.20 uur open.",
    ),
];

/// A demo sign-in, as `scripts/dev` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub school: String,
    pub email: String,
    pub roles: Vec<&'static str>,
}

/// What a run found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    pub sign_ins: Vec<SignIn>,
    /// First news posts written by this run (none when they were there).
    pub welcome_posts_added: usize,
    pub klimop: KlimopReport,
}

impl DemoReport {
    /// Whether the run found everything in place and wrote nothing new.
    pub fn added_nothing(&self) -> bool {
        self.welcome_posts_added == 0 && self.klimop.added_nothing()
    }
}

/// The command: refused outside development; prints the sign-ins and what De Klimop holds.
pub async fn seed_demo(config: Config) -> Result<(), CliError> {
    if config.environment != "development" {
        return Err(CliError::Usage(format!(
            "dev seed-demo only runs in the development environment (this is {:?})",
            config.environment
        )));
    }
    let state = app::build_state(config).await?;
    let report = seed(&state, Utc::now()).await?;
    let mut out = std::io::stdout().lock();
    for sign_in in &report.sign_ins {
        writeln!(
            out,
            "  {:<8} {:<26} {}",
            sign_in.school,
            sign_in.email,
            sign_in.roles.join(", ")
        )?;
    }
    writeln!(out, "  password for all: {DEMO_PASSWORD}")?;
    let klimop = &report.klimop;
    let (taught, other) = (klimop::TEACHER_GROUP_NAME, klimop::OTHER_CHILD_GROUP_NAME);
    writeln!(
        out,
        "  {DEMO_SCHOOL}: {} groups, {} pupils",
        klimop.groups, klimop.pupils
    )?;
    writeln!(
        out,
        "  {DEMO_SCHOOL}: {PARENT_ADDRESS}'s children are in {taught} and {other}"
    )?;
    writeln!(out, "  {DEMO_SCHOOL}: {TEACHER_ADDRESS} teaches {taught}")?;
    if report.added_nothing() {
        writeln!(out, "  (everything was in place: nothing added)")?;
    }
    Ok(())
}

/// Seeds both demo schools as of `now` (the calendar's dates count from its Dutch day):
/// the people, the first posts, and De Klimop in use. Everything is looked for before it is
/// made, so a second run adds nothing. The schools must exist (`tenant create`).
pub async fn seed(state: &AppState, now: DateTime<Utc>) -> Result<DemoReport, CliError> {
    let password = NewPassword::parse(DEMO_PASSWORD)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("demo password refused: {}", e.key())))?;
    let mut schools: HashMap<&str, TenantId> = HashMap::new();
    let mut enrolled: HashMap<(&str, &str), Enrolled> = HashMap::new();
    let mut sign_ins = Vec::new();
    for (slug, name, email, roles) in DEMO_PEOPLE {
        let school = school_id(state, slug).await?;
        schools.insert(slug, school);
        let address = EmailAddress::parse(email)
            .map_err(|e| CliError::Failed(anyhow::anyhow!("demo address: {}", e.key())))?;
        let person = enroll(state, school, name, &address, roles, Some(&password))
            .await
            .map_err(|e| CliError::Failed(anyhow::anyhow!("{e}")))?;
        enrolled.insert((slug, email), person);
        sign_ins.push(SignIn {
            school: (*slug).to_owned(),
            email: address.as_str().to_owned(),
            roles: roles.iter().map(|r| r.as_str()).collect(),
        });
    }
    let person = |slug: &str, email: &str| {
        enrolled.get(&(slug, email)).copied().ok_or_else(|| {
            CliError::Failed(anyhow::anyhow!("{email} is not a demo person of {slug}"))
        })
    };

    let mut welcome_posts_added = 0;
    for (slug, author, title, body) in DEMO_POSTS {
        let author = person(slug, author)?.person_id;
        if write_post_once(
            state,
            schools[slug],
            author,
            Readers::WholeSchool,
            title,
            body,
        )
        .await?
        {
            welcome_posts_added += 1;
        }
    }

    let parent = person(DEMO_SCHOOL, PARENT_ADDRESS)?;
    let people = klimop::People {
        admin: person(DEMO_SCHOOL, ADMIN_ADDRESS)?.person_id,
        teacher: person(DEMO_SCHOOL, TEACHER_ADDRESS)?.person_id,
        parent_account: parent.account_id,
        parent_email: EmailAddress::parse(PARENT_ADDRESS)
            .map_err(|e| CliError::Failed(anyhow::anyhow!("demo address: {}", e.key())))?,
        parent_name: PARENT_NAME,
    };
    let klimop = klimop::seed(state, schools[DEMO_SCHOOL], &people, now).await?;
    Ok(DemoReport {
        sign_ins,
        welcome_posts_added,
        klimop,
    })
}

async fn school_id(state: &AppState, slug: &str) -> Result<TenantId, CliError> {
    let slug = TenantSlug::parse(slug).map_err(|e| CliError::Failed(e.into()))?;
    let school = tenant_router::provision::find_school(state.db.pool(), &slug)
        .await
        .map_err(|e| CliError::Usage(format!("{e} (create the demo schools first)")))?;
    Ok(school.id)
}

/// Who a demo post is for.
#[derive(Debug, Clone, Copy)]
enum Readers {
    WholeSchool,
    Group(i64),
}

/// Publishes a news post by `author`, unless the school has a post with this title; `true`
/// when it wrote one. Written as the post form writes it (its text made safe, its groups,
/// read by its author), but without the mails: nobody is waiting for demo news.
async fn write_post_once(
    state: &AppState,
    school: TenantId,
    author: i64,
    readers: Readers,
    title: &str,
    body: &str,
) -> Result<bool, CliError> {
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM posts WHERE title = $1)")
        .bind(title)
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        tx.rollback().await?;
        return Ok(false);
    }
    // As the form does: a digest being read meanwhile either sees the post or precedes it.
    school_settings::hold_shared(&mut tx).await?;
    let post_id = posts::insert(
        &mut tx,
        &posts::PostInsert {
            kind: "news",
            title,
            body,
            happens_on: None,
            author_id: author,
            whole_school: matches!(readers, Readers::WholeSchool),
            urgent: false,
            by_list: false,
            body_html: &rich_text::to_safe_html(body),
            mailing: false,
        },
    )
    .await?;
    if let Readers::Group(group_id) = readers {
        posts::add_groups(&mut tx, post_id, &[group_id]).await?;
    }
    posts::add_read(&mut tx, post_id, author).await?;
    tx.commit().await?;
    Ok(true)
}
