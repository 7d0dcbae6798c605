//! Questionnaires in posts: the questions staff add (checked as typed and stored with the
//! post), what a post page shows of them — the viewer's sections to answer and, for staff,
//! the tally — and a section's answers checked against the questions.

use chrono::{DateTime, NaiveDateTime, Utc};
use schoolplein_kernel::AppError;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::db::questionnaires::{self, Question};
use crate::fields::optional_text;

/// Questions one post may carry.
pub const MAX_QUESTIONS: usize = 10;
/// Options one choice question may offer.
pub const MAX_OPTIONS: usize = 20;

/// What kind of answer a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    YesNo,
    OneChoice,
    ManyChoices,
    ShortText,
}

impl QuestionKind {
    const ALL: [QuestionKind; 4] = [
        QuestionKind::YesNo,
        QuestionKind::OneChoice,
        QuestionKind::ManyChoices,
        QuestionKind::ShortText,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::YesNo => "yes_no",
            Self::OneChoice => "one_choice",
            Self::ManyChoices => "many_choices",
            Self::ShortText => "short_text",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    fn has_options(self) -> bool {
        matches!(self, Self::OneChoice | Self::ManyChoices)
    }
}

/// A question as staff typed it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionDraft {
    pub kind: QuestionKind,
    pub prompt: String,
    pub options: Vec<String>,
}

/// The questionnaire part of a new post: questions, per child or not, and the deadline.
#[derive(Debug, Default)]
pub struct QuestionnaireDraft {
    pub questions: Vec<QuestionDraft>,
    pub per_child: bool,
    /// Local time in the school's zone (Europe/Amsterdam), as typed.
    pub answers_until: Option<NaiveDateTime>,
}

impl QuestionnaireDraft {
    /// Fields `q1_kind` … `q10_kind` (empty: no question in that slot), `qN_prompt`,
    /// `qN_options` (one option per line), `per_child=on`, `answers_until`
    /// (`yyyy-mm-ddThh:mm`, the school's local time).
    pub fn parse(get: impl Fn(&str) -> String) -> Result<Self, AppError> {
        let mut questions = Vec::new();
        for slot in 1..=MAX_QUESTIONS {
            let kind_field = format!("q{slot}_kind");
            let kind = match get(&kind_field).trim() {
                "" => continue,
                text => QuestionKind::parse(text).ok_or_else(|| {
                    AppError::bad_request(kind_field.clone(), "portal.questionnaires.bad_kind")
                })?,
            };
            let prompt_field = format!("q{slot}_prompt");
            let prompt = optional_text(&prompt_field, &get(&prompt_field), 300, false)?
                .ok_or_else(|| {
                    AppError::bad_request(prompt_field, "portal.questionnaires.prompt_required")
                })?;
            let options_field = format!("q{slot}_options");
            let options = if kind.has_options() {
                let raw = get(&options_field);
                let mut options: Vec<String> = Vec::new();
                for line in raw.lines() {
                    if let Some(option) = optional_text(&options_field, line, 100, false)? {
                        if options.contains(&option) {
                            return Err(AppError::bad_request(
                                options_field,
                                "portal.questionnaires.option_twice",
                            ));
                        }
                        options.push(option);
                    }
                }
                if !(2..=MAX_OPTIONS).contains(&options.len()) {
                    return Err(AppError::bad_request(
                        options_field,
                        "portal.questionnaires.option_count",
                    ));
                }
                options
            } else {
                Vec::new()
            };
            questions.push(QuestionDraft {
                kind,
                prompt,
                options,
            });
        }
        let answers_until = match get("answers_until").trim() {
            "" => None,
            text => Some(
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                    .map_err(|_| {
                        AppError::bad_request("answers_until", "portal.questionnaires.bad_deadline")
                    })?,
            ),
        };
        let per_child = get("per_child") == "on";
        if questions.is_empty() && (answers_until.is_some() || per_child) {
            return Err(AppError::bad_request(
                "q1_kind",
                "portal.questionnaires.no_questions",
            ));
        }
        Ok(Self {
            questions,
            per_child,
            answers_until,
        })
    }

    /// Stores the questions of post `post_id` and its deadline, which must lie ahead.
    pub async fn insert(&self, tx: &mut TenantTx, post_id: i64) -> Result<(), AppError> {
        if self.questions.is_empty() {
            return Ok(());
        }
        let ahead =
            questionnaires::set_deadline(tx, post_id, self.per_child, self.answers_until).await?;
        if ahead != Some(true) {
            return Err(AppError::bad_request(
                "answers_until",
                "portal.questionnaires.deadline_passed",
            ));
        }
        for (position, question) in self.questions.iter().enumerate() {
            questionnaires::insert_question(
                tx,
                post_id,
                position as i16 + 1,
                question.kind.as_str(),
                &question.prompt,
                &question.options,
            )
            .await?;
        }
        Ok(())
    }
}

/// One section of a parent's answer: for the family, or for one child.
#[derive(Debug, Serialize)]
struct Section {
    /// The child's id, 0 for the family.
    key: i64,
    child: Option<String>,
    answered: bool,
    answered_by: Option<String>,
    /// The answer given so far to each question, in the questions' order.
    answers: Vec<Option<GivenAnswer>>,
}

#[derive(Debug, Default, Serialize)]
pub struct GivenAnswer {
    pub yes: Option<bool>,
    pub choices: Vec<i16>,
    pub text: Option<String>,
}

/// A choice (or yes/no) and who chose it.
#[derive(Debug, Serialize)]
struct OptionTally {
    label: String,
    count: usize,
    names: Vec<String>,
}

#[derive(Debug, Serialize)]
struct QuestionTally {
    prompt: String,
    kind: String,
    options: Vec<OptionTally>,
    /// Short-text answers with who gave them.
    texts: Vec<(String, String)>,
}

/// The tally for staff: per question, and who has and has not answered.
#[derive(Debug, Serialize)]
struct Tally {
    questions: Vec<QuestionTally>,
    answered: usize,
    addressed: usize,
    not_answered: Vec<String>,
}

/// What a post page shows of its questionnaire.
#[derive(Debug, Serialize)]
pub struct QuestionnaireView {
    questions: Vec<Question>,
    per_child: bool,
    answers_until: Option<DateTime<Utc>>,
    open: bool,
    /// The viewer's sections, when the post asks them to answer.
    sections: Vec<Section>,
    /// For the post's author and admins.
    tally: Option<Tally>,
}

impl QuestionnaireView {
    /// The questionnaire of post `post_id` as `person_id` sees it, or `None` when it has no
    /// questions; with the tally when `staff_view` (its author or an admin).
    pub async fn load(
        tx: &mut TenantTx,
        post_id: i64,
        person_id: i64,
        staff_view: bool,
        yes_no_labels: [String; 2],
    ) -> Result<Option<Self>, AppError> {
        let questions = questionnaires::questions(tx, post_id).await?;
        if questions.is_empty() {
            return Ok(None);
        }
        let (per_child, answers_until, open) = questionnaires::deadline(tx, post_id).await?;
        let rows = questionnaires::sections(tx, post_id, person_id).await?;
        let response_ids: Vec<i64> = rows.iter().filter_map(|r| r.response_id).collect();
        let given = questionnaires::given_answers(tx, &response_ids).await?;
        let sections = rows
            .into_iter()
            .map(|row| {
                let answers = questions
                    .iter()
                    .map(|q| {
                        given
                            .iter()
                            .find(|a| {
                                Some(a.response_id) == row.response_id && a.question_id == q.id
                            })
                            .map(|a| GivenAnswer {
                                yes: a.yes,
                                choices: a.choices.clone().unwrap_or_default(),
                                text: a.text.clone(),
                            })
                    })
                    .collect();
                Section {
                    key: row.pupil_id.unwrap_or(0),
                    child: row.child,
                    answered: row.response_id.is_some(),
                    answered_by: row.answered_by,
                    answers,
                }
            })
            .collect();
        let tally = if staff_view {
            Some(tally(tx, post_id, &questions, yes_no_labels).await?)
        } else {
            None
        };
        Ok(Some(Self {
            questions,
            per_child,
            answers_until,
            open,
            sections,
            tally,
        }))
    }
}

async fn tally(
    tx: &mut TenantTx,
    post_id: i64,
    questions: &[Question],
    [yes_label, no_label]: [String; 2],
) -> Result<Tally, AppError> {
    let rows = questionnaires::tally_rows(tx, post_id).await?;
    let questions = questions
        .iter()
        .map(|q| {
            let labels: Vec<String> = match QuestionKind::parse(&q.kind) {
                Some(QuestionKind::YesNo) => vec![yes_label.clone(), no_label.clone()],
                _ => q.options.clone(),
            };
            let mut options: Vec<OptionTally> = labels
                .into_iter()
                .map(|label| OptionTally {
                    label,
                    count: 0,
                    names: Vec::new(),
                })
                .collect();
            let mut texts = Vec::new();
            for row in rows.iter().filter(|r| r.question_id == q.id) {
                let mut picked: Vec<usize> = Vec::new();
                if let Some(yes) = row.yes {
                    picked.push(if yes { 0 } else { 1 });
                }
                picked.extend(row.choices.iter().flatten().map(|&c| c as usize));
                for index in picked {
                    if let Some(option) = options.get_mut(index) {
                        option.count += 1;
                        option.names.push(row.who.clone());
                    }
                }
                if let Some(text) = &row.text {
                    texts.push((row.who.clone(), text.clone()));
                }
            }
            QuestionTally {
                prompt: q.prompt.clone(),
                kind: q.kind.clone(),
                options,
                texts,
            }
        })
        .collect();
    let (addressed, answered, not_answered) = questionnaires::answered_count(tx, post_id).await?;
    Ok(Tally {
        questions,
        answered: answered as usize,
        addressed: addressed as usize,
        not_answered,
    })
}

/// One section's answers as sent, checked against the questions.
#[derive(Debug)]
pub struct SectionAnswers {
    pub pupil_id: Option<i64>,
    pub answers: Vec<(i64, GivenAnswer)>,
}

/// Fields `a_<child id or 0>_<question id>`: `yes`/`no`, an option's position (several
/// times for several choices), or text.
pub fn parse_section(
    form: &[(String, String)],
    key: i64,
    questions: &[Question],
) -> Result<SectionAnswers, AppError> {
    let mut answers = Vec::new();
    for question in questions {
        let field = format!("a_{key}_{}", question.id);
        let values: Vec<&str> = form
            .iter()
            .filter(|(k, _)| *k == field)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        let bad = |reason: &'static str| AppError::bad_request(field.clone(), reason);
        let option = |value: &str| -> Result<i16, AppError> {
            value
                .parse::<i16>()
                .ok()
                .filter(|&i| i >= 0 && (i as usize) < question.options.len())
                .ok_or_else(|| bad("portal.questionnaires.bad_option"))
        };
        let answer = match QuestionKind::parse(&question.kind) {
            Some(QuestionKind::YesNo) => match values.as_slice() {
                ["yes"] => GivenAnswer {
                    yes: Some(true),
                    ..GivenAnswer::default()
                },
                ["no"] => GivenAnswer {
                    yes: Some(false),
                    ..GivenAnswer::default()
                },
                [] => return Err(bad("portal.questionnaires.answer_required")),
                _ => return Err(bad("portal.questionnaires.bad_option")),
            },
            Some(QuestionKind::OneChoice) => match values.as_slice() {
                [value] => GivenAnswer {
                    choices: vec![option(value)?],
                    ..GivenAnswer::default()
                },
                [] => return Err(bad("portal.questionnaires.answer_required")),
                _ => return Err(bad("portal.questionnaires.one_only")),
            },
            Some(QuestionKind::ManyChoices) => {
                let mut choices = values
                    .iter()
                    .map(|v| option(v))
                    .collect::<Result<Vec<_>, _>>()?;
                choices.sort_unstable();
                choices.dedup();
                GivenAnswer {
                    choices,
                    ..GivenAnswer::default()
                }
            }
            Some(QuestionKind::ShortText) => match values.as_slice() {
                [] => continue,
                [value] => GivenAnswer {
                    text: optional_text(&field, value, 500, false)?,
                    ..GivenAnswer::default()
                },
                _ => return Err(bad("portal.questionnaires.one_only")),
            },
            None => {
                return Err(AppError::Internal(format!(
                    "question kind {}",
                    question.kind
                )));
            }
        };
        answers.push((question.id, answer));
    }
    Ok(SectionAnswers {
        pupil_id: (key != 0).then_some(key),
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> impl Fn(&str) -> String {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }
    }

    fn field_of(error: AppError) -> String {
        match error {
            AppError::BadRequest { field, .. } => field.to_string(),
            other => panic!("not a bad request: {other:?}"),
        }
    }

    #[test]
    fn questions_are_read_from_their_slots_and_empty_slots_skipped() {
        let draft = QuestionnaireDraft::parse(form(&[
            ("q1_kind", "yes_no"),
            ("q1_prompt", "Komt u?"),
            ("q3_kind", "many_choices"),
            ("q3_prompt", "Welke dagen?"),
            ("q3_options", "maandag\r\n\r\n dinsdag \nwoensdag"),
            ("per_child", "on"),
            ("answers_until", "2030-05-01T17:00"),
        ]))
        .unwrap();
        assert_eq!(draft.questions.len(), 2);
        assert_eq!(draft.questions[0].kind, QuestionKind::YesNo);
        assert!(draft.questions[0].options.is_empty());
        assert_eq!(
            draft.questions[1].options,
            ["maandag", "dinsdag", "woensdag"]
        );
        assert!(draft.per_child);
        assert!(draft.answers_until.is_some());
    }

    #[test]
    fn bad_questions_name_their_field() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("q1_kind", "essay")], "q1_kind"),
            (&[("q2_kind", "yes_no")], "q2_prompt"),
            (
                &[
                    ("q1_kind", "one_choice"),
                    ("q1_prompt", "?"),
                    ("q1_options", "ja"),
                ],
                "q1_options",
            ),
            (
                &[
                    ("q1_kind", "one_choice"),
                    ("q1_prompt", "?"),
                    ("q1_options", "ja\nja"),
                ],
                "q1_options",
            ),
            (
                &[
                    ("q1_kind", "yes_no"),
                    ("q1_prompt", "?"),
                    ("answers_until", "morgen"),
                ],
                "answers_until",
            ),
            (&[("per_child", "on")], "q1_kind"),
        ];
        for (fields, field) in cases {
            let error = QuestionnaireDraft::parse(form(fields)).unwrap_err();
            assert_eq!(field_of(error), *field, "{fields:?}");
        }
    }

    #[test]
    fn answers_are_checked_against_their_question() {
        let questions = vec![
            Question {
                id: 7,
                kind: "yes_no".into(),
                prompt: "Komt u?".into(),
                options: vec![],
            },
            Question {
                id: 8,
                kind: "one_choice".into(),
                prompt: "Welke dag?".into(),
                options: vec!["ma".into(), "di".into()],
            },
            Question {
                id: 9,
                kind: "many_choices".into(),
                prompt: "Wat neemt u mee?".into(),
                options: vec!["taart".into(), "fruit".into(), "drinken".into()],
            },
            Question {
                id: 10,
                kind: "short_text".into(),
                prompt: "Opmerking".into(),
                options: vec![],
            },
        ];
        let pairs = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = parse_section(
            &pairs(&[
                ("a_5_7", "no"),
                ("a_5_8", "1"),
                ("a_5_9", "2"),
                ("a_5_9", "0"),
                ("a_5_9", "2"),
            ]),
            5,
            &questions,
        )
        .unwrap();
        assert_eq!(ok.pupil_id, Some(5));
        assert_eq!(ok.answers.len(), 3, "an empty short text is no answer");
        assert_eq!(ok.answers[0].1.yes, Some(false));
        assert_eq!(ok.answers[1].1.choices, [1]);
        assert_eq!(ok.answers[2].1.choices, [0, 2]);
        for (fields, field) in [
            (&[("a_0_8", "0")][..], "a_0_7"),
            (&[("a_0_7", "misschien"), ("a_0_8", "0")], "a_0_7"),
            (&[("a_0_7", "yes"), ("a_0_8", "2")], "a_0_8"),
            (&[("a_0_7", "yes"), ("a_0_8", "0"), ("a_0_8", "1")], "a_0_8"),
            (&[("a_0_7", "yes"), ("a_0_8", "-1")], "a_0_8"),
            (&[("a_0_7", "yes"), ("a_0_8", "0"), ("a_0_9", "x")], "a_0_9"),
        ] {
            let error = parse_section(&pairs(fields), 0, &questions).err().unwrap();
            assert_eq!(field_of(error), field, "{fields:?}");
        }
    }
}
