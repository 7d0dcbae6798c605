//! A post as pages show it: the body as sanitised HTML, its first paragraph as text, and the
//! marks its card carries.

use chrono::{DateTime, NaiveDate, Utc};
use schoolplein_kernel::audience::{PostKind, PostReader};
use schoolplein_kernel::settings::SchoolSettings;
use serde::Serialize;

use crate::db::posts::PostRow;
use crate::rich_text;

/// A post as pages show it: the body as sanitised HTML, and its first paragraph as text.
#[derive(Debug, Serialize)]
pub struct PostView {
    pub id: i64,
    pub kind: String,
    /// The school's name for the kind's module, if it chose one.
    pub label: Option<String>,
    pub title: String,
    /// Safe HTML: made by the sanitiser (or, for posts from before rich text, from escaped
    /// paragraphs).
    pub html: String,
    /// The first paragraph, text only, as safe HTML.
    pub excerpt: Option<String>,
    pub happens_on: Option<NaiveDate>,
    pub author: Option<String>,
    pub whole_school: bool,
    pub groups: Vec<String>,
    pub published_at: DateTime<Utc>,
    pub edited: bool,
    pub unread: bool,
    pub urgent: bool,
    pub mailing: bool,
    pub may_change: bool,
    /// The card's marks: files attached, questions to answer, and until when.
    pub attachments: i64,
    pub has_questions: bool,
    pub answers_until: Option<DateTime<Utc>>,
}

impl PostView {
    pub fn id(&self) -> i64 {
        self.id
    }

    pub fn new(row: PostRow, reader: &PostReader, settings: &SchoolSettings) -> Self {
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
            mailing: row.mailing,
            attachments: row.attachments,
            has_questions: row.has_questions,
            answers_until: row.answers_until,
        }
    }
}
