//! How people want to hear of new posts (N2): per kind, a mail per item, a daily or
//! twice-daily digest, or nothing; and the mail per item itself. Urgent messages are not
//! subject to any of this: they are always mailed at once.

use schoolplein_kernel::Language;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::{Letterhead, MailError, MailRequest, Outbox};

/// The kinds of post a preference is kept for.
pub const KINDS: [&str; 3] = ["news", "agenda", "board"];

/// How someone hears of a kind of post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// A mail for each new item.
    Each,
    /// In the digest at the school's time.
    Daily,
    /// In the digest at 07:30 and at the school's time.
    TwiceDaily,
    /// Not mailed; the portal shows it.
    None,
}

impl Delivery {
    pub const ALL: [Delivery; 4] = [
        Delivery::Each,
        Delivery::Daily,
        Delivery::TwiceDaily,
        Delivery::None,
    ];
    /// What applies where a person chose nothing.
    pub const DEFAULT: Delivery = Delivery::Daily;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Each => "each",
            Self::Daily => "daily",
            Self::TwiceDaily => "twice_daily",
            Self::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

#[derive(Debug, Serialize)]
struct NewPostMail<'a> {
    kind: &'a str,
    title: &'a str,
    author: Option<&'a str>,
    /// The post's files, each with its download link.
    files: Vec<MailFile>,
    link: &'a str,
}

/// A file of a post as a mail names it: its name and its download link.
#[derive(Debug, Serialize)]
pub struct MailFile {
    pub name: String,
    pub link: String,
}

/// Mails post `post_id` to those it reaches who want a mail per item of its kind, in `tx`
/// (the publishing transaction, after the post's files are written, so the mail names them);
/// `link` is the post's address. Returns how many.
pub async fn mail_each(
    tx: &mut TenantTx,
    outbox: &Outbox,
    post_id: i64,
    link: &str,
) -> Result<usize, MailError> {
    let (kind, title, author): (String, String, Option<String>) = sqlx::query_as(
        "SELECT po.kind, po.title, a.name
           FROM posts po LEFT JOIN people a ON a.id = po.author_id WHERE po.id = $1",
    )
    .bind(post_id)
    .fetch_one(&mut **tx)
    .await?;
    let recipients: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT pe.id, pe.email, a.language
           FROM (SELECT DISTINCT person_id FROM post_addressees($1)) reached
           JOIN people pe ON pe.id = reached.person_id
           JOIN notification_preferences np
             ON np.person_id = pe.id AND np.kind = $2 AND np.delivery = 'each'
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          ORDER BY pe.id",
    )
    .bind(post_id)
    .bind(&kind)
    .fetch_all(&mut **tx)
    .await?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let letterhead = Letterhead::load(tx).await?;
    let files = crate::db::post_files::of_posts(tx, &[post_id])
        .await?
        .into_iter()
        .map(|(_, file_id, name)| MailFile {
            name,
            link: format!("{link}/attachments/{file_id}"),
        })
        .collect();
    let mail = NewPostMail {
        kind: &kind,
        title: &title,
        author: author.as_deref(),
        files,
        link,
    };
    // The school's address, for the unsubscribe links: `link` is the post's full address.
    let school = link
        .rsplit_once("/posts/")
        .map_or(link, |(school, _)| school);
    let each = crate::unsubscribe::Unsubscribe::each_of(&kind);
    let mut batch = outbox.batch();
    for (person_id, email, language) in &recipients {
        let unsubscribe = match each {
            Some(each) => Some(format!(
                "{school}{}",
                crate::unsubscribe::link(tx, *person_id, each).await?
            )),
            None => None,
        };
        batch
            .add_bulk(
                tx,
                MailRequest {
                    to: email,
                    template: "mailing/new_post",
                    language: Language::of_account(language.as_deref()),
                    urgent: false,
                    context: &mail,
                    letterhead: Some(&letterhead),
                },
                unsubscribe,
            )
            .await?;
    }
    batch.finish(tx).await?;
    Ok(recipients.len())
}
