//! `/messages`: the conversations' pages (C4): the folders, one conversation with its
//! messages (opening it marks them read), and the message form for a new conversation, a
//! reply, a reply to all and a forward, with its files. Recipients are chosen on the form
//! itself: the likely ones offered, others found by name (the page works without script).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{Mistake, TokenOnly, Typed};
use schoolplein_kernel::{AppError, AppState, Member, Pages, Role, Viewer, Writable};
use schoolplein_mailing::Outbox;
use schoolplein_mailing::mailings::{self, Mailing};
use schoolplein_mailing::notifications::MailFile;
use serde::{Deserialize, Serialize};
use tenant_router::{CurrentTenant, TenantTx};

use crate::conversations::address::{self, Address};
use crate::conversations::reach::{self, Answering, Wanted, Writer};
use crate::conversations::store::{self, Crowds, Folder, Reader};
use crate::conversations::{inbox, thread};
use crate::files::disposition;
use crate::posts::form_files::{self, FILES_FIELD, KeptFiles, SentPost};

/// Suggestions shown for letters typed.
const SUGGESTIONS: i64 = 10;
/// The longest subject and text.
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 20_000;

fn reader_of(viewer: &Viewer) -> Reader {
    Reader {
        person_id: viewer.person_id,
        admin: viewer.has(Role::SchoolAdmin),
    }
}

#[derive(Debug, Deserialize)]
pub struct FolderQuery {
    folder: Option<String>,
    page: Option<i64>,
}

#[derive(Debug, Serialize)]
struct FoldersPage<'a> {
    csrf: &'a str,
    folder: Folder,
    folders: [Folder; 4],
    /// The rows, rendered (`FolderPage::rows_html`).
    rows_html: &'a str,
    no_rows: bool,
    page: i64,
    more: bool,
    /// The partner's conversations about the children of both, when both share them (A8).
    shared: Vec<store::Listed>,
    shared_by: Option<String>,
}

/// `GET /messages?folder=inbox|sent|drafts|archive&page=N`: a folder, newest first.
pub async fn folders(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Query(query): Query<FolderQuery>,
) -> Result<Response, AppError> {
    let folder = match query.folder.as_deref() {
        None | Some("") => Folder::Inbox,
        Some(name) => Folder::parse(name)
            .ok_or_else(|| AppError::bad_request("folder", "portal.messages.no_such_folder"))?,
    };
    let page = query.page.unwrap_or(0);
    if !(0..=10_000).contains(&page) {
        return Err(AppError::bad_request("page", "error.form_field_invalid"));
    }
    let reader = reader_of(&viewer);
    // The first inbox page is kept in memory; a partner's shared conversations are theirs, and
    // read every time.
    let listed = if folder == Folder::Inbox && page == 0 {
        inbox::first_page(&state, tenant.id(), reader).await?
    } else {
        let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
        let rows = store::folder(&mut tx, reader, folder, page).await?;
        tx.commit().await?;
        Arc::new(inbox::FolderPage::without_sharing(reader, rows))
    };
    let (shared, shared_by) = match &listed.sharing {
        Some(sharing) => {
            let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
            let shared = store::shared_folder(&mut tx, sharing).await?;
            tx.commit().await?;
            (shared, Some(sharing.partner_name.clone()))
        }
        None => (Vec::new(), None),
    };
    let rows_html = listed.rows_html(&pages)?;
    pages.show(
        "portal/messages.html",
        &FoldersPage {
            csrf: csrf.token(),
            folder,
            folders: Folder::ALL,
            rows_html: &rows_html,
            no_rows: listed.rows.is_empty(),
            more: listed.rows.len() as i64 == store::PAGE_SIZE,
            page,
            shared,
            shared_by,
        },
    )
}

/// Whose eyes the viewer reads a conversation with: their own when they see a message of it;
/// else their partner's, for a conversation about a child of both that both chose to share
/// (with the partner's name); else it does not exist for them (404).
async fn readable(
    tx: &mut TenantTx,
    viewer: &Viewer,
    conversation_id: i64,
) -> Result<(store::ConversationRow, Reader, Option<String>), AppError> {
    let reader = reader_of(viewer);
    if let Some(conversation) = store::conversation(tx, reader, conversation_id).await? {
        return Ok((conversation, reader, None));
    }
    let sharing = store::partner_sharing(tx, viewer.person_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !store::is_about(tx, conversation_id, &sharing.pupils).await? {
        return Err(AppError::NotFound);
    }
    let partner = Reader {
        person_id: sharing.partner_id,
        admin: false,
    };
    let conversation = store::conversation(tx, partner, conversation_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((conversation, partner, Some(sharing.partner_name)))
}

#[derive(Debug, Serialize)]
struct ConversationPage<'a> {
    csrf: &'a str,
    conversation: &'a store::ConversationRow,
    messages: &'a [store::MessageRow],
    files: &'a BTreeMap<i64, Vec<store::FileRow>>,
    archived: bool,
    /// Read with the partner's eyes: their name (no answering, archiving or blocking here).
    shared_by: Option<String>,
    /// For staff, per message of their own: each recipient, read or not, noticed or not (N7).
    delivery: &'a BTreeMap<i64, thread::Delivery>,
}

/// `GET /messages/{id}`: a conversation as the reader sees it; its messages waiting for
/// them are read from now on. 404 for anyone who sees none of its messages. The one a person
/// opened last is kept in memory (`conversations::thread`).
pub async fn show(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(conversation_id): Path<i64>,
) -> Result<Response, AppError> {
    let reader = reader_of(&viewer);
    let kept = thread::kept(
        &state,
        tenant.id(),
        reader,
        viewer.is_staff(),
        conversation_id,
    );
    let (page, shared_by) = match kept {
        Some(page) => (page, None),
        None => read_thread(&state, tenant.id(), &viewer, conversation_id).await?,
    };
    pages.show(
        "portal/conversation.html",
        &ConversationPage {
            csrf: csrf.token(),
            conversation: &page.conversation,
            messages: &page.messages,
            files: &page.files,
            archived: page.archived,
            shared_by,
            delivery: &page.delivery,
        },
    )
}

/// Reads a conversation for the viewer, marks what waited for them read, and keeps it for
/// their next visit (not when read with a partner's eyes).
async fn read_thread(
    state: &AppState,
    tenant: tenant_router::TenantId,
    viewer: &Viewer,
    conversation_id: i64,
) -> Result<(Arc<thread::Thread>, Option<String>), AppError> {
    // Taken before the transaction begins: a change announced meanwhile voids what it reads.
    let ticket = state.school_data.ticket(tenant);
    let mut tx = TenantTx::begin(&state.schools, tenant).await?;
    state.school_data.learn_announces(&mut tx).await?;
    let (conversation, reader, shared_by) = readable(&mut tx, viewer, conversation_id).await?;
    let messages = store::messages(&mut tx, reader, conversation_id).await?;
    let mut files: BTreeMap<i64, Vec<store::FileRow>> = BTreeMap::new();
    for file in store::files(&mut tx, reader, conversation_id).await? {
        files.entry(file.message_id).or_default().push(file);
    }
    // Staff see of their own messages who read them (N7), not with a partner's eyes.
    let own: Vec<i64> = messages
        .iter()
        .filter(|m| m.own && shared_by.is_none() && viewer.is_staff())
        .map(|m| m.id)
        .collect();
    let delivery = if own.is_empty() {
        BTreeMap::new()
    } else {
        thread::Delivery::of(store::delivery(&mut tx, &own).await?)
    };
    let archived = store::is_archived(&mut tx, viewer.person_id, conversation_id).await?;
    // A read-only member reads too: marking what they read is not a change of theirs. What
    // a partner reads stays unread for the one it was sent to.
    let marked = match shared_by {
        None => store::mark_read(&mut tx, reader, conversation_id).await?,
        Some(_) => 0,
    };
    tx.commit().await?;
    if marked > 0 {
        // Also voids the ticket: this page shows those messages as new, the next one not.
        inbox::changed_by(state, tenant, viewer.person_id);
    }
    let page = Arc::new(thread::Thread {
        admin: reader.admin,
        staff: viewer.is_staff(),
        conversation,
        messages,
        files,
        archived,
        delivery,
    });
    if shared_by.is_none() {
        thread::keep(state, ticket, reader, page.clone());
    }
    Ok((page, shared_by))
}

/// `GET /messages/{id}/files/{file_id}`: a file of a message the reader sees.
pub async fn file(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path((conversation_id, file_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let (_, reader, _) = readable(&mut tx, &viewer, conversation_id).await?;
    let found = store::file(&mut tx, reader, conversation_id, file_id).await?;
    tx.commit().await?;
    let (name, content_type, bytes) = found.ok_or(AppError::NotFound)?;
    Ok((
        [
            (http::header::CONTENT_TYPE, content_type),
            (http::header::CONTENT_DISPOSITION, disposition(&name)),
            (http::header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct ArchiveForm {
    archived: bool,
}

/// `POST /messages/{id}/archive` (`archived=true|false`): into or out of the archive.
pub async fn archive(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path(conversation_id): Path<i64>,
    CsrfForm(form): CsrfForm<ArchiveForm>,
) -> Result<Response, AppError> {
    let reader = reader_of(&viewer);
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    store::conversation(&mut tx, reader, conversation_id)
        .await?
        .ok_or(AppError::NotFound)?;
    store::archive(&mut tx, reader, conversation_id, form.archived).await?;
    tx.commit().await?;
    inbox::changed_by(&state, tenant.id(), viewer.person_id);
    let to = if form.archived {
        "/messages".to_owned()
    } else {
        format!("/messages/{conversation_id}")
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SuggestQuery {
    q: String,
}

#[derive(Debug, Serialize)]
struct Suggestion {
    address: String,
    name: String,
    detail: String,
}

/// `GET /messages/suggest?q=…`: after two letters, the first ten people, groups and lists the
/// viewer may write to whose name has a word starting with them (JSON).
pub async fn suggest(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    viewer: Writable<Member>,
    Query(query): Query<SuggestQuery>,
) -> Result<Response, AppError> {
    let letters = query.q.trim();
    if letters.chars().count() > 100 {
        return Err(AppError::bad_request("q", "portal.messages.find_too_long"));
    }
    if letters.chars().count() < 2 {
        return Ok(axum::Json(Vec::<Suggestion>::new()).into_response());
    }
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let writer = Writer::load(&mut tx, &viewer, settings.parents_write_parents).await?;
    let found = find(&mut tx, &writer, &pages, letters).await?;
    tx.commit().await?;
    Ok(axum::Json(found).into_response())
}

/// People and crowds matching `letters`, as suggestions: people first.
async fn find(
    tx: &mut TenantTx,
    writer: &Writer,
    pages: &Pages,
    letters: &str,
) -> Result<Vec<Suggestion>, AppError> {
    let people = reach::people(tx, writer, Wanted::Named(letters), SUGGESTIONS).await?;
    let room = SUGGESTIONS - people.len() as i64;
    let crowds = if room > 0 {
        reach::crowds(tx, writer, letters, room).await?
    } else {
        Vec::new()
    };
    let word = |key: &str| text(pages, key);
    let mut found: Vec<Suggestion> = people
        .into_iter()
        .map(|p| Suggestion {
            address: Address::Person(p.id).to_string(),
            detail: person_detail(pages, p.staff, &p.groups),
            name: p.name,
        })
        .collect();
    found.extend(crowds.into_iter().map(|c| Suggestion {
        address: c.address,
        detail: word(&format!("portal.messages.crowd.{}", c.kind)),
        name: c.name,
    }));
    Ok(found)
}

fn text(pages: &Pages, key: &str) -> String {
    pages
        .templates()
        .catalog()
        .get(pages.language(), key)
        .unwrap_or(key)
        .to_owned()
}

fn person_detail(pages: &Pages, staff: bool, groups: &[String]) -> String {
    let role = text(
        pages,
        if staff {
            "portal.messages.staff"
        } else {
            "portal.messages.parent"
        },
    );
    if groups.is_empty() {
        role
    } else {
        format!("{role} · {}", groups.join(", "))
    }
}

/// A recipient row on the form: who, and whether they are in to, cc or neither.
#[derive(Debug, Serialize)]
struct Candidate {
    address: String,
    name: String,
    detail: String,
    choice: &'static str,
}

/// What the form is for, carried in its hidden fields.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Context {
    /// A reply in this conversation (its subject is fixed).
    conversation: Option<i64>,
    /// The message answered: its author and named recipients may be answered.
    answering: Option<i64>,
    /// The message forwarded (its files go along).
    forwarding: Option<i64>,
    /// The draft this form edits.
    draft: Option<i64>,
    /// Written by an admin for the office.
    as_office: bool,
}

impl Context {
    fn of(fields: &[(String, String)]) -> Self {
        let id = |name: &str| {
            schoolplein_kernel::forms::value(fields, name)
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
        };
        Self {
            conversation: id("conversation"),
            answering: id("answering"),
            forwarding: id("forwarding"),
            draft: id("draft"),
            as_office: schoolplein_kernel::forms::value(fields, "as_office") == "1",
        }
    }
}

#[derive(Debug, Serialize)]
struct FormPage<'a> {
    csrf: &'a str,
    context: Context,
    subject: String,
    body: String,
    about: String,
    children: Vec<(i64, String)>,
    candidates: Vec<Candidate>,
    find: String,
    admin: bool,
    /// Staff may send a message as a mailing (C5).
    staff: bool,
    mailing: bool,
    typed: Typed,
    mistake: Option<Mistake>,
    files: KeptFiles,
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    to: Option<String>,
    reply: Option<i64>,
    all: Option<bool>,
    forward: Option<i64>,
}

/// `GET /messages/new`: the form for a new message (`?to=person:12` chooses a recipient, as
/// the group page's button does), a reply (`?reply=<message id>`, `&all=true` to everyone
/// named) or a forward (`?forward=<message id>`).
pub async fn new_message(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    let reader = reader_of(&viewer);
    let mut state_of_form = FormState::default();
    if let Some(message_id) = query.reply.or(query.forward) {
        let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
        let answered = answered_message(&mut tx, reader, message_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        if query.forward.is_some() {
            state_of_form.context.forwarding = Some(message_id);
            state_of_form.subject = prefixed(
                &text(&pages, "portal.messages.forward_prefix"),
                &answered.subject,
            );
            state_of_form.body = format!(
                "\n\n---- {} {} ----\n{}",
                text(&pages, "portal.messages.forwarded_from"),
                answered.author_name,
                answered.body
            );
        } else {
            state_of_form.context.conversation = Some(answered.conversation_id);
            state_of_form.context.answering = Some(message_id);
            // An admin answers the office's mail for the office.
            state_of_form.context.as_office = reader.admin && answered.to_office && !answered.to_me;
            state_of_form.subject = answered.subject.clone();
            let author = if answered.for_office {
                Address::Office
            } else {
                Address::Person(answered.author_id)
            };
            if !answered.own {
                state_of_form.chosen.push((author, "to"));
            }
            if query.all == Some(true) || answered.own {
                for (person, copy) in &answered.named {
                    let address = person.map_or(Address::Office, Address::Person);
                    let mine = *person == Some(reader.person_id)
                        || (person.is_none() && state_of_form.context.as_office);
                    if !mine && address != author {
                        state_of_form
                            .chosen
                            .push((address, if *copy { "cc" } else { "to" }));
                    }
                }
            }
        }
    } else if let Some(to) = query.to.as_deref() {
        let addresses = address::parse_all([to])
            .map_err(|_| AppError::bad_request("to", "portal.messages.not_reachable"))?;
        state_of_form
            .chosen
            .extend(addresses.into_iter().map(|a| (a, "to")));
    }
    message_form(&state, &tenant, &pages, &csrf, &viewer, state_of_form, None).await
}

fn prefixed(prefix: &str, subject: &str) -> String {
    let subject = if subject.starts_with(prefix) {
        subject.to_owned()
    } else {
        format!("{prefix} {subject}")
    };
    subject.chars().take(MAX_SUBJECT).collect()
}

/// The message answered or forwarded, as the reader sees it.
struct Answered {
    conversation_id: i64,
    subject: String,
    author_id: i64,
    author_name: String,
    for_office: bool,
    own: bool,
    body: String,
    /// Its named recipients: a person (`None`: the office) and whether in cc.
    named: Vec<(Option<i64>, bool)>,
    to_office: bool,
    to_me: bool,
}

async fn answered_message(
    tx: &mut TenantTx,
    reader: Reader,
    message_id: i64,
) -> Result<Option<Answered>, AppError> {
    let conversation = store::conversation_of(tx, message_id).await?;
    let Some(conversation_id) = conversation else {
        return Ok(None);
    };
    let Some(row) = store::conversation(tx, reader, conversation_id).await? else {
        return Ok(None);
    };
    let messages = store::messages(tx, reader, conversation_id).await?;
    let Some(message) = messages.into_iter().find(|m| m.id == message_id) else {
        return Ok(None);
    };
    let named: Vec<(Option<i64>, bool)> = message
        .recipients
        .iter()
        .map(|(id, _, copy)| ((*id != 0).then_some(*id), *copy))
        .collect();
    let to_me = store::is_recipient(tx, message_id, reader.person_id).await?;
    Ok(Some(Answered {
        conversation_id,
        subject: row.subject,
        author_id: message.author_id,
        author_name: message.author,
        for_office: message.for_office,
        own: message.own,
        body: message.body,
        to_office: named.iter().any(|(id, _)| id.is_none()),
        to_me,
        named,
    }))
}

/// What the form holds: its context, texts and chosen recipients.
#[derive(Debug, Default)]
struct FormState {
    context: Context,
    subject: String,
    body: String,
    about: String,
    chosen: Vec<(Address, &'static str)>,
    find: String,
    /// Also sent as a mailing (C5, staff only).
    mailing: bool,
}

impl FormState {
    fn of(fields: &[(String, String)]) -> Self {
        let value = |name: &str| schoolplein_kernel::forms::value(fields, name).to_owned();
        let mut chosen: Vec<(Address, &'static str)> = Vec::new();
        for (name, choice) in fields {
            let choice = match choice.as_str() {
                "to" => "to",
                "cc" => "cc",
                _ => continue,
            };
            if let Some(address) = Address::parse(name)
                && !chosen.iter().any(|(a, _)| *a == address)
            {
                chosen.push((address, choice));
            }
        }
        Self {
            context: Context::of(fields),
            subject: value("subject"),
            body: value("body"),
            about: value("about"),
            chosen,
            find: value("find"),
            mailing: value("mailing") == "on",
        }
    }

    fn addresses(&self, choice: &str) -> Vec<Address> {
        self.chosen
            .iter()
            .filter(|(_, c)| *c == choice)
            .map(|(a, _)| *a)
            .collect()
    }
}

/// The message form as `form` holds it, with `found` people and crowds offered, and a mistake
/// (400) or none.
async fn message_form(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: &Csrf,
    viewer: &Viewer,
    form: FormState,
    back: Option<Back>,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let writer = Writer::load(&mut tx, viewer, settings.parents_write_parents).await?;
    let mut candidates: Vec<Candidate> = Vec::new();
    let chosen = describe(&mut tx, pages, &form.chosen).await?;
    candidates.extend(chosen);
    // Offered: the office, the teachers of the writer's children, a teacher's own groups; and
    // whatever the writer looked for.
    let mut offered: Vec<Suggestion> = vec![Suggestion {
        address: Address::Office.to_string(),
        name: text(pages, "portal.messages.office"),
        detail: text(pages, "portal.messages.office_detail"),
    }];
    let teachers = reach::people(&mut tx, &writer, Wanted::Named(""), SUGGESTIONS).await?;
    offered.extend(
        teachers
            .into_iter()
            .filter(|p| p.teaches_mine)
            .map(|p| Suggestion {
                address: Address::Person(p.id).to_string(),
                detail: person_detail(pages, p.staff, &p.groups),
                name: p.name,
            }),
    );
    let crowd_groups: Vec<i64> = writer
        .taught
        .iter()
        .chain(&writer.class_groups)
        .copied()
        .collect();
    let own_groups = store::groups_named(&mut tx, &crowd_groups).await?;
    offered.extend(own_groups.into_iter().map(|(id, name)| Suggestion {
        address: Address::Group(id).to_string(),
        detail: text(pages, "portal.messages.crowd.group"),
        name,
    }));
    let find_letters = form.find.trim();
    if find_letters.chars().count() >= 2 && find_letters.chars().count() <= 100 {
        offered.extend(find(&mut tx, &writer, pages, find_letters).await?);
    }
    for suggestion in offered {
        if !candidates.iter().any(|c| c.address == suggestion.address) {
            candidates.push(Candidate {
                address: suggestion.address,
                name: suggestion.name,
                detail: suggestion.detail,
                choice: "",
            });
        }
    }
    let children = store::children_of(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    let (mistake, typed, files) = match back {
        Some(back) => (back.mistake, back.typed, back.files),
        None => (None, Typed::default(), KeptFiles::fresh()),
    };
    let status = if mistake.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = FormPage {
        csrf: csrf.token(),
        context: form.context,
        subject: form.subject,
        body: form.body,
        about: form.about,
        children,
        candidates,
        find: form.find,
        admin: viewer.has(Role::SchoolAdmin),
        staff: viewer.is_staff(),
        mailing: form.mailing,
        typed,
        mistake,
        files,
    };
    pages.show_with(status, "portal/message_form.html", &page)
}

/// A form sent back: with its mistake (400) or after finding people (200), with what it sent
/// and the files kept.
struct Back {
    mistake: Option<Mistake>,
    typed: Typed,
    files: KeptFiles,
}

/// The chosen addresses with their names (an address that names nothing any more is left
/// out: the check on sending refuses it anyway).
async fn describe(
    tx: &mut TenantTx,
    pages: &Pages,
    chosen: &[(Address, &'static str)],
) -> Result<Vec<Candidate>, AppError> {
    let mut candidates = Vec::new();
    for (address, choice) in chosen {
        let named: Option<(String, String)> = match address {
            Address::Office => Some((
                text(pages, "portal.messages.office"),
                text(pages, "portal.messages.office_detail"),
            )),
            Address::Person(id) => store::person_named(tx, *id).await?.map(|(name, staff)| {
                let role = if staff {
                    "portal.messages.staff"
                } else {
                    "portal.messages.parent"
                };
                (name, text(pages, role))
            }),
            Address::Group(id) => store::crowd_named(tx, Crowds::Groups, *id)
                .await?
                .map(|name| (name, text(pages, "portal.messages.crowd.group"))),
            Address::Special(id) => store::crowd_named(tx, Crowds::SpecialGroups, *id)
                .await?
                .map(|name| (name, text(pages, "portal.messages.crowd.special"))),
            Address::List(id) => store::crowd_named(tx, Crowds::Lists, *id)
                .await?
                .map(|name| (name, text(pages, "portal.messages.crowd.list"))),
        };
        if let Some((name, detail)) = named {
            candidates.push(Candidate {
                address: address.to_string(),
                name,
                detail,
                choice,
            });
        }
    }
    Ok(candidates)
}

/// Where a mistake's field is on the form.
fn field_anchor(field: &str) -> String {
    match field {
        "to" | "cc" => "message-recipients".to_owned(),
        "subject" => "message-subject".to_owned(),
        "body" => "message-body".to_owned(),
        "about" => "message-about".to_owned(),
        "find" => "message-find".to_owned(),
        FILES_FIELD => "message-files".to_owned(),
        other => other.to_owned(),
    }
}

/// `POST /messages`, `multipart/form-data` (or url-encoded without files): `action` is
/// `send`, `draft` or `find`. Recipients are fields named by their address (`person:12`,
/// `office`, `group:3`…) with the value `to` or `cc`. Finding brings the form back with the
/// people found offered; a mistake brings it back as sent with the mistake at its field (400)
/// and the files kept; nothing is sent or kept half.
pub async fn send(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    token: CsrfToken,
    viewer: Writable<Member>,
    request: Request,
) -> Result<Response, AppError> {
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let mut sent = if multipart {
        let body = Multipart::from_request(request, &state)
            .await
            .map_err(|_| AppError::bad_request(FILES_FIELD, "portal.attachments.unreadable"))?;
        SentPost::read(&token, body).await?
    } else {
        let CsrfForm(fields) =
            CsrfForm::<Vec<(String, String)>>::from_request(request, &state).await?;
        SentPost::fields_only(fields)
    };
    let form = FormState::of(&sent.fields);
    let action = schoolplein_kernel::forms::value(&sent.fields, "action");
    let outcome = match (sent.refused.take(), action) {
        (Some(refused), _) => Err(refused),
        (None, "find") => {
            let letters = form.find.trim().chars().count();
            if letters < 2 {
                Err(AppError::bad_request(
                    "find",
                    "portal.messages.find_two_letters",
                ))
            } else if letters > 100 {
                Err(AppError::bad_request(
                    "find",
                    "portal.messages.find_too_long",
                ))
            } else {
                // Found: the form again, with what was sent kept.
                let files = form_files::keep(&state, &tenant, &viewer, &sent.files).await?;
                let back = Back {
                    mistake: None,
                    typed: Typed::of(&sent.fields),
                    files,
                };
                return message_form(&state, &tenant, &pages, &csrf, &viewer, form, Some(back))
                    .await;
            }
        }
        (None, "draft") => keep_draft(&state, &tenant, &viewer, &form, &sent).await,
        (None, _) => send_message(&state, &tenant, &viewer, &form, &sent).await,
    };
    let error = match outcome {
        Ok(to) => return Ok(Redirect::to(&to).into_response()),
        Err(error) => error,
    };
    let Some(mistake) = Mistake::of(&error, pages.templates(), pages.language(), field_anchor)
    else {
        return Err(error);
    };
    let files = if form_files::about_files(&error) {
        form_files::kept(&state, &tenant, &viewer, &sent.files).await?
    } else {
        form_files::keep(&state, &tenant, &viewer, &sent.files).await?
    };
    let back = Back {
        mistake: Some(mistake),
        typed: Typed::of(&sent.fields),
        files,
    };
    message_form(&state, &tenant, &pages, &csrf, &viewer, form, Some(back)).await
}

/// The subject, text and child the form sent, checked.
struct Texts {
    subject: String,
    body: String,
    about: Option<i64>,
}

async fn texts(
    tx: &mut TenantTx,
    viewer: &Viewer,
    form: &FormState,
    replying: bool,
    draft: bool,
) -> Result<Texts, AppError> {
    let subject = form.subject.trim().to_owned();
    if !replying && subject.is_empty() && !draft {
        return Err(AppError::bad_request(
            "subject",
            "portal.messages.subject_required",
        ));
    }
    if subject.chars().count() > MAX_SUBJECT {
        return Err(AppError::bad_request(
            "subject",
            "portal.messages.subject_too_long",
        ));
    }
    let body = form.body.trim_end().to_owned();
    if body.trim().is_empty() && !draft {
        return Err(AppError::bad_request(
            "body",
            "portal.messages.body_required",
        ));
    }
    if body.chars().count() > MAX_BODY {
        return Err(AppError::bad_request(
            "body",
            "portal.messages.body_too_long",
        ));
    }
    let about = match form.about.trim() {
        "" => None,
        text => {
            let id: i64 = text
                .parse()
                .map_err(|_| AppError::bad_request("about", "portal.messages.about_unknown"))?;
            let mine = store::is_own_child(tx, viewer.person_id, id).await?;
            if !mine {
                return Err(AppError::bad_request(
                    "about",
                    "portal.messages.about_unknown",
                ));
            }
            Some(id)
        }
    };
    let subject = if subject.is_empty() {
        "…".to_owned()
    } else {
        subject
    };
    Ok(Texts {
        subject,
        body,
        about,
    })
}

/// Whom a reply may answer besides the writer's own reach: the answered message's author and
/// named recipients, when the writer sees it in this conversation.
async fn answering(
    tx: &mut TenantTx,
    reader: Reader,
    context: &Context,
) -> Result<Answering, AppError> {
    let mut answering = Answering::default();
    let Some(message_id) = context.answering else {
        return Ok(answering);
    };
    let answered = answered_message(tx, reader, message_id)
        .await?
        .filter(|a| Some(a.conversation_id) == context.conversation)
        .ok_or(AppError::NotFound)?;
    answering.addresses.insert(if answered.for_office {
        Address::Office
    } else {
        Address::Person(answered.author_id)
    });
    for (person, _) in answered.named {
        answering
            .addresses
            .insert(person.map_or(Address::Office, Address::Person));
    }
    Ok(answering)
}

/// Sends what the form holds; where the conversation is then shown.
async fn send_message(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    form: &FormState,
    sent: &SentPost,
) -> Result<String, AppError> {
    let reader = reader_of(viewer);
    let context = form.context;
    if context.as_office && !reader.admin {
        return Err(AppError::Forbidden {
            reason: "portal.messages.office_only_admins",
        });
    }
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let writer = Writer::load(&mut tx, viewer, settings.parents_write_parents).await?;
    if let Some(conversation) = context.conversation {
        store::conversation(&mut tx, reader, conversation)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    let forwarded = match context.forwarding {
        Some(message_id) => Some(
            answered_message(&mut tx, reader, message_id)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let texts = texts(&mut tx, viewer, form, context.conversation.is_some(), false).await?;
    let answering = answering(&mut tx, reader, &context).await?;
    let recipients = reach::resolve(
        &mut tx,
        &writer,
        &form.addresses("to"),
        &form.addresses("cc"),
        &answering,
    )
    .await?;
    // The files first counted, so that too many refuses before anything is written.
    form_files::check_count(&mut tx, &sent.files, viewer.person_id).await?;
    let (conversation_id, message_id) = match context.draft {
        Some(draft_id) => {
            let draft = store::draft(&mut tx, viewer.person_id, draft_id)
                .await?
                .ok_or(AppError::NotFound)?;
            if !draft.replying {
                store::set_subject(&mut tx, draft.conversation_id, &texts.subject, texts.about)
                    .await?;
            }
            if !store::send_draft(
                &mut tx,
                viewer.person_id,
                draft_id,
                &texts.body,
                &recipients,
            )
            .await?
            {
                return Err(AppError::NotFound);
            }
            (draft.conversation_id, draft_id)
        }
        None => {
            let conversation_id = match context.conversation {
                Some(id) => id,
                None => store::start(&mut tx, &texts.subject, texts.about).await?,
            };
            let message_id = store::send(
                &mut tx,
                &store::NewMessage {
                    conversation_id,
                    author_id: viewer.person_id,
                    for_office: context.as_office,
                    body: &texts.body,
                    forwarded_from: forwarded.as_ref().and(context.forwarding),
                },
                &recipients,
            )
            .await?;
            (conversation_id, message_id)
        }
    };
    attach_files(&mut tx, sent, viewer.person_id, message_id).await?;
    if let Some(from) = context.forwarding {
        store::copy_files(&mut tx, from, message_id).await?;
    }
    if form.mailing {
        let about = MailingOf {
            conversation_id,
            message_id,
            body: &texts.body,
        };
        send_as_mailing(state, tenant, &mut tx, viewer, form, about).await?;
    }
    tx.commit().await?;
    inbox::changed_by(state, tenant.id(), viewer.person_id);
    for recipient in recipients.iter().filter_map(|r| r.person_id) {
        inbox::changed_by(state, tenant.id(), recipient);
    }
    Ok(format!("/messages/{conversation_id}#message-{message_id}"))
}

/// The message a mailing sends.
struct MailingOf<'a> {
    conversation_id: i64,
    message_id: i64,
    body: &'a str,
}

/// Mails the message just written as a mailing (C5): its whole text and files to each of its
/// recipients at once (a group's primary contacts only, where the school chose so), with a
/// copy to the writer. Staff only; 400 at `mailing` for anyone else.
async fn send_as_mailing(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    viewer: &Viewer,
    form: &FormState,
    about: MailingOf<'_>,
) -> Result<(), AppError> {
    if !viewer.is_staff() {
        return Err(AppError::bad_request(
            "mailing",
            "portal.messages.mailing_staff_only",
        ));
    }
    let reader = reader_of(viewer);
    let subject = store::conversation(tx, reader, about.conversation_id)
        .await?
        .map(|c| c.subject)
        .unwrap_or_default();
    let slug = tenant.entry().slug.as_str();
    let tenancy = &state.config.tenancy;
    let conversation = about.conversation_id;
    let files = store::files(tx, reader, conversation)
        .await?
        .into_iter()
        .filter(|f| f.message_id == about.message_id)
        .map(|f| MailFile {
            link: tenancy.school_url(slug, &format!("/messages/{conversation}/files/{}", f.id)),
            name: f.file_name,
        })
        .collect();
    let paragraphs = about
        .body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mailing = Mailing {
        about: mailings::About::Message {
            id: about.message_id,
            conversation_id: conversation,
        },
        subject: &subject,
        paragraphs,
        author: &viewer.name,
        author_id: viewer.person_id,
        files,
        link: tenancy.school_url(slug, &format!("/messages/{conversation}")),
        school_url: tenancy.school_url(slug, ""),
    };
    let groups: Vec<i64> = form
        .chosen
        .iter()
        .filter_map(|(address, _)| match address {
            Address::Group(id) => Some(*id),
            _ => None,
        })
        .collect();
    let addressees = mailings::message_addressees(tx, about.message_id, &groups).await?;
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    mailings::send(tx, &outbox, &mailing, &addressees).await?;
    store::mark_mailing(tx, about.message_id).await?;
    Ok(())
}

/// Puts the form's files on the message: the kept ones not ticked for removal, then the new.
async fn attach_files(
    tx: &mut TenantTx,
    sent: &SentPost,
    person_id: i64,
    message_id: i64,
) -> Result<(), AppError> {
    let files = &sent.files;
    store::adopt_pending(tx, &files.hash(), person_id, &files.remove, message_id).await?;
    for upload in &files.uploads {
        store::attach(
            tx,
            message_id,
            &upload.name,
            upload.content_type,
            &upload.bytes,
        )
        .await?;
    }
    Ok(())
}

/// Keeps what the form holds as a draft; where the drafts are then shown.
async fn keep_draft(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    form: &FormState,
    sent: &SentPost,
) -> Result<String, AppError> {
    let reader = reader_of(viewer);
    let context = form.context;
    if context.as_office && !reader.admin {
        return Err(AppError::Forbidden {
            reason: "portal.messages.office_only_admins",
        });
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if let Some(conversation) = context.conversation {
        store::conversation(&mut tx, reader, conversation)
            .await?
            .ok_or(AppError::NotFound)?;
    }
    let texts = texts(&mut tx, viewer, form, context.conversation.is_some(), true).await?;
    form_files::check_count(&mut tx, &sent.files, viewer.person_id).await?;
    let draft_id = store::keep_draft(
        &mut tx,
        &store::DraftToKeep {
            draft_id: context.draft,
            conversation_id: context.conversation,
            subject: &texts.subject,
            about_pupil_id: texts.about,
            author_id: viewer.person_id,
            for_office: context.as_office,
            body: &texts.body,
            to: form
                .addresses("to")
                .iter()
                .map(Address::to_string)
                .collect(),
            cc: form
                .addresses("cc")
                .iter()
                .map(Address::to_string)
                .collect(),
        },
    )
    .await?
    .ok_or(AppError::NotFound)?;
    attach_files(&mut tx, sent, viewer.person_id, draft_id).await?;
    tx.commit().await?;
    Ok("/messages?folder=drafts".to_owned())
}

#[derive(Debug, Serialize)]
struct SettingsPage<'a> {
    csrf: &'a str,
    blocked: Vec<store::BlockedRow>,
}

/// `GET /messages/settings`: the senders the person blocked, each to unblock.
pub async fn settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let blocked = store::blocked(&mut tx, viewer.person_id).await?;
    tx.commit().await?;
    pages.show(
        "portal/message_settings.html",
        &SettingsPage {
            csrf: csrf.token(),
            blocked,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SenderForm {
    sender: i64,
}

/// `POST /messages/block` (`sender`): no more messages from this person (not staff, who
/// cannot be blocked: 400). Someone who never wrote to the person cannot be named here.
pub async fn block(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    CsrfForm(form): CsrfForm<SenderForm>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // Only a sender whose message the person received: nobody learns who exists by blocking.
    let wrote = store::wrote_to(&mut tx, viewer.person_id, form.sender).await?;
    if !wrote {
        return Err(AppError::NotFound);
    }
    if !store::block(&mut tx, viewer.person_id, form.sender).await? {
        return Err(AppError::bad_request(
            "sender",
            "portal.messages.staff_not_blocked",
        ));
    }
    tx.commit().await?;
    Ok(Redirect::to("/messages/settings").into_response())
}

/// `POST /messages/unblock` (`sender`): messages from this person may come again.
pub async fn unblock(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    CsrfForm(form): CsrfForm<SenderForm>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    store::unblock(&mut tx, viewer.person_id, form.sender).await?;
    tx.commit().await?;
    Ok(Redirect::to("/messages/settings").into_response())
}

/// `GET /messages/drafts/{id}`: the form with one of the person's drafts.
pub async fn edit_draft(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Member>,
    Path(draft_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let draft = store::draft(&mut tx, viewer.person_id, draft_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let mut chosen: Vec<(Address, &'static str)> = Vec::new();
    for (list, choice) in [(&draft.draft_to, "to"), (&draft.draft_cc, "cc")] {
        for address in list.iter().filter_map(|a| Address::parse(a)) {
            chosen.push((address, choice));
        }
    }
    let form = FormState {
        context: Context {
            conversation: draft.replying.then_some(draft.conversation_id),
            draft: Some(draft.id),
            ..Context::default()
        },
        subject: draft.subject,
        body: draft.body,
        about: draft
            .about_pupil_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        chosen,
        find: String::new(),
        mailing: false,
    };
    message_form(&state, &tenant, &pages, &csrf, &viewer, form, None).await
}

/// `POST /messages/drafts/{id}/delete`: throws one of the person's drafts away.
pub async fn delete_draft(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path(draft_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    if !store::delete_draft(&mut tx, viewer.person_id, draft_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to("/messages?folder=drafts").into_response())
}
