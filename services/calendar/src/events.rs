//! Calendar events (K1): what staff may type, who sees an event, and the SQL that reads and
//! writes them. Times are checked and turned into instants here, in Europe/Amsterdam.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::{AppError, Role, Viewer};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

use crate::zone;

/// Who of an event's audience sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only its author.
    Private,
    /// Admins, and teachers of its groups (every teacher for a school-wide event).
    Staff,
    /// Every member of the school who is in its audience: the parents of its groups' pupils,
    /// their teachers, the admins; everyone for a school-wide event.
    Members,
    /// Everyone in the school, and visitors of the school's public page.
    Public,
}

impl Visibility {
    pub const ALL: [Visibility; 4] = [Self::Private, Self::Staff, Self::Members, Self::Public];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Staff => "staff",
            Self::Members => "members",
            Self::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// A person as a reader and maker of the school's events.
#[derive(Debug, Clone)]
pub struct EventReader {
    pub person_id: i64,
    pub admin: bool,
    /// Admins and teachers: they see staff events.
    pub staff: bool,
    /// Their children's groups (pupils still at school) and the groups they teach.
    pub groups: Vec<i64>,
    /// The groups a teacher teaches: where they may add events.
    pub taught: BTreeSet<i64>,
}

impl EventReader {
    /// The person with these roles in the school, their groups as they are now.
    pub async fn load(
        tx: &mut TenantTx,
        person_id: i64,
        roles: &[Role],
    ) -> Result<Self, sqlx::Error> {
        let admin = roles.contains(&Role::SchoolAdmin);
        let teacher = roles.contains(&Role::Teacher);
        let posts = PostReader::load(tx, person_id, admin, teacher).await?;
        Ok(Self::of_post_reader(&posts, roles))
    }

    /// The same person as the post reader already loaded for them (their groups are the
    /// same for posts and events).
    pub fn of_post_reader(posts: &PostReader, roles: &[Role]) -> Self {
        let admin = roles.contains(&Role::SchoolAdmin);
        let teacher = roles.contains(&Role::Teacher);
        Self {
            person_id: posts.person_id,
            admin,
            staff: admin || teacher,
            groups: posts.groups.clone(),
            taught: posts.taught.clone(),
        }
    }

    pub async fn of_viewer(tx: &mut TenantTx, viewer: &Viewer) -> Result<Self, sqlx::Error> {
        Self::load(tx, viewer.person_id, &viewer.roles).await
    }

    /// Whether the person may add events at all: admins, and teachers of a group.
    pub fn may_create(&self) -> bool {
        self.admin || !self.taught.is_empty()
    }

    /// Whether the person may change or delete this event: a private event only its author;
    /// others admins, and teachers when the event is for groups they all teach.
    pub fn may_manage(&self, event: &EventRow) -> bool {
        if event.visibility == Visibility::Private.as_str() {
            return event.author_id == Some(self.person_id);
        }
        self.admin
            || (!event.whole_school
                && !event.group_ids.is_empty()
                && event.group_ids.iter().all(|g| self.taught.contains(g)))
    }

    fn taught(&self) -> Vec<i64> {
        self.taught.iter().copied().collect()
    }
}

/// The condition on `e` (an event) for the reader in `$1` (person), `$2` (admin), `$3` (their
/// groups), `$4` (staff) and `$5` (the groups they teach).
const SEES_EVENT: &str = "(e.author_id = $1
      OR e.visibility = 'public'
      OR (e.visibility = 'members' AND ($2 OR e.whole_school
          OR EXISTS (SELECT 1 FROM event_groups eg
                      WHERE eg.event_id = e.id AND eg.group_id = ANY($3))))
      OR (e.visibility = 'staff' AND $4 AND ($2 OR e.whole_school
          OR EXISTS (SELECT 1 FROM event_groups eg
                      WHERE eg.event_id = e.id AND eg.group_id = ANY($5)))))";

/// An event as pages and feeds read it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub place: String,
    pub visibility: String,
    pub whole_school: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// All-day events: the first and last day.
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub author_id: Option<i64>,
    pub author: Option<String>,
    /// The groups' names, in the school's order.
    pub groups: Vec<String>,
    pub group_ids: Vec<i64>,
    pub updated_at: DateTime<Utc>,
}

impl EventRow {
    pub fn all_day(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.first_day.zip(self.last_day)
    }

    pub fn times(&self) -> EventTimes {
        EventTimes {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            all_day: self.all_day(),
        }
    }
}

/// A public event as a visitor's list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicEventRow {
    pub id: i64,
    pub title: String,
    pub place: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

impl PublicEventRow {
    pub fn times(&self) -> EventTimes {
        EventTimes {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            all_day: self.first_day.zip(self.last_day),
        }
    }
}

/// When an event happens, as its lists say it.
#[derive(Debug, Clone, Copy)]
pub struct EventTimes {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// All-day events: the first and last day.
    pub all_day: Option<(NaiveDate, NaiveDate)>,
}

fn select_events(condition: &str, tail: &str) -> String {
    format!(
        "SELECT e.id, e.title, e.description, e.place, e.visibility, e.whole_school,
                e.starts_at, e.ends_at, e.first_day, e.last_day, e.author_id, a.name AS author,
                ARRAY(SELECT g.name FROM event_groups eg JOIN groups g ON g.id = eg.group_id
                       WHERE eg.event_id = e.id ORDER BY g.year NULLS LAST, g.name) AS groups,
                ARRAY(SELECT eg.group_id FROM event_groups eg
                       WHERE eg.event_id = e.id ORDER BY eg.group_id) AS group_ids,
                e.updated_at
           FROM events e LEFT JOIN people a ON a.id = e.author_id
          WHERE {condition}
          ORDER BY e.starts_at, e.id {tail}"
    )
}

/// Events the reader sees that overlap `$6`..`$7`.
static BETWEEN_SQL: LazyLock<String> = LazyLock::new(|| {
    select_events(
        &format!("{SEES_EVENT} AND e.starts_at < $7 AND e.ends_at > $6"),
        "",
    )
});
/// Events the reader sees that have not ended at `$6`, the first `$7`.
static UPCOMING_SQL: LazyLock<String> =
    LazyLock::new(|| select_events(&format!("{SEES_EVENT} AND e.ends_at > $6"), "LIMIT $7"));
/// One event, `$6`, if the reader sees it.
static ONE_SQL: LazyLock<String> =
    LazyLock::new(|| select_events(&format!("{SEES_EVENT} AND e.id = $6"), ""));
/// Events the reader sees that end after `$6` and, when `$7` is a group, are for that group.
static FEED_SQL: LazyLock<String> = LazyLock::new(|| {
    select_events(
        &format!(
            "{SEES_EVENT} AND e.ends_at > $6
             AND ($7::bigint IS NULL OR EXISTS (SELECT 1 FROM event_groups fg
                                                 WHERE fg.event_id = e.id AND fg.group_id = $7))"
        ),
        "",
    )
});
/// Public events that have not ended at `$1`, the first `$2`: what visitors see, which is
/// neither the author nor the groups, so neither `people` nor the groups' tables is read (each
/// table a statement touches is a catalog entry per school on every database backend).
const PUBLIC_SQL: &str = "SELECT id, title, place, starts_at, ends_at, first_day, last_day
                            FROM events
                           WHERE visibility = 'public' AND ends_at > $1
                           ORDER BY starts_at, id
                           LIMIT $2";

fn bind_reader<'q>(
    sql: &'q str,
    reader: &EventReader,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, EventRow, sqlx::postgres::PgArguments> {
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(reader.person_id)
        .bind(reader.admin)
        .bind(reader.groups.clone())
        .bind(reader.staff)
        .bind(reader.taught())
}

/// The events the reader sees that overlap `from`..`to`, by start.
pub async fn visible_between(
    tx: &mut TenantTx,
    reader: &EventReader,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<EventRow>, sqlx::Error> {
    bind_reader(&BETWEEN_SQL, reader)
        .bind(from)
        .bind(to)
        .fetch_all(&mut **tx)
        .await
}

/// The next `limit` events the reader sees that have not ended at `now`.
pub async fn upcoming(
    tx: &mut TenantTx,
    reader: &EventReader,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    bind_reader(&UPCOMING_SQL, reader)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// The events of a feed: what the reader sees that ends after `since`, only those for `group`
/// when it is given.
pub async fn for_feed(
    tx: &mut TenantTx,
    reader: &EventReader,
    since: DateTime<Utc>,
    group: Option<i64>,
) -> Result<Vec<EventRow>, sqlx::Error> {
    bind_reader(&FEED_SQL, reader)
        .bind(since)
        .bind(group)
        .fetch_all(&mut **tx)
        .await
}

/// The next public events, for the school's page for visitors.
pub async fn public_upcoming(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PublicEventRow>, sqlx::Error> {
    sqlx::query_as(PUBLIC_SQL)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// One event, if the reader sees it: an event one may not see does not exist for them (404).
pub async fn visible_event(
    tx: &mut TenantTx,
    reader: &EventReader,
    event_id: i64,
) -> Result<EventRow, AppError> {
    bind_reader(&ONE_SQL, reader)
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(AppError::NotFound)
}

/// When an event happens, as checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At {
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
    },
    Days {
        first: NaiveDate,
        last: NaiveDate,
    },
}

impl When {
    /// The instants stored for it: an all-day event covers its days' Dutch midnights.
    pub fn instants(self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            Self::At { starts, ends } => (starts, ends),
            Self::Days { first, last } => (
                zone::start_of_day(first),
                zone::start_of_day(last.succ_opt().unwrap_or(last)),
            ),
        }
    }
}

/// Who an event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    WholeSchool,
    Groups(BTreeSet<i64>),
}

/// An event as typed into the form, checked: every refusal names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    pub title: String,
    pub description: String,
    pub place: String,
    pub visibility: Visibility,
    pub audience: Audience,
    pub when: When,
}

/// The longest an event may last: a school year's camp is long, a year is a mistake.
const MAX_DAYS: i64 = 366;
/// Years a date may be in: outside them it is a typing error.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The form's fields as a draft's values are read from them.
#[derive(Debug, Default, Clone, Copy)]
pub struct FormFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub place: &'a str,
    pub visibility: &'a str,
    pub whole_school: bool,
    pub all_day: bool,
    pub start_date: &'a str,
    pub start_time: &'a str,
    pub end_date: &'a str,
    pub end_time: &'a str,
}

impl EventDraft {
    /// Reads the form: `title`, `description`, `place`, `visibility` (private, staff, members,
    /// public), `whole_school=on` or one `groups` per group, `all_day=on`, `start_date` and
    /// `end_date` (yyyy-mm-dd; the end date defaults to the start date), `start_time` and
    /// `end_time` (hh:mm, Dutch time) unless all day.
    pub fn parse(form: &[(String, String)]) -> Result<Self, AppError> {
        let get = |key: &str| {
            form.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        let groups = form
            .iter()
            .filter(|(key, _)| key == "groups")
            .map(|(_, value)| {
                value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::bad_request("groups", "calendar.events.bad_group"))
            })
            .collect::<Result<BTreeSet<i64>, _>>()?;
        Self::from_fields(
            FormFields {
                title: get("title"),
                description: get("description"),
                place: get("place"),
                visibility: get("visibility"),
                whole_school: get("whole_school") == "on",
                all_day: get("all_day") == "on",
                start_date: get("start_date"),
                start_time: get("start_time"),
                end_date: get("end_date"),
                end_time: get("end_time"),
            },
            groups,
        )
    }

    pub fn from_fields(fields: FormFields<'_>, groups: BTreeSet<i64>) -> Result<Self, AppError> {
        let title = text("title", fields.title, 200, false)?;
        if title.is_empty() {
            return Err(AppError::bad_request(
                "title",
                "calendar.events.title_required",
            ));
        }
        let description = text("description", fields.description, 5000, true)?;
        let place = text("place", fields.place, 200, false)?;
        let visibility = Visibility::parse(fields.visibility.trim())
            .ok_or_else(|| AppError::bad_request("visibility", "calendar.events.bad_visibility"))?;
        let audience = match (fields.whole_school, groups.is_empty()) {
            (true, true) => Audience::WholeSchool,
            (false, false) => Audience::Groups(groups),
            _ => {
                return Err(AppError::bad_request(
                    "groups",
                    "calendar.events.audience_choice",
                ));
            }
        };
        let start_date = date("start_date", fields.start_date)?;
        let end_date = match fields.end_date.trim() {
            "" => start_date,
            _ => date("end_date", fields.end_date)?,
        };
        let when = if fields.all_day {
            if end_date < start_date {
                return Err(AppError::bad_request(
                    "end_date",
                    "calendar.events.end_before_start",
                ));
            }
            When::Days {
                first: start_date,
                last: end_date,
            }
        } else {
            let starts = local_instant(
                "start_time",
                start_date.and_time(time("start_time", fields.start_time)?),
            )?;
            let ends = local_instant(
                "end_time",
                end_date.and_time(time("end_time", fields.end_time)?),
            )?;
            if ends <= starts {
                return Err(AppError::bad_request(
                    "end_time",
                    "calendar.events.end_before_start",
                ));
            }
            When::At { starts, ends }
        };
        let (starts, ends) = when.instants();
        if ends - starts > chrono::Duration::days(MAX_DAYS) {
            return Err(AppError::bad_request(
                "end_date",
                "calendar.events.lasts_too_long",
            ));
        }
        Ok(Self {
            title,
            description,
            place,
            visibility,
            audience,
            when,
        })
    }

    /// Whether the reader may make this event: admins anything; teachers only for groups they
    /// teach, all of which must exist. Refusals name the field.
    pub async fn check_audience(
        &self,
        tx: &mut TenantTx,
        reader: &EventReader,
    ) -> Result<(), AppError> {
        match &self.audience {
            Audience::WholeSchool if !reader.admin => Err(AppError::bad_request(
                "whole_school",
                "calendar.events.not_your_group",
            )),
            Audience::WholeSchool => Ok(()),
            Audience::Groups(groups) => {
                let ids: Vec<i64> = groups.iter().copied().collect();
                let known: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM groups WHERE id = ANY($1)")
                        .bind(&ids)
                        .fetch_one(&mut **tx)
                        .await?;
                if known != ids.len() as i64 {
                    return Err(AppError::bad_request("groups", "calendar.events.bad_group"));
                }
                if !reader.admin && !groups.is_subset(&reader.taught) {
                    return Err(AppError::bad_request(
                        "groups",
                        "calendar.events.not_your_group",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Trimmed text of at most `max` characters, without control characters (line breaks only
/// when `multiline`, kept as `\n`).
fn text(field: &'static str, raw: &str, max: usize, multiline: bool) -> Result<String, AppError> {
    let value = raw.trim().replace("\r\n", "\n");
    if value.chars().count() > max {
        return Err(AppError::bad_request(field, "calendar.events.too_long"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(AppError::bad_request(
            field,
            "calendar.events.control_character",
        ));
    }
    Ok(value)
}

fn date(field: &'static str, raw: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| AppError::bad_request(field, "calendar.events.bad_date"))
}

/// `hh:mm`, as a browser's time field sends it (with `:ss` when it shows seconds).
fn time(field: &'static str, raw: &str) -> Result<NaiveTime, AppError> {
    let raw = raw.trim();
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .map_err(|_| AppError::bad_request(field, "calendar.events.bad_time"))
}

fn local_instant(field: &'static str, local: NaiveDateTime) -> Result<DateTime<Utc>, AppError> {
    zone::instant(local)
        .map_err(|_| AppError::bad_request(field, "calendar.events.nonexistent_time"))
}

/// Writes a new event and its groups; returns its id.
pub async fn insert(
    tx: &mut TenantTx,
    draft: &EventDraft,
    author_id: i64,
) -> Result<i64, sqlx::Error> {
    let (starts, ends) = draft.when.instants();
    let (first_day, last_day) = days(draft.when);
    let event_id: i64 = sqlx::query_scalar(
        "INSERT INTO events (title, description, place, visibility, whole_school, starts_at,
                             ends_at, first_day, last_day, author_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id",
    )
    .bind(&draft.title)
    .bind(&draft.description)
    .bind(&draft.place)
    .bind(draft.visibility.as_str())
    .bind(draft.audience == Audience::WholeSchool)
    .bind(starts)
    .bind(ends)
    .bind(first_day)
    .bind(last_day)
    .bind(author_id)
    .fetch_one(&mut **tx)
    .await?;
    write_groups(tx, event_id, &draft.audience).await?;
    Ok(event_id)
}

/// Replaces an event's fields and groups.
pub async fn update(
    tx: &mut TenantTx,
    event_id: i64,
    draft: &EventDraft,
) -> Result<(), sqlx::Error> {
    let (starts, ends) = draft.when.instants();
    let (first_day, last_day) = days(draft.when);
    sqlx::query(
        "UPDATE events SET title = $2, description = $3, place = $4, visibility = $5,
                whole_school = $6, starts_at = $7, ends_at = $8, first_day = $9, last_day = $10,
                updated_at = now()
          WHERE id = $1",
    )
    .bind(event_id)
    .bind(&draft.title)
    .bind(&draft.description)
    .bind(&draft.place)
    .bind(draft.visibility.as_str())
    .bind(draft.audience == Audience::WholeSchool)
    .bind(starts)
    .bind(ends)
    .bind(first_day)
    .bind(last_day)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM event_groups WHERE event_id = $1")
        .bind(event_id)
        .execute(&mut **tx)
        .await?;
    write_groups(tx, event_id, &draft.audience).await
}

pub async fn delete(tx: &mut TenantTx, event_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM events WHERE id = $1")
        .bind(event_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn days(when: When) -> (Option<NaiveDate>, Option<NaiveDate>) {
    match when {
        When::Days { first, last } => (Some(first), Some(last)),
        When::At { .. } => (None, None),
    }
}

async fn write_groups(
    tx: &mut TenantTx,
    event_id: i64,
    audience: &Audience,
) -> Result<(), sqlx::Error> {
    if let Audience::Groups(groups) = audience {
        sqlx::query(
            "INSERT INTO event_groups (event_id, group_id) SELECT $1, unnest($2::bigint[])",
        )
        .bind(event_id)
        .bind(groups.iter().copied().collect::<Vec<i64>>())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> FormFields<'static> {
        FormFields {
            title: "Sportdag",
            visibility: "members",
            whole_school: true,
            start_date: "2026-10-24",
            start_time: "10:00",
            end_time: "11:30",
            ..FormFields::default()
        }
    }

    fn refusal(fields: FormFields<'_>, groups: &[i64]) -> (String, String) {
        match EventDraft::from_fields(fields, groups.iter().copied().collect()) {
            Err(AppError::BadRequest { field, reason }) => (field.into_owned(), reason),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_timed_event_is_stored_as_the_instants_of_dutch_time() {
        let draft = EventDraft::from_fields(fields(), BTreeSet::new()).unwrap();
        assert_eq!(
            draft.when,
            When::At {
                starts: utc("2026-10-24T08:00:00Z"),
                ends: utc("2026-10-24T09:30:00Z"),
            }
        );
        let winter = EventDraft::from_fields(
            FormFields {
                start_date: "2026-10-26",
                end_date: "2026-10-26",
                start_time: "10:00:00",
                ..fields()
            },
            BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(winter.when.instants().0, utc("2026-10-26T09:00:00Z"));
    }

    #[test]
    fn all_day_events_cover_their_dutch_days() {
        let draft = EventDraft::from_fields(
            FormFields {
                all_day: true,
                start_date: "2026-10-24",
                end_date: "2026-10-25",
                start_time: "",
                end_time: "",
                ..fields()
            },
            BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(
            draft.when.instants(),
            (utc("2026-10-23T22:00:00Z"), utc("2026-10-25T23:00:00Z"))
        );
    }

    #[test]
    fn refusals_name_the_field_and_the_reason() {
        let cases: Vec<(FormFields<'static>, &[i64], &str, &str)> = vec![
            (
                FormFields {
                    title: "  ",
                    ..fields()
                },
                &[],
                "title",
                "title_required",
            ),
            (
                FormFields {
                    end_time: "09:00",
                    ..fields()
                },
                &[],
                "end_time",
                "end_before_start",
            ),
            (
                FormFields {
                    end_time: "10:00",
                    ..fields()
                },
                &[],
                "end_time",
                "end_before_start",
            ),
            (
                FormFields {
                    start_date: "2026-13-01",
                    ..fields()
                },
                &[],
                "start_date",
                "bad_date",
            ),
            (
                FormFields {
                    start_date: "24-10-2026",
                    ..fields()
                },
                &[],
                "start_date",
                "bad_date",
            ),
            (
                FormFields {
                    start_time: "25:00",
                    ..fields()
                },
                &[],
                "start_time",
                "bad_time",
            ),
            (
                FormFields {
                    start_date: "2027-03-28",
                    start_time: "02:30",
                    end_time: "04:00",
                    ..fields()
                },
                &[],
                "start_time",
                "nonexistent_time",
            ),
            (
                FormFields {
                    visibility: "everyone",
                    ..fields()
                },
                &[],
                "visibility",
                "bad_visibility",
            ),
            (fields(), &[3], "groups", "audience_choice"),
            (
                FormFields {
                    whole_school: false,
                    ..fields()
                },
                &[],
                "groups",
                "audience_choice",
            ),
            (
                FormFields {
                    all_day: true,
                    end_date: "2026-10-23",
                    ..fields()
                },
                &[],
                "end_date",
                "end_before_start",
            ),
            (
                FormFields {
                    all_day: true,
                    end_date: "2028-10-23",
                    ..fields()
                },
                &[],
                "end_date",
                "lasts_too_long",
            ),
            (
                FormFields {
                    place: "zaal\u{7}",
                    ..fields()
                },
                &[],
                "place",
                "control_character",
            ),
        ];
        for (fields, groups, field, reason) in cases {
            assert_eq!(
                refusal(fields, groups),
                (field.to_owned(), format!("calendar.events.{reason}")),
                "{fields:?}"
            );
        }
    }

    #[test]
    fn the_repeated_october_hour_is_taken_as_summer_time() {
        let draft = EventDraft::from_fields(
            FormFields {
                start_date: "2026-10-25",
                start_time: "02:30",
                end_time: "03:30",
                ..fields()
            },
            BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(
            draft.when,
            When::At {
                starts: utc("2026-10-25T00:30:00Z"),
                ends: utc("2026-10-25T02:30:00Z"),
            }
        );
    }
}
