//! Homework and tasks (D4): teachers give a task to a group or to some of its pupils, with a
//! due day, a description and files, and see who is done; parents see their children's tasks
//! week by week and tick a child's task done.

use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use http::StatusCode;
use schoolplein_calendar::display::Names;
use schoolplein_calendar::zone;
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{Mistake, TokenOnly, value, values};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role, Viewer, Writable};
use schoolplein_portal::attachments::{check as check_file, read_file, unreadable};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::absence::parse_day;
use crate::db::tasks::{self as db, GroupPupil, NewFile, NewTask, TaskRow};
use crate::scope::Scope;

/// Files per task.
const MAX_FILES: usize = 5;

/// The groups a member of staff gives tasks to: a teacher's own, an admin's every group.
async fn staff_groups(tx: &mut TenantTx, viewer: &Viewer) -> Result<Vec<(i64, String)>, AppError> {
    let scope = Scope::of(tx, viewer).await?;
    let all = crate::db::absences::groups(tx).await?;
    Ok(all
        .into_iter()
        .filter(|(id, _)| scope.sees(Some(*id)))
        .collect())
}

#[derive(Debug, Serialize)]
struct TaskView {
    id: i64,
    title: String,
    group: String,
    due: String,
    pupils: i64,
    done: i64,
    whole_group: bool,
}

fn task_view(task: &TaskRow, names: &Names) -> TaskView {
    TaskView {
        id: task.id,
        title: task.title.clone(),
        group: task.group_name.clone(),
        due: names.day(task.due_day),
        pupils: task.pupils,
        done: task.done,
        whole_group: task.whole_group,
    }
}

#[derive(Debug, Default, Serialize)]
struct FormValues {
    group: String,
    title: String,
    description: String,
    due_day: String,
    audience: String,
    pupils: Vec<i64>,
}

#[derive(Debug, Serialize)]
struct GroupChoice {
    id: i64,
    name: String,
    pupils: Vec<GroupPupil>,
}

#[derive(Debug, Serialize)]
struct StaffPage<'a> {
    csrf: &'a str,
    groups: Vec<GroupChoice>,
    tasks: Vec<TaskView>,
    values: FormValues,
    mistake: Option<Mistake>,
    saved: bool,
    also_parent: bool,
}

#[derive(Debug, Serialize)]
struct DayTasks {
    day: String,
    tasks: Vec<ChildTaskView>,
}

#[derive(Debug, Serialize)]
struct ChildTaskView {
    task_id: i64,
    pupil_id: i64,
    child: String,
    title: String,
    description: String,
    group: String,
    done: bool,
    files: Vec<(i64, String)>,
}

#[derive(Debug, Serialize)]
struct ParentPage<'a> {
    csrf: &'a str,
    week_label: String,
    previous: String,
    next: String,
    this_week: bool,
    days: Vec<DayTasks>,
    /// On this week's page: what is due in the two weeks after it.
    coming: Vec<ComingTask>,
    staff: bool,
}

/// A task due after this week.
#[derive(Debug, Serialize)]
struct ComingTask {
    task_id: i64,
    child: String,
    title: String,
    due: String,
}

#[derive(Debug, Deserialize)]
pub struct TasksQuery {
    week: Option<String>,
    view: Option<String>,
    saved: Option<String>,
}

/// The Monday of an ISO week `2026-W49`, or of the week of `today`.
fn week_start(asked: Option<&str>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match asked.map(str::trim) {
        None | Some("") => {
            Ok(today - Duration::days(i64::from(today.weekday().num_days_from_monday())))
        }
        Some(text) => {
            let (year, week) = text
                .split_once("-W")
                .ok_or_else(|| AppError::bad_request("week", "tasks.error.bad_week"))?;
            let year: i32 = year
                .parse()
                .map_err(|_| AppError::bad_request("week", "tasks.error.bad_week"))?;
            let week: u32 = week
                .parse()
                .map_err(|_| AppError::bad_request("week", "tasks.error.bad_week"))?;
            NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
                .filter(|d| (2000..=2100).contains(&d.year()))
                .ok_or_else(|| AppError::bad_request("week", "tasks.error.bad_week"))
        }
    }
}

fn week_param(monday: NaiveDate) -> String {
    let week = monday.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// `GET /tasks`: for staff, their groups' tasks and the form to give one (`?view=children`
/// for a teacher who is a parent too); for parents, their children's tasks of a week.
pub async fn show_tasks(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<TasksQuery>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let parent_view = !viewer.is_staff() || query.view.as_deref() == Some("children");
    let page = if parent_view {
        if !viewer.has(Role::Parent) {
            return Err(AppError::Forbidden {
                reason: "tasks.error.no_children",
            });
        }
        parent_page(
            &state,
            &mut tx,
            &pages,
            csrf.token(),
            &viewer,
            query.week.as_deref(),
        )
        .await?
    } else {
        staff_page(
            &state,
            &mut tx,
            &pages,
            csrf.token(),
            &viewer,
            None,
            query.saved.is_some(),
        )
        .await?
    };
    tx.commit().await?;
    Ok(page)
}

async fn parent_page(
    state: &AppState,
    tx: &mut TenantTx,
    pages: &Pages,
    csrf: &str,
    viewer: &Viewer,
    week: Option<&str>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let monday = week_start(week, today)?;
    let sunday = monday + Duration::days(6);
    let rows = db::of_family(tx, viewer.person_id, monday, sunday).await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let mut days: Vec<DayTasks> = Vec::new();
    for row in rows
        .iter()
        .map(|r| r.due_day)
        .collect::<std::collections::BTreeSet<_>>()
    {
        days.push(DayTasks {
            day: names.day(row),
            tasks: rows
                .iter()
                .filter(|r| r.due_day == row)
                .map(|r| ChildTaskView {
                    task_id: r.task_id,
                    pupil_id: r.pupil_id,
                    child: r.child.clone(),
                    title: r.title.clone(),
                    description: r.description.clone(),
                    group: r.group_name.clone(),
                    done: r.done,
                    files: r
                        .files
                        .iter()
                        .copied()
                        .zip(r.file_names.iter().cloned())
                        .collect(),
                })
                .collect(),
        });
    }
    let this_week = monday <= today && today <= sunday;
    let coming = if this_week {
        db::of_family(
            tx,
            viewer.person_id,
            sunday + Duration::days(1),
            sunday + Duration::days(14),
        )
        .await?
        .into_iter()
        .map(|r| ComingTask {
            task_id: r.task_id,
            child: r.child,
            title: r.title,
            due: names.day(r.due_day),
        })
        .collect()
    } else {
        Vec::new()
    };
    let page = ParentPage {
        csrf,
        coming,
        week_label: format!("{} – {}", names.day_short(monday), names.day(sunday)),
        previous: week_param(monday - Duration::days(7)),
        next: week_param(monday + Duration::days(7)),
        this_week,
        days,
        staff: viewer.is_staff(),
    };
    pages.show("schoolday/tasks/parent.html", &page)
}

#[allow(clippy::too_many_arguments)]
async fn staff_page(
    state: &AppState,
    tx: &mut TenantTx,
    pages: &Pages,
    csrf: &str,
    viewer: &Viewer,
    typed: Option<(FormValues, Mistake)>,
    saved: bool,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let groups = staff_groups(tx, viewer).await?;
    let ids: Vec<i64> = groups.iter().map(|(id, _)| *id).collect();
    let pupils = db::pupils_of(tx, &ids).await?;
    let tasks = db::of_groups(tx, &ids, today - Duration::days(7)).await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let (values, mistake, status) = match typed {
        Some((values, mistake)) => (values, Some(mistake), StatusCode::BAD_REQUEST),
        None => (
            FormValues {
                group: match groups.as_slice() {
                    [(only, _)] => only.to_string(),
                    _ => String::new(),
                },
                audience: "group".to_owned(),
                ..FormValues::default()
            },
            None,
            StatusCode::OK,
        ),
    };
    let page = StaffPage {
        csrf,
        groups: groups
            .into_iter()
            .map(|(id, name)| GroupChoice {
                id,
                name,
                pupils: pupils
                    .iter()
                    .filter(|p| p.group_id == id)
                    .cloned()
                    .collect(),
            })
            .collect(),
        tasks: tasks.iter().map(|t| task_view(t, &names)).collect(),
        values,
        mistake,
        saved,
        also_parent: viewer.has(Role::Parent),
    };
    pages.show_with(status, "schoolday/tasks/staff.html", &page)
}

/// The form's fields and files, once its token is verified.
async fn read_form(
    csrf: &CsrfToken,
    multipart: &mut Multipart,
) -> Result<(Vec<(String, String)>, Vec<(String, Option<Vec<u8>>)>), AppError> {
    let mut verified = false;
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable("files"))? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf" => {
                csrf.verify(Some(&field.text().await.map_err(unreadable("files"))?))?;
                verified = true;
            }
            _ if !verified => return Err(AppError::FormExpired),
            "files" => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let bytes = read_file(&mut field, "files").await?;
                if !file_name.is_empty() || bytes.as_ref().is_none_or(|b| !b.is_empty()) {
                    files.push((file_name, bytes));
                }
            }
            _ => fields.push((name, field.text().await.map_err(unreadable("files"))?)),
        }
    }
    if !verified {
        return Err(AppError::FormExpired);
    }
    Ok((fields, files))
}

/// `POST /tasks` (multipart: `csrf` first, then `group`, `title`, `description`, `due_day`,
/// `audience` — `group` or `pupils` with repeated `pupils` — and up to five `files`).
#[allow(clippy::too_many_arguments)]
pub async fn create_task(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    page_csrf: Csrf,
    viewer: Writable<Member>,
    csrf: CsrfToken,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    if !viewer.is_staff() {
        return Err(AppError::Forbidden {
            reason: "tasks.error.staff_only",
        });
    }
    let (form, raw_files) = read_form(&csrf, &mut multipart).await?;
    let today = zone::today(state.clock.now());
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let checked = async {
        let groups = staff_groups(&mut tx, &viewer).await?;
        let group_id = value(&form, "group")
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|g| groups.iter().any(|(id, _)| id == g))
            .ok_or_else(|| AppError::bad_request("group", "tasks.error.no_group"))?;
        let title = value(&form, "title").trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(AppError::bad_request("title", "tasks.error.title"));
        }
        let description = value(&form, "description").trim().replace("\r\n", "\n");
        if description.chars().count() > 5000 {
            return Err(AppError::bad_request(
                "description",
                "tasks.error.description",
            ));
        }
        let due_day = parse_day(value(&form, "due_day"))
            .ok_or_else(|| AppError::bad_request("due_day", "tasks.error.bad_day"))?;
        if due_day < today {
            return Err(AppError::bad_request("due_day", "tasks.error.past"));
        }
        let pupils: Vec<i64> = if value(&form, "audience") == "pupils" {
            let chosen: Vec<i64> = values(&form, "pupils")
                .filter_map(|v| v.trim().parse().ok())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if chosen.is_empty()
                || db::pupils_in_group(&mut tx, group_id, &chosen).await? != chosen.len() as i64
            {
                return Err(AppError::bad_request("pupils", "tasks.error.pupils"));
            }
            chosen
        } else {
            Vec::new()
        };
        if raw_files.len() > MAX_FILES {
            return Err(AppError::bad_request("files", "tasks.error.too_many_files"));
        }
        let mut files = Vec::new();
        for (name, bytes) in raw_files.clone() {
            let upload = check_file("files", &name, bytes)?;
            files.push(NewFile {
                name: upload.name,
                content_type: upload.content_type,
                bytes: upload.bytes,
            });
        }
        Ok::<_, AppError>((
            group_id,
            title.to_owned(),
            description,
            due_day,
            pupils,
            files,
        ))
    }
    .await;
    let (group_id, title, description, due_day, pupils, files) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            let Some(mistake) = Mistake::of(&error, &state.templates, pages.language(), |f| {
                f.replace('_', "-")
            }) else {
                return Err(error);
            };
            let typed = FormValues {
                group: value(&form, "group").to_owned(),
                title: value(&form, "title").to_owned(),
                description: value(&form, "description").to_owned(),
                due_day: value(&form, "due_day").to_owned(),
                audience: value(&form, "audience").to_owned(),
                pupils: values(&form, "pupils")
                    .filter_map(|v| v.trim().parse().ok())
                    .collect(),
            };
            let page = staff_page(
                &state,
                &mut tx,
                &pages,
                page_csrf.token(),
                &viewer,
                Some((typed, mistake)),
                false,
            )
            .await?;
            tx.rollback().await?;
            return Ok(page);
        }
    };
    let task = NewTask {
        group_id,
        title: &title,
        description: &description,
        due_day,
        pupils: &pupils,
    };
    let id = db::insert(&mut tx, &task, &files, viewer.person_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/tasks/{id}")).into_response())
}

#[derive(Debug, Serialize)]
struct TaskPage<'a> {
    csrf: &'a str,
    task: TaskView,
    description: String,
    author: String,
    files: Vec<(i64, String)>,
    staff: bool,
    pupils: Vec<PupilView>,
}

#[derive(Debug, Serialize)]
struct PupilView {
    pupil_id: i64,
    name: String,
    done: bool,
    done_by: String,
}

/// Who may see a task: staff whose groups hold it, or a parent of a pupil it is for.
async fn may_see(
    tx: &mut TenantTx,
    viewer: &Viewer,
    task: &TaskRow,
) -> Result<(bool, bool), AppError> {
    if viewer.is_staff() {
        let scope = Scope::of(tx, viewer).await?;
        if scope.sees(Some(task.group_id)) {
            return Ok((true, true));
        }
    }
    Ok((db::family_has(tx, task.id, viewer.person_id).await?, false))
}

/// `GET /tasks/{id}`: staff see which pupils are done; a parent sees the task (their
/// children's marks are on the week page). Anyone else: 404.
pub async fn show_task(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(task_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let task = db::task(&mut tx, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (visible, staff) = may_see(&mut tx, &viewer, &task).await?;
    if !visible {
        return Err(AppError::NotFound);
    }
    let pupils = if staff {
        db::pupils_of_task(&mut tx, task_id).await?
    } else {
        Vec::new()
    };
    let files = db::files_of(&mut tx, task_id).await?;
    tx.commit().await?;
    let names = Names::new(state.templates.catalog(), pages.language());
    let page = TaskPage {
        csrf: csrf.token(),
        task: task_view(&task, &names),
        description: task.description.clone(),
        author: task.author.clone().unwrap_or_default(),
        files,
        staff,
        pupils: pupils
            .into_iter()
            .map(|p| PupilView {
                pupil_id: p.pupil_id,
                name: p.name,
                done: p.done_at.is_some(),
                done_by: p.done_by.unwrap_or_default(),
            })
            .collect(),
    };
    pages.show("schoolday/tasks/task.html", &page)
}

/// `POST /tasks/{id}/done`: fields `pupil` and `done` (`1` done, `0` not). Only a parent of a
/// pupil the task is for; anyone else 404.
pub async fn mark_done(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(task_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let pupil = value(&form, "pupil")
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::bad_request("pupil", "tasks.error.no_pupil"))?;
    let done = value(&form, "done") == "1";
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !db::parent_may_mark(&mut tx, task_id, pupil, viewer.person_id).await? {
        return Err(AppError::NotFound);
    }
    db::mark(&mut tx, task_id, pupil, done, viewer.person_id).await?;
    let week = db::task(&mut tx, task_id)
        .await?
        .map(|t| {
            week_param(
                t.due_day - Duration::days(i64::from(t.due_day.weekday().num_days_from_monday())),
            )
        })
        .unwrap_or_default();
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/tasks?view=children&week={week}#task-{task_id}-{pupil}"
    ))
    .into_response())
}

/// `POST /tasks/{id}/delete`: staff whose groups hold it.
pub async fn delete_task(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    Path(task_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let task = db::task(&mut tx, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (_, staff) = may_see(&mut tx, &viewer, &task).await?;
    if !staff {
        return Err(AppError::NotFound);
    }
    db::delete(&mut tx, task_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/tasks?saved=1").into_response())
}

/// `GET /tasks/{id}/files/{file_id}`: for whoever may see the task, as a download.
pub async fn download_file(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path((task_id, file_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let task = db::task(&mut tx, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_see(&mut tx, &viewer, &task).await?.0 {
        return Err(AppError::NotFound);
    }
    let (name, content_type, bytes) = db::file(&mut tx, task_id, file_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((
        [
            (http::header::CONTENT_TYPE, content_type),
            (
                http::header::CONTENT_DISPOSITION,
                schoolplein_portal::files::disposition(&name),
            ),
            (http::header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct EditPage<'a> {
    csrf: &'a str,
    id: i64,
    group: String,
    title: String,
    description: String,
    due_day: String,
    mistake: Option<Mistake>,
}

/// A task the viewer may change (staff whose groups hold it), or 404.
async fn changeable(tx: &mut TenantTx, viewer: &Viewer, task_id: i64) -> Result<TaskRow, AppError> {
    let task = db::task(tx, task_id).await?.ok_or(AppError::NotFound)?;
    if may_see(tx, viewer, &task).await?.1 {
        Ok(task)
    } else {
        Err(AppError::NotFound)
    }
}

/// `GET /tasks/{id}/edit`: the title, description and due day of a task, to change.
pub async fn edit_form(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(task_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let task = changeable(&mut tx, &viewer, task_id).await?;
    tx.commit().await?;
    let page = EditPage {
        csrf: csrf.token(),
        id: task.id,
        group: task.group_name,
        title: task.title,
        description: task.description,
        due_day: task.due_day.format("%Y-%m-%d").to_string(),
        mistake: None,
    };
    pages.show("schoolday/tasks/edit.html", &page)
}

/// `POST /tasks/{id}/edit`: fields `title`, `description`, `due_day`. A mistake comes back at
/// its field with what was typed; the done marks stay.
pub async fn edit_task(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    Path(task_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let today = zone::today(state.clock.now());
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let task = changeable(&mut tx, &viewer, task_id).await?;
    let title = value(&form, "title").trim();
    let description = value(&form, "description").trim().replace("\r\n", "\n");
    let checked = if title.is_empty() || title.chars().count() > 200 {
        Err(AppError::bad_request("title", "tasks.error.title"))
    } else if description.chars().count() > 5000 {
        Err(AppError::bad_request(
            "description",
            "tasks.error.description",
        ))
    } else {
        match parse_day(value(&form, "due_day")) {
            None => Err(AppError::bad_request("due_day", "tasks.error.bad_day")),
            // A due day already past may stay; a new one may not lie in the past.
            Some(day) if day < today && day != task.due_day => {
                Err(AppError::bad_request("due_day", "tasks.error.past"))
            }
            Some(day) => Ok(day),
        }
    };
    let due_day = match checked {
        Ok(day) => day,
        Err(error) => {
            let mistake = Mistake::of(&error, &state.templates, pages.language(), |f| {
                f.replace('_', "-")
            })
            .ok_or(error)?;
            tx.rollback().await?;
            let page = EditPage {
                csrf: csrf.token(),
                id: task.id,
                group: task.group_name,
                title: value(&form, "title").to_owned(),
                description: value(&form, "description").to_owned(),
                due_day: value(&form, "due_day").to_owned(),
                mistake: Some(mistake),
            };
            return pages.show_with(StatusCode::BAD_REQUEST, "schoolday/tasks/edit.html", &page);
        }
    };
    db::update(&mut tx, task_id, title, &description, due_day).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/tasks/{task_id}")).into_response())
}
