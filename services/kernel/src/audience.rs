//! Who a school's posts reach: one rule for the timeline, a single post and the unread
//! counts of the school switcher.

use std::collections::BTreeSet;

use serde::Serialize;
use tenant_router::TenantTx;

use crate::settings::{Module, SchoolSettings};

/// A kind of post, and the school module it belongs to (its on/off and its menu name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    News,
    Agenda,
    /// A bulletin-board item parents answer.
    Board,
}

impl PostKind {
    pub const ALL: [PostKind; 3] = [PostKind::News, PostKind::Agenda, PostKind::Board];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::News => "news",
            Self::Agenda => "agenda",
            Self::Board => "board",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn module(self) -> Module {
        match self {
            Self::News | Self::Board => Module::News,
            Self::Agenda => Module::Calendar,
        }
    }

    /// The kinds whose module the school has on.
    pub fn shown_by(settings: &SchoolSettings) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|k| settings.is_on(k.module()))
            .map(Self::as_str)
            .collect()
    }
}

/// The condition on `po` (a post) for the reader in `$1` (person), `$2` (admin), `$3`
/// (groups): the whole school, its author, admins, the reader's groups, and the special
/// groups the reader joined; a post sent to a recipient list, the people on it when it was sent.
pub const SEES_POST: &str = "($2 OR po.whole_school OR po.author_id = $1
      OR EXISTS (SELECT 1 FROM post_groups pg WHERE pg.post_id = po.id AND pg.group_id = ANY($3))
      OR EXISTS (SELECT 1 FROM post_special_groups ps
                   JOIN special_group_members m ON m.special_group_id = ps.special_group_id
                  WHERE ps.post_id = po.id AND m.person_id = $1)
      OR (po.by_list AND EXISTS (SELECT 1 FROM post_recipients r
                                  WHERE r.post_id = po.id AND r.person_id = $1)))";

/// A person as a reader (and writer) of a school's posts.
#[derive(Debug)]
pub struct PostReader {
    pub person_id: i64,
    /// School admins see and post everything.
    pub admin: bool,
    /// Groups whose posts reach the person: their children's (still at school) and the
    /// groups they teach.
    pub groups: Vec<i64>,
    /// Groups a teacher may post to: the groups they teach.
    pub taught: BTreeSet<i64>,
}

impl PostReader {
    pub async fn load(
        tx: &mut TenantTx,
        person_id: i64,
        admin: bool,
        teacher: bool,
    ) -> Result<Self, sqlx::Error> {
        let (groups, taught): (Vec<i64>, Vec<i64>) = sqlx::query_as(
            "SELECT ARRAY(SELECT DISTINCT p.group_id FROM guardians g
                            JOIN pupils p ON p.id = g.pupil_id
                           WHERE g.person_id = $1 AND g.status = 'active' AND p.left_at IS NULL
                             AND p.group_id IS NOT NULL
                          UNION
                          SELECT group_id FROM group_teachers WHERE person_id = $1),
                    ARRAY(SELECT group_id FROM group_teachers WHERE person_id = $1)",
        )
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(Self {
            person_id,
            admin,
            groups,
            taught: if teacher {
                taught.into_iter().collect()
            } else {
                BTreeSet::new()
            },
        })
    }

    pub fn may_post(&self) -> bool {
        self.admin || !self.taught.is_empty()
    }

    /// How many posts of these kinds reach the person and are not opened yet.
    pub async fn unread(&self, tx: &mut TenantTx, kinds: &[&str]) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(UNREAD_SQL.as_str()))
            .bind(self.person_id)
            .bind(self.admin)
            .bind(&self.groups)
            .bind(kinds)
            .fetch_one(&mut **tx)
            .await
    }
}

static UNREAD_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT count(*) FROM posts po
          WHERE {SEES_POST} AND po.kind = ANY($4)
            AND NOT EXISTS (SELECT 1 FROM post_reads r
                             WHERE r.post_id = po.id AND r.person_id = $1)"
    )
});
