//! Who may see what of a person (P7): the one function every page and export asks. A parent
//! chooses, per child and per field, to show it to the child's group's parents or to all the
//! school's parents; what they did not choose, nobody sees. Staff see everything; a person
//! sees all of their own.

use std::collections::BTreeSet;

use serde::Serialize;

/// A field a person can show or keep to themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Address,
    PhoneMobile,
    PhoneOther,
    Email,
    Photo,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Name,
        Field::Address,
        Field::PhoneMobile,
        Field::PhoneOther,
        Field::Email,
        Field::Photo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Address => "address",
            Self::PhoneMobile => "phone_mobile",
            Self::PhoneOther => "phone_other",
            Self::Email => "email",
            Self::Photo => "photo",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// Who a choice shows a field to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every parent with a child at the school.
    School,
    /// The parents of children in the same group as this child.
    Group,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::School => "school",
            Self::Group => "group",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "school" => Some(Self::School),
            "group" => Some(Self::Group),
            _ => None,
        }
    }
}

/// One choice of the person being looked at: this field, for this child (in this group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub field: Field,
    pub audience: Audience,
    /// The group of the child the choice is for (`None`: the child is in no group now).
    pub child_group: Option<i64>,
}

/// Who is looking.
#[derive(Debug, Clone, Default)]
pub struct Looker {
    pub person_id: i64,
    pub is_staff: bool,
    /// The groups of the looker's children whose link is in effect. Empty: not a parent here.
    pub child_groups: BTreeSet<i64>,
    /// Whether the looker has a child at the school (in a group or not).
    pub has_child: bool,
}

/// The fields of person `subject` that `looker` may see, given the subject's choices.
pub fn visible_fields(looker: &Looker, subject: i64, choices: &[Choice]) -> BTreeSet<Field> {
    if looker.is_staff || looker.person_id == subject {
        return Field::ALL.into_iter().collect();
    }
    choices
        .iter()
        .filter(|choice| match choice.audience {
            Audience::School => looker.has_child,
            Audience::Group => choice
                .child_group
                .is_some_and(|group| looker.child_groups.contains(&group)),
        })
        .map(|choice| choice.field)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent_of(groups: &[i64]) -> Looker {
        Looker {
            person_id: 100,
            is_staff: false,
            child_groups: groups.iter().copied().collect(),
            has_child: !groups.is_empty(),
        }
    }

    fn choice(field: Field, audience: Audience, group: Option<i64>) -> Choice {
        Choice {
            field,
            audience,
            child_group: group,
        }
    }

    #[test]
    fn nothing_is_shown_unless_chosen_and_only_to_whom_it_was_chosen_for() {
        let subject = 7;
        let choices = [
            choice(Field::Name, Audience::School, Some(3)),
            choice(Field::PhoneMobile, Audience::Group, Some(3)),
            choice(Field::Email, Audience::Group, Some(5)),
            choice(Field::Address, Audience::Group, None),
        ];
        let table: [(&str, Looker, &[Field]); 6] = [
            (
                "staff see all",
                Looker {
                    person_id: 1,
                    is_staff: true,
                    ..Looker::default()
                },
                &Field::ALL,
            ),
            (
                "the person sees all",
                Looker {
                    person_id: subject,
                    ..Looker::default()
                },
                &Field::ALL,
            ),
            (
                "a parent in group 3",
                parent_of(&[3]),
                &[Field::Name, Field::PhoneMobile],
            ),
            (
                "a parent in group 5",
                parent_of(&[5]),
                &[Field::Name, Field::Email],
            ),
            ("a parent in group 4", parent_of(&[4]), &[Field::Name]),
            ("not a parent here", parent_of(&[]), &[]),
        ];
        for (case, looker, expected) in table {
            let seen: Vec<Field> = visible_fields(&looker, subject, &choices)
                .into_iter()
                .collect();
            assert_eq!(seen, expected, "{case}");
        }
        assert!(
            visible_fields(&parent_of(&[3]), subject, &[]).is_empty(),
            "nobody by default"
        );
    }

    #[test]
    fn names_round_trip() {
        for field in Field::ALL {
            assert_eq!(Field::parse(field.as_str()), Some(field));
        }
        assert_eq!(Field::parse("password"), None);
        assert_eq!(Audience::parse("group"), Some(Audience::Group));
        assert_eq!(Audience::parse("nobody"), None);
    }
}
