//! De Klimop, the demo school, as a school in use: its roster imported from the
//! administration's export (`services/server/demo/klimop-edexml.xml`), the demo parent linked
//! to two children with their koppelcodes and approved by the admin, the demo teacher given
//! groep 3b, a few events in the coming school days, a post for groep 3b and a published
//! conference round for it. Each step goes through the product's own functions and looks
//! before it writes, so a second run adds nothing.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use schoolplein_calendar::events::{self, EventDraft, EventReader, FormFields, Visibility};
use schoolplein_calendar::rounds::{self, BookingMode, NewRound, RoundSettings};
use schoolplein_calendar::slots::RoundPlan;
use schoolplein_calendar::zone;
use schoolplein_kernel::{AppState, Role};
use schoolplein_portal::db::groups;
use schoolplein_portal::db::roster::{ImportReport, apply_import};
use schoolplein_portal::roster;
use schoolplein_registration::db::{codes, guardians};
use schoolplein_registration::parents::{LinkStatus, link_parent};
use schoolplein_registration::{ActivationCode, EmailAddress};
use tenant_router::{TenantId, TenantTx};

use super::{Readers, write_post_once};
use crate::cli::CliError;

/// The administration's export, of school year [`EXPORT_SCHOOL_YEAR`].
const EXPORT: &str = include_str!("../../demo/klimop-edexml.xml");
/// The school year the export is of (2026: 2026–2027).
const EXPORT_SCHOOL_YEAR: i32 = 2026;
/// The element before each birth date in the export.
const BIRTH_DATE: &str = "<geboortedatum>";

/// The demo parent's children (their leerlingnummers): Mila in groep 3b, Lars in groep 8.
const PARENT_CHILDREN: [&str; 2] = ["41201", "41401"];
/// The demo teacher's group (its key in the export), and its name there.
const TEACHER_GROUP: &str = "G3B";
pub(super) const TEACHER_GROUP_NAME: &str = "Groep 3b";
/// The group of the parent's other child.
const OTHER_CHILD_GROUP: &str = "G8";
pub(super) const OTHER_CHILD_GROUP_NAME: &str = "Groep 8";

/// The demo people the seeding acts as.
#[derive(Debug)]
pub(super) struct People {
    pub admin: i64,
    pub teacher: i64,
    pub parent_account: i64,
    pub parent_email: EmailAddress,
    pub parent_name: &'static str,
}

/// What De Klimop holds after a run, and what the run added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KlimopReport {
    /// The roster import, when this run made it (a school with pupils keeps its roster).
    pub imported: Option<ImportReport>,
    /// Groups and pupils at school now.
    pub groups: usize,
    pub pupils: i64,
    pub teacher_groups_added: usize,
    pub parent_links_added: usize,
    pub events_added: usize,
    pub posts_added: usize,
    pub rounds_added: usize,
    pub conversations_added: usize,
    pub absences_added: usize,
    pub leave_requests_added: usize,
    pub care_moments_added: usize,
    pub tasks_added: usize,
}

impl KlimopReport {
    pub fn added_nothing(&self) -> bool {
        self.imported.is_none()
            && self.teacher_groups_added == 0
            && self.parent_links_added == 0
            && self.events_added == 0
            && self.posts_added == 0
            && self.rounds_added == 0
            && self.conversations_added == 0
            && self.absences_added == 0
            && self.leave_requests_added == 0
            && self.care_moments_added == 0
            && self.tasks_added == 0
    }
}

/// Seeds De Klimop; dates count from `now`'s Dutch day.
pub(super) async fn seed(
    state: &AppState,
    school: TenantId,
    people: &People,
    now: DateTime<Utc>,
) -> Result<KlimopReport, CliError> {
    let today = zone::today(now);
    let imported = import_roster(state, school, people.admin, today).await?;

    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let groups = groups::for_admin(&mut tx).await?;
    tx.rollback().await?;
    let group_of = |key: &str| {
        groups
            .iter()
            .find(|g| g.keys.iter().any(|k| k.key == key))
            .map(|g| g.id)
            .ok_or_else(|| {
                failed(format!(
                    "the demo school has no group with key {key}: it holds a roster other than the \
                     demo's (start from an empty .data/ to get the demo's)"
                ))
            })
    };
    let teacher_group = group_of(TEACHER_GROUP)?;
    let other_child_group = group_of(OTHER_CHILD_GROUP)?;

    let mut report = KlimopReport {
        imported,
        groups: groups.len(),
        pupils: groups.iter().map(|g| g.pupils).sum(),
        ..KlimopReport::default()
    };
    report.teacher_groups_added = give_teacher_group(state, school, people, teacher_group).await?;
    report.parent_links_added = link_parent_to_children(state, school, people).await?;
    let audiences = Audiences {
        teacher_group,
        other_child_group,
    };
    report.events_added = plan_events(state, school, people, &audiences, today).await?;
    let (title, body) = GROUP_POST;
    if write_post_once(
        state,
        school,
        people.teacher,
        Readers::Group(teacher_group),
        title,
        body,
    )
    .await?
    {
        report.posts_added += 1;
    }
    report.rounds_added = plan_round(state, school, people, teacher_group, today).await?;
    if write_conversation_once(state, school, people).await? {
        report.conversations_added += 1;
    }
    if report_absence_once(state, school, people, teacher_group, today).await? {
        report.absences_added += 1;
    }
    fill_contact_once(state, school).await?;
    if ask_leave_once(state, school, people, today).await? {
        report.leave_requests_added += 1;
    }
    if offer_care_once(state, school).await? {
        report.care_moments_added += 1;
    }
    if give_task_once(state, school, people, teacher_group, today).await? {
        report.tasks_added += 1;
    }
    tracing::info!(
        groups = report.groups,
        pupils = report.pupils,
        roster_imported = report.imported.is_some(),
        events_added = report.events_added,
        rounds_added = report.rounds_added,
        "demo school seeded"
    );
    Ok(report)
}

/// Lunch on Monday, Tuesday and Thursday, 60 places at € 3,50 — unless the school offers care.
async fn offer_care_once(state: &AppState, school: TenantId) -> Result<bool, CliError> {
    use schoolplein_schoolday::db::care;
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    if !care::moments(&mut tx, false).await?.is_empty() {
        tx.rollback().await?;
        return Ok(false);
    }
    care::insert_moment(&mut tx, "Overblijven", &[1, 2, 4], 60, 350).await?;
    tx.commit().await?;
    Ok(true)
}

/// The teacher's reading task for Groep 3b, due in four days — unless the group has tasks.
async fn give_task_once(
    state: &AppState,
    school: TenantId,
    people: &People,
    group: i64,
    today: chrono::NaiveDate,
) -> Result<bool, CliError> {
    use schoolplein_schoolday::db::tasks::{self, NewTask};
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    if !tasks::of_groups(&mut tx, &[group], today - chrono::Days::new(3650))
        .await?
        .is_empty()
    {
        tx.rollback().await?;
        return Ok(false);
    }
    let task = NewTask {
        group_id: group,
        title: "Lezen: 15 minuten per dag",
        description: "Lees elke dag een kwartier in je leesboek, en vertel thuis wat er gebeurde.",
        due_day: today + chrono::Days::new(4),
        pupils: &[],
    };
    tasks::insert(&mut tx, &task, &[], people.teacher).await?;
    tx.commit().await?;
    Ok(true)
}

/// The holidays of region midden, and the demo parent's request for a day off for a wedding
/// three weeks ahead, waiting for the headmaster — unless the school has leave requests.
async fn ask_leave_once(
    state: &AppState,
    school: TenantId,
    people: &People,
    today: chrono::NaiveDate,
) -> Result<bool, CliError> {
    use schoolplein_schoolday::absence::school_year_of;
    use schoolplein_schoolday::db::leave;
    use schoolplein_schoolday::holidays::{Region, official};
    use schoolplein_schoolday::leave::{LeaveDraft, LeaveKind, LeaveState, school_days};
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let asked: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM leave_requests)")
        .fetch_one(&mut *tx)
        .await?;
    if asked {
        tx.rollback().await?;
        return Ok(false);
    }
    let (region, _) = leave::holidays(&mut tx, today).await?;
    if region.is_none() {
        let catalog = state.templates.catalog();
        let rows: Vec<_> = official(Region::Midden)
            .into_iter()
            .map(|h| {
                let name = catalog
                    .get(
                        schoolplein_kernel::Language::Nl,
                        &format!("holidays.kind.{}", h.kind),
                    )
                    .unwrap_or(h.kind)
                    .to_owned();
                (name, h.kind, h.first_day, h.last_day)
            })
            .collect();
        leave::follow_region(&mut tx, Region::Midden.as_str(), &rows).await?;
    }
    let (parent, child): (i64, i64) = sqlx::query_as(
        "SELECT pe.id, pu.id FROM people pe, pupils pu
          WHERE pe.account_id = $1 AND pu.import_key = $2",
    )
    .bind(people.parent_account)
    .bind(PARENT_CHILDREN[0])
    .fetch_one(&mut *tx)
    .await?;
    let holidays = leave::holidays_between(&mut tx, today, today + chrono::Days::new(120)).await?;
    let Some(day) = (21..120)
        .map(|n| today + chrono::Days::new(n))
        .find(|d| school_days(*d, *d, &holidays) == 1)
    else {
        tx.rollback().await?;
        return Ok(false);
    };
    let draft = LeaveDraft {
        children: vec![child],
        kind: LeaveKind::Circumstances,
        first_day: day,
        last_day: day,
        reason: "Bruiloft van mijn broer in Utrecht; we vertrekken 's ochtends vroeg.".to_owned(),
    };
    leave::insert(
        &mut tx,
        &draft,
        1,
        school_year_of(day),
        LeaveState::Pending,
        parent,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The school's phone number and address, where none are filled in: parents read the phone
/// number where a sick report is too late to make online.
async fn fill_contact_once(state: &AppState, school: TenantId) -> Result<(), CliError> {
    use schoolplein_portal::db::school_profile::{self, Contact};
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let contact = school_profile::contact(&mut tx).await?;
    if contact.phone.is_empty() && contact.address.is_empty() {
        let filled = Contact {
            phone: "020 123 45 67".to_owned(),
            address: "Klimopstraat 1, 1234 AB Amsterdam".to_owned(),
            ..contact
        };
        school_profile::save_contact(&mut tx, &filled).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A child of the teacher's group (not the demo parent's) reported ill today by phone, as
/// the office notes it: the teacher's "absent today" is not empty.
async fn report_absence_once(
    state: &AppState,
    school: TenantId,
    people: &People,
    group: i64,
    today: chrono::NaiveDate,
) -> Result<bool, CliError> {
    use schoolplein_schoolday::absence::{Reason, Report, Span};
    use schoolplein_schoolday::db::absences;
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let Some(pupil) = absences::demo_candidate(&mut tx, group, &PARENT_CHILDREN).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    let open = absences::overlapping(&mut tx, &[pupil], today, Some(today)).await?;
    if open.is_some() {
        tx.rollback().await?;
        return Ok(false);
    }
    let report = Report {
        children: vec![pupil],
        span: Span {
            first_day: today,
            last_day: None,
        },
        reason: Reason::Ill,
        note: "Telefonisch gemeld: koorts.".to_owned(),
    };
    absences::insert(&mut tx, &report, people.admin).await?;
    tx.commit().await?;
    Ok(true)
}

/// The teacher's message in the parent's inbox, waiting unread: a question about the child.
const CONVERSATION: (&str, &str) = (
    "Zwemspullen voor vrijdag",
    "Beste ouder,\n\nVrijdag gaat groep 3b voor het eerst naar het zwembad. Wilt u de \
     zwemspullen in een aparte tas meegeven, met de naam erop? Laat het me gerust weten als \
     er iets is waar ik rekening mee moet houden.\n\nHartelijke groet,\nmeester Tim",
);

/// Writes the teacher's message to the demo parent, unless it is there.
async fn write_conversation_once(
    state: &AppState,
    school: TenantId,
    people: &People,
) -> Result<bool, CliError> {
    use schoolplein_portal::conversations::reach::Recipient;
    use schoolplein_portal::conversations::store;
    let (subject, body) = CONVERSATION;
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversations WHERE subject = $1)")
            .bind(subject)
            .fetch_one(&mut *tx)
            .await?;
    let parent: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE account_id = $1")
        .bind(people.parent_account)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(parent) = parent.filter(|_| !exists) else {
        tx.rollback().await?;
        return Ok(false);
    };
    let conversation_id = store::start(&mut tx, subject, None).await?;
    store::send(
        &mut tx,
        &store::NewMessage {
            conversation_id,
            author_id: people.teacher,
            for_office: false,
            body,
            forwarded_from: None,
        },
        &[Recipient {
            person_id: Some(parent),
            copy: false,
            hidden: false,
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

fn failed(message: String) -> CliError {
    CliError::Failed(anyhow::anyhow!(message))
}

/// Imports the export as an admin does at `/admin/import`, unless the school has pupils: a
/// school with a roster keeps it (another import would mark its pupils as left).
async fn import_roster(
    state: &AppState,
    school: TenantId,
    admin: i64,
    today: NaiveDate,
) -> Result<Option<ImportReport>, CliError> {
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let has_pupils: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pupils)")
        .fetch_one(&mut *tx)
        .await?;
    if has_pupils {
        tx.rollback().await?;
        return Ok(None);
    }
    let export = export_as_of(today);
    let (format, file) = roster::parse(export.as_bytes(), today).map_err(|refused| {
        failed(format!(
            "the demo roster was refused: {:?}",
            refused.problems
        ))
    })?;
    let imported = apply_import(&mut tx, &file, format, Some(admin)).await?;
    tx.commit().await?;
    Ok(Some(imported))
}

/// The export as the administration would give it in the school year of `today` (from
/// 1 August): every birth date, and the school year, moved by the years since the export's,
/// so that each group keeps its pupils' ages. Nobody in it is born on 29 February, so every
/// moved birth date is a date.
fn export_as_of(today: NaiveDate) -> Cow<'static, str> {
    let school_year = if today.month() >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    let shift = school_year - EXPORT_SCHOOL_YEAR;
    if shift == 0 {
        return Cow::Borrowed(EXPORT);
    }
    let mut moved = String::with_capacity(EXPORT.len());
    let mut rest = EXPORT;
    while let Some(at) = rest.find(BIRTH_DATE) {
        let (before, date) = rest.split_at(at + BIRTH_DATE.len());
        let (year, after_year) = date.split_at(4);
        let year: i32 = year
            .parse()
            .expect("every birth date in the export starts with its year");
        moved.push_str(before);
        moved.push_str(&(year + shift).to_string());
        rest = after_year;
    }
    moved.push_str(rest);
    let year_element = |year: i32| format!("<schooljaar>{year}-{}</schooljaar>", year + 1);
    Cow::Owned(moved.replace(
        &year_element(EXPORT_SCHOOL_YEAR),
        &year_element(school_year),
    ))
}

/// Makes the demo teacher a teacher of the group, as an admin does at `/admin/groups`.
async fn give_teacher_group(
    state: &AppState,
    school: TenantId,
    people: &People,
    group: i64,
) -> Result<usize, CliError> {
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let added = groups::add_teacher(&mut tx, group, people.teacher).await?;
    tx.commit().await?;
    Ok(usize::from(added))
}

/// Links the demo parent to their children as parents link themselves: with each child's
/// koppelcode (from the letter the school prints), signed in. Where the school has new links
/// wait for approval (as a new school does), the admin approves them. Returns the links made.
async fn link_parent_to_children(
    state: &AppState,
    school: TenantId,
    people: &People,
) -> Result<usize, CliError> {
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let mut added = 0;
    for key in PARENT_CHILDREN {
        let pupil_id: i64 =
            sqlx::query_scalar("SELECT id FROM pupils WHERE import_key = $1 AND left_at IS NULL")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| failed(format!("the demo school has no pupil {key} at school")))?;
        let linked: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM guardians g JOIN people pe ON pe.id = g.person_id
                             WHERE g.pupil_id = $1 AND pe.account_id = $2 AND g.status = 'active')",
        )
        .bind(pupil_id)
        .bind(people.parent_account)
        .fetch_one(&mut *tx)
        .await?;
        if linked {
            continue;
        }
        let code = guardians::pupil_code(&mut tx, pupil_id)
            .await?
            .and_then(|pupil| pupil.code)
            .and_then(|code| ActivationCode::parse(&code))
            .ok_or_else(|| failed(format!("pupil {key} of the demo school has no koppelcode")))?;
        let claim = codes::find_claim(&mut tx, &code)
            .await?
            .ok_or_else(|| failed(format!("the koppelcode of pupil {key} opens nothing")))?;
        let (person_id, status) = link_parent(
            &mut tx,
            people.parent_account,
            &people.parent_email,
            people.parent_name,
            &claim,
            None,
        )
        .await?;
        if status == LinkStatus::Pending {
            guardians::approve(&mut tx, pupil_id, person_id, people.admin).await?;
        }
        added += 1;
    }
    tx.commit().await?;
    Ok(added)
}

/// Who writes a demo event.
#[derive(Debug, Clone, Copy)]
enum Author {
    Admin,
    Teacher,
}

/// Whom a demo event is for.
#[derive(Debug, Clone, Copy)]
enum Audience {
    WholeSchool,
    TeacherGroup,
    OtherChildGroup,
}

/// The groups behind [`Audience`] in this school.
#[derive(Debug)]
struct Audiences {
    teacher_group: i64,
    other_child_group: i64,
}

/// An event of the demo's calendar, on a school day counted from the day of seeding.
#[derive(Debug)]
struct DemoEvent {
    title: &'static str,
    description: &'static str,
    place: &'static str,
    visibility: Visibility,
    audience: Audience,
    author: Author,
    /// 1: the next school day (Monday to Friday).
    school_days_ahead: usize,
    /// Dutch start and end time (hh:mm); `None`: all day.
    hours: Option<(&'static str, &'static str)>,
}

/// The calendar: the first three in the home page's week, the rest in the weeks after.
const EVENTS: [DemoEvent; 6] = [
    DemoEvent {
        title: "Koffieochtend voor ouders",
        description: "Na het brengen staat de koffie klaar in de aula. Kom gezellig kennismaken \
                      met andere ouders en met het team.",
        place: "Aula",
        visibility: Visibility::Members,
        audience: Audience::WholeSchool,
        author: Author::Admin,
        school_days_ahead: 1,
        hours: Some(("08:30", "09:30")),
    },
    DemoEvent {
        title: "Bezoek aan de bibliotheek",
        description: "We lopen samen naar de bibliotheek en iedereen mag een boek lenen. Wie \
                      loopt er mee als begeleider? Laat het meester Tim even weten.",
        place: "Bibliotheek Centrum",
        visibility: Visibility::Members,
        audience: Audience::TeacherGroup,
        author: Author::Teacher,
        school_days_ahead: 2,
        hours: Some(("10:00", "11:30")),
    },
    DemoEvent {
        title: "Teamvergadering",
        description: "Agenda volgt per mail.",
        place: "Personeelskamer",
        visibility: Visibility::Staff,
        audience: Audience::WholeSchool,
        author: Author::Admin,
        school_days_ahead: 3,
        hours: Some(("15:15", "16:45")),
    },
    DemoEvent {
        title: "Informatieavond voortgezet onderwijs",
        description: "Voor de ouders van groep 8: hoe komt het schooladvies tot stand, en \
                      wanneer zijn de open dagen van de middelbare scholen?",
        place: "Aula",
        visibility: Visibility::Members,
        audience: Audience::OtherChildGroup,
        author: Author::Admin,
        school_days_ahead: 6,
        hours: Some(("19:30", "21:00")),
    },
    DemoEvent {
        title: "Studiedag: alle leerlingen vrij",
        description: "Het team volgt een studiedag. Alle leerlingen zijn deze dag vrij; de \
                      buitenschoolse opvang is open.",
        place: "",
        visibility: Visibility::Public,
        audience: Audience::WholeSchool,
        author: Author::Admin,
        school_days_ahead: 9,
        hours: None,
    },
    DemoEvent {
        title: "Schoolfotograaf",
        description: "Broertjes en zusjes op school gaan samen op de foto. Zorg voor een \
                      gekamde kuif!",
        place: "Gymzaal",
        visibility: Visibility::Members,
        audience: Audience::WholeSchool,
        author: Author::Admin,
        school_days_ahead: 14,
        hours: Some(("08:30", "12:00")),
    },
];

/// The `n`th school day (Monday to Friday) after `today`.
fn school_day(today: NaiveDate, n: usize) -> NaiveDate {
    today
        .iter_days()
        .skip(1)
        .filter(|day| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
        .nth(n.saturating_sub(1))
        .unwrap_or(today)
}

/// Adds each event the school has no event of that title for, as its author does on the
/// event form (the same checks of text, times and audience). Returns how many.
async fn plan_events(
    state: &AppState,
    school: TenantId,
    people: &People,
    audiences: &Audiences,
    today: NaiveDate,
) -> Result<usize, CliError> {
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let mut added = 0;
    for event in &EVENTS {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE title = $1)")
                .bind(event.title)
                .fetch_one(&mut *tx)
                .await?;
        if exists {
            continue;
        }
        let (author, roles) = match event.author {
            Author::Admin => (people.admin, Role::SchoolAdmin),
            Author::Teacher => (people.teacher, Role::Teacher),
        };
        let reader = EventReader::load(&mut tx, author, &[roles]).await?;
        let groups: BTreeSet<i64> = match event.audience {
            Audience::WholeSchool => BTreeSet::new(),
            Audience::TeacherGroup => BTreeSet::from([audiences.teacher_group]),
            Audience::OtherChildGroup => BTreeSet::from([audiences.other_child_group]),
        };
        let day = school_day(today, event.school_days_ahead)
            .format("%Y-%m-%d")
            .to_string();
        let (start_time, end_time) = event.hours.unwrap_or_default();
        let draft = EventDraft::from_fields(
            FormFields {
                title: event.title,
                description: event.description,
                place: event.place,
                visibility: event.visibility.as_str(),
                whole_school: matches!(event.audience, Audience::WholeSchool),
                all_day: event.hours.is_none(),
                start_date: &day,
                start_time,
                end_date: "",
                end_time,
            },
            groups,
        )?;
        draft.check_audience(&mut tx, &reader).await?;
        events::insert(&mut tx, &draft, author).await?;
        added += 1;
    }
    tx.commit().await?;
    Ok(added)
}

/// The teacher's post for their group: (title, text).
const GROUP_POST: (&str, &str) = (
    "Uit groep 3b: de eerste letters zitten erin",
    "Wat gaat het hard! Alle kinderen van groep 3b kennen inmiddels de eerste letters, en elke \
     dag lezen we samen een stukje uit ons voorleesboek.\n\nThuis oefenen? Lees samen een \
     prentenboek en laat uw kind de letters zoeken die het al kent. Binnenkort gaan we naar de \
     bibliotheek: in de agenda ziet u wanneer.\n\nHartelijke groet,\nmeester Tim",
);

const ROUND_TITLE: &str = "Voortgangsgesprekken";
const ROUND_MESSAGE: &str = "Graag vertellen we u hoe het met uw kind gaat in groep 3b, en \
                             horen we hoe het thuis gaat. Kies een tijd die u past.";

/// Plans the teacher's conference round for their group two school weeks ahead, as the
/// teacher does at `/conference-rounds`, and publishes it without the invitation mail, so
/// the group's parents see a talk to book. Nothing when the group has a round of this title.
async fn plan_round(
    state: &AppState,
    school: TenantId,
    people: &People,
    group: i64,
    today: NaiveDate,
) -> Result<usize, CliError> {
    let mut tx = TenantTx::begin(&state.schools, school).await?;
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conference_rounds WHERE group_id = $1 AND title = $2)",
    )
    .bind(group)
    .bind(ROUND_TITLE)
    .fetch_one(&mut *tx)
    .await?;
    if exists {
        tx.rollback().await?;
        return Ok(0);
    }
    let first_day = school_day(today, 10);
    let at = |hour, minute| NaiveTime::from_hms_opt(hour, minute, 0).expect("a time of day");
    let new = NewRound {
        group_id: group,
        title: ROUND_TITLE.to_owned(),
        // Two afternoons of five quarter-hour talks: a talk for every child and one to spare.
        plan: RoundPlan {
            talks: 10,
            talk_minutes: 15,
            talks_before_break: 0,
            break_minutes: 0,
            start_date: first_day,
            extra_days: vec![school_day(first_day, 1)],
            day_start: at(15, 0),
            day_end: at(16, 15),
        },
        settings: RoundSettings {
            booking_mode: BookingMode::Shared,
            change_until_days: Some(1),
            opens_at: None,
            siblings_open_at: None,
            message: ROUND_MESSAGE.to_owned(),
        },
    };
    let talks = rounds::instants(&new.plan)?;
    let round_id = rounds::insert_round(&mut tx, &new, &talks, people.teacher).await?;
    schoolplein_calendar::db::rounds::publish(&mut tx, round_id, None, None).await?;
    tx.commit().await?;
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_export_is_a_roster_the_import_takes_in_every_school_year() {
        for today in [
            date(2026, 12, 3),
            date(2027, 2, 28),
            date(2027, 8, 1),
            date(2031, 9, 15),
        ] {
            let (_, file) = roster::parse(export_as_of(today).as_bytes(), today)
                .unwrap_or_else(|refused| panic!("{today}: {:?}", refused.problems));
            assert_eq!(file.classes().len(), 4, "{today}");
            assert_eq!(file.pupils.len(), 32, "{today}");
            let mila = file.pupils.iter().find(|p| p.key == "41201").unwrap();
            // Groep 3 turns seven during the school year, whichever year it is.
            let school_year = if today.month() >= 8 {
                today.year()
            } else {
                today.year() - 1
            };
            assert_eq!(mila.date_of_birth.year(), school_year - 6, "{today}");
        }
        assert!(matches!(export_as_of(date(2027, 7, 31)), Cow::Borrowed(_)));
        assert!(export_as_of(date(2027, 8, 1)).contains("<schooljaar>2027-2028</schooljaar>"));
    }

    #[test]
    fn school_days_skip_the_weekend() {
        let friday = date(2026, 12, 4);
        assert_eq!(school_day(friday, 1), date(2026, 12, 7));
        assert_eq!(school_day(friday, 5), date(2026, 12, 11));
        assert_eq!(school_day(friday, 6), date(2026, 12, 14));
        let sunday = date(2026, 12, 6);
        assert_eq!(school_day(sunday, 1), date(2026, 12, 7));
    }
}
