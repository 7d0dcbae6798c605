//! The school's own profile: its name and welcome text on its home page, and how parents
//! reach it (its contact address, phone and postal address), shown under its mails and on
//! its letters.

use serde::Serialize;
use tenant_router::TenantTx;

/// How parents reach the school; empty fields were not given.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub contact_email: String,
    pub phone: String,
    pub address: String,
}

/// The school's name and welcome text, for its home page.
#[derive(Debug, sqlx::FromRow)]
pub struct Welcome {
    pub name: String,
    pub welcome_text: String,
}

/// The school's name and welcome text (`None` for a school without a profile row).
pub async fn welcome(tx: &mut TenantTx) -> Result<Option<Welcome>, sqlx::Error> {
    sqlx::query_as("SELECT name, welcome_text FROM school_profile")
        .fetch_optional(&mut **tx)
        .await
}

pub async fn contact(tx: &mut TenantTx) -> Result<Contact, sqlx::Error> {
    sqlx::query_as("SELECT contact_email, phone, address FROM school_profile")
        .fetch_one(&mut **tx)
        .await
}

pub async fn save_contact(tx: &mut TenantTx, contact: &Contact) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE school_profile SET contact_email = $1, phone = $2, address = $3,
                updated_at = now()",
    )
    .bind(&contact.contact_email)
    .bind(&contact.phone)
    .bind(&contact.address)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
