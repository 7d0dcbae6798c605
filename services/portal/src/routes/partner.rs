//! Partners and joint use (A8): two parents of the same child link their accounts in the
//! school, one asking and the other accepting; while both keep joint use on, each may change
//! the other's details. Either ends the link alone; privacy choices stay each person's own.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::limits::{Limiter, Subject, rules};
use schoolplein_kernel::{AppError, AppState, Lang, Language, Viewer};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use schoolplein_registration::db::notices::{self, NoticeKind};
use schoolplein_registration::routes::sign_in::EmptyForm;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use super::children::{Details, DetailsForm, open_to};

/// Another parent, as this page names them.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Parent {
    id: i64,
    name: String,
}

#[derive(Debug, Serialize)]
struct PartnerView {
    id: i64,
    name: String,
    /// The partner's own choice.
    joint_use: bool,
    /// Their details, shown and editable only while both keep joint use on.
    details: Option<Details>,
}

#[derive(Debug, Serialize)]
struct PartnerPage<'a> {
    csrf: &'a str,
    partner: Option<PartnerView>,
    joint_use: bool,
    /// Parents of the viewer's children who could be asked (no partner of their own).
    candidates: Vec<Parent>,
    /// Whom the viewer asked and is waiting for.
    asked: Option<Parent>,
    /// Who asked the viewer.
    asking: Vec<Parent>,
    done: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// What the page says after a change, by the `done` its redirect carries.
const DONE: [&str; 8] = [
    "asked",
    "cancelled",
    "linked",
    "declined",
    "joint_use",
    "ended",
    "details",
    "already_asked",
];

/// `GET /partner`.
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    let me = viewer.person_id;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (partner_id, joint_use): (Option<i64>, bool) =
        sqlx::query_as("SELECT partner_id, joint_use FROM people WHERE id = $1")
            .bind(me)
            .fetch_one(&mut *tx)
            .await?;
    let mut partner = None;
    let mut candidates = Vec::new();
    let mut asked = None;
    let mut asking = Vec::new();
    if let Some(partner_id) = partner_id {
        let (name, their_joint_use): (String, bool) =
            sqlx::query_as("SELECT name, joint_use FROM people WHERE id = $1")
                .bind(partner_id)
                .fetch_one(&mut *tx)
                .await?;
        let details = if joint_use && their_joint_use {
            Some(
                sqlx::query_as(
                    "SELECT address, phone_mobile, phone_other, about FROM people WHERE id = $1",
                )
                .bind(partner_id)
                .fetch_one(&mut *tx)
                .await?,
            )
        } else {
            None
        };
        partner = Some(PartnerView {
            id: partner_id,
            name,
            joint_use: their_joint_use,
            details,
        });
    } else {
        candidates = sqlx::query_as(
            "SELECT DISTINCT o.id, o.name
               FROM guardians mine
               JOIN pupils p ON p.id = mine.pupil_id AND p.left_at IS NULL
               JOIN guardians theirs ON theirs.pupil_id = mine.pupil_id
                                    AND theirs.person_id <> mine.person_id
                                    AND theirs.status = 'active'
               JOIN people o ON o.id = theirs.person_id
                            AND o.blocked_at IS NULL AND o.partner_id IS NULL
              WHERE mine.person_id = $1 AND mine.status = 'active'
              ORDER BY o.name, o.id",
        )
        .bind(me)
        .fetch_all(&mut *tx)
        .await?;
        asked = sqlx::query_as(
            "SELECT o.id, o.name FROM partner_requests r JOIN people o ON o.id = r.to_person
              WHERE r.from_person = $1",
        )
        .bind(me)
        .fetch_optional(&mut *tx)
        .await?;
        asking = sqlx::query_as(
            "SELECT o.id, o.name FROM partner_requests r JOIN people o ON o.id = r.from_person
              WHERE r.to_person = $1 ORDER BY r.created_at",
        )
        .bind(me)
        .fetch_all(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let page = PartnerPage {
        csrf: csrf.token(),
        partner,
        joint_use,
        candidates,
        asked,
        asking,
        done: query
            .done
            .as_deref()
            .and_then(|done| DONE.into_iter().find(|known| *known == done)),
    };
    let html = Html(state.templates.render("portal/partner.html", lang, &page)?);
    Ok((csrf, html).into_response())
}

/// A person's id from a form field, or a 400 naming it.
fn person_field(field: &'static str, value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request(field, "portal.partner.unknown_parent"))
}

/// Whether both are, in effect, parents of one child who is still at the school.
async fn share_a_child(tx: &mut TenantTx, a: i64, b: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
           SELECT 1 FROM guardians x
             JOIN guardians y ON y.pupil_id = x.pupil_id
             JOIN pupils p ON p.id = x.pupil_id AND p.left_at IS NULL
            WHERE x.person_id = $1 AND y.person_id = $2
              AND x.status = 'active' AND y.status = 'active')",
    )
    .bind(a)
    .bind(b)
    .fetch_one(&mut **tx)
    .await
}

/// Both people's rows, locked in id order (two parents acting at once cannot deadlock):
/// `(partner_id, blocked)` for `a`, then for `b`. `None` when `b` is not in this school.
async fn lock_pair(
    tx: &mut TenantTx,
    a: i64,
    b: i64,
) -> Result<Option<((Option<i64>, bool), (Option<i64>, bool))>, sqlx::Error> {
    let rows: Vec<(i64, Option<i64>, bool)> = sqlx::query_as(
        "SELECT id, partner_id, blocked_at IS NOT NULL FROM people
          WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind([a, b])
    .fetch_all(&mut **tx)
    .await?;
    let find = |id: i64| {
        rows.iter()
            .find(|row| row.0 == id)
            .map(|row| (row.1, row.2))
    };
    Ok(find(a).zip(find(b)))
}

/// Whether `from` has an open request to `to`.
async fn asked(tx: &mut TenantTx, from: i64, to: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM partner_requests WHERE from_person = $1 AND to_person = $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut **tx)
    .await
}

/// Links `a` and `b` (both rows locked, neither linked) and drops every request to or from
/// either of them.
async fn link(tx: &mut TenantTx, a: i64, b: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET partner_id = CASE id WHEN $1 THEN $2 ELSE $1 END
          WHERE id IN ($1, $2)",
    )
    .bind(a)
    .bind(b)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM partner_requests
          WHERE from_person IN ($1, $2) OR to_person IN ($1, $2)",
    )
    .bind(a)
    .bind(b)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    partner: String,
}

#[derive(Debug, Serialize)]
struct PartnerRequestMail<'a> {
    parent: &'a str,
    link: &'a str,
}

/// `POST /partner/request`: asks another parent of one's child to link as partners. When
/// they already asked, this links at once.
pub async fn request(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let me = viewer.person_id;
    let other = person_field("partner", &form.partner)?;
    if other == me {
        return Err(AppError::bad_request(
            "partner",
            "portal.partner.not_yourself",
        ));
    }
    // A request may mail the other parent.
    let _attempt = Limiter::from_state(&state)
        .attempt(&[(
            rules::PARTNER_REQUESTS_PER_ACCOUNT,
            Subject::account(viewer.account_id),
        )])
        .await?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let Some(((my_partner, _), (their_partner, blocked))) = lock_pair(&mut tx, me, other).await?
    else {
        return Err(AppError::bad_request(
            "partner",
            "portal.partner.unknown_parent",
        ));
    };
    if my_partner.is_some() {
        return Err(AppError::bad_request(
            "partner",
            "portal.partner.already_linked",
        ));
    }
    if blocked || !share_a_child(&mut tx, me, other).await? {
        return Err(AppError::bad_request(
            "partner",
            "portal.partner.unknown_parent",
        ));
    }
    if their_partner.is_some() {
        return Err(AppError::bad_request(
            "partner",
            "portal.partner.they_are_linked",
        ));
    }
    let they_asked = asked(&mut tx, other, me).await?;
    if they_asked {
        link(&mut tx, me, other).await?;
        notices::add(&mut tx, other, NoticeKind::PartnerLinked, Some(me)).await?;
        tx.commit().await?;
        return Ok(Redirect::to("/partner?done=linked").into_response());
    }
    // A new request, or one to someone else than before; asking the same parent again sends
    // them nothing more.
    let new: Option<i64> = sqlx::query_scalar(
        "INSERT INTO partner_requests (from_person, to_person) VALUES ($1, $2)
         ON CONFLICT (from_person) DO UPDATE SET to_person = EXCLUDED.to_person, created_at = now()
          WHERE partner_requests.to_person <> EXCLUDED.to_person
         RETURNING to_person",
    )
    .bind(me)
    .bind(other)
    .fetch_optional(&mut *tx)
    .await?;
    if new.is_none() {
        tx.commit().await?;
        return Ok(Redirect::to("/partner?done=already_asked").into_response());
    }
    notices::add(&mut tx, other, NoticeKind::PartnerRequest, Some(me)).await?;
    mail_request(&state, &tenant, &mut tx, &viewer.name, other).await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=asked").into_response())
}

/// Queues the mail that tells `to` who asked, in `tx`.
async fn mail_request(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    from_name: &str,
    to: i64,
) -> Result<(), AppError> {
    let (email, language): (String, Option<String>) = sqlx::query_as(
        "SELECT pe.email, a.language FROM people pe
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pe.id = $1",
    )
    .bind(to)
    .fetch_one(&mut **tx)
    .await?;
    let letterhead = Letterhead::load(tx).await?;
    let link = state
        .config
        .tenancy
        .school_url(tenant.entry().slug.as_str(), "/partner");
    Outbox::new(state.templates.clone(), &state.config.mail)
        .enqueue(
            tx,
            MailRequest {
                to: &email,
                template: "portal/partner_request",
                language: Language::of_account(language.as_deref()),
                urgent: false,
                context: &PartnerRequestMail {
                    parent: from_name,
                    link: &link,
                },
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    Ok(())
}

/// `POST /partner/cancel`: withdraws one's own open request.
pub async fn cancel(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    sqlx::query("DELETE FROM partner_requests WHERE from_person = $1")
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=cancelled").into_response())
}

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    from: String,
}

/// `POST /partner/accept`: accepts the request of `from`.
pub async fn accept(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let me = viewer.person_id;
    let from = person_field("from", &form.from)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let pair = lock_pair(&mut tx, me, from).await?;
    let asked = asked(&mut tx, from, me).await?;
    let Some(((my_partner, _), (their_partner, blocked))) = pair.filter(|_| asked) else {
        return Err(AppError::bad_request("from", "portal.partner.no_request"));
    };
    if my_partner.is_some() {
        return Err(AppError::bad_request(
            "from",
            "portal.partner.already_linked",
        ));
    }
    if their_partner.is_some() {
        return Err(AppError::bad_request(
            "from",
            "portal.partner.they_are_linked",
        ));
    }
    if blocked || !share_a_child(&mut tx, me, from).await? {
        return Err(AppError::bad_request(
            "from",
            "portal.partner.unknown_parent",
        ));
    }
    link(&mut tx, me, from).await?;
    notices::add(&mut tx, from, NoticeKind::PartnerLinked, Some(me)).await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=linked").into_response())
}

/// `POST /partner/decline`: turns the request of `from` down; they are not told, their
/// request is simply no longer open.
pub async fn decline(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let from = person_field("from", &form.from)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let removed =
        sqlx::query("DELETE FROM partner_requests WHERE from_person = $1 AND to_person = $2")
            .bind(from)
            .bind(viewer.person_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(AppError::bad_request("from", "portal.partner.no_request"));
    }
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=declined").into_response())
}

#[derive(Debug, Deserialize)]
pub struct JointUseForm {
    joint_use: String,
}

/// `POST /partner/joint-use`: `joint_use=on` or `off`, the viewer's own choice.
pub async fn joint_use(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<JointUseForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let on = match form.joint_use.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Err(AppError::bad_request(
                "joint_use",
                "portal.partner.on_or_off",
            ));
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    sqlx::query("UPDATE people SET joint_use = $2 WHERE id = $1")
        .bind(viewer.person_id)
        .bind(on)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=joint_use").into_response())
}

/// `POST /partner/end`: ends the link; the partner gets a notice.
pub async fn end(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let me = viewer.person_id;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let partner: Option<i64> = sqlx::query_scalar("SELECT partner_id FROM people WHERE id = $1")
        .bind(me)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(partner) = partner {
        // Locked in id order, then read again: the partner may have ended it meanwhile.
        if let Some(((Some(linked), _), _)) = lock_pair(&mut tx, me, partner).await?
            && linked == partner
        {
            sqlx::query("UPDATE people SET partner_id = NULL WHERE id IN ($1, $2)")
                .bind(me)
                .bind(partner)
                .execute(&mut *tx)
                .await?;
            notices::add(&mut tx, partner, NoticeKind::PartnerEnded, Some(me)).await?;
        }
    }
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=ended").into_response())
}

/// `POST /partner/details`: the partner's address, phones and "about me", while both keep
/// joint use on and the school lets the partner change things.
pub async fn save_partner_details(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<DetailsForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let details = form.validate()?;
    let me = viewer.person_id;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // The partner's row is locked: ending the link or turning joint use off waits for this
    // change, or this change sees it.
    let allowed: Option<i64> = sqlx::query_scalar(
        "SELECT them.id FROM people me JOIN people them ON them.id = me.partner_id
          WHERE me.id = $1 AND me.joint_use AND them.joint_use
            AND them.read_only_at IS NULL AND them.blocked_at IS NULL
            FOR UPDATE OF them",
    )
    .bind(me)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(partner) = allowed else {
        return Err(AppError::Forbidden {
            reason: "portal.partner.no_joint_use",
        });
    };
    details.store(&state, &tenant, &mut tx, partner).await?;
    notices::add(
        &mut tx,
        partner,
        NoticeKind::PartnerChangedDetails,
        Some(me),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=details").into_response())
}
