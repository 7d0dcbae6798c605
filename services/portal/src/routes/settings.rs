//! The school's settings page (T5) for school admins: what teachers may do, registration, the
//! PDF header and extra fields, what parents may download, the dashboard's tiles, whether the
//! portal is open to parents, and which modules are on under which name.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, Mistake, Typed, anchors, value, values};
use schoolplein_kernel::settings::{self, Module, ModuleSetting};
use schoolplein_kernel::{Admin, AppError, AppState, Pages, Writable};
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

/// The main settings form's values: as stored, or as sent when it came back with a mistake.
#[derive(Debug, Serialize)]
struct SettingsForm {
    teachers_manage_parents: bool,
    teachers_see_all_groups: bool,
    portal_open: bool,
    parents_write_parents: bool,
    group_mail_primary_only: bool,
    activate_parents_at_once: bool,
    parents_download_address_list: bool,
    photo_upload_tile: bool,
    intranet_url: String,
    pdf_header: String,
    extra_fields: String,
    modules: Vec<ModuleRow>,
}

/// The checkboxes of the main settings form, by name.
const SWITCHES: [&str; 8] = [
    "teachers_manage_parents",
    "teachers_see_all_groups",
    "activate_parents_at_once",
    "parents_download_address_list",
    "photo_upload_tile",
    "portal_open",
    "parents_write_parents",
    "group_mail_primary_only",
];

impl SettingsForm {
    fn stored(current: &settings::SchoolSettings) -> Self {
        Self {
            teachers_manage_parents: current.teachers_manage_parents,
            teachers_see_all_groups: current.teachers_see_all_groups,
            portal_open: current.portal_open,
            parents_write_parents: current.parents_write_parents,
            group_mail_primary_only: current.group_mail_primary_only,
            activate_parents_at_once: current.activate_parents_at_once,
            parents_download_address_list: current.parents_download_address_list,
            photo_upload_tile: current.photo_upload_tile,
            intranet_url: current.intranet_url.clone().unwrap_or_default(),
            pdf_header: current.pdf_header.clone(),
            extra_fields: current.extra_fields.join("\n"),
            modules: Module::ALL
                .into_iter()
                .map(|module| {
                    let setting = current.module(module);
                    ModuleRow {
                        key: module.as_str(),
                        on: setting.on,
                        name: setting.name.unwrap_or_default(),
                    }
                })
                .collect(),
        }
    }

    fn sent(typed: &Typed) -> Self {
        let text = |name: &str| typed.one.get(name).cloned().unwrap_or_default();
        let ticked = |name: &str| typed.one.contains_key(name);
        Self {
            teachers_manage_parents: ticked("teachers_manage_parents"),
            teachers_see_all_groups: ticked("teachers_see_all_groups"),
            portal_open: ticked("portal_open"),
            parents_write_parents: ticked("parents_write_parents"),
            group_mail_primary_only: ticked("group_mail_primary_only"),
            activate_parents_at_once: ticked("activate_parents_at_once"),
            parents_download_address_list: ticked("parents_download_address_list"),
            photo_upload_tile: ticked("photo_upload_tile"),
            intranet_url: text("intranet_url"),
            pdf_header: text("pdf_header"),
            extra_fields: text("extra_fields"),
            modules: Module::ALL
                .into_iter()
                .map(|module| ModuleRow {
                    key: module.as_str(),
                    on: ticked(&format!("module_on_{}", module.as_str())),
                    name: text(&format!("module_name_{}", module.as_str())),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct SettingsPage<'a> {
    csrf: &'a str,
    form: SettingsForm,
    saved: bool,
    digest_time: String,
    digest_days: Vec<Weekday>,
    /// The contact form's values: as stored, or as typed when it came back with a mistake.
    contact: Contact,
    /// The contact form's mistake.
    mistake: Option<Mistake>,
    /// The main settings form or the digest form, when one of them came back.
    back: FormBack,
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

/// The ids of the settings page's forms that come back with their mistakes.
const SETTINGS_FORM: &str = "settings";
const DIGEST_FORM: &str = "digest-settings";

/// `GET /admin/settings`.
pub async fn show_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    settings_page(
        &state,
        &tenant,
        &pages,
        csrf,
        query.saved.is_some(),
        None,
        FormBack::none(),
    )
    .await
}

/// The settings page; with `typed`, the contact form as it was sent, with its mistake; with
/// `back`, the main or the digest form as it was sent (400 either way).
async fn settings_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    saved: bool,
    typed: Option<(Contact, Mistake)>,
    back: FormBack,
) -> Result<Response, AppError> {
    // Read afresh: the admin must see what is stored, not a copy.
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let current = settings::read(&mut tx).await?;
    let stored_contact = school_profile::contact(&mut tx).await?;
    let (stored_time, stored_days) = preferences::digest_schedule(&mut tx).await?;
    tx.commit().await?;
    let (digest_time, chosen_days) = if back.sent_form == DIGEST_FORM {
        let time = back
            .typed
            .one
            .get("digest_time")
            .cloned()
            .unwrap_or_default();
        let days = back
            .typed
            .many
            .get("digest_days")
            .into_iter()
            .flatten()
            .filter_map(|day| day.trim().parse::<i16>().ok())
            .collect();
        (time, days)
    } else {
        (stored_time, stored_days)
    };
    let catalog = state.templates.catalog();
    let digest_days = (1..=7)
        .map(|number| Weekday {
            number,
            name: catalog
                .get(
                    pages.language(),
                    &format!("portal.notifications.weekday.{number}"),
                )
                .unwrap_or_default()
                .to_owned(),
            chosen: chosen_days.contains(&number),
        })
        .collect();
    let form = if back.sent_form == SETTINGS_FORM {
        SettingsForm::sent(&back.typed)
    } else {
        SettingsForm::stored(&current)
    };
    let status = if typed.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        back.status()
    };
    let (contact, mistake) = match typed {
        Some((contact, mistake)) => (contact, Some(mistake)),
        None => (stored_contact, None),
    };
    let page = SettingsPage {
        csrf: csrf.token(),
        form,
        saved,
        digest_time,
        digest_days,
        contact,
        mistake,
        back,
    };
    pages.show_with(status, "portal/settings.html", &page)
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
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Admin>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (contact, check) = parse_contact(&form);
    if let Err(error) = check {
        let mistake = Mistake::of(&error, &state.templates, pages.language(), |field| {
            field.to_owned()
        })
        .ok_or(error)?;
        return settings_page(
            &state,
            &tenant,
            &pages,
            csrf,
            false,
            Some((contact, mistake)),
            FormBack::none(),
        )
        .await;
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    school_profile::save_contact(&mut tx, &contact).await?;
    tx.commit().await?;
    tracing::info!(person.id = viewer.person_id, "school contact changed");
    Ok(Redirect::to("/admin/settings?saved=1#contact").into_response())
}

/// The main settings form, checked.
struct SettingsSent {
    switches: HashMap<&'static str, bool>,
    pdf_header: String,
    intranet_url: String,
    extra_fields: Vec<String>,
    /// The modules, as JSON.
    modules: String,
}

fn one_line(form: &[(String, String)], name: &str, max: usize) -> Result<String, AppError> {
    Ok(optional_text(name, value(form, name), max, false)?.unwrap_or_default())
}

/// Checks every field of the main settings form; the first bad one is named in the 400.
fn parse_settings(form: &[(String, String)]) -> Result<SettingsSent, AppError> {
    let pdf_header = one_line(form, "pdf_header", 200)?;
    let intranet_url = one_line(form, "intranet_url", 500)?;
    if !intranet_url.is_empty() && !intranet_url.starts_with("https://") {
        return Err(AppError::bad_request(
            "intranet_url",
            "portal.settings.url_not_https",
        ));
    }
    let extra_fields: Vec<String> = value(form, "extra_fields")
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
    let ticked = |name: &str| form.iter().any(|(key, _)| key == name);
    let mut modules: BTreeMap<&'static str, ModuleSetting> = BTreeMap::new();
    for module in Module::ALL {
        let key = module.as_str();
        let name_field = format!("module_name_{key}");
        let name = value(form, &name_field).trim();
        if name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err(AppError::bad_request(
                name_field,
                "portal.settings.module_name_too_long",
            ));
        }
        modules.insert(
            key,
            ModuleSetting {
                on: ticked(&format!("module_on_{key}")),
                name: (!name.is_empty()).then(|| name.to_owned()),
            },
        );
    }
    for (key, _) in form {
        let known = key == "csrf"
            || matches!(key.as_str(), "pdf_header" | "intranet_url" | "extra_fields")
            || SWITCHES.contains(&key.as_str())
            || key
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
    Ok(SettingsSent {
        switches: SWITCHES
            .into_iter()
            .map(|name| (name, ticked(name)))
            .collect(),
        pdf_header,
        intranet_url,
        extra_fields,
        modules,
    })
}

/// `POST /admin/settings`: every setting at once, checked first, saved in one transaction,
/// and announced to every process. A mistake brings the page back with everything as sent
/// and the message at the field; nothing is saved.
pub async fn save_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Admin,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let sent = match parse_settings(&form) {
        Ok(sent) => sent,
        Err(error) => {
            // A setting the form does not have is named on top, linking to the form.
            let anchor = |field: &str| {
                if field.starts_with("module_name_")
                    || matches!(field, "pdf_header" | "intranet_url" | "extra_fields")
                {
                    field.to_owned()
                } else {
                    SETTINGS_FORM.to_owned()
                }
            };
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                SETTINGS_FORM,
                &form,
                anchor,
            )?;
            return settings_page(&state, &tenant, &pages, csrf, false, None, back).await;
        }
    };
    let switch = |name: &str| sent.switches.get(name).copied().unwrap_or(false);
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    school_settings::save(
        &mut tx,
        &SettingsChange {
            teachers_manage_parents: switch("teachers_manage_parents"),
            teachers_see_all_groups: switch("teachers_see_all_groups"),
            activate_parents_at_once: switch("activate_parents_at_once"),
            parents_download_address_list: switch("parents_download_address_list"),
            pdf_header: &sent.pdf_header,
            extra_fields: &sent.extra_fields,
            intranet_url: (!sent.intranet_url.is_empty()).then_some(sent.intranet_url.as_str()),
            photo_upload_tile: switch("photo_upload_tile"),
            portal_open: switch("portal_open"),
            parents_write_parents: switch("parents_write_parents"),
            group_mail_primary_only: switch("group_mail_primary_only"),
            modules: &sent.modules,
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

/// The digest form's fields, checked: `digest_time` (hh:mm, 06:00–22:00) and the weekdays,
/// sorted, at least one.
fn parse_digest(form: &[(String, String)]) -> Result<(chrono::NaiveTime, Vec<i16>), AppError> {
    let time = chrono::NaiveTime::parse_from_str(value(form, "digest_time").trim(), "%H:%M")
        .ok()
        .filter(|t| {
            (chrono::NaiveTime::from_hms_opt(6, 0, 0)..=chrono::NaiveTime::from_hms_opt(22, 0, 0))
                .contains(&Some(*t))
        })
        .ok_or_else(|| AppError::bad_request("digest_time", "portal.settings.bad_digest_time"))?;
    let mut days = values(form, "digest_days")
        .map(|v| {
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
    Ok((time, days))
}

/// `POST /admin/settings/digest`: `digest_time` (hh:mm, 06:00–22:00, the school's local
/// time) and one `digest_days` per weekday (1 = Monday), at least one. A mistake brings the
/// page back with the form as sent; nothing is saved.
pub async fn save_digest(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    _: Admin,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (time, days) = match parse_digest(&form) {
        Ok(parsed) => parsed,
        Err(error) => {
            let anchor = anchors(&[("digest_days", "digest-days")]);
            let back = FormBack::of(&state, pages.language(), error, DIGEST_FORM, &form, anchor)?;
            return settings_page(&state, &tenant, &pages, csrf, false, None, back).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    school_settings::save_digest(&mut tx, time, &days).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}
