//! A parent's own details — address, phones and "about me" — as the parent (or their partner
//! in joint use) sends them: the form, its checks, and storing them with word to the admins.

use schoolplein_kernel::forms::value;
use schoolplein_kernel::{AppError, AppState};
use tenant_router::{CurrentTenant, TenantTx};

use crate::db::people::{self, Details};
use crate::fields::{optional_phone as phone, optional_text as text};
use crate::notify::{self, Changed};

/// The details form as sent: `address`, `phone_mobile`, `phone_other`, `about` (a field
/// left out is empty).
#[derive(Debug)]
pub struct DetailsForm<'a> {
    address: &'a str,
    phone_mobile: &'a str,
    phone_other: &'a str,
    about: &'a str,
}

/// A parent's address, phones and "about me", checked.
#[derive(Debug)]
pub struct ValidDetails {
    address: Option<String>,
    phone_mobile: Option<String>,
    phone_other: Option<String>,
    about: Option<String>,
}

impl<'a> DetailsForm<'a> {
    pub fn of(fields: &'a [(String, String)]) -> Self {
        Self {
            address: value(fields, "address"),
            phone_mobile: value(fields, "phone_mobile"),
            phone_other: value(fields, "phone_other"),
            about: value(fields, "about"),
        }
    }

    /// Checks every field; the first bad one is named in the 400.
    pub fn validate(&self) -> Result<ValidDetails, AppError> {
        Ok(ValidDetails {
            address: text("address", self.address, 200, false)?,
            phone_mobile: phone("phone_mobile", self.phone_mobile)?,
            phone_other: phone("phone_other", self.phone_other)?,
            about: text("about", self.about, 1000, true)?,
        })
    }
}

impl ValidDetails {
    /// Writes the details of `person_id` and mails the school's admins about it, in `tx`.
    pub async fn store(
        &self,
        state: &AppState,
        tenant: &CurrentTenant,
        tx: &mut TenantTx,
        person_id: i64,
    ) -> Result<(), AppError> {
        people::save_details(
            tx,
            person_id,
            &Details {
                address: self.address.clone(),
                phone_mobile: self.phone_mobile.clone(),
                phone_other: self.phone_other.clone(),
                about: self.about.clone(),
            },
        )
        .await?;
        notify::admins_of_change(state, tenant, tx, person_id, Changed::Details).await?;
        Ok(())
    }
}
