//! What a member's home page reads besides the news and the menu's counts — the school's
//! name and welcome text, questionnaires still to answer, today and the next days, talks to
//! book, activities closing, links waiting, their groups — kept per person in the school cache;
//! and what a visitor's home page shows, kept per school and language.
//!
//! Every table behind it announces its changes (tenant migrations 0025, 0026, 0035), so a
//! change by any writer drops the kept facts in every process; the facts also depend on the
//! moment (today, booking windows opening), which the cache's minute of age bounds, and on
//! the day, checked on every use.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;

use chrono::{DateTime, NaiveDate, Utc};
use schoolplein_calendar::display::Names;
use schoolplein_calendar::events::EventReader;
use schoolplein_calendar::home::{
    BookingDue, NextDay, PublicEvent, bookings_due, next_days, public_events,
};
use schoolplein_calendar::zone;
use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::school_cache::Weighed;
use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::{AppError, AppState, Language, Role, Viewer};
use schoolplein_portal::db::groups::{self, GroupRow};
use schoolplein_portal::db::school_profile;
use schoolplein_portal::db::special_groups::{self, SignupClosing};
use schoolplein_registration::db::guardians;
use serde::Serialize;
use tenant_router::TenantId;

/// The kind of entry a member's home facts are kept under (its id: the person's).
const HOME: &str = "home";
/// The kind of entry a visitor's home page is kept under (its id: the language's).
const PUBLIC_HOME: &str = "public_home";
/// An activity's sign-up counts as closing when its last day is this near (today counted).
const SIGNUP_CLOSING_DAYS: i32 = 7;

/// An activity whose sign-up closes soon, with its last day as an instant (its start, in
/// Dutch time) for the `when` filter.
#[derive(Debug, Serialize)]
pub struct ClosingSignup {
    pub id: i64,
    pub name: String,
    pub last_day: DateTime<Utc>,
}

impl From<SignupClosing> for ClosingSignup {
    fn from(signup: SignupClosing) -> Self {
        ClosingSignup {
            id: signup.id,
            name: signup.name,
            last_day: zone::start_of_day(signup.signup_until),
        }
    }
}

/// One member's home page, less the news and the counts.
#[derive(Debug, Serialize)]
pub struct HomeFacts {
    pub school_name: String,
    pub welcome_text: String,
    /// Of the open questionnaires the news lists, those still waiting for this person's
    /// answer (a partner's answer counts).
    pub unanswered: Vec<i64>,
    /// For parents: rounds in which a child's talk is still to be booked.
    pub bookings_due: Vec<BookingDue>,
    /// For parents: activities they may join whose sign-up closes soon.
    pub signups_closing: Vec<ClosingSignup>,
    /// For parents: the first names of their children whose link waits for the school.
    pub waiting_for_school: Vec<String>,
    /// For teachers: the groups they teach.
    pub my_groups: Vec<GroupRow>,
    /// Today and the next days, while the calendar is on (or for staff).
    pub next_days: Option<Vec<NextDay>>,
    /// What the facts were read under: used only while all of it still holds.
    #[serde(skip)]
    read_under: ReadUnder,
}

/// What kept facts are valid for.
#[derive(Debug)]
struct ReadUnder {
    settings: Arc<SchoolSettings>,
    roles: Vec<Role>,
    language: Language,
    today: NaiveDate,
    open_questionnaires: Vec<i64>,
}

impl Weighed for HomeFacts {
    fn bytes(&self) -> usize {
        let days = self.next_days.as_ref().map_or(0, |days| {
            days.iter()
                .map(|d| 96 + d.events.iter().map(|e| 64 + e.title.len()).sum::<usize>())
                .sum()
        });
        std::mem::size_of::<Self>()
            + self.school_name.len()
            + self.welcome_text.len()
            + days
            + 8 * self.unanswered.len()
            + 128 * (self.bookings_due.len() + self.signups_closing.len() + self.my_groups.len())
            + 32 * self.waiting_for_school.len()
    }
}

/// What the page knows before it asks: the news's groups and open questionnaires.
#[derive(Debug)]
pub struct Asked<'a> {
    pub viewer: &'a Viewer,
    pub settings: &'a Arc<SchoolSettings>,
    pub language: Language,
    /// The reader the news was read with, when the news is on.
    pub reader: Option<(&'a [i64], &'a BTreeSet<i64>)>,
    pub open_questionnaires: Vec<i64>,
}

/// The facts for this member: kept ones while they fit, else read in one read-only
/// transaction and kept.
pub async fn facts_of(
    state: &AppState,
    tenant: TenantId,
    asked: Asked<'_>,
) -> Result<Arc<HomeFacts>, AppError> {
    let now = Utc::now();
    let today = zone::today(now);
    let viewer = asked.viewer;
    let read_under = ReadUnder {
        settings: asked.settings.clone(),
        roles: viewer.roles.clone(),
        language: asked.language,
        today,
        open_questionnaires: asked.open_questionnaires,
    };
    let expected = (
        asked.settings.clone(),
        viewer.roles.clone(),
        read_under.open_questionnaires.clone(),
    );
    let fits = move |kept: &HomeFacts| {
        let was = &kept.read_under;
        Arc::ptr_eq(&was.settings, &expected.0)
            && was.roles == expected.1
            && was.language == asked.language
            && was.today == today
            && was.open_questionnaires == expected.2
    };
    let person_id = viewer.person_id;
    let input = ReadInput {
        person_id,
        reader: asked.reader.map(|(groups, taught)| PostReader {
            person_id,
            admin: viewer.has(Role::SchoolAdmin),
            groups: groups.to_vec(),
            taught: taught.clone(),
        }),
        names: Names::new(state.templates.catalog(), asked.language),
        now,
        read_under,
    };
    state
        .school_data
        .get_or_read(&state.schools, tenant, (HOME, person_id), fits, |tx| {
            Box::pin(read_facts(tx, tenant, input))
        })
        .await
}

/// What reading the facts needs.
struct ReadInput {
    person_id: i64,
    /// The news's reader (groups as kept with the timeline), when the news is on.
    reader: Option<PostReader>,
    names: Names,
    now: DateTime<Utc>,
    read_under: ReadUnder,
}

async fn read_facts(
    tx: &mut tenant_router::TenantTx,
    tenant: TenantId,
    input: ReadInput,
) -> Result<HomeFacts, AppError> {
    let ReadInput {
        person_id,
        reader,
        names,
        now,
        read_under,
    } = input;
    let (settings, roles) = (&read_under.settings, &read_under.roles);
    let has = |role| roles.contains(&role);
    let profile = school_profile::welcome(tx)
        .await?
        .ok_or_else(|| AppError::Internal(format!("school {tenant} has no profile")))?;
    let open = &read_under.open_questionnaires;
    let unanswered = if open.is_empty() {
        Vec::new()
    } else {
        schoolplein_portal::db::posts::unanswered_by(tx, person_id, open).await?
    };
    let staff = roles.iter().any(|r| r.is_staff());
    let events_reader = if settings.is_on(Module::Calendar) || staff {
        Some(match &reader {
            Some(reader) => EventReader::of_post_reader(reader, roles),
            None => EventReader::load(tx, person_id, roles).await?,
        })
    } else {
        None
    };
    let next_days = match &events_reader {
        Some(events_reader) => Some(next_days(tx, events_reader, now, &names).await?),
        None => None,
    };
    let parent = has(Role::Parent);
    Ok(HomeFacts {
        school_name: profile.name,
        welcome_text: profile.welcome_text,
        unanswered,
        bookings_due: if parent && settings.is_on(Module::Conferences) {
            bookings_due(tx, person_id, now).await?
        } else {
            Vec::new()
        },
        signups_closing: if parent {
            special_groups::signups_closing(tx, person_id, SIGNUP_CLOSING_DAYS)
                .await?
                .into_iter()
                .map(ClosingSignup::from)
                .collect()
        } else {
            Vec::new()
        },
        waiting_for_school: if parent {
            guardians::waiting_for_school(tx, person_id).await?
        } else {
            Vec::new()
        },
        my_groups: match &events_reader {
            Some(events_reader) if has(Role::Teacher) && !events_reader.taught.is_empty() => {
                let taught: Vec<i64> = events_reader.taught.iter().copied().collect();
                groups::with_pupil_counts(tx, false, &taught).await?
            }
            _ => Vec::new(),
        },
        next_days,
        read_under,
    })
}

/// What a visitor's home page shows: the school's name and welcome text, and its coming
/// public events while the calendar is on. The same for every visitor of the school who reads
/// its language, so kept once per school and language; dropped by any change to the profile
/// or the events (both announce), and read again after the minute of age at most, so an event
/// that has begun leaves the list within a minute.
#[derive(Debug)]
pub struct PublicHome {
    pub school_name: String,
    pub welcome_text: String,
    pub public_events: Vec<PublicEvent>,
    /// The settings it was read under (the calendar on or off), and the day.
    settings: Arc<SchoolSettings>,
    today: NaiveDate,
    /// The whole page as the first visitor got it, kept for the next ones (see
    /// [`Frame::is_a_visitors`](schoolplein_kernel::frame::Frame::is_a_visitors)).
    pub rendered: OnceLock<RenderedHome>,
}

/// A visitor's home page, rendered in a frame that showed `school_name`.
#[derive(Debug)]
pub struct RenderedHome {
    pub school_name: String,
    pub html: Bytes,
}

impl Weighed for PublicHome {
    fn bytes(&self) -> usize {
        let events: usize = self
            .public_events
            .iter()
            .map(|e| 96 + e.title.len() + e.when.len() + e.place.len())
            .sum();
        // The rendered page comes later, and weighs about what its parts do, twice over for
        // the layout around them.
        2 * (2_048 + self.school_name.len() + self.welcome_text.len() + events)
    }
}

/// The visitor's home page of `tenant` in `language`, from the school cache when kept.
pub async fn public_home(
    state: &AppState,
    tenant: TenantId,
    settings: &Arc<SchoolSettings>,
    language: Language,
) -> Result<Arc<PublicHome>, AppError> {
    let now = Utc::now();
    let today = zone::today(now);
    let fits = |kept: &PublicHome| Arc::ptr_eq(&kept.settings, settings) && kept.today == today;
    let catalog = state.templates.catalog();
    let settings = Arc::clone(settings);
    let key = (PUBLIC_HOME, language as i64);
    state
        .school_data
        .get_or_read(&state.schools, tenant, key, fits, |tx| {
            // Only a read needs the names of days and months (27 texts): a kept page does not.
            let names = Names::new(catalog, language);
            Box::pin(async move {
                let profile = school_profile::welcome(tx)
                    .await?
                    .ok_or_else(|| AppError::Internal(format!("school {tenant} has no profile")))?;
                let public_events = if settings.is_on(Module::Calendar) {
                    public_events(tx, now, &names).await?
                } else {
                    Vec::new()
                };
                Ok(PublicHome {
                    school_name: profile.name,
                    welcome_text: profile.welcome_text,
                    public_events,
                    settings,
                    today,
                    rendered: OnceLock::new(),
                })
            })
        })
        .await
}
