//! The school's settings as its admins change them on the settings page, and the row's
//! shared lock a new post takes against a digest run.

use chrono::NaiveTime;
use tenant_router::TenantTx;

/// Everything the settings form sets at once.
#[derive(Debug)]
pub struct SettingsChange<'a> {
    pub teachers_manage_parents: bool,
    pub teachers_see_all_groups: bool,
    pub activate_parents_at_once: bool,
    pub parents_download_address_list: bool,
    pub pdf_header: &'a str,
    pub extra_fields: &'a [String],
    pub intranet_url: Option<&'a str>,
    pub photo_upload_tile: bool,
    pub portal_open: bool,
    pub parents_write_parents: bool,
    pub group_mail_primary_only: bool,
    /// The modules, as JSON.
    pub modules: &'a str,
}

pub async fn save(tx: &mut TenantTx, change: &SettingsChange<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE school_settings SET
             teachers_manage_parents = $1, teachers_see_all_groups = $2,
             activate_parents_at_once = $3, parents_download_address_list = $4,
             pdf_header = $5, extra_fields = $6, intranet_url = $7, photo_upload_tile = $8,
             portal_open = $9, modules = $10::jsonb, parents_write_parents = $11,
             group_mail_primary_only = $12, updated_at = now()",
    )
    .bind(change.teachers_manage_parents)
    .bind(change.teachers_see_all_groups)
    .bind(change.activate_parents_at_once)
    .bind(change.parents_download_address_list)
    .bind(change.pdf_header)
    .bind(change.extra_fields)
    .bind(change.intranet_url)
    .bind(change.photo_upload_tile)
    .bind(change.portal_open)
    .bind(change.modules)
    .bind(change.parents_write_parents)
    .bind(change.group_mail_primary_only)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// When the digest goes out: its local time and weekdays (1 = Monday).
pub async fn save_digest(
    tx: &mut TenantTx,
    time: NaiveTime,
    days: &[i16],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE school_settings SET digest_time = $1, digest_days = $2, updated_at = now()",
    )
    .bind(time)
    .bind(days)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Holds the settings' row shared until the transaction ends: a digest run holds it while it
/// reads what is new, so a post written meanwhile waits for it.
pub async fn hold_shared(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM school_settings FOR SHARE")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
