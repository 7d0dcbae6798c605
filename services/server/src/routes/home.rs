//! A school's home page: its name and welcome text, read from the school's own schema, and
//! for a signed-in member their day: urgent messages, what needs doing (questionnaires, talks
//! to book, activities whose sign-up closes, and for admins sign-ups to approve and addresses
//! mail does not reach), today's events and the next seven days, the newest posts, and for
//! teachers their groups; for visitors the coming public events.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use schoolplein_calendar::home::PublicEvent;
use schoolplein_kernel::frame;
use schoolplein_kernel::nav_counts::{self, NavCounts};
use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::{AppError, AppState, MaybeViewer, Pages, Role};
use schoolplein_mailing::db::refused::{self, RefusedAddress};
use schoolplein_portal::home::{HomeNews, home_news};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::home::{Asked, HomeFacts, RenderedHome, facts_of, public_home};

/// How many of the newest posts the home page shows.
const HOME_POSTS: usize = 5;

/// What a signed-in member sees above the school's text.
#[derive(Debug, Serialize)]
struct MemberBar<'a> {
    name: String,
    /// Posts, notices and sign-ups waiting, as the menu counts them.
    counts: NavCounts,
    is_parent: bool,
    is_staff: bool,
    is_admin: bool,
    /// The news: urgent messages not read yet on top, then the newest posts; its
    /// questionnaires are those still waiting for this person's answers.
    news: Option<HomeNews>,
    /// Kept per person: the to-do list's other items, today and the next days, their groups.
    facts: &'a HomeFacts,
    /// For admins: addresses the school's mail does not reach, and how many there are.
    refused_addresses: Vec<RefusedAddress>,
    refused_total: i64,
    /// Just joined by confirming their address: `new` account, or an `existing` one.
    joined: Option<&'static str>,
    intranet_url: Option<String>,
    /// For parents while sick reports are on: the way to report a child sick.
    report_sick: bool,
    /// For staff while sick reports are on: today's absent children of their groups.
    absent_today: Option<schoolplein_schoolday::home::AbsentToday>,
    /// For admins while leave is on: requests waiting for a decision.
    leave_waiting: i64,
}

#[derive(Debug, Serialize)]
struct HomePage<'a> {
    school_name: String,
    welcome_text: String,
    member: Option<MemberBar<'a>>,
    /// For visitors: the coming public events, while the calendar is on.
    public_events: &'a [PublicEvent],
}

async fn settings_of(
    state: &AppState,
    tenant: &CurrentTenant,
) -> Result<std::sync::Arc<SchoolSettings>, AppError> {
    Ok(state.settings.get(&state.schools, tenant.id()).await?)
}

/// `?joined=new|existing`: the parent arrives from confirming their address.
#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    joined: Option<String>,
}

pub async fn show_home(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    MaybeViewer(viewer): MaybeViewer,
    Query(query): Query<HomeQuery>,
) -> Result<Response, AppError> {
    let language = pages.language();
    let joined = match query.joined.as_deref() {
        Some("new") => Some("new"),
        Some("existing") => Some("existing"),
        _ => None,
    };
    // Settings first, while no transaction of this request holds a connection (they are
    // kept in memory: the menu and whether the calendar is on).
    let settings = settings_of(&state, &tenant).await?;
    let Some(viewer) = viewer else {
        return visitors_page(&state, &tenant, &pages, &settings).await;
    };
    // Everything below comes from the school cache when it is kept, each piece read in its
    // own short transaction when it is not: the news (the timeline's first page), the
    // menu's counts (the frame read them for this very page) and the other facts.
    let mut news = if settings.is_on(Module::News) {
        Some(home_news(&state, tenant.id(), &viewer, &settings, HOME_POSTS).await?)
    } else {
        None
    };
    // Counted by the frame for this very page (so counted once, even with nothing kept).
    let counts = match schoolplein_kernel::frame::current() {
        Some(frame) if frame.person.is_some() => frame.counts,
        _ => {
            nav_counts::of(
                &state.school_data,
                &state.schools,
                tenant.id(),
                &viewer,
                &settings,
            )
            .await?
        }
    };
    let facts = facts_of(
        &state,
        tenant.id(),
        Asked {
            viewer: &viewer,
            settings: &settings,
            language,
            reader: news.as_ref().map(|n| (n.groups.as_slice(), &n.taught)),
            open_questionnaires: news.as_ref().map_or_else(Vec::new, |n| {
                n.questionnaires.iter().map(|q| q.id()).collect()
            }),
        },
    )
    .await?;
    if let Some(news) = news.as_mut() {
        news.questionnaires
            .retain(|q| facts.unanswered.contains(&q.id()));
    }
    // Mail refused for good: in the platform's outbox, not in the school's tables.
    let (refused_addresses, refused_total) = if viewer.has(Role::SchoolAdmin) {
        let mut platform = state.db.begin().await?;
        let (addresses, total) =
            refused::refused_addresses(&mut platform, tenant.id().get()).await?;
        platform.commit().await?;
        if total > 0 {
            let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
            let named = refused::with_names(&mut tx, addresses).await?;
            tx.commit().await?;
            (named, total)
        } else {
            (Vec::new(), 0)
        }
    } else {
        (Vec::new(), 0)
    };
    let absence_on = settings.is_on(Module::Absence);
    let absent_today = if absence_on {
        let leave_on = settings.is_on(Module::Leave);
        schoolplein_schoolday::home::absent_today(&state, tenant.id(), &viewer, language, leave_on)
            .await?
    } else {
        None
    };
    let leave_waiting = if settings.is_on(Module::Leave) {
        schoolplein_schoolday::home::leave_waiting(&state, tenant.id(), &viewer).await?
    } else {
        0
    };
    let page = HomePage {
        school_name: facts.school_name.clone(),
        welcome_text: facts.welcome_text.clone(),
        member: Some(MemberBar {
            counts,
            is_parent: viewer.has(Role::Parent),
            is_staff: viewer.is_staff(),
            is_admin: viewer.has(Role::SchoolAdmin),
            news,
            facts: &facts,
            refused_addresses,
            refused_total,
            joined,
            intranet_url: settings.intranet_url.clone(),
            report_sick: absence_on && viewer.has(Role::Parent),
            absent_today,
            leave_waiting,
            name: viewer.name.clone(),
        }),
        public_events: &[],
    };
    pages.show("home.html", &page)
}

/// The page a visitor sees: the school's name and welcome text, and its coming public events,
/// kept per school and language in the school cache.
async fn visitors_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    settings: &Arc<SchoolSettings>,
) -> Result<Response, AppError> {
    let public = public_home(state, tenant.id(), settings, pages.language()).await?;
    // A visitor's frame is the same for every visitor but for the school's name: the page
    // rendered for the first is kept for the next while that name holds.
    let frame = frame::current().filter(|frame| frame.is_a_visitors());
    if let (Some(frame), Some(kept)) = (&frame, public.rendered.get())
        && kept.school_name == frame.school_name
    {
        return Ok(Html(kept.html.clone()).into_response());
    }
    let page = HomePage {
        school_name: public.school_name.clone(),
        welcome_text: public.welcome_text.clone(),
        member: None,
        public_events: &public.public_events,
    };
    let html = Bytes::from(
        pages
            .templates()
            .render("home.html", pages.language(), &page)?,
    );
    if let Some(frame) = frame {
        let _first_wins = public.rendered.set(RenderedHome {
            school_name: frame.school_name.clone(),
            html: html.clone(),
        });
    }
    Ok(Html(html).into_response())
}
