//! What staff post and parents read (C1): news and agenda items for the whole school or for
//! chosen groups, the timeline of what reaches a person, newest first, with unread marks.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use http::StatusCode;
use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::csrf::{Csrf, CsrfForm};
use schoolplein_kernel::forms::{Mistake, TokenOnly, Typed};
use schoolplein_kernel::school_cache::TIMELINE;
use schoolplein_kernel::settings::{Module, SchoolSettings};
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, AppState, Lang, Language, Role, Viewer};
use schoolplein_mailing::notifications;
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantId, TenantTx};

use crate::access::{changeable, open_to, reader, visible_post};
use crate::db::attachments::{self, AttachmentLink};
use crate::db::groups::{self, GroupChoice};
use crate::db::posts::{
    self, Answer, EditRow, PostInsert, PostRow, Receipt, Recipient, RemindedPost,
};
use crate::db::recipient_lists::{self, ListChoice};
use crate::db::{school_settings, special_groups};
use crate::fields::optional_text;
use crate::questionnaires::{MAX_QUESTIONS, QuestionnaireDraft, QuestionnaireView};
use crate::rich_text;

/// Posts per timeline page.
pub const PAGE_SIZE: i64 = 20;

/// A post as pages show it: the body as sanitised HTML, and its first paragraph as text.
#[derive(Debug, Serialize)]
pub struct PostView {
    id: i64,
    kind: String,
    /// The school's name for the kind's module, if it chose one.
    label: Option<String>,
    title: String,
    /// Safe HTML: made by the sanitiser (or, for posts from before rich text, from escaped
    /// paragraphs).
    html: String,
    /// The first paragraph, text only, as safe HTML.
    excerpt: Option<String>,
    happens_on: Option<NaiveDate>,
    author: Option<String>,
    whole_school: bool,
    groups: Vec<String>,
    published_at: DateTime<Utc>,
    edited: bool,
    unread: bool,
    urgent: bool,
    may_change: bool,
    /// The card's marks: files attached, questions to answer, and until when.
    attachments: i64,
    has_questions: bool,
    answers_until: Option<DateTime<Utc>>,
}

impl PostView {
    pub fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn new(row: PostRow, reader: &PostReader, settings: &SchoolSettings) -> Self {
        let label = PostKind::parse(&row.kind).and_then(|k| settings.module(k.module()).name);
        let html = row
            .body_html
            .clone()
            .unwrap_or_else(|| rich_text::plain_to_html(&row.body));
        Self {
            id: row.id,
            label,
            excerpt: rich_text::excerpt(&html),
            html,
            may_change: reader.admin || row.author_id == Some(reader.person_id),
            kind: row.kind,
            title: row.title,
            happens_on: row.happens_on,
            author: row.author,
            whole_school: row.whole_school,
            groups: row.groups,
            published_at: row.published_at,
            edited: row.edited_at.is_some(),
            unread: row.unread,
            urgent: row.urgent,
            attachments: row.attachments,
            has_questions: row.has_questions,
            answers_until: row.answers_until,
        }
    }
}

/// Where a timeline page starts: below the last post of the previous one, by its publication
/// time and id — not by looking that post up, so a page still follows when it was deleted.
/// Written `<microseconds since 1970>-<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageCursor {
    published_at: DateTime<Utc>,
    id: i64,
}

impl PageCursor {
    fn of(post: &PostView) -> Self {
        Self {
            published_at: post.published_at,
            id: post.id,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let (micros, id) = text.trim().split_once('-')?;
        Some(Self {
            published_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }

    fn to_param(self) -> String {
        format!("{}-{}", self.published_at.timestamp_micros(), self.id)
    }
}

#[derive(Debug, Deserialize)]
pub struct TimelineQuery {
    /// The last post of the previous page: older ones follow.
    before: Option<String>,
}

#[derive(Debug, Serialize)]
struct TimelinePage<'a> {
    csrf: &'a str,
    posts: Vec<PostView>,
    /// The cursor to ask for the next (older) page with, when there is one.
    older: Option<String>,
    may_post: bool,
    news_label: Option<String>,
}

/// A timeline page as read: its posts (one more than a page, to tell whether older ones
/// follow), for whom, and under which settings.
#[derive(Debug)]
pub(crate) struct ReadPage {
    pub(crate) reader: PostReader,
    teacher: bool,
    settings: Arc<SchoolSettings>,
    pub(crate) rows: Vec<PostRow>,
    /// For the first page: how many posts of the shown kinds reach the person unread, in
    /// all. Counting them scans the school's posts, so it is done once with the page and kept
    /// with it: the same changes void both.
    pub(crate) unread: Option<i64>,
}

impl ReadPage {
    /// About how much memory it takes, for the cache's bound.
    fn bytes(&self) -> usize {
        let rows: usize = self
            .rows
            .iter()
            .map(|row| {
                let groups: usize = row.groups.iter().map(|g| 24 + g.len()).sum();
                192 + row.kind.len()
                    + row.title.len()
                    + row.body.len()
                    + row.body_html.as_ref().map_or(0, String::len)
                    + row.author.as_ref().map_or(0, String::len)
                    + groups
            })
            .sum();
        256 + 8 * (self.reader.groups.len() + self.reader.taught.len()) + rows
    }
}

/// One read-only transaction: the reader's groups and the page's posts.
async fn read_page(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    settings: &Arc<SchoolSettings>,
    before: Option<PageCursor>,
) -> Result<ReadPage, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant).await?;
    state.school_data.learn_announces(&mut tx).await?;
    let reader = reader(&mut tx, viewer).await?;
    let kinds = PostKind::shown_by(settings);
    let rows = posts::timeline_page(
        &mut tx,
        &reader,
        &kinds,
        before.map(|c| (c.published_at, c.id)),
        PAGE_SIZE + 1,
    )
    .await?;
    let unread = match before {
        None => Some(reader.unread(&mut tx, &kinds).await?),
        Some(_) => None,
    };
    tx.commit().await?;
    Ok(ReadPage {
        reader,
        teacher: viewer.has(Role::Teacher),
        settings: settings.clone(),
        rows,
        unread,
    })
}

/// The first page, the one read most: kept per person until the school's posts or roster or
/// the person's read marks change (`school_cache`), and used only under the same settings and
/// roles it was read with.
pub(crate) async fn first_page(
    state: &AppState,
    tenant: TenantId,
    viewer: &Viewer,
    settings: &Arc<SchoolSettings>,
) -> Result<Arc<ReadPage>, AppError> {
    let cache = &state.school_data;
    let key = (TIMELINE, viewer.person_id);
    if let Some(kept) = cache.get::<ReadPage>(tenant, key)
        && Arc::ptr_eq(&kept.settings, settings)
        && kept.reader.admin == viewer.has(Role::SchoolAdmin)
        && kept.teacher == viewer.has(Role::Teacher)
    {
        return Ok(kept);
    }
    // Taken before the transaction begins: a change announced meanwhile voids what it reads.
    let ticket = cache.ticket(tenant);
    let read = Arc::new(read_page(state, tenant, viewer, settings, None).await?);
    cache.put(ticket, key, read.clone(), read.bytes());
    Ok(read)
}

/// `GET /timeline`: what reaches the viewer, newest first, `PAGE_SIZE` at a time.
pub async fn timeline(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    let before = match query.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            PageCursor::parse(text)
                .ok_or_else(|| AppError::bad_request("before", "portal.posts.bad_page"))?,
        ),
    };
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let read = match before {
        None => first_page(&state, tenant.id(), &viewer, &settings).await?,
        Some(cursor) => {
            Arc::new(read_page(&state, tenant.id(), &viewer, &settings, Some(cursor)).await?)
        }
    };
    let more = read.rows.len() as i64 > PAGE_SIZE;
    let posts: Vec<PostView> = read
        .rows
        .iter()
        .take(PAGE_SIZE as usize)
        .cloned()
        .map(|row| PostView::new(row, &read.reader, &settings))
        .collect();
    let reader = &read.reader;
    let page = TimelinePage {
        csrf: csrf.token(),
        older: more
            .then(|| posts.last().map(|p| PageCursor::of(p).to_param()))
            .flatten(),
        posts,
        may_post: reader.may_post(),
        news_label: settings.module(Module::News).name,
    };
    let html = Html(
        state
            .templates
            .render("portal/timeline.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

#[derive(Debug, Serialize)]
struct PostPage<'a> {
    csrf: &'a str,
    post: PostView,
    /// For the author and admins of an urgent post: who has read it.
    receipts: Option<Vec<Receipt>>,
    /// How many were just reminded.
    reminded: Option<usize>,
    attachments: Vec<AttachmentLink>,
    /// A bulletin-board item's answers the viewer may see: all of them for its author and
    /// admins, otherwise the viewer's own.
    answers: Vec<Answer>,
    questionnaire: Option<QuestionnaireView>,
    /// The viewer's questionnaire answers were just saved.
    answered: bool,
}

#[derive(Debug, Deserialize)]
pub struct PostQuery {
    reminded: Option<usize>,
    answered: Option<u8>,
}

/// `GET /posts/{id}`: one post; opening it marks it read for the viewer.
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Path(post_id): Path<i64>,
    Query(query): Query<PostQuery>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let row = visible_post(&mut tx, &reader, post_id).await?;
    let marks_read = row.unread;
    if marks_read {
        posts::mark_read(&mut tx, post_id, reader.person_id).await?;
    }
    let post = PostView::new(row, &reader, &settings);
    let receipts = if post.urgent && post.may_change {
        Some(posts::receipts(&mut tx, post_id).await?)
    } else {
        None
    };
    let attachments = attachments::of_post(&mut tx, post_id).await?;
    let answers: Vec<Answer> = if post.kind == PostKind::Board.as_str() {
        posts::answers(&mut tx, post_id, post.may_change, reader.person_id).await?
    } else {
        Vec::new()
    };
    let catalog = state.templates.catalog();
    let yes_no = ["yes", "no"].map(|key| {
        catalog
            .get(lang, &format!("portal.questionnaires.{key}"))
            .unwrap_or(key)
            .to_owned()
    });
    let questionnaire =
        QuestionnaireView::load(&mut tx, post_id, reader.person_id, post.may_change, yes_no)
            .await?;
    tx.commit().await?;
    if marks_read {
        // The reader's next timeline shows it read; other processes hear it from the trigger.
        state
            .school_data
            .forget_entry(tenant.id(), (TIMELINE, reader.person_id));
    }
    let page = PostPage {
        csrf: csrf.token(),
        post,
        receipts,
        reminded: query.reminded,
        attachments,
        answers,
        questionnaire,
        answered: query.answered.is_some(),
    };
    let html = Html(state.templates.render("portal/post.html", lang, &page)?);
    Ok((csrf, html).into_response())
}

#[derive(Debug, Serialize)]
struct NewPostPage<'a> {
    csrf: &'a str,
    groups: Vec<GroupChoice>,
    special_groups: Vec<GroupChoice>,
    admin: bool,
    kinds: Vec<&'static str>,
    recipient_lists: Vec<ListChoice>,
    /// Question slots on the form.
    question_slots: Vec<usize>,
    /// The groups ticked: as sent, or a teacher's only group.
    chosen_groups: Vec<String>,
    typed: Typed,
    mistake: Option<Mistake>,
}

/// `GET /posts/new` (staff who may post).
pub async fn new_post(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    let html = post_form(
        &state,
        &tenant,
        lang,
        &csrf,
        &viewer,
        Typed::default(),
        None,
    )
    .await?;
    Ok((csrf, html).into_response())
}

/// The post form, empty or as it was sent with `mistake` in it. A teacher with one group
/// finds it ticked.
async fn post_form(
    state: &AppState,
    tenant: &CurrentTenant,
    lang: Language,
    csrf: &Csrf,
    viewer: &Viewer,
    typed: Typed,
    mistake: Option<Mistake>,
) -> Result<Html<String>, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, viewer).await?;
    let groups = groups::manageable(&mut tx, &reader).await?;
    let special_groups = groups::special_groups(&mut tx).await?;
    let recipient_lists = recipient_lists::choices(&mut tx, &reader).await?;
    tx.commit().await?;
    let chosen_groups: Vec<String> = match typed.many.get("groups") {
        Some(sent) => sent.clone(),
        None if mistake.is_none() && !reader.admin && groups.len() == 1 => {
            vec![groups[0].id.to_string()]
        }
        None => Vec::new(),
    };
    let page = NewPostPage {
        csrf: csrf.token(),
        groups,
        special_groups,
        admin: reader.admin,
        kinds: PostKind::shown_by(&settings),
        recipient_lists,
        question_slots: (1..=MAX_QUESTIONS).collect(),
        chosen_groups,
        typed,
        mistake,
    };
    Ok(Html(state.templates.render(
        "portal/post_form.html",
        lang,
        &page,
    )?))
}

/// A post as typed, checked.
struct NewPost {
    kind: PostKind,
    title: String,
    body: String,
    happens_on: Option<NaiveDate>,
    whole_school: bool,
    groups: BTreeSet<i64>,
    special_groups: BTreeSet<i64>,
    /// Mailed at once to every parent it is for (C2).
    urgent: bool,
    /// Sent to the people on this recipient list at this moment, instead of groups.
    recipient_list: Option<i64>,
    questionnaire: QuestionnaireDraft,
}

impl NewPost {
    /// Fields `kind` (news, agenda, board), `title`, `body`, `happens_on` (agenda,
    /// yyyy-mm-dd), and the audience:
    /// `whole_school=on`, or one `groups` per group and one `special_groups` per special
    /// group; `urgent=on` for an urgent message.
    fn parse(form: &[(String, String)]) -> Result<Self, AppError> {
        let get = |key: &str| {
            form.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let kind = PostKind::parse(get("kind").trim())
            .ok_or_else(|| AppError::bad_request("kind", "portal.posts.bad_kind"))?;
        let title = optional_text("title", get("title"), 200, false)?
            .ok_or_else(|| AppError::bad_request("title", "portal.posts.title_required"))?;
        let body = optional_text("body", get("body"), 20_000, true)?.unwrap_or_default();
        let happens_on = match (kind, get("happens_on").trim()) {
            (PostKind::Agenda, text) => Some(
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| AppError::bad_request("happens_on", "portal.posts.bad_date"))?,
            ),
            (PostKind::News | PostKind::Board, _) => None,
        };
        let whole_school = get("whole_school") == "on";
        let ids = |field: &'static str| -> Result<BTreeSet<i64>, AppError> {
            form.iter()
                .filter(|(key, _)| key == field)
                .map(|(_, value)| {
                    value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| AppError::bad_request(field, "portal.posts.bad_group"))
                })
                .collect()
        };
        let groups = ids("groups")?;
        let special_groups = ids("special_groups")?;
        let recipient_list = match get("recipient_list").trim() {
            "" => None,
            text => Some(text.parse::<i64>().map_err(|_| {
                AppError::bad_request("recipient_list", "portal.recipient_lists.unknown")
            })?),
        };
        // Exactly one of three audiences: the whole school, groups and special groups, or a
        // recipient list.
        let has_groups = !groups.is_empty() || !special_groups.is_empty();
        let audiences = [whole_school, has_groups, recipient_list.is_some()];
        if audiences.iter().filter(|&&chosen| chosen).count() != 1 {
            return Err(AppError::bad_request(
                "groups",
                "portal.posts.audience_choice",
            ));
        }
        let questionnaire = QuestionnaireDraft::parse(|key| get(key).to_owned())?;
        Ok(Self {
            kind,
            title,
            body,
            happens_on,
            whole_school,
            groups,
            special_groups,
            urgent: get("urgent") == "on",
            recipient_list,
            questionnaire,
        })
    }
}

/// `POST /posts` (admins anywhere; teachers to the groups they teach and to special groups).
/// A mistake in what was typed brings the form back with everything in it and the mistake
/// named at its field (400); nothing is written.
pub async fn create(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    match publish_post(&state, &tenant, &viewer, &form).await {
        Err(error) => match Mistake::of(&error, &state.templates, lang, post_field_anchor) {
            Some(mistake) => {
                let html = post_form(
                    &state,
                    &tenant,
                    lang,
                    &csrf,
                    &viewer,
                    Typed::of(&form),
                    Some(mistake),
                )
                .await?;
                Ok((StatusCode::BAD_REQUEST, csrf, html).into_response())
            }
            None => Err(error),
        },
        published => published,
    }
}

/// The id of the element on the post form that holds `field`.
fn post_field_anchor(field: &str) -> String {
    match field {
        "groups" | "special_groups" | "recipient_list" | "whole_school" => "audience".to_owned(),
        "answers_until" => "answers-until".to_owned(),
        "per_child" => "per-child".to_owned(),
        question if question.starts_with('q') && question.contains('_') => {
            let number = question[1..].split('_').next().unwrap_or_default();
            format!("question-{number}")
        }
        other => other.to_owned(),
    }
}

/// The people on list `list_id` now (not blocked), for a post by `reader`: 400 naming
/// `recipient_list` when it is not one of theirs or nobody is on it.
async fn resolve_list(
    tx: &mut TenantTx,
    reader: &PostReader,
    list_id: i64,
) -> Result<Vec<i64>, AppError> {
    let rule = recipient_lists::usable_rule(tx, reader, list_id)
        .await?
        .ok_or_else(|| AppError::bad_request("recipient_list", "portal.recipient_lists.unknown"))?;
    let people = recipient_lists::people_of(tx, &rule).await?;
    if people.is_empty() {
        return Err(AppError::bad_request(
            "recipient_list",
            "portal.recipient_lists.nobody",
        ));
    }
    Ok(people)
}

/// Checks and writes a new post, and mails it as it should be.
async fn publish_post(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    form: &[(String, String)],
) -> Result<Response, AppError> {
    let post = NewPost::parse(form)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, viewer).await?;
    if !reader.admin && (post.whole_school || !post.groups.is_subset(&reader.taught)) {
        return Err(AppError::bad_request(
            "groups",
            "portal.posts.not_your_group",
        ));
    }
    let groups: Vec<i64> = post.groups.iter().copied().collect();
    let known = groups::count_known(&mut tx, &groups).await?;
    if known != groups.len() as i64 {
        return Err(AppError::bad_request("groups", "portal.posts.bad_group"));
    }
    let special_groups: Vec<i64> = post.special_groups.iter().copied().collect();
    let known = special_groups::count_known(&mut tx, &special_groups).await?;
    if known != special_groups.len() as i64 {
        return Err(AppError::bad_request(
            "special_groups",
            "portal.posts.bad_group",
        ));
    }
    // Who is on the list right now: a pupil who joined the group since the list was made is.
    let listed = match post.recipient_list {
        Some(list_id) => Some(resolve_list(&mut tx, &reader, list_id).await?),
        None => None,
    };
    // A digest run holds this row while it reads what is new: the post is either in what it
    // read, or published (clock time, after the lock) later than the slot it covered.
    school_settings::hold_shared(&mut tx).await?;
    let post_id = posts::insert(
        &mut tx,
        &PostInsert {
            kind: post.kind.as_str(),
            title: &post.title,
            body: &post.body,
            happens_on: post.happens_on,
            author_id: viewer.person_id,
            whole_school: post.whole_school,
            urgent: post.urgent,
            by_list: listed.is_some(),
            body_html: &rich_text::to_safe_html(&post.body),
        },
    )
    .await?;
    if let Some(people) = &listed {
        posts::add_recipients(&mut tx, post_id, people).await?;
    }
    post.questionnaire.insert(&mut tx, post_id).await?;
    posts::add_groups(&mut tx, post_id, &groups).await?;
    posts::add_special_groups(&mut tx, post_id, &special_groups).await?;
    // The author has read what they wrote.
    posts::add_read(&mut tx, post_id, viewer.person_id).await?;
    if post.urgent {
        let recipients = posts::addressees(&mut tx, post_id).await?;
        let people: Vec<i64> = recipients.iter().map(|r| r.person_id).collect();
        posts::add_recipients_once(&mut tx, post_id, &people).await?;
        let mail = UrgentMail {
            title: &post.title,
            paragraphs: rich_text::text_paragraphs(&rich_text::to_safe_html(&post.body)),
            author: &viewer.name,
            link: String::new(),
        };
        mail_urgent(state, tenant, &mut tx, post_id, mail, &recipients).await?;
    } else {
        // Those who want a mail per item of this kind get it now; the rest, in a digest.
        let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
        let link = state
            .config
            .tenancy
            .school_url(tenant.entry().slug.as_str(), &format!("/posts/{post_id}"));
        notifications::mail_each(&mut tx, &outbox, post_id, &link).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    body: String,
}

/// `POST /posts/{id}/answers`: an answer to a bulletin-board item, by anyone it reaches.
pub async fn answer(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(post_id): Path<i64>,
    CsrfForm(form): CsrfForm<AnswerForm>,
) -> Result<Response, AppError> {
    open_to(&state, &tenant, &viewer).await?;
    viewer.require_writable()?;
    let body = optional_text("body", &form.body, 2000, true)?
        .ok_or_else(|| AppError::bad_request("body", "portal.posts.answer_required"))?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = reader(&mut tx, &viewer).await?;
    let row = visible_post(&mut tx, &reader, post_id).await?;
    if row.kind != PostKind::Board.as_str() {
        return Err(AppError::bad_request("body", "portal.posts.not_board"));
    }
    posts::add_answer(&mut tx, post_id, reader.person_id, &body).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

#[derive(Debug, Serialize)]
struct UrgentMail<'a> {
    title: &'a str,
    paragraphs: Vec<String>,
    author: &'a str,
    /// The recipient's own link: following it counts as reading.
    link: String,
}

/// Queues the urgent mail to each recipient, ahead of all other mail, each with a link of
/// their own whose hash is kept, in `tx`.
async fn mail_urgent(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    post_id: i64,
    mut mail: UrgentMail<'_>,
    recipients: &[Recipient],
) -> Result<(), AppError> {
    let letterhead = Letterhead::load(tx).await?;
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let mut hashes = Vec::with_capacity(recipients.len());
    let mut batch = outbox.batch();
    for recipient in recipients {
        let secret = SecretToken::generate();
        hashes.push(secret.hash().as_bytes().to_vec());
        mail.link = state.config.tenancy.school_url(
            tenant.entry().slug.as_str(),
            &format!("/r/{}", secret.expose()),
        );
        batch
            .add(
                tx,
                MailRequest {
                    to: &recipient.email,
                    template: "portal/urgent",
                    language: Language::of_account(recipient.language.as_deref()),
                    urgent: true,
                    context: &mail,
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
    }
    batch.finish(tx).await?;
    let people: Vec<i64> = recipients.iter().map(|r| r.person_id).collect();
    posts::add_links(tx, &hashes, post_id, &people).await?;
    Ok(())
}

/// `GET /r/{secret}`: the link in an urgent mail. Following it counts as reading the post,
/// signed in or not; then the post itself (which asks to sign in when needed).
pub async fn follow_link(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Path(secret): Path<String>,
) -> Result<Response, AppError> {
    let secret = SecretToken::parse(&secret).ok_or(AppError::NotFound)?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let post_id = posts::follow_link(&mut tx, secret.hash().as_bytes()).await?;
    let post_id = post_id.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

/// Minutes between two reminders of one urgent post.
const REMIND_EVERY_MINUTES: i32 = 15;

/// `POST /posts/{id}/remind`: mails the urgent post again to those who have not read it (its
/// author or a school admin), at most once every `REMIND_EVERY_MINUTES`.
pub async fn remind(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(post_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let post = posts::for_reminder(&mut tx, post_id, REMIND_EVERY_MINUTES).await?;
    let RemindedPost {
        author_id: author,
        urgent,
        title,
        body,
        body_html,
        recently,
    } = post.ok_or(AppError::NotFound)?;
    if !viewer.has(Role::SchoolAdmin) && author != Some(viewer.person_id) {
        return Err(AppError::Forbidden {
            reason: "portal.posts.not_yours",
        });
    }
    if !urgent {
        return Err(AppError::bad_request("remind", "portal.posts.not_urgent"));
    }
    if recently {
        return Err(AppError::bad_request(
            "remind",
            "portal.posts.reminded_recently",
        ));
    }
    let unread = posts::unread_recipients(&mut tx, post_id).await?;
    let mail = UrgentMail {
        title: &title,
        // The mail's text from what the portal shows (old plain posts escaped first).
        paragraphs: rich_text::text_paragraphs(
            &body_html.unwrap_or_else(|| rich_text::plain_to_html(&body)),
        ),
        author: &viewer.name,
        link: String::new(),
    };
    mail_urgent(&state, &tenant, &mut tx, post_id, mail, &unread).await?;
    posts::mark_reminded(&mut tx, post_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}?reminded={}", unread.len())).into_response())
}

#[derive(Debug, Serialize)]
struct EditPage<'a> {
    csrf: &'a str,
    post: EditRow,
}

/// `GET /posts/{id}/edit`: title, text and (agenda) date; who it is for stays as sent.
pub async fn edit_form(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Path(post_id): Path<i64>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    let post = posts::for_edit(&mut tx, post_id).await?;
    tx.commit().await?;
    let page = EditPage {
        csrf: csrf.token(),
        post,
    };
    let html = Html(
        state
            .templates
            .render("portal/post_edit.html", lang, &page)?,
    );
    Ok((csrf, html).into_response())
}

/// `POST /posts/{id}/edit`: fields `title`, `body`, `happens_on` (agenda items).
pub async fn edit(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(post_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let kind = changeable(&mut tx, &viewer, post_id).await?;
    // The same rules as a new post; the kind stays what it was.
    let mut fields: Vec<(String, String)> = form
        .into_iter()
        .filter(|(k, _)| ["title", "body", "happens_on"].contains(&k.as_str()))
        .collect();
    fields.push(("kind".into(), kind.as_str().into()));
    fields.push(("whole_school".into(), "on".into()));
    let post = NewPost::parse(&fields)?;
    posts::update_text(
        &mut tx,
        post_id,
        &post.title,
        &post.body,
        post.happens_on,
        &rich_text::to_safe_html(&post.body),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/posts/{post_id}")).into_response())
}

#[derive(Debug, Serialize)]
struct DeletePage<'a> {
    csrf: &'a str,
    post_id: i64,
    post: crate::db::posts::PostHoldings,
}

/// `GET /posts/{id}/delete`: what deleting the post would lose — its answers, filled-in
/// questionnaires and attachments — with the button that does it.
pub async fn confirm_delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Path(post_id): Path<i64>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    let post = crate::db::posts::holdings(&mut tx, post_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.rollback().await?;
    let html = Html(state.templates.render(
        "portal/post_delete.html",
        lang,
        &DeletePage {
            csrf: csrf.token(),
            post_id,
            post,
        },
    )?);
    Ok((csrf, html).into_response())
}

/// `POST /posts/{id}/delete`: by its author or a school admin.
pub async fn delete(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(post_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    changeable(&mut tx, &viewer, post_id).await?;
    posts::delete(&mut tx, post_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/timeline").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let cursor = PageCursor {
            published_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(cursor.to_param(), "1795000000123456-42");
        assert_eq!(PageCursor::parse(&cursor.to_param()), Some(cursor));
        for bad in ["42", "gisteren", "1-", "-1", "x-1", "1-x", ""] {
            assert_eq!(PageCursor::parse(bad), None, "{bad}");
        }
    }
}
