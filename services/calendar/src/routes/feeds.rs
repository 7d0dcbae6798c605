//! The feeds' page, where a person makes, renews and stops their secret links, and the feeds
//! themselves at `/feeds/<secret>.ics`, read by calendar apps without a session: the secret
//! is the credential, so it is never logged (the request span leaves paths out).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use http::header;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role, Viewer};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::groups;
use crate::events::{self, EventReader};
use crate::feeds::{self, FEED_SUFFIX};
use crate::ical;

/// How far back a feed reaches: calendar apps keep what they fetched, and a year of the past
/// is enough to look something up without making every fetch grow for ever.
const FEED_HISTORY_DAYS: i64 = 365;

/// A feed on the page.
#[derive(Debug, Serialize)]
struct FeedRow {
    /// Empty for the personal feed: the form's `group_id`.
    group_id: String,
    /// The group's name; `None` for the personal feed.
    group_name: Option<String>,
    /// When the current link was made, if there is one.
    since: Option<String>,
    /// The address, only right after it was made: it is stored nowhere.
    fresh_url: Option<String>,
    fresh_webcal: Option<String>,
}

#[derive(Debug, Serialize)]
struct FeedsPage<'a> {
    csrf: &'a str,
    feeds: Vec<FeedRow>,
}

/// Renders the page; `fresh` is a link just made, `(group, secret)`.
async fn feeds_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: &Csrf,
    viewer: &Viewer,
    fresh: Option<(Option<i64>, SecretToken)>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, viewer).await?;
    let groups = groups::feed_choices(&mut tx, &reader).await?;
    let links = feeds::links(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    let tenancy = &state.config.tenancy;
    let row = |group: Option<i64>, group_name: Option<String>| {
        let url = fresh
            .as_ref()
            .filter(|(g, _)| *g == group)
            .map(|(_, token)| feeds::feed_url(tenancy, tenant.entry(), token));
        FeedRow {
            group_id: group.map(|g| g.to_string()).unwrap_or_default(),
            group_name,
            since: links.iter().find(|l| l.group_id == group).map(|l| {
                crate::zone::local(l.created_at)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            }),
            // Calendar apps subscribe to webcal: links; the scheme is the only difference.
            fresh_webcal: url.as_ref().map(|u| {
                format!(
                    "webcal://{}",
                    u.split_once("://").map_or(u.as_str(), |(_, rest)| rest)
                )
            }),
            fresh_url: url,
        }
    };
    let mut rows = vec![row(None, None)];
    rows.extend(groups.into_iter().map(|g| row(Some(g.id), Some(g.name))));
    let page = FeedsPage {
        csrf: csrf.token(),
        feeds: rows,
    };
    pages.show("calendar/feeds.html", &page)
}

/// `GET /calendar/feeds`: the personal feed and one per group, each with its link's state.
pub async fn show_feeds(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
) -> Result<Response, AppError> {
    feeds_page(&state, &tenant, &pages, &csrf, &viewer, None).await
}

#[derive(Debug, Deserialize)]
pub struct FeedForm {
    /// Empty: the personal feed.
    #[serde(default)]
    group_id: String,
}

/// The group of the form, which must be one the viewer may have a feed of; refusals name
/// the field.
async fn chosen_group(
    tx: &mut TenantTx,
    reader: &EventReader,
    raw: &str,
) -> Result<Option<i64>, AppError> {
    let group = match raw.trim() {
        "" => return Ok(None),
        text => text
            .parse::<i64>()
            .map_err(|_| AppError::bad_request("group_id", "calendar.events.bad_group"))?,
    };
    if groups::feed_choices(tx, reader)
        .await?
        .iter()
        .any(|g| g.id == group)
    {
        Ok(Some(group))
    } else {
        Err(AppError::bad_request(
            "group_id",
            "calendar.feeds.not_your_group",
        ))
    }
}

/// `POST /calendar/feeds/renew` (`group_id`, empty for the personal feed): a new secret link;
/// the old one stops working. The page shows the new address once, and is not stored by the
/// browser.
pub async fn renew_feed(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    CsrfForm(form): CsrfForm<FeedForm>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = EventReader::of_viewer(&mut tx, &viewer).await?;
    let group = chosen_group(&mut tx, &reader, &form.group_id).await?;
    let token = feeds::renew(&mut tx, viewer.person_id, group).await?;
    tx.commit().await?;
    let page = feeds_page(
        &state,
        &tenant,
        &pages,
        &csrf,
        &viewer,
        Some((group, token)),
    )
    .await?;
    Ok(([(header::CACHE_CONTROL, "private, no-store")], page).into_response())
}

/// `POST /calendar/feeds/revoke` (`group_id`): the link stops working and none replaces it.
pub async fn revoke_feed(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    CsrfForm(form): CsrfForm<FeedForm>,
) -> Result<Response, AppError> {
    // Only the viewer's own link is touched, so any group will do: one they no longer follow
    // may still have a link they want to end.
    let group = match form.group_id.trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::bad_request("group_id", "calendar.events.bad_group"))?,
        ),
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    feeds::revoke(&mut tx, viewer.person_id, group).await?;
    tx.commit().await?;
    Ok(Redirect::to("/calendar/feeds").into_response())
}

/// `GET /feeds/<secret>.ics`: the feed, for whoever holds the link; 404 for an unknown,
/// renewed or stopped link, a link of another school, a person no longer in the school (or
/// blocked), and a group feed of a group the person no longer follows.
pub async fn serve_feed(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let token = file
        .strip_suffix(FEED_SUFFIX)
        .and_then(SecretToken::parse)
        .ok_or(AppError::NotFound)?;
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let owner = feeds::owner_of(&mut tx, tenant.entry(), &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let staff = owner.roles.iter().any(|r| r.is_staff());
    let open_to_parents = settings.is_on(Module::Calendar) && settings.portal_open;
    // Parents get nothing while the school keeps the calendar off or the portal closed.
    if !(staff || open_to_parents) {
        return Err(AppError::NotFound);
    }
    let reader = EventReader::load(&mut tx, owner.person_id, &owner.roles).await?;
    let group_name = match owner.group_id {
        None => None,
        Some(group) => Some(
            groups::feed_choices(&mut tx, &reader)
                .await?
                .into_iter()
                .find(|g| g.id == group)
                .ok_or(AppError::NotFound)?
                .name,
        ),
    };
    let since = Utc::now() - Duration::days(FEED_HISTORY_DAYS);
    let rows = events::for_feed(&mut tx, &reader, since, owner.group_id).await?;
    // The personal feed also holds the parent's booked conference talks.
    let talks = if owner.group_id.is_none()
        && owner.roles.contains(&Role::Parent)
        && settings.is_on(Module::Conferences)
    {
        feeds::talks_of(&mut tx, owner.person_id, since).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let personal = state
        .templates
        .catalog()
        .get(owner.language, "calendar.feeds.personal")
        .unwrap_or_default();
    let name = format!(
        "{} – {}",
        tenant.entry().display_name,
        group_name.as_deref().unwrap_or(personal)
    );
    let mut entries = feeds::event_entries(&rows, &state.config.tenancy, tenant.entry());
    let talk_label = state
        .templates
        .catalog()
        .get(owner.language, "calendar.feeds.talk")
        .unwrap_or_default();
    entries.extend(feeds::talk_entries(
        &talks,
        talk_label,
        &state.config.tenancy,
        tenant.entry(),
    ));
    let body = ical::write_feed(&name, &entries);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
        .into_response())
}
