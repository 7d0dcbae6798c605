//! Partners and joint use (A8): two parents of the same child link their accounts in the
//! school, one asking and the other accepting; while both keep joint use on, each may change
//! the other's details. Either ends the link alone; privacy choices stay each person's own.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{FormBack, TokenOnly, value};
use schoolplein_kernel::limits::{Limiter, Subject, rules};
use schoolplein_kernel::{AppError, AppState, Language, Member, Pages, Viewer, Writable};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use schoolplein_registration::db::notices::{self, NoticeKind};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::partners::{self, Parent};
use crate::db::people::{self, Details};
use crate::details::DetailsForm;

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
    /// The viewer shares their conversations about the children of both (C4), and the
    /// partner does.
    share_conversations: bool,
    partner_shares: bool,
    /// Parents of the viewer's children who could be asked (no partner of their own).
    candidates: Vec<Parent>,
    /// Whom the viewer asked and is waiting for.
    asked: Option<Parent>,
    /// Who asked the viewer.
    asking: Vec<Parent>,
    done: Option<&'a str>,
    #[serde(flatten)]
    back: FormBack,
}

/// The ids of the page's forms that come back with their mistakes.
const REQUEST_FORM: &str = "partner-request";
const JOINT_USE_FORM: &str = "joint-use";
const DETAILS_FORM: &str = "partner-details";

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// What the page says after a change, by the `done` its redirect carries.
const DONE: [&str; 9] = [
    "asked",
    "cancelled",
    "linked",
    "declined",
    "joint_use",
    "ended",
    "details",
    "already_asked",
    "share_conversations",
];

/// `GET /partner`.
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let done = query
        .done
        .as_deref()
        .and_then(|done| DONE.into_iter().find(|known| *known == done));
    partner_page(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        done,
        FormBack::none(),
    )
    .await
}

/// The page, with one of its forms as sent when `back` holds one (400).
async fn partner_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    done: Option<&str>,
    back: FormBack,
) -> Result<Response, AppError> {
    let me = viewer.person_id;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (partner_id, joint_use) = partners::partner_and_joint_use(&mut tx, me).await?;
    let mut partner = None;
    let mut candidates = Vec::new();
    let mut asked = None;
    let mut asking = Vec::new();
    let (share_conversations, partner_shares) =
        partners::share_choices(&mut tx, me, partner_id).await?;
    if let Some(partner_id) = partner_id {
        let (name, their_joint_use) = partners::name_and_joint_use(&mut tx, partner_id).await?;
        let details = if joint_use && their_joint_use {
            Some(people::details(&mut tx, partner_id).await?)
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
        candidates = partners::candidates(&mut tx, me).await?;
        asked = partners::asked_by(&mut tx, me).await?;
        asking = partners::asking(&mut tx, me).await?;
    }
    tx.commit().await?;
    let status = back.status();
    let page = PartnerPage {
        csrf: csrf.token(),
        partner,
        joint_use,
        share_conversations,
        partner_shares,
        candidates,
        asked,
        asking,
        done,
        back,
    };
    pages.show_with(status, "portal/partner.html", &page)
}

/// A person's id from a form field, or a 400 naming it.
fn person_field(field: &'static str, value: &str) -> Result<i64, AppError> {
    value
        .trim()
        .parse()
        .map_err(|_| AppError::bad_request(field, "portal.partner.unknown_parent"))
}

#[derive(Debug, Serialize)]
struct PartnerRequestMail<'a> {
    parent: &'a str,
    link: &'a str,
}

/// `POST /partner/request`: asks another parent of one's child (`partner`) to link as
/// partners. When they already asked, this links at once. A refusal brings the page back
/// with the parent chosen and the reason at the choice.
pub async fn request(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match ask_partner(&state, &tenant, &viewer, value(&form, "partner")).await {
        Err(error) => {
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                REQUEST_FORM,
                &form,
                str::to_owned,
            )?;
            partner_page(&state, &tenant, &pages, csrf, &viewer, None, back).await
        }
        asked => asked,
    }
}

/// Asks `partner` (a person's id as sent), or links at once when they asked first.
async fn ask_partner(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    partner: &str,
) -> Result<Response, AppError> {
    let me = viewer.person_id;
    let other = person_field("partner", partner)?;
    if other == me {
        return Err(AppError::bad_request(
            "partner",
            "portal.partner.not_yourself",
        ));
    }
    // A request may mail the other parent.
    let _attempt = Limiter::from_state(state)
        .attempt(&[(
            rules::PARTNER_REQUESTS_PER_ACCOUNT,
            Subject::account(viewer.account_id),
        )])
        .await?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let Some(((my_partner, _), (their_partner, blocked))) =
        partners::lock_pair(&mut tx, me, other).await?
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
    if blocked || !partners::share_a_child(&mut tx, me, other).await? {
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
    let they_asked = partners::asked(&mut tx, other, me).await?;
    if they_asked {
        partners::link(&mut tx, me, other).await?;
        notices::add(&mut tx, other, NoticeKind::PartnerLinked, Some(me)).await?;
        tx.commit().await?;
        return Ok(Redirect::to("/partner?done=linked").into_response());
    }
    // A new request, or one to someone else than before; asking the same parent again sends
    // them nothing more.
    let new = partners::ask(&mut tx, me, other).await?;
    if new.is_none() {
        tx.commit().await?;
        return Ok(Redirect::to("/partner?done=already_asked").into_response());
    }
    notices::add(&mut tx, other, NoticeKind::PartnerRequest, Some(me)).await?;
    mail_request(state, tenant, &mut tx, &viewer.name, other).await?;
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
    let (email, language) = people::mail_address(tx, to).await?;
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
    viewer: Writable<Member>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    partners::withdraw(&mut tx, viewer.person_id).await?;
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
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    let me = viewer.person_id;
    let from = person_field("from", &form.from)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let pair = partners::lock_pair(&mut tx, me, from).await?;
    let asked = partners::asked(&mut tx, from, me).await?;
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
    if blocked || !partners::share_a_child(&mut tx, me, from).await? {
        return Err(AppError::bad_request(
            "from",
            "portal.partner.unknown_parent",
        ));
    }
    partners::link(&mut tx, me, from).await?;
    notices::add(&mut tx, from, NoticeKind::PartnerLinked, Some(me)).await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=linked").into_response())
}

/// `POST /partner/decline`: turns the request of `from` down; they are not told, their
/// request is simply no longer open.
pub async fn decline(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    let from = person_field("from", &form.from)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !partners::decline(&mut tx, from, viewer.person_id).await? {
        return Err(AppError::bad_request("from", "portal.partner.no_request"));
    }
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=declined").into_response())
}

/// `POST /partner/joint-use`: `joint_use=on` or `off`, the viewer's own choice.
pub async fn joint_use(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let on = match value(&form, "joint_use") {
        "on" => true,
        "off" => false,
        _ => {
            let error = AppError::bad_request("joint_use", "portal.partner.on_or_off");
            let anchor = |_: &str| "joint-use-on".to_owned();
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                JOINT_USE_FORM,
                &form,
                anchor,
            )?;
            return partner_page(&state, &tenant, &pages, csrf, &viewer, None, back).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    partners::set_joint_use(&mut tx, viewer.person_id, on).await?;
    tx.commit().await?;
    Ok(Redirect::to("/partner?done=joint_use").into_response())
}

/// `POST /partner/share-conversations`: `share=on` or `off`, the viewer's own choice to let
/// their partner read their conversations about the children of both; it counts only while
/// the partner chose so too, and both keep joint use on.
pub async fn share_conversations(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let on = match value(&form, "share") {
        "on" => true,
        "off" => false,
        _ => return Err(AppError::bad_request("share", "portal.partner.on_or_off")),
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    crate::conversations::store::set_sharing(&mut tx, viewer.person_id, on).await?;
    tx.commit().await?;
    crate::conversations::inbox::changed_by(&state, tenant.id(), viewer.person_id);
    Ok(Redirect::to("/partner?done=share_conversations").into_response())
}

/// `POST /partner/end`: ends the link; the partner gets a notice.
pub async fn end(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Member>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let me = viewer.person_id;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let partner = partners::partner_of(&mut tx, me).await?;
    if let Some(partner) = partner {
        // Locked in id order, then read again: the partner may have ended it meanwhile.
        if let Some(((Some(linked), _), _)) = partners::lock_pair(&mut tx, me, partner).await?
            && linked == partner
        {
            partners::unlink(&mut tx, me, partner).await?;
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
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let details = match DetailsForm::of(&form).validate() {
        Ok(details) => details,
        Err(error) => {
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                DETAILS_FORM,
                &form,
                str::to_owned,
            )?;
            return partner_page(&state, &tenant, &pages, csrf, &viewer, None, back).await;
        }
    };
    let me = viewer.person_id;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // The partner's row is locked: ending the link or turning joint use off waits for this
    // change, or this change sees it.
    let allowed = partners::editable_partner(&mut tx, me).await?;
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
