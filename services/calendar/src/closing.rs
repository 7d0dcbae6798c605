//! Closing a conference round (K5): every parent of the group gets one mail with the final
//! time of each of their children's talks, or word that a child has none and whom to ask.

use chrono::{DateTime, Utc};
use schoolplein_kernel::{AppError, AppState, Language};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

use crate::display::Names;
use crate::rounds::{BookingMode, PUPIL_NAME, Round};
use crate::times;

/// A parent of the group with one of their children in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParentOfChild {
    pub parent_id: i64,
    pub email: String,
    pub language: Option<String>,
    pub pupil_id: i64,
    pub child: String,
}

/// A booked talk of the round.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookedTalk {
    pub pupil_id: i64,
    /// `per_parent` mode: whose talk it is; `shared`: `None`.
    pub parent_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A talk's start and end.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// What one parent is told: per child, the talk or `None` when the child has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub email: String,
    pub language: Option<String>,
    pub children: Vec<(String, Option<Span>)>,
}

/// One letter per parent (in the order of `parents`, which lists each parent's children
/// together). In `shared` mode a child's one talk goes to every parent of the child; in
/// `per_parent` mode each parent is told only their own talk.
pub fn letters(mode: BookingMode, parents: &[ParentOfChild], talks: &[BookedTalk]) -> Vec<Letter> {
    let mut letters: Vec<(i64, Letter)> = Vec::new();
    for row in parents {
        let whose = match mode {
            BookingMode::Shared => None,
            BookingMode::PerParent => Some(row.parent_id),
        };
        let talk = talks
            .iter()
            .find(|t| t.pupil_id == row.pupil_id && t.parent_id == whose)
            .map(|t| (t.starts_at, t.ends_at));
        match letters.iter_mut().find(|(id, _)| *id == row.parent_id) {
            Some((_, letter)) => letter.children.push((row.child.clone(), talk)),
            None => letters.push((
                row.parent_id,
                Letter {
                    email: row.email.clone(),
                    language: row.language.clone(),
                    children: vec![(row.child.clone(), talk)],
                },
            )),
        }
    }
    letters.into_iter().map(|(_, letter)| letter).collect()
}

/// A final time as the mail writes it.
#[derive(Debug, Serialize)]
struct FinalTalk {
    child: String,
    day: String,
    time: String,
    minutes: i64,
}

#[derive(Debug, Serialize)]
struct FinalTimesMail<'a> {
    title: &'a str,
    group: &'a str,
    teachers: &'a str,
    talks: Vec<FinalTalk>,
    without: Vec<String>,
    link: &'a str,
}

/// Queues the final-times mail to every parent of the round's group (links in effect, not
/// blocked) in `tx`, the transaction that closes the round; returns how many were queued.
/// The round's row is held by the caller, so no booking changes while this reads them.
pub async fn mail_final_times(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    round: &Round,
) -> Result<usize, AppError> {
    let parents: Vec<ParentOfChild> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT pe.id AS parent_id, pe.email, a.language, pu.id AS pupil_id,
                {PUPIL_NAME} AS child
           FROM pupils pu
           JOIN guardians gu ON gu.pupil_id = pu.id AND gu.status = 'active'
           JOIN people pe ON pe.id = gu.person_id AND pe.blocked_at IS NULL
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE pu.group_id = $1 AND pu.left_at IS NULL
          ORDER BY pe.id, pu.first_name, pu.last_name, pu.id"
    )))
    .bind(round.group_id)
    .fetch_all(&mut **tx)
    .await?;
    if parents.is_empty() {
        return Ok(0);
    }
    let talks: Vec<BookedTalk> = sqlx::query_as(
        "SELECT b.pupil_id, b.parent_id, s.starts_at, s.ends_at
           FROM conference_bookings b JOIN conference_slots s ON s.id = b.slot_id
          WHERE b.round_id = $1",
    )
    .bind(round.id)
    .fetch_all(&mut **tx)
    .await?;
    let teachers: Vec<String> = sqlx::query_scalar(
        "SELECT pe.name FROM group_teachers t JOIN people pe ON pe.id = t.person_id
          WHERE t.group_id = $1 ORDER BY pe.name",
    )
    .bind(round.group_id)
    .fetch_all(&mut **tx)
    .await?;
    let letterhead = Letterhead::load(tx).await?;
    let link = state
        .config
        .tenancy
        .school_url(tenant.entry().slug.as_str(), "/conferences");
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    let catalog = state.templates.catalog();
    let (dutch, english) = (
        Names::new(catalog, Language::Nl),
        Names::new(catalog, Language::En),
    );
    let letters = letters(round.mode(), &parents, &talks);
    let mut batch = outbox.batch();
    for letter in &letters {
        let language = Language::of_account(letter.language.as_deref());
        let names = match language {
            Language::En => &english,
            Language::Nl => &dutch,
        };
        // Without a teacher on the group, parents ask the school (the catalogue says so).
        let teachers = if teachers.is_empty() {
            catalog
                .get(language, "rounds.final.the_school")
                .unwrap_or_default()
                .to_owned()
        } else {
            teachers.join(", ")
        };
        let context = FinalTimesMail {
            title: &round.title,
            group: &round.group_name,
            teachers: &teachers,
            talks: letter
                .children
                .iter()
                .filter_map(|(child, talk)| {
                    let (starts_at, ends_at) = (*talk)?;
                    Some(FinalTalk {
                        child: child.clone(),
                        day: names.day(times::local_date(starts_at)),
                        time: times::span(starts_at, ends_at),
                        minutes: (ends_at - starts_at).num_minutes(),
                    })
                })
                .collect(),
            without: letter
                .children
                .iter()
                .filter(|(_, talk)| talk.is_none())
                .map(|(child, _)| child.clone())
                .collect(),
            link: &link,
        };
        batch
            .add(
                tx,
                MailRequest {
                    to: &letter.email,
                    template: "calendar/round_final",
                    language,
                    urgent: false,
                    context: &context,
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
    }
    Ok(batch.finish(tx).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(parent_id: i64, pupil_id: i64) -> ParentOfChild {
        ParentOfChild {
            parent_id,
            email: format!("ouder{parent_id}@example.nl"),
            language: None,
            pupil_id,
            child: format!("Kind {pupil_id}"),
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 10)
            .and_then(|d| d.and_hms_opt(14, minute, 0))
            .map(|t| t.and_utc())
            .unwrap()
    }

    fn talk(pupil_id: i64, parent_id: Option<i64>, minute: u32) -> BookedTalk {
        BookedTalk {
            pupil_id,
            parent_id,
            starts_at: at(minute),
            ends_at: at(minute + 10),
        }
    }

    #[test]
    fn shared_talks_go_to_both_parents_and_a_child_without_one_is_named() {
        // Parents 1 and 2 share child 10; parent 1 also has child 11, who has no talk.
        let parents = [parent(1, 10), parent(1, 11), parent(2, 10)];
        let letters = letters(BookingMode::Shared, &parents, &[talk(10, None, 0)]);
        assert_eq!(letters.len(), 2, "one mail per parent");
        assert_eq!(
            letters[0].children,
            [
                ("Kind 10".to_owned(), Some((at(0), at(10)))),
                ("Kind 11".to_owned(), None)
            ]
        );
        assert_eq!(
            letters[1].children,
            [("Kind 10".to_owned(), Some((at(0), at(10))))]
        );
    }

    #[test]
    fn per_parent_talks_go_only_to_their_own_parent() {
        let parents = [parent(1, 10), parent(2, 10), parent(3, 10)];
        let talks = [talk(10, Some(1), 0), talk(10, Some(2), 20)];
        let letters = letters(BookingMode::PerParent, &parents, &talks);
        let told: Vec<_> = letters.iter().map(|l| l.children[0].1).collect();
        assert_eq!(
            told,
            [Some((at(0), at(10))), Some((at(20), at(30))), None],
            "the third parent booked nothing and is told so"
        );
    }
}
