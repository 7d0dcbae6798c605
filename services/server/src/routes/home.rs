//! A school's home page: its name and welcome text, read from the school's own schema, and
//! for a signed-in member the way to the news (with what is unread), their notices, schools
//! and account, the calendar's next seven days with a count per day; for visitors the coming
//! public events.

use axum::extract::{Query, State};
use axum::response::Html;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::events::EventReader;
use schoolplein_calendar::home::{NextDay, PublicEvent, next_days, public_events};
use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::{AppError, AppState, Lang, MaybeViewer, Role};
use schoolplein_portal::db::school_profile;
use schoolplein_portal::home::{HomeNews, home_news, unanswered};
use schoolplein_registration::db::{codes, guardians, notices};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

/// How many of the newest posts the home page shows.
const HOME_POSTS: usize = 5;

/// What a signed-in member sees above the school's text.
#[derive(Debug, Serialize)]
struct MemberBar {
    name: String,
    unread: i64,
    /// Posts that reach the member and are not opened yet.
    unread_posts: i64,
    is_parent: bool,
    is_staff: bool,
    is_admin: bool,
    /// The news: urgent messages not read yet on top, then the newest posts.
    news: Option<HomeNews>,
    /// For admins: parents' sign-ups waiting for the school's approval (A2).
    pending_signups: i64,
    /// For parents: the first names of their children whose link waits for the school.
    waiting_for_school: Vec<String>,
    /// Just joined by confirming their address: `new` account, or an `existing` one.
    joined: Option<&'static str>,
    intranet_url: Option<String>,
    /// The calendar's next seven days, while the calendar is on (or for staff).
    next_days: Option<Vec<NextDay>>,
}

#[derive(Debug, Serialize)]
struct HomePage {
    school_name: String,
    welcome_text: String,
    member: Option<MemberBar>,
    /// For visitors: the coming public events, while the calendar is on.
    public_events: Vec<PublicEvent>,
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
    Lang(language): Lang,
    MaybeViewer(viewer): MaybeViewer,
    Query(query): Query<HomeQuery>,
) -> Result<Html<String>, AppError> {
    let joined = match query.joined.as_deref() {
        Some("new") => Some("new"),
        Some("existing") => Some("existing"),
        _ => None,
    };
    // Settings first, while no transaction of this request holds a connection (they are
    // kept in memory: the menu and whether the calendar is on).
    let settings = settings_of(&state, &tenant).await?;
    let now = chrono::Utc::now();
    let names = Names::new(state.templates.catalog(), language);
    // The news comes from the school cache (or its own transaction), before this one begins.
    let mut news = match &viewer {
        Some(viewer) if settings.is_on(Module::News) => {
            Some(home_news(&state, tenant.id(), viewer, &settings, HOME_POSTS).await?)
        }
        _ => None,
    };
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let profile = school_profile::welcome(&mut tx)
        .await?
        .ok_or_else(|| AppError::Internal(format!("school {} has no profile", tenant.id())))?;
    // Questionnaires still waiting for this person's answers: the to-do list names them.
    if let (Some(news), Some(viewer)) = (news.as_mut(), &viewer) {
        let open = std::mem::take(&mut news.questionnaires);
        news.questionnaires = unanswered(&mut tx, viewer.person_id, open).await?;
    }
    let calendar_on = settings.is_on(Module::Calendar);
    let member = match viewer {
        Some(viewer) => Some(MemberBar {
            next_days: if calendar_on || viewer.is_staff() {
                // The groups kept with the news spare reading them again.
                let reader = match &news {
                    Some(news) => EventReader::of_post_reader(
                        &PostReader {
                            person_id: viewer.person_id,
                            admin: viewer.has(Role::SchoolAdmin),
                            groups: news.groups.clone(),
                            taught: news.taught.clone(),
                        },
                        &viewer.roles,
                    ),
                    None => EventReader::load(&mut tx, viewer.person_id, &viewer.roles).await?,
                };
                Some(next_days(&mut tx, &reader, now, &names).await?)
            } else {
                None
            },
            // Counted with the timeline's first page and kept with it; read here only when
            // the news is off (other kinds of post may still be on).
            unread_posts: match &news {
                Some(news) => news.unread,
                None => {
                    PostReader::load(
                        &mut tx,
                        viewer.person_id,
                        viewer.has(Role::SchoolAdmin),
                        viewer.has(Role::Teacher),
                    )
                    .await?
                    .unread(&mut tx, &PostKind::shown_by(&settings))
                    .await?
                }
            },
            news,
            pending_signups: if viewer.has(Role::SchoolAdmin) {
                codes::pending_links(&mut tx).await?
            } else {
                0
            },
            waiting_for_school: if viewer.has(Role::Parent) {
                guardians::waiting_for_school(&mut tx, viewer.person_id).await?
            } else {
                Vec::new()
            },
            joined,
            intranet_url: settings.intranet_url.clone(),
            unread: notices::unread_count(&mut tx, viewer.person_id).await?,
            is_parent: viewer.has(Role::Parent),
            is_staff: viewer.roles.iter().any(|r| r.is_staff()),
            is_admin: viewer.has(Role::SchoolAdmin),
            name: viewer.name,
        }),
        None => None,
    };
    let public_events = if member.is_none() && calendar_on {
        public_events(&mut tx, now, &names).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let page = HomePage {
        school_name: profile.name,
        welcome_text: profile.welcome_text,
        member,
        public_events,
    };
    Ok(Html(state.templates.render(
        "home.html",
        language,
        &page,
    )?))
}
