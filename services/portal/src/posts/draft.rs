//! A post as typed on the post form, checked: its kind, text, date, audience and questions.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use schoolplein_kernel::AppError;
use schoolplein_kernel::audience::PostKind;

use crate::fields::optional_text;
use crate::questionnaires::QuestionnaireDraft;

/// A post as typed, checked.
#[derive(Debug)]
pub struct NewPost {
    pub kind: PostKind,
    pub title: String,
    pub body: String,
    pub happens_on: Option<NaiveDate>,
    pub whole_school: bool,
    pub groups: BTreeSet<i64>,
    pub special_groups: BTreeSet<i64>,
    /// Mailed at once to every parent it is for (C2).
    pub urgent: bool,
    /// Sent as a mailing: its whole text mailed at once to everyone it reaches (C5).
    pub mailing: bool,
    /// Sent to the people on this recipient list at this moment, instead of groups.
    pub recipient_list: Option<i64>,
    pub questionnaire: QuestionnaireDraft,
}

impl NewPost {
    /// Fields `kind` (news, agenda, board), `title`, `body`, `happens_on` (agenda,
    /// yyyy-mm-dd), and the audience:
    /// `whole_school=on`, or one `groups` per group and one `special_groups` per special
    /// group; `urgent=on` for an urgent message, or `mailing=on` for a mailing.
    pub fn parse(form: &[(String, String)]) -> Result<Self, AppError> {
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
        let urgent = get("urgent") == "on";
        let mailing = get("mailing") == "on";
        if urgent && mailing {
            return Err(AppError::bad_request(
                "mailing",
                "portal.posts.urgent_or_mailing",
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
            urgent,
            mailing,
            recipient_list,
            questionnaire,
        })
    }
}

/// The id of the element on the post form that holds `field`.
pub fn field_anchor(field: &str) -> String {
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
