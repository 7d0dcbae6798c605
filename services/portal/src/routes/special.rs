//! Special groups (P5): staff make them, parents sign up from their page, staff see and print
//! who joined. Joining takes the special group's row lock, so its maximum holds however many
//! parents press the button at once.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::{AppError, AppState, Lang, Role, Viewer};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use schoolplein_kernel::pdf::{Block, download};

#[derive(Debug, Serialize, sqlx::FromRow)]
struct SpecialRow {
    id: i64,
    name: String,
    description: String,
    has_activity: bool,
    main_group: Option<String>,
    signup_until: Option<NaiveDate>,
    max_participants: Option<i32>,
    members: i64,
    /// The viewer has joined.
    joined: bool,
    /// The viewer may join now (a parent of an allowed group, before the last day, room left).
    may_join: bool,
    /// Signing up has closed (the last day has passed).
    closed: bool,
}

#[derive(Debug, Serialize)]
struct SpecialPage<'a> {
    csrf: &'a str,
    staff: bool,
    special_groups: Vec<SpecialRow>,
    groups: Vec<crate::db::groups::GroupChoice>,
}

/// Which special groups a parent may join: by their children's groups (links in effect).
const MAY_JOIN: &str = "
    EXISTS (
        SELECT 1 FROM guardians g JOIN pupils p ON p.id = g.pupil_id
         WHERE g.person_id = $1 AND g.status = 'active' AND p.left_at IS NULL
           AND (
                 (NOT s.has_activity AND (s.main_group_id IS NULL OR p.group_id = s.main_group_id))
              OR (s.has_activity AND (
                     NOT EXISTS (SELECT 1 FROM special_group_groups x WHERE x.special_group_id = s.id)
                  OR EXISTS (SELECT 1 FROM special_group_groups x
                              WHERE x.special_group_id = s.id AND x.group_id = p.group_id)))
           ))";

/// `GET /special-groups`: for staff every special group with a form for a new one; for a
/// parent the ones they may join or have joined.
pub async fn show_special_groups(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
) -> Result<Response, AppError> {
    crate::routes::children::open_to(&state, &tenant, &viewer).await?;
    let staff = viewer.is_staff();
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let sql = format!(
        "SELECT s.id, s.name, s.description, s.has_activity, g.name AS main_group, s.signup_until,
                s.max_participants,
                (SELECT count(*) FROM special_group_members m WHERE m.special_group_id = s.id) AS members,
                EXISTS (SELECT 1 FROM special_group_members m
                         WHERE m.special_group_id = s.id AND m.person_id = $1) AS joined,
                ({MAY_JOIN}
                 AND (s.signup_until IS NULL
                      OR s.signup_until >= (now() AT TIME ZONE 'Europe/Amsterdam')::date)
                 AND (s.max_participants IS NULL OR s.max_participants >
                      (SELECT count(*) FROM special_group_members m WHERE m.special_group_id = s.id))
                ) AS may_join,
                (s.signup_until IS NOT NULL
                 AND s.signup_until < (now() AT TIME ZONE 'Europe/Amsterdam')::date) AS closed
           FROM special_groups s LEFT JOIN groups g ON g.id = s.main_group_id
          WHERE $2 OR {MAY_JOIN}
             OR EXISTS (SELECT 1 FROM special_group_members m
                         WHERE m.special_group_id = s.id AND m.person_id = $1)
          ORDER BY s.created_at DESC, s.id DESC"
    );
    let special_groups: Vec<SpecialRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer.person_id)
        .bind(staff)
        .fetch_all(&mut *tx)
        .await?;
    let groups = crate::db::groups::all(&mut tx).await?;
    tx.commit().await?;
    let page = SpecialPage {
        csrf: csrf.token(),
        staff,
        special_groups,
        groups,
    };
    let html = Html(
        state
            .templates
            .render("portal/special_groups.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

/// `POST /special-groups` (staff): fields `name`, `description`, `main_group`, and for an
/// activity `activity=1`, `signup_until` (yyyy-mm-dd), `max_participants`, `groups` (repeated).
pub async fn create_special_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    let get = |key: &str| {
        form.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or_default()
    };
    let name = get("name");
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request("name", "portal.special.bad_name"));
    }
    let description = get("description");
    if description.chars().count() > 2000 {
        return Err(AppError::bad_request(
            "description",
            "portal.special.too_long",
        ));
    }
    let has_activity = !get("activity").is_empty();
    let number = |key: &'static str| -> Result<Option<i64>, AppError> {
        match get(key) {
            "" => Ok(None),
            text => text
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::bad_request(key, "portal.special.bad_number")),
        }
    };
    let main_group = number("main_group")?;
    let (signup_until, max_participants, allowed) = if has_activity {
        let until =
            match get("signup_until") {
                "" => None,
                text => Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                    AppError::bad_request("signup_until", "portal.special.bad_date")
                })?),
            };
        let max = number("max_participants")?;
        if max.is_some_and(|m| !(1..=10_000).contains(&m)) {
            return Err(AppError::bad_request(
                "max_participants",
                "portal.special.bad_max",
            ));
        }
        let allowed = form
            .iter()
            .filter(|(k, _)| k == "groups")
            .map(|(_, v)| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::bad_request("groups", "portal.special.bad_number"))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        (until, max.map(|m| m as i32), allowed)
    } else {
        (None, None, Vec::new())
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let known: i64 = sqlx::query_scalar("SELECT count(*) FROM groups WHERE id = ANY($1)")
        .bind(
            allowed
                .iter()
                .copied()
                .chain(main_group)
                .collect::<Vec<i64>>(),
        )
        .fetch_one(&mut *tx)
        .await?;
    if known as usize != allowed.len() + usize::from(main_group.is_some()) {
        return Err(AppError::bad_request(
            "groups",
            "portal.special.unknown_group",
        ));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO special_groups (name, main_group_id, has_activity, description,
                                     signup_until, max_participants, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(name)
    .bind(if has_activity { None } else { main_group })
    .bind(has_activity)
    .bind(description)
    .bind(signup_until)
    .bind(max_participants)
    .bind(viewer.person_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO special_group_groups (special_group_id, group_id)
         SELECT $1, unnest($2::int8[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&allowed)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/special-groups").into_response())
}

/// Why joining failed, for the page.
fn refuse(key: &'static str) -> AppError {
    AppError::bad_request("special_group", key)
}

/// `POST /special-groups/{id}/join`: the row lock makes the count and the insert one step
/// for each special group, so a full group turns the next parent away.
pub async fn join_special_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<schoolplein_registration::routes::sign_in::EmptyForm>,
) -> Result<Response, AppError> {
    crate::routes::children::open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let sql = format!(
        "SELECT {MAY_JOIN} AS may,
                (s.signup_until IS NOT NULL
                 AND s.signup_until < (now() AT TIME ZONE 'Europe/Amsterdam')::date) AS closed,
                s.max_participants
           FROM special_groups s WHERE s.id = $2 FOR UPDATE OF s"
    );
    let row: Option<(bool, bool, Option<i32>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer.person_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let (may, closed, max) = row.ok_or(AppError::NotFound)?;
    if !may {
        return Err(refuse("portal.special.not_for_you"));
    }
    if closed {
        return Err(refuse("portal.special.closed"));
    }
    if let Some(max) = max {
        let members: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM special_group_members WHERE special_group_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let already: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM special_group_members
                             WHERE special_group_id = $1 AND person_id = $2)",
        )
        .bind(id)
        .bind(viewer.person_id)
        .fetch_one(&mut *tx)
        .await?;
        if !already && members >= i64::from(max) {
            return Err(refuse("portal.special.full"));
        }
    }
    sqlx::query(
        "INSERT INTO special_group_members (special_group_id, person_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(viewer.person_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/special-groups").into_response())
}

/// `POST /special-groups/{id}/leave`.
pub async fn leave_special_group(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<schoolplein_registration::routes::sign_in::EmptyForm>,
) -> Result<Response, AppError> {
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    sqlx::query("DELETE FROM special_group_members WHERE special_group_id = $1 AND person_id = $2")
        .bind(id)
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/special-groups").into_response())
}

#[derive(Debug, sqlx::FromRow)]
struct MemberRow {
    name: String,
    email: String,
    phone_mobile: Option<String>,
    children: Option<String>,
}

/// `GET /special-groups/{id}/list.pdf` (staff): who joined, with how to reach them.
pub async fn special_group_pdf(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM special_groups WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let name = name.ok_or(AppError::NotFound)?;
    let members: Vec<MemberRow> = sqlx::query_as(
        "SELECT pe.name, pe.email, pe.phone_mobile,
                (SELECT string_agg(p.first_name || coalesce(' (' || gr.name || ')', ''), ', ')
                   FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                   LEFT JOIN groups gr ON gr.id = p.group_id
                  WHERE g.person_id = pe.id AND g.status = 'active' AND p.left_at IS NULL) AS children
           FROM special_group_members m JOIN people pe ON pe.id = m.person_id
          WHERE m.special_group_id = $1 ORDER BY m.joined_at, pe.name",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let catalog = state.templates.catalog();
    let top = if settings.pdf_header.is_empty() {
        tenant.entry().display_name.clone()
    } else {
        settings.pdf_header.clone()
    };
    let mut page = vec![
        Block::Note(top),
        Block::Heading(name.clone()),
        Block::Space(6.0),
    ];
    for (n, member) in members.iter().enumerate() {
        page.push(Block::Paragraph(format!("{}. {}", n + 1, member.name)));
        let mut reach = vec![member.email.clone()];
        reach.extend(member.phone_mobile.clone());
        reach.extend(member.children.clone());
        page.push(Block::Note(format!("    {}", reach.join(" · "))));
    }
    if members.is_empty() {
        page.push(Block::Paragraph(
            catalog
                .get(lang, "portal.special.nobody")
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    download(&state.fonts, vec![page], "speciale-groep", &name).await
}
