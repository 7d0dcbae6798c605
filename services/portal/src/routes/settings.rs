//! The school's settings page (T5) for school admins: what teachers may do, registration, the
//! PDF header and extra fields, what parents may download, the dashboard's tiles, whether the
//! portal is open to parents, and which modules are on under which name.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::Mistake;
use schoolplein_kernel::settings::{self, Module, ModuleSetting};
use schoolplein_kernel::{AppError, AppState, Lang, Language, Role, Viewer};
use schoolplein_registration::EmailAddress;

use crate::db::preferences;
use crate::db::school_profile::{self, Contact};
use crate::db::school_settings::{self, SettingsChange};
use crate::fields::optional_text;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

#[derive(Debug, Serialize)]
struct ModuleRow {
    key: &'static str,
    on: bool,
    name: String,
}

#[derive(Debug, Serialize)]
struct SettingsPage<'a> {
    csrf: &'a str,
    settings: &'a settings::SchoolSettings,
    extra_fields: String,
    modules: Vec<ModuleRow>,
    saved: bool,
    digest_time: String,
    digest_days: Vec<Weekday>,
    /// The contact form's values: as stored, or as typed when it came back with a mistake.
    contact: Contact,
    mistake: Option<Mistake>,
}

/// A weekday on the digest form.
#[derive(Debug, Serialize)]
struct Weekday {
    number: i16,
    name: String,
    chosen: bool,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /admin/settings`.
pub async fn show_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    settings_page(&state, &tenant, lang, csrf, query.saved.is_some(), None).await
}

/// The settings page; with `typed`, the contact form as it was sent, with its mistake (400).
async fn settings_page(
    state: &AppState,
    tenant: &CurrentTenant,
    lang: Language,
    csrf: Csrf,
    saved: bool,
    typed: Option<(Contact, Mistake)>,
) -> Result<Response, AppError> {
    // Read afresh: the admin must see what is stored, not a copy.
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let current = settings::read(&mut tx).await?;
    let stored_contact = school_profile::contact(&mut tx).await?;
    let (digest_time, chosen_days) = preferences::digest_schedule(&mut tx).await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let digest_days = (1..=7)
        .map(|number| Weekday {
            number,
            name: catalog
                .get(lang, &format!("portal.notifications.weekday.{number}"))
                .unwrap_or_default()
                .to_owned(),
            chosen: chosen_days.contains(&number),
        })
        .collect();
    let modules = Module::ALL
        .into_iter()
        .map(|module| {
            let setting = current.module(module);
            ModuleRow {
                key: module.as_str(),
                on: setting.on,
                name: setting.name.unwrap_or_default(),
            }
        })
        .collect();
    let status = if typed.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (contact, mistake) = match typed {
        Some((contact, mistake)) => (contact, Some(mistake)),
        None => (stored_contact, None),
    };
    let page = SettingsPage {
        csrf: csrf.token(),
        settings: &current,
        extra_fields: current.extra_fields.join("\n"),
        modules,
        saved,
        digest_time,
        digest_days,
        contact,
        mistake,
    };
    let html = Html(
        state
            .templates
            .render("portal/settings.html", lang, &page)?,
    );
    Ok((status, csrf, html).into_response())
}

/// The contact form's fields, checked: `contact_email` an address or empty, `phone` at most
/// 30 characters of digits, spaces and `+-()`, `address` at most 4 lines and 300 characters.
fn parse_contact(form: &[(String, String)]) -> (Contact, Result<(), AppError>) {
    let field = |name: &str| {
        form.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().replace("\r\n", "\n"))
            .unwrap_or_default()
    };
    let contact = Contact {
        contact_email: field("contact_email"),
        phone: field("phone"),
        address: field("address"),
    };
    let check = (|| {
        if !contact.contact_email.is_empty() {
            EmailAddress::parse(&contact.contact_email)
                .map_err(|e| AppError::bad_request("contact_email", e.key()))?;
        }
        let phone_ok = contact.phone.chars().count() <= 30
            && contact
                .phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c))
            && (contact.phone.is_empty() || contact.phone.chars().any(|c| c.is_ascii_digit()));
        if !phone_ok {
            return Err(AppError::bad_request("phone", "portal.settings.bad_phone"));
        }
        if contact.address.chars().count() > 300
            || contact.address.lines().count() > 4
            || contact.address.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(AppError::bad_request(
                "address",
                "portal.settings.bad_address",
            ));
        }
        Ok(())
    })();
    (contact, check)
}

/// `POST /admin/settings/contact`: how parents reach the school. A mistake brings the page
/// back with everything typed and the message at the field; nothing is saved.
pub async fn save_contact(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    viewer.require_writable()?;
    let (contact, check) = parse_contact(&form);
    if let Err(error) = check {
        let mistake =
            Mistake::of(&error, &state.templates, lang, |field| field.to_owned()).ok_or(error)?;
        return settings_page(&state, &tenant, lang, csrf, false, Some((contact, mistake))).await;
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    school_profile::save_contact(&mut tx, &contact).await?;
    tx.commit().await?;
    tracing::info!(person.id = viewer.person_id, "school contact changed");
    Ok(Redirect::to("/admin/settings?saved=1#contact").into_response())
}

/// A checkbox: present when ticked.
fn ticked(form: &HashMap<String, String>, name: &str) -> bool {
    form.contains_key(name)
}

fn one_line(form: &HashMap<String, String>, name: &str, max: usize) -> Result<String, AppError> {
    let raw = form.get(name).map(String::as_str).unwrap_or_default();
    Ok(optional_text(name, raw, max, false)?.unwrap_or_default())
}

/// `POST /admin/settings`: every setting at once, checked first, saved in one transaction,
/// and announced to every process.
pub async fn save_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let pdf_header = one_line(&form, "pdf_header", 200)?;
    let intranet_url = one_line(&form, "intranet_url", 500)?;
    if !intranet_url.is_empty() && !intranet_url.starts_with("https://") {
        return Err(AppError::bad_request(
            "intranet_url",
            "portal.settings.url_not_https",
        ));
    }
    let extra_fields: Vec<String> = form
        .get("extra_fields")
        .map(String::as_str)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if extra_fields.len() > 10 {
        return Err(AppError::bad_request(
            "extra_fields",
            "portal.settings.too_many_fields",
        ));
    }
    if extra_fields
        .iter()
        .any(|f| f.chars().count() > 50 || f.chars().any(char::is_control))
    {
        return Err(AppError::bad_request(
            "extra_fields",
            "portal.settings.field_too_long",
        ));
    }
    let mut modules: BTreeMap<&'static str, ModuleSetting> = BTreeMap::new();
    for module in Module::ALL {
        let key = module.as_str();
        let name_field = format!("module_name_{key}");
        let name = form.get(&name_field).map(|v| v.trim()).unwrap_or_default();
        if name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                name_field,
                "portal.settings.module_name_too_long",
            ));
        }
        modules.insert(
            key,
            ModuleSetting {
                on: ticked(&form, &format!("module_on_{key}")),
                name: (!name.is_empty()).then(|| name.to_owned()),
            },
        );
    }
    for key in form.keys() {
        let known = matches!(
            key.as_str(),
            "csrf"
                | "pdf_header"
                | "intranet_url"
                | "extra_fields"
                | "teachers_manage_parents"
                | "teachers_see_all_groups"
                | "activate_parents_at_once"
                | "parents_download_address_list"
                | "photo_upload_tile"
                | "portal_open"
        ) || key
            .strip_prefix("module_on_")
            .or_else(|| key.strip_prefix("module_name_"))
            .is_some_and(|m| Module::parse(m).is_some());
        if !known {
            return Err(AppError::bad_request(
                key.clone(),
                "portal.settings.unknown_setting",
            ));
        }
    }
    let modules = serde_json::to_string(&modules).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    school_settings::save(
        &mut tx,
        &SettingsChange {
            teachers_manage_parents: ticked(&form, "teachers_manage_parents"),
            teachers_see_all_groups: ticked(&form, "teachers_see_all_groups"),
            activate_parents_at_once: ticked(&form, "activate_parents_at_once"),
            parents_download_address_list: ticked(&form, "parents_download_address_list"),
            pdf_header: &pdf_header,
            extra_fields: &extra_fields,
            intranet_url: (!intranet_url.is_empty()).then_some(intranet_url.as_str()),
            photo_upload_tile: ticked(&form, "photo_upload_tile"),
            portal_open: ticked(&form, "portal_open"),
            modules: &modules,
        },
    )
    .await?;
    settings::announce_change(&mut tx).await?;
    tx.commit().await?;
    // This process need not wait for its own notification.
    state.settings.forget(tenant.id());
    tracing::info!(person.id = viewer.person_id, "school settings changed");
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}

/// `POST /admin/settings/digest`: `digest_time` (hh:mm, 06:00–22:00, the school's local
/// time) and one `digest_days` per weekday (1 = Monday), at least one.
pub async fn save_digest(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin])?;
    let time_text = form
        .iter()
        .find(|(k, _)| k == "digest_time")
        .map(|(_, v)| v.trim())
        .unwrap_or_default();
    let time = chrono::NaiveTime::parse_from_str(time_text, "%H:%M")
        .ok()
        .filter(|t| {
            (chrono::NaiveTime::from_hms_opt(6, 0, 0)..=chrono::NaiveTime::from_hms_opt(22, 0, 0))
                .contains(&Some(*t))
        })
        .ok_or_else(|| AppError::bad_request("digest_time", "portal.settings.bad_digest_time"))?;
    let mut days = form
        .iter()
        .filter(|(k, _)| k == "digest_days")
        .map(|(_, v)| {
            v.trim()
                .parse::<i16>()
                .ok()
                .filter(|d| (1..=7).contains(d))
                .ok_or_else(|| {
                    AppError::bad_request("digest_days", "portal.settings.bad_digest_days")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    days.sort_unstable();
    days.dedup();
    if days.is_empty() {
        return Err(AppError::bad_request(
            "digest_days",
            "portal.settings.bad_digest_days",
        ));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    school_settings::save_digest(&mut tx, time, &days).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}
