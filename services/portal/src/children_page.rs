//! A parent's own page (`/children`) as shown: their children with each child's medical and
//! privacy forms, their photo, details and contacts. Every form on it comes back to this page
//! with its mistake — the photo form too, whose handler lives with the photos
//! (`routes::photos`) — so the page is built here, outside the routes.

use axum::response::Response;
use schoolplein_kernel::csrf::Csrf;
use schoolplein_kernel::forms::FormBack;
use schoolplein_kernel::{AppError, AppState, Pages, Viewer};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::children::{self, ChildRow, ContactRow};
use crate::db::people::{self, Details};
use crate::privacy::{Audience, Field};

/// Extra contacts per parent.
pub const MAX_CONTACTS: usize = 5;

/// The ids of the page's forms that the page itself needs to know: the contacts form (filled
/// from what it sent when it came back) and the photo form.
pub const CONTACTS_FORM: &str = "contacts";
pub const PHOTO_FORM: &str = "photo-form";

#[derive(Debug, Serialize)]
struct ChildrenPage<'a> {
    csrf: &'a str,
    children: Vec<ChildRow>,
    /// Every row of the contacts form, filled or empty, up to the maximum: as stored, or as
    /// sent when the form came back.
    contact_rows: Vec<ContactRow>,
    fields: Vec<&'static str>,
    details: Details,
    saved: bool,
    #[serde(flatten)]
    back: FormBack,
}

/// The page, with one of its forms as sent when `back` holds one (400): `back.sent_form` is
/// the form's id (`CONTACTS_FORM`, `PHOTO_FORM`, `details`, `medical-form-{pupil}`,
/// `privacy-{pupil}`).
pub async fn children_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    saved: bool,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let mut children = children::of_parent(&mut tx, viewer.person_id).await?;
    let choices = children::privacy_choices(&mut tx, viewer.person_id).await?;
    let contacts = children::contacts(&mut tx, viewer.person_id).await?;
    let details = people::details(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    for child in &mut children {
        for (pupil, field, audience) in &choices {
            if *pupil == child.pupil_id
                && let (Some(field), Some(audience)) =
                    (Field::parse(field), Audience::parse(audience))
            {
                child.choices.insert(field.as_str(), audience.as_str());
            }
        }
    }
    let contact_rows = if back.sent_form == CONTACTS_FORM {
        let sent = |part: &str, n: usize| {
            back.typed
                .one
                .get(&format!("{part}_{n}"))
                .cloned()
                .unwrap_or_default()
        };
        (0..MAX_CONTACTS)
            .map(|n| ContactRow {
                label: sent("label", n),
                name: sent("name", n),
                phone: sent("phone", n),
            })
            .collect()
    } else {
        let shown = contacts.len().max(MAX_CONTACTS);
        contacts
            .into_iter()
            .chain(std::iter::repeat_with(|| ContactRow {
                label: String::new(),
                name: String::new(),
                phone: String::new(),
            }))
            .take(shown)
            .collect()
    };
    let status = back.status();
    let page = ChildrenPage {
        csrf: csrf.token(),
        contact_rows,
        children,
        fields: Field::ALL.iter().map(|f| f.as_str()).collect(),
        details,
        saved,
        back,
    };
    pages.show_with(status, "portal/children.html", &page)
}
