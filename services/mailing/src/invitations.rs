//! Parents invited by mail (A3): for every contact the administration's file gives an address,
//! one invitation per address naming their children, in the school's name; never a second one
//! while one is open or after the parent is linked; one reminder a week later.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use schoolplein_kernel::Language;
use schoolplein_kernel::tokens::SecretToken;
use serde::Serialize;
use tenant_router::TenantTx;

use crate::{Letterhead, MailError, MailRequest, Outbox};

/// How long before a reminder goes to those who did not react.
pub const REMIND_AFTER: Duration = Duration::days(7);

#[derive(Debug, Serialize)]
struct InvitedChild {
    name: String,
    group: Option<String>,
}

#[derive(Debug, Serialize)]
struct ParentInvitationMail<'a> {
    contact_name: &'a str,
    children: &'a [InvitedChild],
    link: &'a str,
    days: i64,
    reminder: bool,
    expires_on: String,
    /// The parent has no account, so no language chosen: the mail says it in both.
    other_language: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct Candidate {
    pupil_id: i64,
    email: String,
    contact_name: String,
    child: String,
    group_name: Option<String>,
    /// The language of the address's account, when it has one.
    language: Option<String>,
}

/// Invites every contact with an address of the pupils at school (of group `group`, or all)
/// who is neither linked to that child nor holds an open or accepted invitation for them.
/// One mail per address, naming all its children. Runs of one school wait for each other, so
/// two admins pressing at once send each mail once. Returns how many mails were queued.
pub async fn invite_parents(
    tx: &mut TenantTx,
    outbox: &Outbox,
    group: Option<i64>,
    invited_by: Option<i64>,
    lifetime: Duration,
    link_to: impl Fn(&SecretToken) -> String,
) -> Result<usize, MailError> {
    sqlx::query("LOCK TABLE parent_invitations IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    let candidates: Vec<Candidate> = sqlx::query_as(
        "SELECT p.id AS pupil_id, lower(c->>'email') AS email, c->>'name' AS contact_name,
                concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS child,
                g.name AS group_name,
                (SELECT a.language FROM platform.accounts a
                  WHERE lower(a.email) = lower(c->>'email')) AS language
           FROM pupils p
           LEFT JOIN groups g ON g.id = p.group_id
           CROSS JOIN LATERAL jsonb_array_elements(p.contacts) c
          WHERE p.left_at IS NULL
            AND coalesce(c->>'email', '') <> '' AND coalesce(c->>'name', '') <> ''
            AND ($1::bigint IS NULL OR p.group_id = $1)
            AND NOT EXISTS (
                SELECT 1 FROM guardians gu JOIN people pe ON pe.id = gu.person_id
                 WHERE gu.pupil_id = p.id AND lower(pe.email) = lower(c->>'email'))
            AND NOT EXISTS (
                SELECT 1 FROM parent_invitation_pupils ip
                  JOIN parent_invitations i ON i.id = ip.invitation_id
                 WHERE ip.pupil_id = p.id AND lower(i.email) = lower(c->>'email')
                   AND (i.accepted_at IS NOT NULL OR i.expires_at > now()))
          ORDER BY lower(c->>'email'), p.first_name, p.id",
    )
    .bind(group)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_address: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for candidate in candidates {
        let children = by_address.entry(candidate.email.clone()).or_default();
        // A contact listed twice for one child (both as mother and as guardian) is one.
        if !children.iter().any(|c| c.pupil_id == candidate.pupil_id) {
            children.push(candidate);
        }
    }
    if by_address.is_empty() {
        return Ok(0);
    }
    let letterhead = Letterhead::load(tx).await?;
    let expires_at = Utc::now() + lifetime;
    let mut sent = 0;
    for (email, children) in &by_address {
        let token = SecretToken::generate();
        let invitation_id: i64 = sqlx::query_scalar(
            "INSERT INTO parent_invitations (email, token_hash, invited_by, expires_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email)
        .bind(token.hash().as_bytes())
        .bind(invited_by)
        .bind(expires_at)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO parent_invitation_pupils (invitation_id, pupil_id, contact_name)
             SELECT $1, * FROM unnest($2::int8[], $3::text[])",
        )
        .bind(invitation_id)
        .bind(children.iter().map(|c| c.pupil_id).collect::<Vec<_>>())
        .bind(
            children
                .iter()
                .map(|c| c.contact_name.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await?;
        let mail_id = mail_invitation(
            tx,
            outbox,
            &letterhead,
            email,
            children,
            &link_to(&token),
            lifetime,
            expires_at,
            false,
        )
        .await?;
        sqlx::query("UPDATE parent_invitations SET mail_id = $2 WHERE id = $1")
            .bind(invitation_id)
            .bind(mail_id)
            .execute(&mut **tx)
            .await?;
        sent += 1;
    }
    Ok(sent)
}

#[allow(clippy::too_many_arguments)]
async fn mail_invitation(
    tx: &mut TenantTx,
    outbox: &Outbox,
    letterhead: &Letterhead,
    email: &str,
    children: &[Candidate],
    link: &str,
    lifetime: Duration,
    expires_at: DateTime<Utc>,
    reminder: bool,
) -> Result<i64, MailError> {
    let listed: Vec<InvitedChild> = children
        .iter()
        .map(|c| InvitedChild {
            name: c.child.clone(),
            group: c.group_name.clone(),
        })
        .collect();
    let expires_on = expires_at
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .format("%d-%m-%Y")
        .to_string();
    let id = outbox
        .enqueue(
            tx,
            MailRequest {
                to: email,
                template: "mailing/parent_invitation",
                // A parent with an account reads their language; one without reads Dutch,
                // the school's, with a line in English.
                language: Language::of_account(children[0].language.as_deref()),
                urgent: false,
                context: &ParentInvitationMail {
                    contact_name: &children[0].contact_name,
                    children: &listed,
                    link,
                    days: lifetime.num_days(),
                    reminder,
                    expires_on,
                    other_language: children[0].language.is_none(),
                },
                letterhead: Some(letterhead),
            },
        )
        .await?;
    Ok(id.get())
}

/// Reminds, once, everyone invited at least [`REMIND_AFTER`] before `now` who has not
/// accepted and whose invitation still runs: a fresh link (the first keeps working).
/// Returns how many reminders were queued.
pub async fn remind_invited(
    tx: &mut TenantTx,
    outbox: &Outbox,
    now: DateTime<Utc>,
    link_to: impl Fn(&SecretToken) -> String,
) -> Result<usize, MailError> {
    let due: Vec<(i64, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, email, created_at, expires_at FROM parent_invitations
          WHERE accepted_at IS NULL AND reminded_at IS NULL
            AND created_at <= $1 AND expires_at > $2
          ORDER BY id FOR UPDATE SKIP LOCKED",
    )
    .bind(now - REMIND_AFTER)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let letterhead = Letterhead::load(tx).await?;
    let mut reminded = 0;
    for (id, email, created_at, expires_at) in due {
        let children: Vec<Candidate> = sqlx::query_as(
            "SELECT p.id AS pupil_id, $2::text AS email, ip.contact_name,
                    concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS child,
                    g.name AS group_name,
                    (SELECT a.language FROM platform.accounts a
                      WHERE lower(a.email) = lower($2)) AS language
               FROM parent_invitation_pupils ip
               JOIN pupils p ON p.id = ip.pupil_id AND p.left_at IS NULL
               LEFT JOIN groups g ON g.id = p.group_id
              WHERE ip.invitation_id = $1
              ORDER BY p.first_name, p.id",
        )
        .bind(id)
        .bind(&email)
        .fetch_all(&mut **tx)
        .await?;
        let token = SecretToken::generate();
        let mail_id = if children.is_empty() {
            None
        } else {
            Some(
                mail_invitation(
                    tx,
                    outbox,
                    &letterhead,
                    &email,
                    &children,
                    &link_to(&token),
                    expires_at - created_at,
                    expires_at,
                    true,
                )
                .await?,
            )
        };
        sqlx::query(
            "UPDATE parent_invitations
                SET reminded_at = $2, reminder_token_hash = $3, reminder_mail_id = $4
              WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(token.hash().as_bytes())
        .bind(mail_id)
        .execute(&mut **tx)
        .await?;
        reminded += usize::from(mail_id.is_some());
    }
    Ok(reminded)
}
