//! Who may write to whom (C4, A9, P7): the people a writer may reach, as suggestions while
//! they type and as the check when they send; and the recipients a form's addresses come to.
//!
//! - Staff write to every member: parents, colleagues, the office; to the parents of the groups
//!   they may post to (admins: every group), to special groups and to their recipient lists.
//! - A parent writes to every staff member (the teachers of their children first) and the
//!   office; to other parents only where the school allows it, in a group they share, and
//!   when both let their name be seen for the child in it (P7).
//! - A class parent writes to the parents of their group (each by name where the name may be
//!   seen, and all of them at once).
//! - Nobody reaches a person who left the school (no account or role here any more), whom the
//!   school blocked, or who blocked the writer (staff cannot be blocked).
//! - Whoever received a message may answer its author and its other named recipients.

use std::collections::BTreeSet;

use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::{AppError, Role, Viewer};
use serde::Serialize;
use tenant_router::TenantTx;

use super::address::Address;
use crate::db::recipient_lists;

/// The writer as the rules see them.
#[derive(Debug, Clone)]
pub struct Writer {
    pub person_id: i64,
    pub staff: bool,
    pub admin: bool,
    /// The groups the writer teaches.
    pub taught: Vec<i64>,
    /// The groups whose class parent the writer is (A9).
    pub class_groups: Vec<i64>,
    /// The school lets parents write to the parents of their children's groups.
    pub parents_write_parents: bool,
}

impl Writer {
    pub async fn load(
        tx: &mut TenantTx,
        viewer: &Viewer,
        parents_write_parents: bool,
    ) -> Result<Self, sqlx::Error> {
        let (taught, class_groups): (Vec<i64>, Vec<i64>) = sqlx::query_as(
            "SELECT ARRAY(SELECT group_id FROM group_teachers WHERE person_id = $1 ORDER BY 1),
                    ARRAY(SELECT group_id FROM class_parents WHERE person_id = $1 ORDER BY 1)",
        )
        .bind(viewer.person_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(Self {
            person_id: viewer.person_id,
            staff: viewer.is_staff(),
            admin: viewer.has(Role::SchoolAdmin),
            taught,
            class_groups,
            parents_write_parents,
        })
    }

    /// The groups whose parents the writer may write to all at once.
    fn crowd_groups(&self) -> Option<&[i64]> {
        if self.admin {
            None
        } else if self.staff {
            Some(&self.taught)
        } else {
            Some(&self.class_groups)
        }
    }

    fn may_write_group(&self, group: i64) -> bool {
        self.crowd_groups()
            .is_none_or(|groups| groups.contains(&group))
            || self.class_groups.contains(&group)
    }
}

/// A person the writer may reach, as a suggestion shows them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Reachable {
    pub id: i64,
    pub name: String,
    pub staff: bool,
    /// A teacher of one of the writer's children.
    pub teaches_mine: bool,
    /// The groups a staff member teaches, or a parent's children's groups the writer shares.
    pub groups: Vec<String>,
}

/// Who may be reached, by the rules in the module's header. `$1` the writer, `$2` whether the
/// writer is staff, `$3` the class parent's groups, `$4` whether parents may write to parents.
const REACHABLE: &str = "
    pe.id <> $1 AND pe.account_id IS NOT NULL AND pe.blocked_at IS NULL
    AND ($2 OR NOT EXISTS (SELECT 1 FROM blocked_senders b
                            WHERE b.person_id = pe.id AND b.sender_id = $1))
    AND (pe.roles && ARRAY['school_admin', 'teacher']
         OR ('parent' = ANY (pe.roles) AND EXISTS (
               SELECT 1 FROM guardians g JOIN pupils p ON p.id = g.pupil_id
                WHERE g.person_id = pe.id AND g.status = 'active' AND p.left_at IS NULL
                  AND ($2 OR (p.group_id IS NOT NULL
                              AND EXISTS (SELECT 1 FROM privacy_choices pc
                                           WHERE pc.person_id = pe.id AND pc.pupil_id = p.id
                                             AND pc.field = 'name')
                              AND (p.group_id = ANY ($3)
                                   OR ($4 AND EXISTS (
                                         SELECT 1 FROM mine
                                          WHERE mine.group_id = p.group_id
                                            AND EXISTS (SELECT 1 FROM privacy_choices pc
                                                         WHERE pc.person_id = $1
                                                           AND pc.pupil_id = mine.pupil_id
                                                           AND pc.field = 'name')))))))))";

/// The writer's children at school, with their groups (`mine`), for [`REACHABLE`].
const MINE: &str = "WITH mine AS (
    SELECT p.id AS pupil_id, p.group_id FROM guardians g JOIN pupils p ON p.id = g.pupil_id
     WHERE g.person_id = $1 AND g.status = 'active' AND p.left_at IS NULL
       AND p.group_id IS NOT NULL)";

/// What a suggestion or a check asks for.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    /// Names with a word that starts with these letters.
    Named(&'a str),
    /// These people.
    Ids(&'a [i64]),
}

/// The people `writer` may reach among those `wanted` names: the teachers of their children
/// first, then other staff, then parents, by name; at most `limit`.
pub async fn people(
    tx: &mut TenantTx,
    writer: &Writer,
    wanted: Wanted<'_>,
    limit: i64,
) -> Result<Vec<Reachable>, sqlx::Error> {
    let (pattern, ids) = match wanted {
        Wanted::Named(letters) => (Some(like_prefix(letters)), None),
        Wanted::Ids(ids) => (None, Some(ids.to_vec())),
    };
    let sql = format!(
        "{MINE}
         SELECT pe.id, pe.name,
                pe.roles && ARRAY['school_admin', 'teacher'] AS staff,
                EXISTS (SELECT 1 FROM group_teachers gt JOIN mine ON mine.group_id = gt.group_id
                         WHERE gt.person_id = pe.id) AS teaches_mine,
                CASE WHEN pe.roles && ARRAY['school_admin', 'teacher']
                     THEN ARRAY(SELECT gr.name FROM group_teachers gt
                                  JOIN groups gr ON gr.id = gt.group_id
                                 WHERE gt.person_id = pe.id ORDER BY gr.year, gr.name)
                     ELSE ARRAY(SELECT DISTINCT gr.name FROM guardians g
                                  JOIN pupils p ON p.id = g.pupil_id AND p.left_at IS NULL
                                  JOIN groups gr ON gr.id = p.group_id
                                 WHERE g.person_id = pe.id AND g.status = 'active'
                                   AND ($2 OR gr.id IN (SELECT group_id FROM mine)
                                        OR gr.id = ANY ($3)))
                END AS groups
           FROM people pe
          WHERE {REACHABLE}
            AND ($5::text IS NULL OR lower(pe.name) LIKE $5 OR lower(pe.name) LIKE '% ' || $5)
            AND ($6::bigint[] IS NULL OR pe.id = ANY ($6))
          ORDER BY teaches_mine DESC, staff DESC, lower(pe.name), pe.id
          LIMIT $7"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(writer.person_id)
        .bind(writer.staff)
        .bind(&writer.class_groups)
        .bind(writer.parents_write_parents)
        .bind(pattern)
        .bind(ids)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// `letters` lower-cased as a LIKE prefix (`%`, `_` and `\` taken literally).
fn like_prefix(letters: &str) -> String {
    let mut pattern = String::with_capacity(letters.len() + 1);
    for c in letters.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A crowd the writer may address, as a suggestion shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Crowd {
    pub address: String,
    pub kind: &'static str,
    pub name: String,
}

/// The groups, special groups and lists whose name has a word starting with `letters` that
/// the writer may address, at most `limit`.
pub async fn crowds(
    tx: &mut TenantTx,
    writer: &Writer,
    letters: &str,
    limit: i64,
) -> Result<Vec<Crowd>, sqlx::Error> {
    let pattern = like_prefix(letters);
    let groups: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, 'group' FROM groups
          WHERE ($1 OR id = ANY ($2) OR id = ANY ($3))
            AND (lower(name) LIKE $4 OR lower(name) LIKE '% ' || $4)
         UNION ALL
         SELECT id, name, 'special' FROM special_groups
          WHERE $5 AND (lower(name) LIKE $4 OR lower(name) LIKE '% ' || $4)
         UNION ALL
         SELECT id, name, 'list' FROM recipient_lists l
          WHERE $5 AND (lower(name) LIKE $4 OR lower(name) LIKE '% ' || $4)
            AND ($1 OR (l.rule = 'group' AND l.group_id = ANY ($2))
                 OR EXISTS (SELECT 1 FROM posts po
                             WHERE po.author_id = $6
                               AND po.id = coalesce(l.post_id,
                                                    (SELECT q.post_id FROM questions q
                                                      WHERE q.id = l.question_id))))
         ORDER BY 3, 2
         LIMIT $7",
    )
    .bind(writer.admin)
    .bind(if writer.staff {
        writer.taught.clone()
    } else {
        Vec::new()
    })
    .bind(&writer.class_groups)
    .bind(pattern)
    .bind(writer.staff)
    .bind(writer.person_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(groups
        .into_iter()
        .map(|(id, name, kind)| {
            let (kind, address) = match kind.as_str() {
                "group" => ("group", Address::Group(id)),
                "special" => ("special", Address::Special(id)),
                _ => ("list", Address::List(id)),
            };
            Crowd {
                address: address.to_string(),
                kind,
                name,
            }
        })
        .collect())
}

/// One recipient of a message as it is sent: a person or the office (`None`), in cc or not,
/// seen by the other recipients or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    pub person_id: Option<i64>,
    pub copy: bool,
    pub hidden: bool,
}

/// The addresses a reply may go to besides the writer's own reach: those of the message
/// answered (its author and its named recipients).
#[derive(Debug, Clone, Default)]
pub struct Answering {
    pub addresses: BTreeSet<Address>,
}

/// The recipients `to` and `cc` come to, each person once (named rather than hidden, to rather
/// than cc), without the writer. 400 at `to` or `cc` for an address the writer may not use or
/// a crowd with nobody in it, and at `to` when there is nobody at all.
pub async fn resolve(
    tx: &mut TenantTx,
    writer: &Writer,
    to: &[Address],
    cc: &[Address],
    answering: &Answering,
) -> Result<Vec<Recipient>, AppError> {
    let mut recipients: Vec<Recipient> = Vec::new();
    let mut add = |person_id: Option<i64>, copy: bool, hidden: bool| {
        if person_id == Some(writer.person_id) {
            return;
        }
        match recipients.iter_mut().find(|r| r.person_id == person_id) {
            Some(kept) => {
                kept.hidden &= hidden;
                kept.copy &= copy;
            }
            None => recipients.push(Recipient {
                person_id,
                copy,
                hidden,
            }),
        }
    };
    for (field, addresses, copy) in [("to", to, false), ("cc", cc, true)] {
        // The people named, checked together.
        let named: Vec<i64> = addresses
            .iter()
            .filter_map(|a| match a {
                Address::Person(id) => Some(*id),
                _ => None,
            })
            .collect();
        if !named.is_empty() {
            let reachable = people(tx, writer, Wanted::Ids(&named), named.len() as i64).await?;
            let answerable = members_answering(tx, writer, &named, answering).await?;
            for id in &named {
                if !reachable.iter().any(|r| r.id == *id) && !answerable.contains(id) {
                    return Err(AppError::bad_request(
                        field,
                        "portal.messages.not_reachable",
                    ));
                }
            }
        }
        for address in addresses {
            match *address {
                Address::Person(id) => add(Some(id), copy, false),
                Address::Office => add(None, copy, false),
                crowd => {
                    let members = crowd_members(tx, writer, crowd).await?.ok_or_else(|| {
                        AppError::bad_request(field, "portal.messages.not_reachable")
                    })?;
                    let members: Vec<i64> = members
                        .into_iter()
                        .filter(|id| *id != writer.person_id)
                        .collect();
                    if members.is_empty() {
                        return Err(AppError::bad_request(field, "portal.messages.crowd_empty"));
                    }
                    for id in members {
                        add(Some(id), copy, true);
                    }
                }
            }
        }
    }
    if recipients.is_empty() {
        return Err(AppError::bad_request("to", "portal.messages.to_required"));
    }
    Ok(recipients)
}

/// Of `ids`, the people a reply may reach because the message answered names them: still
/// members here, and not blocking the writer (unless the writer is staff).
async fn members_answering(
    tx: &mut TenantTx,
    writer: &Writer,
    ids: &[i64],
    answering: &Answering,
) -> Result<Vec<i64>, sqlx::Error> {
    let named: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| answering.addresses.contains(&Address::Person(*id)))
        .collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT pe.id FROM people pe
          WHERE pe.id = ANY ($1) AND pe.account_id IS NOT NULL AND pe.blocked_at IS NULL
            AND cardinality(pe.roles) > 0
            AND ($3 OR NOT EXISTS (SELECT 1 FROM blocked_senders b
                                    WHERE b.person_id = pe.id AND b.sender_id = $2))",
    )
    .bind(named)
    .bind(writer.person_id)
    .bind(writer.staff)
    .fetch_all(&mut **tx)
    .await
}

/// The people behind a group, special group or list (members with an account, not blocked by
/// the school), or `None` when the writer may not address it.
async fn crowd_members(
    tx: &mut TenantTx,
    writer: &Writer,
    crowd: Address,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let ids: Vec<i64> = match crowd {
        Address::Group(group) => {
            if !writer.may_write_group(group) {
                return Ok(None);
            }
            sqlx::query_scalar(
                "SELECT DISTINCT g.person_id
                   FROM guardians g
                   JOIN pupils p ON p.id = g.pupil_id AND p.left_at IS NULL
                   JOIN people pe ON pe.id = g.person_id
                  WHERE g.status = 'active' AND p.group_id = $1
                    AND pe.account_id IS NOT NULL AND pe.blocked_at IS NULL
                  ORDER BY 1",
            )
            .bind(group)
            .fetch_all(&mut **tx)
            .await?
        }
        Address::Special(special) => {
            if !writer.staff {
                return Ok(None);
            }
            sqlx::query_scalar(
                "SELECT m.person_id FROM special_group_members m
                   JOIN people pe ON pe.id = m.person_id
                  WHERE m.special_group_id = $1
                    AND pe.account_id IS NOT NULL AND pe.blocked_at IS NULL
                  ORDER BY 1",
            )
            .bind(special)
            .fetch_all(&mut **tx)
            .await?
        }
        Address::List(list) => {
            if !writer.staff {
                return Ok(None);
            }
            let reader = PostReader {
                person_id: writer.person_id,
                admin: writer.admin,
                groups: Vec::new(),
                taught: writer.taught.iter().copied().collect(),
            };
            let Some(rule) = recipient_lists::usable_rule(tx, &reader, list).await? else {
                return Ok(None);
            };
            let ids = recipient_lists::people_of(tx, &rule).await?;
            sqlx::query_scalar(
                "SELECT id FROM people
                  WHERE id = ANY ($1) AND account_id IS NOT NULL AND blocked_at IS NULL
                  ORDER BY 1",
            )
            .bind(ids)
            .fetch_all(&mut **tx)
            .await?
        }
        Address::Person(_) | Address::Office => return Ok(None),
    };
    Ok(Some(ids))
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn typed_letters_match_literally_and_from_a_word_s_start() {
        assert_eq!(like_prefix(" Ja "), "ja%");
        assert_eq!(like_prefix("50%_a\\"), "50\\%\\_a\\\\%");
    }
}
