//! Writing an imported roster: groups and pupils upserted by the administration's keys in a
//! few set-based statements, pupils no longer in the file marked as left, and the counts.

use serde::Serialize;
use tenant_router::TenantTx;

use crate::roster::{Format, RosterFile};

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub groups_added: i64,
    pub added: i64,
    pub changed: i64,
    pub unchanged: i64,
    /// Pupils no longer in the file, now marked as left.
    pub marked_left: i64,
}

/// Applies a checked file in the caller's transaction. Imports of one school wait for each
/// other (the table lock), so two at once cannot interleave.
pub async fn apply_import(
    tx: &mut TenantTx,
    file: &RosterFile,
    format: Format,
    imported_by: Option<i64>,
) -> Result<ImportReport, sqlx::Error> {
    sqlx::query("LOCK TABLE pupils, groups IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;

    let keys: Vec<&str> = file.groups.iter().map(|g| g.key.as_str()).collect();
    let names: Vec<&str> = file.groups.iter().map(|g| g.name.as_str()).collect();
    let years: Vec<Option<i16>> = file.groups.iter().map(|g| g.year).collect();
    // A group made by hand with the same name becomes the imported group.
    sqlx::query(
        "UPDATE groups g SET import_key = i.key
           FROM unnest($1::text[], $2::text[]) AS i(key, name)
          WHERE g.import_key IS NULL AND lower(g.name) = lower(i.name)
            AND NOT EXISTS (SELECT 1 FROM groups o WHERE o.import_key = i.key)",
    )
    .bind(&keys)
    .bind(&names)
    .execute(&mut **tx)
    .await?;
    let groups_added: i64 = sqlx::query_scalar(
        "WITH upserted AS (
             INSERT INTO groups AS g (import_key, name, year)
             SELECT * FROM unnest($1::text[], $2::text[], $3::int2[])
             ON CONFLICT (import_key) DO UPDATE SET name = EXCLUDED.name, year = EXCLUDED.year
              WHERE (g.name, g.year) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.year)
             RETURNING (xmax = 0) AS inserted)
         SELECT count(*) FILTER (WHERE inserted) FROM upserted",
    )
    .bind(&keys)
    .bind(&names)
    .bind(&years)
    .fetch_one(&mut **tx)
    .await?;

    let pupils = &file.pupils;
    let contacts = pupils
        .iter()
        .map(|p| serde_json::to_string(&p.contacts))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let (added, changed): (i64, i64) = sqlx::query_as(
        "WITH input AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[],
                                  $6::text[], $7::text[])
                 AS t(import_key, first_name, name_prefix, last_name, date_of_birth, group_key,
                      contacts)),
         upserted AS (
             INSERT INTO pupils AS p (import_key, first_name, name_prefix, last_name,
                                      date_of_birth, group_id, contacts)
             SELECT i.import_key, i.first_name, i.name_prefix, i.last_name, i.date_of_birth,
                    g.id, i.contacts::jsonb
               FROM input i LEFT JOIN groups g ON g.import_key = i.group_key
             ON CONFLICT (import_key) DO UPDATE
                SET first_name = EXCLUDED.first_name, name_prefix = EXCLUDED.name_prefix,
                    last_name = EXCLUDED.last_name, date_of_birth = EXCLUDED.date_of_birth,
                    group_id = EXCLUDED.group_id, contacts = EXCLUDED.contacts,
                    left_at = NULL, updated_at = now()
              WHERE (p.first_name, p.name_prefix, p.last_name, p.date_of_birth, p.group_id,
                     p.contacts, p.left_at IS NULL)
                    IS DISTINCT FROM
                    (EXCLUDED.first_name, EXCLUDED.name_prefix, EXCLUDED.last_name,
                     EXCLUDED.date_of_birth, EXCLUDED.group_id, EXCLUDED.contacts, true)
             RETURNING (xmax = 0) AS inserted)
         SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
           FROM upserted",
    )
    .bind(pupils.iter().map(|p| p.key.as_str()).collect::<Vec<_>>())
    .bind(
        pupils
            .iter()
            .map(|p| p.first_name.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        pupils
            .iter()
            .map(|p| p.name_prefix.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        pupils
            .iter()
            .map(|p| p.last_name.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(pupils.iter().map(|p| p.date_of_birth).collect::<Vec<_>>())
    .bind(
        pupils
            .iter()
            .map(|p| p.group_key.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(&contacts)
    .fetch_one(&mut **tx)
    .await?;
    let marked_left: i64 = sqlx::query_scalar(
        "WITH gone AS (
             UPDATE pupils SET left_at = now(), updated_at = now()
              WHERE left_at IS NULL AND NOT (import_key = ANY($1))
             RETURNING 1)
         SELECT count(*) FROM gone",
    )
    .bind(pupils.iter().map(|p| p.key.as_str()).collect::<Vec<_>>())
    .fetch_one(&mut **tx)
    .await?;
    // Every pupil at school has an activation code for the parents' letter.
    schoolplein_registration::db::codes::ensure_codes(tx).await?;
    let report = ImportReport {
        groups_added,
        added,
        changed,
        unchanged: pupils.len() as i64 - added - changed,
        marked_left,
    };
    sqlx::query(
        "INSERT INTO roster_imports (imported_by, format, added, changed, unchanged, marked_left)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(imported_by)
    .bind(format.as_str())
    .bind(report.added as i32)
    .bind(report.changed as i32)
    .bind(report.unchanged as i32)
    .bind(report.marked_left as i32)
    .execute(&mut **tx)
    .await?;
    Ok(report)
}
