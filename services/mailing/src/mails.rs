//! The mailing service's own mails.

use chrono::Utc;
use schoolplein_kernel::Language;
use serde::Serialize;
use sqlx::PgPool;
use tenant_router::{TenantId, TenantTx};

use crate::domain::{Letterhead, MailId, MailRequest};
use crate::error::MailError;
use crate::outbox::Outbox;

/// "The school's mail settings work": sent by `schoolplein mail check <slug> <address>` to
/// prove the whole path, letterhead and all, from the outbox to an inbox.
#[derive(Debug, Serialize)]
pub struct DeliveryCheckMail {
    /// When the check was asked for (UTC), so the receiver can match it to the request.
    pub requested_at: String,
}

impl DeliveryCheckMail {
    pub const TEMPLATE: &'static str = "mailing/delivery_check";

    /// Queues the check in the school's name, as urgent mail, in one transaction.
    pub async fn enqueue(
        pool: &PgPool,
        outbox: &Outbox,
        tenant: TenantId,
        to: &str,
        language: Language,
    ) -> Result<MailId, MailError> {
        let mut tx = TenantTx::begin(pool, tenant).await?;
        let letterhead = Letterhead::load(&mut tx).await?;
        let mail = DeliveryCheckMail {
            requested_at: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        };
        let id = outbox
            .enqueue(
                &mut tx,
                MailRequest {
                    to,
                    template: Self::TEMPLATE,
                    language,
                    urgent: true,
                    context: &mail,
                    letterhead: Some(&letterhead),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(id)
    }
}
