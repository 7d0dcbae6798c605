//! The frame around every school page — the school's name as the way home, the navigation
//! that fits this person and the school's modules, the person's own menu — worked out once
//! per request by [`frame_layer`] and given to every page the request renders as `frame`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenant_router::CurrentTenant;

use crate::csrf::Csrf;
use crate::nav_counts::NavCounts;
use crate::settings::{Module, SchoolSettings};
use crate::state::AppState;
use crate::viewer::{Role, SignedIn, Viewer};

tokio::task_local! {
    /// The frame of the request being served; pages rendered while serving it show it.
    static FRAME: Arc<Frame>;
}

/// What the layout shows around a school page.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub school_name: String,
    /// The signed-in person's name, for their menu; `None` for a visitor.
    pub person: Option<String>,
    /// The places of the school this person may go, in menu order.
    pub nav: Vec<NavItem>,
    /// For admins, on the pages of "Beheer": its own places.
    pub admin_nav: Vec<NavItem>,
    /// The person's address when mail to it does not arrive (N4): every page says so, with a
    /// button to try again.
    pub mail_undeliverable: Option<String>,
    /// The form token for the menu's sign-out button (empty for a visitor, who has no menu:
    /// a page without a form hands out no token).
    pub csrf: String,
    /// What the navigation counted for this person (all zero for a visitor, or on a request
    /// that is not a page's read): the home page shows the same numbers.
    pub counts: NavCounts,
}

/// One place in the navigation.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// The element id (`nav-news`), for tests and for labels.
    pub id: &'static str,
    pub href: &'static str,
    /// The text under `t.nav` naming the place.
    pub key: &'static str,
    /// The school's own name for the place, when it chose one (T5).
    pub name: Option<String>,
    /// This page is (under) this place: marked `aria-current="page"`.
    pub current: bool,
    /// One of the four places a phone's bottom bar shows.
    pub main: bool,
    /// What waits there for this person (unread posts, sign-ups to approve); 0: nothing.
    pub count: i64,
}

/// A place and what it takes to be offered it.
struct Place {
    id: &'static str,
    href: &'static str,
    key: &'static str,
    /// The module the place belongs to: gone from the menu while the school has it off.
    module: Option<Module>,
    who: Who,
    main: bool,
    /// Pages elsewhere that belong to this place (a post belongs to the news).
    also: &'static [&'static str],
}

/// The number a place of the navigation shows.
fn count_of(id: &str, counts: &NavCounts) -> i64 {
    match id {
        "nav-news" => counts.unread_posts,
        "nav-notices" => counts.unread_notices,
        "nav-messages" => counts.unread_messages,
        "nav-admin" | "nav-admin-parents" => counts.pending_signups,
        _ => 0,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Everyone,
    Parents,
    Staff,
    Admins,
}

const PLACES: &[Place] = &[
    Place {
        id: "nav-home",
        href: "/",
        key: "home",
        module: None,
        who: Who::Everyone,
        also: &[],
        main: true,
    },
    Place {
        id: "nav-news",
        href: "/timeline",
        key: "news",
        module: Some(Module::News),
        who: Who::Everyone,
        also: &["/posts"],
        main: true,
    },
    Place {
        id: "nav-messages",
        href: "/messages",
        key: "messages",
        module: Some(Module::Messages),
        who: Who::Everyone,
        also: &[],
        main: true,
    },
    Place {
        id: "nav-notices",
        href: "/notices",
        key: "notices",
        module: Some(Module::Notices),
        who: Who::Everyone,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-calendar",
        href: "/calendar",
        key: "calendar",
        module: Some(Module::Calendar),
        who: Who::Everyone,
        also: &["/events"],
        main: true,
    },
    Place {
        id: "nav-children",
        href: "/children",
        key: "children",
        module: Some(Module::Children),
        who: Who::Parents,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-groups",
        href: "/groups",
        key: "groups",
        module: Some(Module::Groups),
        who: Who::Everyone,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-absence",
        href: "/absence",
        key: "absence",
        module: Some(Module::Absence),
        who: Who::Parents,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-absence-today",
        href: "/absence/today",
        key: "absence_today",
        module: Some(Module::Absence),
        who: Who::Staff,
        also: &["/absence/pupils", "/absence/signals", "/absence/settings"],
        main: false,
    },
    Place {
        id: "nav-leave",
        href: "/leave",
        key: "leave",
        module: Some(Module::Leave),
        who: Who::Parents,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-leave-requests",
        href: "/leave/requests",
        key: "leave_requests",
        module: Some(Module::Leave),
        who: Who::Admins,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-care",
        href: "/care",
        key: "care",
        module: Some(Module::Care),
        who: Who::Parents,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-care-day",
        href: "/care/day",
        key: "care_day",
        module: Some(Module::Care),
        who: Who::Staff,
        also: &["/care/admin", "/care/month"],
        main: false,
    },
    Place {
        id: "nav-tasks",
        href: "/tasks",
        key: "tasks",
        module: Some(Module::Tasks),
        who: Who::Everyone,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-conferences",
        href: "/conferences",
        key: "conferences",
        module: Some(Module::Conferences),
        who: Who::Parents,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-conference-rounds",
        href: "/conference-rounds",
        key: "conferences",
        module: Some(Module::Conferences),
        who: Who::Staff,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-photos",
        href: "/albums",
        key: "photos",
        module: Some(Module::Photos),
        who: Who::Everyone,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-documents",
        href: "/documents",
        key: "documents",
        module: Some(Module::Documents),
        who: Who::Everyone,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-special-groups",
        href: "/special-groups",
        key: "special_groups",
        module: None,
        who: Who::Everyone,
        also: &[],
        main: false,
    },
    Place {
        id: "nav-admin",
        href: "/admin/people",
        key: "admin",
        module: None,
        who: Who::Admins,
        also: &["/admin", "/recipient-lists"],
        main: false,
    },
];

/// The places of "Beheer", for admins.
const ADMIN_PLACES: &[(&str, &str, &str)] = &[
    ("nav-admin-people", "/admin/people", "admin_people"),
    ("nav-admin-parents", "/admin/parents", "admin_parents"),
    ("nav-admin-groups", "/admin/groups", "admin_groups"),
    ("nav-admin-import", "/admin/import", "admin_import"),
    (
        "nav-admin-invitations",
        "/admin/invitations",
        "admin_invitations",
    ),
    (
        "nav-admin-image-consent",
        "/admin/image-consent",
        "admin_image_consent",
    ),
    ("nav-admin-lists", "/recipient-lists", "admin_lists"),
    ("nav-admin-holidays", "/holidays", "admin_holidays"),
    ("nav-admin-settings", "/admin/settings", "admin_settings"),
];

/// Whether `path` is the page at `href` or one under it.
fn is_under(path: &str, href: &str) -> bool {
    if href == "/" {
        return path == "/";
    }
    path == href
        || path
            .strip_prefix(href)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl Frame {
    /// The frame for `viewer` (a member of this school, or `None`) on the page at `path`.
    /// Whether this is a visitor's frame: no person, no menu, no form token shown, so the
    /// layout is the same for every visitor of the school (given its name, settings and the
    /// reader's language) and a page rendered in it may be kept for the next visitor.
    pub fn is_a_visitors(&self) -> bool {
        self.person.is_none() && self.nav.is_empty() && self.admin_nav.is_empty()
    }

    pub fn new(
        school_name: &str,
        settings: &SchoolSettings,
        signed_in: Option<&SignedIn>,
        viewer: Option<&Viewer>,
        path: &str,
        csrf: &Csrf,
        counts: &NavCounts,
    ) -> Frame {
        let is_admin = viewer.is_some_and(|v| v.has(Role::SchoolAdmin));
        let in_admin = is_admin
            && (is_under(path, "/admin")
                || ADMIN_PLACES.iter().any(|(_, href, _)| is_under(path, href)));
        let nav = match viewer {
            None => Vec::new(),
            Some(viewer) => PLACES
                .iter()
                .filter(|place| match place.who {
                    Who::Everyone => true,
                    Who::Parents => viewer.has(Role::Parent),
                    Who::Staff => viewer.is_staff(),
                    Who::Admins => is_admin,
                })
                .filter(|place| place.module.is_none_or(|m| settings.is_on(m)))
                .map(|place| NavItem {
                    id: place.id,
                    href: place.href,
                    key: place.key,
                    name: place.module.and_then(|m| settings.module(m).name),
                    current: is_under(path, place.href)
                        || place.also.iter().any(|href| is_under(path, href)),
                    main: place.main,
                    count: count_of(place.id, counts),
                })
                .collect(),
        };
        let admin_nav = if in_admin {
            ADMIN_PLACES
                .iter()
                .map(|(id, href, key)| NavItem {
                    id,
                    href,
                    key,
                    name: None,
                    current: is_under(path, href),
                    main: false,
                    count: count_of(id, counts),
                })
                .collect()
        } else {
            Vec::new()
        };
        Frame {
            school_name: school_name.to_owned(),
            person: signed_in.map(|s| s.name.clone()),
            nav,
            admin_nav,
            mail_undeliverable: signed_in
                .filter(|s| s.mail_undeliverable)
                .map(|s| s.email.clone()),
            csrf: signed_in
                .map(|_| csrf.token().to_owned())
                .unwrap_or_default(),
            counts: *counts,
        }
    }
}

/// The frame of the request being served, if it is a school page's.
pub fn current() -> Option<Arc<Frame>> {
    FRAME.try_with(Arc::clone).ok()
}

/// Works out the frame of a school page's request and serves the request inside it. A frame
/// that cannot be worked out (the settings unreadable) leaves the page without one: the
/// layout then shows the plain header, and the page itself says what failed.
pub async fn frame_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(tenant) = parts.extensions.get::<CurrentTenant>().cloned() else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let settings = match state.settings.get(&state.schools, tenant.id()).await {
        Ok(settings) => settings,
        Err(error) => {
            tracing::warn!(%error, "school settings unreadable: the page goes without its frame");
            return next.run(Request::from_parts(parts, body)).await;
        }
    };
    // The module gates of the routes behind this layer read them here.
    parts.extensions.insert(Arc::clone(&settings));
    let signed_in = crate::viewer::load(&mut parts, &state).await.ok().flatten();
    let viewer = signed_in
        .as_deref()
        .and_then(|s| crate::viewer::viewer_of(s).ok());
    // The page's own forms and the menu's sign-out share one token: the extractor finds it.
    let csrf = Csrf::from_headers(&parts.headers, &state);
    parts.extensions.insert(csrf.clone());
    // Only a page shows the counts: a form sent, a download or a feed goes without them.
    let is_page_read = parts.method == http::Method::GET || parts.method == http::Method::HEAD;
    let counts = match &viewer {
        Some(viewer) if is_page_read => crate::nav_counts::of(
            &state.school_data,
            &state.schools,
            tenant.id(),
            viewer,
            &settings,
        )
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "navigation counts unreadable: the menu goes without them");
            NavCounts::default()
        }),
        _ => NavCounts::default(),
    };
    let frame = Frame::new(
        &tenant.entry().display_name,
        &settings,
        signed_in.as_deref(),
        viewer.as_ref(),
        parts.uri.path(),
        &csrf,
        &counts,
    );
    let response = FRAME
        .scope(Arc::new(frame), next.run(Request::from_parts(parts, body)))
        .await;
    with_csrf_cookie(csrf, response)
}

/// Hands a browser without a form token the one its page put in a form (the frame's menu or
/// the page's own), with a page (not with a file, a feed or JSON, which a cache may keep),
/// unless the page did.
fn with_csrf_cookie(csrf: Csrf, response: Response) -> Response {
    let is_page = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let page_set_it = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .any(|c| {
            c.as_bytes()
                .starts_with(crate::csrf::CSRF_COOKIE.as_bytes())
        });
    if page_set_it || !is_page {
        response
    } else {
        (csrf, response).into_response()
    }
}

/// A route layer's body for the routes of one module: while the school has the module off,
/// they do not exist, for every role (404), just as they are gone from the menu. Use as
/// `.route_layer(from_fn(|r, n| module_gate(Module::Photos, r, n)))`.
pub async fn module_gate(module: Module, request: Request, next: Next) -> Response {
    match request.extensions().get::<Arc<SchoolSettings>>() {
        Some(settings) if settings.is_on(module) => next.run(request).await,
        Some(_) => crate::AppError::NotFound.into_response(),
        // The frame could not read the settings (and said why): no page of a module then.
        None => crate::AppError::Internal("school settings unreadable".to_owned()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{PLACES, is_under};
    use crate::{Language, Templates};

    #[test]
    fn every_place_of_the_phones_bar_has_a_short_name_in_every_language() {
        let templates = Templates::builder()
            .build()
            .expect("the kernel's templates");
        for language in Language::ALL {
            for place in PLACES.iter().filter(|p| p.main) {
                let key = format!("nav.short.{}", place.key);
                assert!(
                    templates.catalog().get(language, &key).is_some(),
                    "{key} in {language:?}"
                );
            }
        }
    }

    #[test]
    fn a_count_shows_at_its_place_and_a_big_one_as_99_plus() {
        let templates = Templates::builder()
            .build()
            .expect("the kernel's templates");
        let item = |id: &'static str, key: &'static str, main: bool, count: i64| super::NavItem {
            id,
            href: "/timeline",
            key,
            name: None,
            current: false,
            main,
            count,
        };
        let frame = super::Frame {
            school_name: "De Klimop".to_owned(),
            person: Some("Ouder".to_owned()),
            nav: vec![
                item("nav-news", "news", true, 167),
                item("nav-notices", "notices", false, 3),
                item("nav-calendar", "calendar", true, 0),
            ],
            admin_nav: Vec::new(),
            mail_undeliverable: None,
            csrf: "token".to_owned(),
            counts: crate::nav_counts::NavCounts::default(),
        };
        let html = templates
            .render(
                "layout.html",
                Language::Nl,
                &serde_json::json!({ "frame": frame }),
            )
            .expect("the layout");
        assert!(
            html.contains("<span class=\"nav-count\">99+<span class=\"visually-hidden\"> ongelezen</span></span>"),
            "{html}"
        );
        assert!(html.contains("<span class=\"nav-count\">3<"), "{html}");
        // Nothing waiting, no number. The news counts in the menu, the list of all places and
        // the phone's bar; the notices (not in the bar) in the first two.
        assert!(html.contains("id=\"nav-calendar\">Agenda</a>"), "{html}");
        assert_eq!(html.matches("class=\"nav-count\"").count(), 3 + 2, "{html}");
    }

    #[test]
    fn a_place_holds_its_own_pages_and_no_others() {
        assert!(is_under("/", "/"));
        assert!(!is_under("/timeline", "/"));
        assert!(is_under("/timeline", "/timeline"));
        assert!(is_under("/posts/12", "/posts"));
        assert!(!is_under("/postsx", "/posts"));
        assert!(is_under("/admin/groups/3", "/admin"));
        assert!(!is_under("/administratie", "/admin"));
    }
}
