//! Partners and joint use: which parents may link, the requests between them, the link itself.

use serde::Serialize;
use tenant_router::TenantTx;

/// Another parent, as this page names them.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Parent {
    pub id: i64,
    pub name: String,
}

/// The person's partner, if linked, and their own choice for joint use.
pub async fn partner_and_joint_use(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<(Option<i64>, bool), sqlx::Error> {
    sqlx::query_as("SELECT partner_id, joint_use FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

pub async fn name_and_joint_use(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<(String, bool), sqlx::Error> {
    sqlx::query_as("SELECT name, joint_use FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

/// Parents of the person's children (links in effect) who could be asked: not blocked, no
/// partner of their own.
pub async fn candidates(tx: &mut TenantTx, person_id: i64) -> Result<Vec<Parent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT o.id, o.name
           FROM guardians mine
           JOIN pupils p ON p.id = mine.pupil_id AND p.left_at IS NULL
           JOIN guardians theirs ON theirs.pupil_id = mine.pupil_id
                                AND theirs.person_id <> mine.person_id
                                AND theirs.status = 'active'
           JOIN people o ON o.id = theirs.person_id
                        AND o.blocked_at IS NULL AND o.partner_id IS NULL
          WHERE mine.person_id = $1 AND mine.status = 'active'
          ORDER BY o.name, o.id",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whom the person asked and is waiting for.
pub async fn asked_by(tx: &mut TenantTx, person_id: i64) -> Result<Option<Parent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.name FROM partner_requests r JOIN people o ON o.id = r.to_person
          WHERE r.from_person = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Who asked the person, oldest request first.
pub async fn asking(tx: &mut TenantTx, person_id: i64) -> Result<Vec<Parent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.id, o.name FROM partner_requests r JOIN people o ON o.id = r.from_person
          WHERE r.to_person = $1 ORDER BY r.created_at",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether both are, in effect, parents of one child who is still at the school.
pub async fn share_a_child(tx: &mut TenantTx, a: i64, b: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (
           SELECT 1 FROM guardians x
             JOIN guardians y ON y.pupil_id = x.pupil_id
             JOIN pupils p ON p.id = x.pupil_id AND p.left_at IS NULL
            WHERE x.person_id = $1 AND y.person_id = $2
              AND x.status = 'active' AND y.status = 'active')",
    )
    .bind(a)
    .bind(b)
    .fetch_one(&mut **tx)
    .await
}

/// Both people's rows, locked in id order (two parents acting at once cannot deadlock):
/// `(partner_id, blocked)` for `a`, then for `b`. `None` when `b` is not in this school.
pub async fn lock_pair(
    tx: &mut TenantTx,
    a: i64,
    b: i64,
) -> Result<Option<((Option<i64>, bool), (Option<i64>, bool))>, sqlx::Error> {
    let rows: Vec<(i64, Option<i64>, bool)> = sqlx::query_as(
        "SELECT id, partner_id, blocked_at IS NOT NULL FROM people
          WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind([a, b])
    .fetch_all(&mut **tx)
    .await?;
    let find = |id: i64| {
        rows.iter()
            .find(|row| row.0 == id)
            .map(|row| (row.1, row.2))
    };
    Ok(find(a).zip(find(b)))
}

/// Whether `from` has an open request to `to`.
pub async fn asked(tx: &mut TenantTx, from: i64, to: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM partner_requests WHERE from_person = $1 AND to_person = $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut **tx)
    .await
}

/// Links `a` and `b` (both rows locked, neither linked) and drops every request to or from
/// either of them.
pub async fn link(tx: &mut TenantTx, a: i64, b: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE people SET partner_id = CASE id WHEN $1 THEN $2 ELSE $1 END
          WHERE id IN ($1, $2)",
    )
    .bind(a)
    .bind(b)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM partner_requests
          WHERE from_person IN ($1, $2) OR to_person IN ($1, $2)",
    )
    .bind(a)
    .bind(b)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `from` asks `to`, in place of whom they asked before: `to` when the request is new (or
/// to someone else than before), `None` when it was there already.
pub async fn ask(tx: &mut TenantTx, from: i64, to: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO partner_requests (from_person, to_person) VALUES ($1, $2)
         ON CONFLICT (from_person) DO UPDATE SET to_person = EXCLUDED.to_person, created_at = now()
          WHERE partner_requests.to_person <> EXCLUDED.to_person
         RETURNING to_person",
    )
    .bind(from)
    .bind(to)
    .fetch_optional(&mut **tx)
    .await
}

/// Withdraws the person's own open request.
pub async fn withdraw(tx: &mut TenantTx, from: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM partner_requests WHERE from_person = $1")
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Drops the request of `from` to `to`; `false` when there was none.
pub async fn decline(tx: &mut TenantTx, from: i64, to: i64) -> Result<bool, sqlx::Error> {
    let removed =
        sqlx::query("DELETE FROM partner_requests WHERE from_person = $1 AND to_person = $2")
            .bind(from)
            .bind(to)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(removed != 0)
}

pub async fn set_joint_use(tx: &mut TenantTx, person_id: i64, on: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE people SET joint_use = $2 WHERE id = $1")
        .bind(person_id)
        .bind(on)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn partner_of(tx: &mut TenantTx, person_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT partner_id FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

/// Ends the link between `a` and `b`.
pub async fn unlink(tx: &mut TenantTx, a: i64, b: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE people SET partner_id = NULL WHERE id IN ($1, $2)")
        .bind(a)
        .bind(b)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The person's partner, their row locked, while both keep joint use on and the partner may
/// change things (not read-only, not blocked).
pub async fn editable_partner(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT them.id FROM people me JOIN people them ON them.id = me.partner_id
          WHERE me.id = $1 AND me.joint_use AND them.joint_use
            AND them.read_only_at IS NULL AND them.blocked_at IS NULL
            FOR UPDATE OF them",
    )
    .bind(person_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Whether `me` and `partner` each chose to share their conversations about their children.
pub async fn share_choices(
    tx: &mut TenantTx,
    me: i64,
    partner: Option<i64>,
) -> Result<(bool, bool), sqlx::Error> {
    let rows: Vec<(i64, bool)> =
        sqlx::query_as("SELECT id, share_conversations FROM people WHERE id = $1 OR id = $2")
            .bind(me)
            .bind(partner)
            .fetch_all(&mut **tx)
            .await?;
    let shares = |id: Option<i64>| rows.iter().any(|(p, on)| Some(*p) == id && *on);
    Ok((shares(Some(me)), shares(partner)))
}
