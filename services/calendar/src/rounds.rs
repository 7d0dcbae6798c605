//! Conference rounds (K3): what the teacher's forms say about a round, checked, and the SQL that
//! stores rounds and their slots, keeping teachers to the groups they teach.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use schoolplein_kernel::{AppError, Role, Staff, Viewer};
use serde::Serialize;
use tenant_router::TenantTx;

use crate::slots::{self, LocalSlot, RoundPlan, SlotError};

/// How separated parents book (set per round by the school).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingMode {
    /// One talk per child; either parent books, changes or cancels it.
    Shared,
    /// Each parent with their own account books their own talk for the child.
    PerParent,
}

impl BookingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::PerParent => "per_parent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Shared, Self::PerParent]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// Where a round is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    /// The teacher is still planning; parents do not see it.
    Draft,
    /// Parents see it and book (from its opening moment).
    Published,
    /// The teacher closed the planning: times are final.
    Closed,
}

impl RoundStatus {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A submitted form's fields.
#[derive(Debug, Clone, Copy)]
pub struct Form<'a>(pub &'a [(String, String)]);

impl<'a> Form<'a> {
    /// The field's first value, trimmed; empty when missing.
    pub fn get(&self, key: &str) -> &'a str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or_default()
    }

    /// Every non-empty value of a repeated field.
    pub fn all(&self, key: &str) -> Vec<&'a str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A whole number in `range`; `None` when empty.
    pub fn number(
        &self,
        key: &'static str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, AppError> {
        match self.get(key) {
            "" => Ok(None),
            text => text
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| AppError::bad_request(key, "rounds.error.bad_number")),
        }
    }

    /// A required whole number (any size: the plan's own rules bound it).
    pub fn required_number(&self, key: &'static str) -> Result<u16, AppError> {
        match self.get(key) {
            "" => Err(AppError::bad_request(key, "rounds.error.required")),
            text => text
                .parse::<u16>()
                .map_err(|_| AppError::bad_request(key, "rounds.error.bad_number")),
        }
    }

    /// An id (a number from a select or a hidden field).
    pub fn id(&self, key: &'static str) -> Result<i64, AppError> {
        match self.get(key) {
            "" => Err(AppError::bad_request(key, "rounds.error.required")),
            text => text
                .parse::<i64>()
                .map_err(|_| AppError::bad_request(key, "rounds.error.bad_number")),
        }
    }

    /// A date as `<input type="date">` sends it (yyyy-mm-dd); `None` when empty.
    pub fn date(&self, key: &'static str) -> Result<Option<NaiveDate>, AppError> {
        parse_date(key, self.get(key))
    }

    /// A time as `<input type="time">` sends it (hh:mm, or hh:mm:ss).
    pub fn time(&self, key: &'static str) -> Result<NaiveTime, AppError> {
        match self.get(key) {
            "" => Err(AppError::bad_request(key, "rounds.error.required")),
            text => NaiveTime::parse_from_str(text, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
                .map_err(|_| AppError::bad_request(key, "rounds.error.bad_time")),
        }
    }

    /// A moment as `<input type="datetime-local">` sends it, in the school's time; `None`
    /// when empty.
    pub fn moment(&self, key: &'static str) -> Result<Option<DateTime<Utc>>, AppError> {
        match self.get(key) {
            "" => Ok(None),
            text => {
                let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                    .map_err(|_| AppError::bad_request(key, "rounds.error.bad_moment"))?;
                slots::to_utc(local.date(), local.time())
                    .map(Some)
                    .map_err(|_| AppError::bad_request(key, "rounds.error.bad_moment"))
            }
        }
    }
}

fn parse_date(key: &'static str, text: &str) -> Result<Option<NaiveDate>, AppError> {
    match text {
        "" => Ok(None),
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::bad_request(key, "rounds.error.bad_date")),
    }
}

/// Text typed into a field: trimmed, at most `max` characters, no control characters but
/// line breaks where `multiline`.
pub fn text(key: &'static str, raw: &str, max: usize, multiline: bool) -> Result<String, AppError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(AppError::bad_request(key, "rounds.error.too_long"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r')))
    {
        return Err(AppError::bad_request(key, "rounds.error.control_character"));
    }
    Ok(value.replace("\r\n", "\n"))
}

/// What parents may do and when: set when the round is made, changed later on its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundSettings {
    pub booking_mode: BookingMode,
    pub change_until_days: Option<i16>,
    pub opens_at: Option<DateTime<Utc>>,
    pub siblings_open_at: Option<DateTime<Utc>>,
    pub message: String,
}

impl RoundSettings {
    /// Fields `booking_mode` (`shared`, `per_parent`), `change_until_days` (0–60, empty: until
    /// closed), `opens_at` and `siblings_open_at` (local date and time, empty: none),
    /// `message`.
    pub fn parse(form: &Form) -> Result<Self, AppError> {
        let booking_mode = match form.get("booking_mode") {
            "" => BookingMode::Shared,
            text => BookingMode::parse(text).ok_or_else(|| {
                AppError::bad_request("booking_mode", "rounds.error.bad_booking_mode")
            })?,
        };
        let change_until_days = form.number("change_until_days", 0..=60)?.map(|n| n as i16);
        let opens_at = form.moment("opens_at")?;
        let siblings_open_at = form.moment("siblings_open_at")?;
        match (siblings_open_at, opens_at) {
            (Some(_), None) => {
                return Err(AppError::bad_request(
                    "siblings_open_at",
                    "rounds.error.siblings_without_opening",
                ));
            }
            (Some(early), Some(open)) if early >= open => {
                return Err(AppError::bad_request(
                    "siblings_open_at",
                    "rounds.error.siblings_not_earlier",
                ));
            }
            _ => {}
        }
        Ok(Self {
            booking_mode,
            change_until_days,
            opens_at,
            siblings_open_at,
            message: text("message", form.get("message"), 2000, true)?,
        })
    }
}

/// A new round as the teacher's form gives it.
#[derive(Debug, Clone)]
pub struct NewRound {
    pub group_id: i64,
    pub title: String,
    pub plan: RoundPlan,
    pub settings: RoundSettings,
}

impl NewRound {
    /// Fields `group`, `title`, `talks`, `talk_minutes`, `talks_before_break` (empty: no
    /// breaks), `break_minutes` (empty: 0), `start_date`, `extra_day` (repeated, empties
    /// skipped), `day_start`, `day_end`, and the settings of [`RoundSettings::parse`].
    pub fn parse(form: &Form) -> Result<Self, AppError> {
        let group_id = form.id("group")?;
        let title = text("title", form.get("title"), 100, false)?;
        if title.is_empty() {
            return Err(AppError::bad_request("title", "rounds.error.required"));
        }
        let optional = |key: &'static str| -> Result<u16, AppError> {
            match form.get(key) {
                "" => Ok(0),
                _ => form.required_number(key),
            }
        };
        let plan = RoundPlan {
            talks: form.required_number("talks")?,
            talk_minutes: form.required_number("talk_minutes")?,
            talks_before_break: optional("talks_before_break")?,
            break_minutes: optional("break_minutes")?,
            start_date: form
                .date("start_date")?
                .ok_or_else(|| AppError::bad_request("start_date", "rounds.error.required"))?,
            extra_days: form
                .all("extra_day")
                .into_iter()
                .map(|d| parse_date("extra_day", d).map(|d| d.unwrap_or_default()))
                .collect::<Result<_, _>>()?,
            day_start: form.time("day_start")?,
            day_end: form.time("day_end")?,
        };
        Ok(Self {
            group_id,
            title,
            plan,
            settings: RoundSettings::parse(form)?,
        })
    }
}

/// A talk's start and end.
pub type Talk = (DateTime<Utc>, DateTime<Utc>);

/// The talks of a plan as instants, or why not.
pub fn instants(plan: &RoundPlan) -> Result<Vec<Talk>, SlotError> {
    plan.slots()?.iter().map(LocalSlot::instants).collect()
}

/// A round as stored, with its group's name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Round {
    pub id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub title: String,
    pub talks: i16,
    pub talk_minutes: i16,
    pub talks_before_break: i16,
    pub break_minutes: i16,
    pub days: Vec<NaiveDate>,
    pub day_start: NaiveTime,
    pub day_end: NaiveTime,
    pub booking_mode: String,
    pub change_until_days: Option<i16>,
    pub opens_at: Option<DateTime<Utc>>,
    pub siblings_open_at: Option<DateTime<Utc>>,
    pub message: String,
    pub invitation_text: Option<String>,
    pub invitation_text_en: Option<String>,
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Round {
    pub fn mode(&self) -> BookingMode {
        BookingMode::parse(&self.booking_mode).unwrap_or(BookingMode::Shared)
    }

    pub fn state(&self) -> RoundStatus {
        RoundStatus::parse(&self.status).unwrap_or(RoundStatus::Draft)
    }

    /// The last moment parents may book, change or cancel: midnight starting the day that is
    /// `change_until_days` before the round's first day; `None`: until the round is closed.
    pub fn cutoff(&self) -> Option<DateTime<Utc>> {
        let days = u64::try_from(self.change_until_days?).ok()?;
        let first = self.days.iter().min()?;
        Some(crate::zone::start_of_day(
            first.checked_sub_days(Days::new(days))?,
        ))
    }

    /// A talk of this round's length starting at `start`.
    pub fn talk_length(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.talk_minutes))
    }
}

/// The columns of [`Round`], from `conference_rounds r JOIN groups g`.
pub const ROUND_COLUMNS: &str = "r.id, r.group_id, g.name AS group_name, r.title, r.talks,
    r.talk_minutes, r.talks_before_break, r.break_minutes, r.days, r.day_start, r.day_end,
    r.booking_mode, r.change_until_days, r.opens_at, r.siblings_open_at, r.message,
    r.invitation_text, r.invitation_text_en, r.status, r.published_at, r.closed_at";

/// A pupil's name as pages show it.
pub const PUPIL_NAME: &str =
    "concat_ws(' ', pu.first_name, nullif(pu.name_prefix, ''), pu.last_name)";

/// Whether the viewer plans rounds for this group: its teachers, and the school's admins.
pub async fn manages_group(
    tx: &mut TenantTx,
    viewer: &Viewer,
    group_id: i64,
) -> Result<bool, sqlx::Error> {
    if viewer.has(Role::SchoolAdmin) {
        return Ok(true);
    }
    if !viewer.has(Role::Teacher) {
        return Ok(false);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_teachers WHERE group_id = $1 AND person_id = $2)",
    )
    .bind(group_id)
    .bind(viewer.person_id)
    .fetch_one(&mut **tx)
    .await
}

/// A round the viewer manages; with `lock`, its row is locked against other changes to the
/// round and against bookings (which hold it shared), always before any slot's row.
pub async fn managed_round(
    tx: &mut TenantTx,
    viewer: &Staff,
    round_id: i64,
    lock: bool,
) -> Result<Round, AppError> {
    let sql = format!(
        "SELECT {ROUND_COLUMNS} FROM conference_rounds r JOIN groups g ON g.id = r.group_id
          WHERE r.id = $1 {}",
        if lock { "FOR NO KEY UPDATE OF r" } else { "" }
    );
    let round: Option<Round> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(round_id)
        .fetch_optional(&mut **tx)
        .await?;
    let round = round.ok_or(AppError::NotFound)?;
    if !manages_group(tx, viewer, round.group_id).await? {
        return Err(AppError::Forbidden {
            reason: "rounds.error.not_your_group",
        });
    }
    Ok(round)
}

/// Stores a new round and its slots; returns its id.
pub async fn insert_round(
    tx: &mut TenantTx,
    new: &NewRound,
    talks: &[Talk],
    created_by: i64,
) -> Result<i64, sqlx::Error> {
    let plan = &new.plan;
    let settings = &new.settings;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO conference_rounds (group_id, title, talks, talk_minutes, talks_before_break,
                                        break_minutes, days, day_start, day_end, booking_mode,
                                        change_until_days, opens_at, siblings_open_at, message,
                                        created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(new.group_id)
    .bind(&new.title)
    .bind(plan.talks as i16)
    .bind(plan.talk_minutes as i16)
    .bind(plan.talks_before_break as i16)
    .bind(plan.break_minutes as i16)
    .bind(plan.days())
    .bind(plan.day_start)
    .bind(plan.day_end)
    .bind(settings.booking_mode.as_str())
    .bind(settings.change_until_days)
    .bind(settings.opens_at)
    .bind(settings.siblings_open_at)
    .bind(&settings.message)
    .bind(created_by)
    .fetch_one(&mut **tx)
    .await?;
    let (starts, ends): (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>) = talks.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO conference_slots (round_id, starts_at, ends_at)
         SELECT $1, s, e FROM unnest($2::timestamptz[], $3::timestamptz[]) AS t (s, e)",
    )
    .bind(id)
    .bind(&starts)
    .bind(&ends)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Changes a round's settings. The booking mode cannot change once someone booked: the
/// bookings refer to it.
pub async fn save_settings(
    tx: &mut TenantTx,
    round: &Round,
    settings: &RoundSettings,
) -> Result<(), AppError> {
    if settings.booking_mode != round.mode() {
        let booked: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM conference_bookings WHERE round_id = $1)",
        )
        .bind(round.id)
        .fetch_one(&mut **tx)
        .await?;
        if booked {
            return Err(AppError::bad_request(
                "booking_mode",
                "rounds.error.mode_after_bookings",
            ));
        }
    }
    sqlx::query(
        "UPDATE conference_rounds
            SET booking_mode = $2, change_until_days = $3, opens_at = $4,
                siblings_open_at = $5, message = $6
          WHERE id = $1",
    )
    .bind(round.id)
    .bind(settings.booking_mode.as_str())
    .bind(settings.change_until_days)
    .bind(settings.opens_at)
    .bind(settings.siblings_open_at)
    .bind(&settings.message)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A slot as the teacher's page shows it, with its booking.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SlotRow {
    pub id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub booking_id: Option<i64>,
    pub pupil_id: Option<i64>,
    /// `per_parent` mode: whose talk it is.
    pub parent_id: Option<i64>,
    pub child: Option<String>,
    pub parent: Option<String>,
    pub booked_by: Option<String>,
    pub assigned: Option<bool>,
}

/// A round's slots in time order, with who booked them.
pub async fn slots_of(tx: &mut TenantTx, round_id: i64) -> Result<Vec<SlotRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT s.id, s.starts_at, s.ends_at, b.id AS booking_id, b.pupil_id, b.parent_id,
                CASE WHEN pu.id IS NOT NULL THEN {PUPIL_NAME} END AS child,
                parent.name AS parent, booker.name AS booked_by, b.assigned
           FROM conference_slots s
           LEFT JOIN conference_bookings b ON b.slot_id = s.id
           LEFT JOIN pupils pu ON pu.id = b.pupil_id
           LEFT JOIN people parent ON parent.id = b.parent_id
           LEFT JOIN people booker ON booker.id = b.booked_by
          WHERE s.round_id = $1
          ORDER BY s.starts_at"
    )))
    .bind(round_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether a database error is the slots' overlap rule (or two slots starting together).
pub fn is_overlap(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| {
            c == "conference_slots_no_overlap" || c == "conference_slots_round_id_starts_at_key"
        })
}

/// Locks slot rows in id order: every change to bookings locks the slots it touches first,
/// so two changes that swap slots wait for each other instead of deadlocking.
pub async fn lock_slots(tx: &mut TenantTx, ids: &[i64]) -> Result<(), sqlx::Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    sqlx::query("SELECT id FROM conference_slots WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The school's invitation texts (Dutch or as written, English), `None` where the built-in
/// text serves.
pub async fn invitation_texts(
    tx: &mut TenantTx,
) -> Result<(Option<String>, Option<String>), sqlx::Error> {
    sqlx::query_as("SELECT invitation_text, invitation_text_en FROM conference_settings")
        .fetch_one(&mut **tx)
        .await
}

/// A family a teacher can assign a slot to: a pupil of the group, and in `per_parent` mode
/// one of the pupil's parents.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Family {
    pub pupil_id: i64,
    pub child: String,
    pub parent_id: Option<i64>,
    pub parent: Option<String>,
}

impl Family {
    /// The value of the assign form's `family` field.
    pub fn key(&self) -> String {
        match self.parent_id {
            Some(parent) => format!("{}-{parent}", self.pupil_id),
            None => self.pupil_id.to_string(),
        }
    }
}

/// The families of a group the round's slots can be assigned to.
pub async fn families(tx: &mut TenantTx, round: &Round) -> Result<Vec<Family>, sqlx::Error> {
    let per_parent = round.mode() == BookingMode::PerParent;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT pu.id AS pupil_id, {PUPIL_NAME} AS child, pe.id AS parent_id, pe.name AS parent
           FROM pupils pu
           LEFT JOIN guardians gu ON $2 AND gu.pupil_id = pu.id AND gu.status = 'active'
           LEFT JOIN people pe ON pe.id = gu.person_id AND pe.blocked_at IS NULL
          WHERE pu.group_id = $1 AND pu.left_at IS NULL AND (NOT $2 OR pe.id IS NOT NULL)
          ORDER BY pu.first_name, pu.last_name, pu.id, pe.name"
    )))
    .bind(round.group_id)
    .bind(per_parent)
    .fetch_all(&mut **tx)
    .await
}

/// The `family` field of the assign form: `<pupil>` or `<pupil>-<parent>`.
pub fn parse_family(text: &str) -> Result<(i64, Option<i64>), AppError> {
    let bad = || AppError::bad_request("family", "rounds.error.bad_family");
    match text.split_once('-') {
        None => Ok((text.parse().map_err(|_| bad())?, None)),
        Some((pupil, parent)) => Ok((
            pupil.parse().map_err(|_| bad())?,
            Some(parent.parse().map_err(|_| bad())?),
        )),
    }
}

/// How many slots the round has.
pub async fn slot_count(tx: &mut TenantTx, round_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM conference_slots WHERE round_id = $1")
        .bind(round_id)
        .fetch_one(&mut **tx)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field_of(error: AppError) -> String {
        match error {
            AppError::BadRequest { field, .. } => field.to_string(),
            other => panic!("not a bad request: {other:?}"),
        }
    }

    fn seed_form() -> Vec<(&'static str, &'static str)> {
        vec![
            ("group", "7"),
            ("title", "Rapportgesprekken"),
            ("talks", "20"),
            ("talk_minutes", "10"),
            ("talks_before_break", "5"),
            ("break_minutes", "10"),
            ("start_date", "2026-11-10"),
            ("extra_day", "2026-11-12"),
            ("extra_day", ""),
            ("day_start", "15:00"),
            ("day_end", "18:30"),
        ]
    }

    #[test]
    fn the_new_round_form_gives_the_plan_and_settings() {
        let mut fields = seed_form();
        fields.extend([
            ("booking_mode", "per_parent"),
            ("change_until_days", "2"),
            ("opens_at", "2026-11-01T20:00"),
            ("siblings_open_at", "2026-11-01T19:00"),
        ]);
        let fields = form(&fields);
        let new = NewRound::parse(&Form(&fields)).unwrap();
        assert_eq!(new.group_id, 7);
        assert_eq!(new.plan.talks, 20);
        assert_eq!(
            new.plan.extra_days,
            [NaiveDate::from_ymd_opt(2026, 11, 12).unwrap()]
        );
        assert_eq!(new.settings.booking_mode, BookingMode::PerParent);
        assert_eq!(new.settings.change_until_days, Some(2));
        // 20:00 in November is 19:00 UTC.
        assert_eq!(
            new.settings.opens_at.unwrap().to_rfc3339(),
            "2026-11-01T19:00:00+00:00"
        );
        assert_eq!(instants(&new.plan).unwrap().len(), 20);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("talks", "veel", "talks"),
            ("talk_minutes", "", "talk_minutes"),
            ("start_date", "10-11-2026", "start_date"),
            ("day_end", "25:00", "day_end"),
            ("extra_day", "morgen", "extra_day"),
            ("title", "", "title"),
            ("group", "x", "group"),
            ("booking_mode", "each", "booking_mode"),
            ("change_until_days", "90", "change_until_days"),
            ("opens_at", "soon", "opens_at"),
            ("siblings_open_at", "2026-11-01T19:00", "siblings_open_at"),
        ];
        for (key, value, field) in cases {
            let mut fields: Vec<(&str, &str)> =
                seed_form().into_iter().filter(|(k, _)| k != key).collect();
            fields.push((key, value));
            let fields = form(&fields);
            let error = NewRound::parse(&Form(&fields)).unwrap_err();
            assert_eq!(field_of(error), *field, "{key}={value}");
        }
        let fields = form(&[
            ("opens_at", "2026-11-01T19:00"),
            ("siblings_open_at", "2026-11-01T19:00"),
        ]);
        let error = RoundSettings::parse(&Form(&fields)).unwrap_err();
        assert_eq!(field_of(error), "siblings_open_at");
    }

    #[test]
    fn the_cutoff_is_midnight_n_days_before_the_first_day() {
        let round = Round {
            id: 1,
            group_id: 1,
            group_name: "Groep 3".into(),
            title: "Gesprekken".into(),
            talks: 10,
            talk_minutes: 10,
            talks_before_break: 0,
            break_minutes: 0,
            days: vec![
                NaiveDate::from_ymd_opt(2026, 4, 2).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            ],
            day_start: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
            day_end: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            booking_mode: "shared".into(),
            change_until_days: Some(2),
            opens_at: None,
            siblings_open_at: None,
            message: String::new(),
            invitation_text: None,
            invitation_text_en: None,
            status: "published".into(),
            published_at: None,
            closed_at: None,
        };
        // Two days before 31 March is 29 March, the night summer time starts: midnight is
        // still winter time (UTC+1).
        assert_eq!(
            round.cutoff().unwrap().to_rfc3339(),
            "2026-03-28T23:00:00+00:00"
        );
        assert_eq!(
            Round {
                change_until_days: None,
                ..round
            }
            .cutoff(),
            None
        );
    }

    #[test]
    fn family_keys_round_trip() {
        assert_eq!(parse_family("12").unwrap(), (12, None));
        assert_eq!(parse_family("12-40").unwrap(), (12, Some(40)));
        assert!(parse_family("12-").is_err());
        assert!(parse_family("a").is_err());
    }
}
