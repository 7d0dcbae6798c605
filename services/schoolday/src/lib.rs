//! The school day: sick reports (D1), leave requests (D2), after-school care and lunch (D3),
//! homework and tasks (D4) and the school's holidays, each part a module the school switches
//! on or off.

pub mod absence;
pub mod care;
pub mod db;
pub mod display;
pub mod holidays;
pub mod home;
pub mod leave;
pub mod letter;
pub mod routes;
pub mod scope;

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use schoolplein_kernel::frame::module_gate;
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppState, Language};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(absence_routes())
        .merge(leave_routes())
        .merge(care_routes())
        .merge(task_routes())
        .merge(holiday_routes())
}

/// Care and lunch: the parents' sign-ups, the staff's day list, the school's moments and month.
fn care_routes() -> Router<AppState> {
    use routes::{care, care_admin};
    Router::new()
        .route("/care", get(care::show_care))
        .route("/care/signups", post(care::sign_up))
        .route("/care/signups/{signup_id}/cancel", post(care::cancel))
        .route("/care/day", get(care::show_day))
        .route("/care/admin", get(care_admin::show_admin))
        .route("/care/moments", post(care_admin::add_moment))
        .route(
            "/care/moments/{moment_id}/stop",
            post(care_admin::stop_moment),
        )
        .route(
            "/care/moments/{moment_id}/start",
            post(care_admin::start_moment),
        )
        .route("/care/settings", post(care_admin::save_settings))
        .route("/care/month", get(care_admin::show_month))
        .route("/care/month.csv", get(care_admin::month_csv))
        .route_layer(from_fn(|r, n| module_gate(Module::Care, r, n)))
}

/// Leave requests: the parents' page and letters, the school's list and decisions.
fn leave_routes() -> Router<AppState> {
    use routes::{leave, leave_admin};
    Router::new()
        .route(
            "/leave",
            get(leave::show_leave).post(leave::create_request).layer(
                axum::extract::DefaultBodyLimit::max(
                    schoolplein_portal::attachments::MAX_ATTACHMENT_BYTES + 64 * 1024,
                ),
            ),
        )
        .route(
            "/leave/{request_id}/withdraw",
            post(leave::withdraw_request),
        )
        .route("/leave/{request_id}/decision.pdf", get(leave::decision_pdf))
        .route("/leave/requests", get(leave_admin::list_requests))
        .route(
            "/leave/requests/{request_id}",
            get(leave_admin::show_request),
        )
        .route(
            "/leave/requests/{request_id}/decide",
            post(leave_admin::decide_request),
        )
        .route(
            "/leave/requests/{request_id}/statement",
            get(leave_admin::download_statement),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Leave, r, n)))
}

/// Homework and tasks: the staff's tasks and form, the parents' week, marks and files.
fn task_routes() -> Router<AppState> {
    use routes::tasks;
    Router::new()
        .route(
            "/tasks",
            get(tasks::show_tasks).post(tasks::create_task).layer(
                axum::extract::DefaultBodyLimit::max(
                    5 * schoolplein_portal::attachments::MAX_ATTACHMENT_BYTES + 64 * 1024,
                ),
            ),
        )
        .route("/tasks/{task_id}", get(tasks::show_task))
        .route(
            "/tasks/{task_id}/edit",
            get(tasks::edit_form).post(tasks::edit_task),
        )
        .route("/tasks/{task_id}/done", post(tasks::mark_done))
        .route("/tasks/{task_id}/delete", post(tasks::delete_task))
        .route(
            "/tasks/{task_id}/files/{file_id}",
            get(tasks::download_file),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Tasks, r, n)))
}

/// The school's holidays, which leave and care count with whichever modules are on.
fn holiday_routes() -> Router<AppState> {
    use routes::holidays;
    Router::new()
        .route(
            "/holidays",
            get(holidays::show_holidays).post(holidays::add_holiday),
        )
        .route("/holidays/region", post(holidays::follow_region))
        .route(
            "/holidays/{holiday_id}/delete",
            post(holidays::delete_holiday),
        )
}

/// Sick reports: the parents' page, the staff's day list, registers and settings.
fn absence_routes() -> Router<AppState> {
    use routes::{report, settings, today};
    Router::new()
        .route(
            "/absence",
            get(report::show_report).post(report::create_report),
        )
        .route("/absence/{absence_id}/end", post(report::end_report))
        .route("/absence/{absence_id}/present", post(today::mark_present))
        .route("/absence/today", get(today::show_today))
        .route("/absence/pupils/{pupil_id}", get(today::show_pupil))
        .route("/absence/register.csv", get(today::register_csv))
        .route("/absence/signals", get(today::show_signals))
        .route(
            "/absence/settings",
            get(settings::show_settings).post(settings::save_settings),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Absence, r, n)))
}

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

pub const MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "schoolday/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "schoolday/en.toml",
        include_str!("../locales/en.toml"),
    ),
];
