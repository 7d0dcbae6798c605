//! Publishing a post: checks who it may reach, writes it with its audience, questions and
//! files, and queues its mails (urgent at once, or per item for those who want that) in the
//! same transaction, after the files, so that the mails name them.

use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::{AppError, AppState, Viewer};
use schoolplein_mailing::Outbox;
use schoolplein_mailing::mailings::{self, About, Mailing};
use schoolplein_mailing::notifications::{self, MailFile};
use tenant_router::{CurrentTenant, TenantTx};

use crate::access::reader;
use crate::db::posts::{self, PostInsert};
use crate::db::{attachments, groups, recipient_lists, school_settings, special_groups};
use crate::posts::draft::NewPost;
use crate::posts::form_files::{self, FormFiles};
use crate::posts::urgent::{UrgentMail, mail_urgent};
use crate::rich_text;

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

/// Checks and writes a new post with its files, and mails it as it should be; the new post's
/// id.
pub async fn publish_post(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    form: &[(String, String)],
    files: &FormFiles,
) -> Result<i64, AppError> {
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
            mailing: post.mailing,
        },
    )
    .await?;
    if let Some(people) = &listed {
        posts::add_recipients(&mut tx, post_id, people).await?;
    }
    post.questionnaire.insert(&mut tx, post_id).await?;
    posts::add_groups(&mut tx, post_id, &groups).await?;
    posts::add_special_groups(&mut tx, post_id, &special_groups).await?;
    form_files::attach(&mut tx, files, viewer.person_id, post_id).await?;
    // The author has read what they wrote.
    posts::add_read(&mut tx, post_id, viewer.person_id).await?;
    if post.urgent {
        let recipients = posts::addressees(&mut tx, post_id).await?;
        let people: Vec<i64> = recipients.iter().map(|r| r.person_id).collect();
        posts::add_recipients_once(&mut tx, post_id, &people).await?;
        let mail = UrgentMail::new(
            &post.title,
            rich_text::text_paragraphs(&rich_text::to_safe_html(&post.body)),
            &viewer.name,
        );
        mail_urgent(state, tenant, &mut tx, post_id, mail, &recipients).await?;
    } else if post.mailing {
        send_as_mailing(state, tenant, &mut tx, viewer, post_id, &post).await?;
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
    Ok(post_id)
}

/// Mails post `post_id` as a mailing (C5): its whole text and files, at once, to everyone it
/// reaches (primary contacts only, where the school chose so), with a copy to its writer.
async fn send_as_mailing(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    viewer: &Viewer,
    post_id: i64,
    post: &NewPost,
) -> Result<(), AppError> {
    let slug = tenant.entry().slug.as_str();
    let tenancy = &state.config.tenancy;
    let files = attachments::of_post(tx, post_id)
        .await?
        .into_iter()
        .map(|file| MailFile {
            link: tenancy.school_url(slug, &format!("/posts/{post_id}/attachments/{}", file.id)),
            name: file.file_name,
        })
        .collect();
    let mailing = Mailing {
        about: About::Post(post_id),
        subject: &post.title,
        paragraphs: rich_text::text_paragraphs(&rich_text::to_safe_html(&post.body)),
        author: &viewer.name,
        author_id: viewer.person_id,
        files,
        link: tenancy.school_url(slug, &format!("/posts/{post_id}")),
        school_url: tenancy.school_url(slug, ""),
    };
    let addressees = mailings::post_addressees(tx, post_id, viewer.person_id).await?;
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    mailings::send(tx, &outbox, &mailing, &addressees).await?;
    Ok(())
}
