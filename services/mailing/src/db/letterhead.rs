//! The school's letterhead, read from its `school_profile`.

use tenant_router::TenantTx;

use crate::domain::Letterhead;

impl Letterhead {
    /// Reads the school's name, mail header and footer and contact inside the caller's transaction.
    pub async fn load(tx: &mut TenantTx) -> Result<Letterhead, sqlx::Error> {
        let tenant = tx.tenant();
        let (school_name, header, footer, contact_email, phone, address): (
            String,
            String,
            String,
            String,
            String,
            String,
        ) = sqlx::query_as(
            "SELECT name, mail_header, mail_footer, contact_email, phone, address
               FROM school_profile",
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(Letterhead {
            tenant,
            school_name,
            header,
            footer,
            contact_email,
            phone,
            address,
        })
    }
}
