//! Inviting staff (A3): a person in the school, a single-use link that lasts
//! `accounts.invitation_days`, and the mail that carries it — written in one transaction.

use chrono::Utc;
use schoolplein_kernel::tokens::SecretToken;
use schoolplein_kernel::{AppError, Config, Language, Role};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::Serialize;
use tenant_router::{SchoolPool, TenantEntry, TenantTx};

use crate::db::{accounts, invitations, people};
use crate::domain::{EmailAddress, PersonName};

/// The roles an invitation can give: staff. Parents join with an activation code.
pub const INVITABLE_ROLES: [Role; 2] = [Role::Teacher, Role::SchoolAdmin];

/// Who is invited.
#[derive(Debug)]
pub struct Invitee<'a> {
    /// `None`: the person chooses their name when accepting (the address's local part until then).
    pub name: Option<&'a PersonName>,
    pub email: &'a EmailAddress,
    pub role: Role,
}

/// What `invite` did.
#[derive(Debug, Clone, Copy)]
pub struct Invited {
    pub person_id: i64,
    pub invitation_id: i64,
}

#[derive(Debug, Serialize)]
struct InvitationMail<'a> {
    name: &'a str,
    inviter: Option<&'a str>,
    role: &'a str,
    link: &'a str,
    days: u64,
}

/// Adds the person to the school (or finds them), gives them the role, and queues the mail
/// with a fresh link; earlier links for the person stop working. `invited_by` is the
/// inviting staff member (`None` from the command line).
pub async fn invite(
    pool: &impl SchoolPool,
    outbox: &Outbox,
    config: &Config,
    school: &TenantEntry,
    invitee: &Invitee<'_>,
    invited_by: Option<i64>,
) -> Result<Invited, AppError> {
    if !INVITABLE_ROLES.contains(&invitee.role) {
        return Err(AppError::bad_request(
            "role",
            "registration.role_not_invitable",
        ));
    }
    let fallback_name = PersonName::from_email(invitee.email);
    let name = invitee.name.unwrap_or(&fallback_name);
    let mut tx = TenantTx::begin(pool, school.id).await?;
    let person_id = match people::find_by_email(&mut tx, invitee.email).await? {
        Some(person) => person.id,
        None => {
            people::find_or_add(
                &mut tx,
                &people::NewPerson {
                    name: name.as_str(),
                    email: invitee.email,
                    roles: &[],
                },
            )
            .await?
        }
    };
    people::add_roles(&mut tx, person_id, &[invitee.role]).await?;
    let token = SecretToken::generate();
    let lifetime = chrono::Duration::from_std(config.accounts.invitation_lifetime())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let invitation_id = invitations::create(
        &mut tx,
        person_id,
        invited_by,
        &token.hash(),
        Utc::now() + lifetime,
    )
    .await?;
    let inviter = match invited_by {
        Some(id) => people::name_of(&mut tx, id).await?,
        None => None,
    };
    let person_name = people::name_of(&mut tx, person_id)
        .await?
        .unwrap_or_else(|| name.as_str().to_owned());
    // The mail speaks the language the person chose, if they already have an account.
    let language = accounts::find_by_email(&mut tx, invitee.email.as_str())
        .await?
        .map(|a| a.language);
    let language = Language::of_account(language.as_deref());
    let letterhead = Letterhead::load(&mut tx).await?;
    let link = config.tenancy.school_url(
        school.slug.as_str(),
        &format!("/invitation/{}", token.expose()),
    );
    outbox
        .enqueue(
            &mut tx,
            MailRequest {
                to: invitee.email.as_str(),
                template: "registration/invitation",
                language,
                urgent: false,
                context: &InvitationMail {
                    name: &person_name,
                    inviter: inviter.as_deref(),
                    role: invitee.role.as_str(),
                    link: &link,
                    days: config.accounts.invitation_days,
                },
                letterhead: Some(&letterhead),
            },
        )
        .await?;
    tx.commit().await?;
    tracing::info!(tenant.id = %school.id, person.id = person_id, invitation.id = invitation_id, "invitation sent");
    Ok(Invited {
        person_id,
        invitation_id,
    })
}
