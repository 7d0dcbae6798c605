//! Telling the school's administration that a parent changed what the school keeps about
//! them (P8): a mail to every admin, written in the same transaction as the change.

use schoolplein_kernel::{AppError, AppState, Language};
use schoolplein_mailing::{Letterhead, MailRequest, Outbox};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantTx};

/// What changed.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Changed {
    Details,
    Contacts,
    Medical,
}

#[derive(Debug, Serialize)]
struct DetailsChangedMail<'a> {
    parent: &'a str,
    what: Changed,
    link: &'a str,
}

/// Queues the mail to every admin of the school who is not blocked, in `tx`.
pub async fn admins_of_change(
    state: &AppState,
    tenant: &CurrentTenant,
    tx: &mut TenantTx,
    person_id: i64,
    what: Changed,
) -> Result<usize, AppError> {
    let parent: String = sqlx::query_scalar("SELECT name FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await?;
    let admins: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT pe.email, a.language FROM people pe
           LEFT JOIN platform.accounts a ON a.id = pe.account_id
          WHERE 'school_admin' = ANY(pe.roles) AND pe.blocked_at IS NULL AND pe.id <> $1",
    )
    .bind(person_id)
    .fetch_all(&mut **tx)
    .await?;
    if admins.is_empty() {
        return Ok(0);
    }
    let letterhead = Letterhead::load(tx).await?;
    let link = state.config.tenancy.school_url(
        tenant.entry().slug.as_str(),
        &format!("/admin/parents/{person_id}"),
    );
    let outbox = Outbox::new(state.templates.clone(), &state.config.mail);
    for (email, language) in &admins {
        outbox
            .enqueue(
                tx,
                MailRequest {
                    to: email,
                    template: "portal/details_changed",
                    language: Language::of_account(language.as_deref()),
                    urgent: false,
                    context: &DetailsChangedMail {
                        parent: &parent,
                        what,
                        link: &link,
                    },
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
    }
    Ok(admins.len())
}
