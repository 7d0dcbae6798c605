//! Writing an imported roster: groups and pupils upserted by the administration's keys in a
//! few set-based statements, pupils no longer in the file marked as left, and the counts.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tenant_router::TenantTx;

use crate::roster::{Format, ImportedTeacher, RosterFile};

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
    sqlx::query("LOCK TABLE pupils, groups, group_keys IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    let groups_added = apply_groups(tx, file).await?;
    if !file.teachers.is_empty() {
        keep_teachers(tx, &file.teachers).await?;
    }

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
                                      date_of_birth, group_id, group_key, contacts)
             SELECT i.import_key, i.first_name, i.name_prefix, i.last_name, i.date_of_birth,
                    k.group_id, i.group_key, i.contacts::jsonb
               FROM input i LEFT JOIN group_keys k ON k.key = i.group_key
             ON CONFLICT (import_key) DO UPDATE
                SET first_name = EXCLUDED.first_name, name_prefix = EXCLUDED.name_prefix,
                    last_name = EXCLUDED.last_name, date_of_birth = EXCLUDED.date_of_birth,
                    group_id = EXCLUDED.group_id, group_key = EXCLUDED.group_key,
                    contacts = EXCLUDED.contacts, left_at = NULL, updated_at = now()
              WHERE (p.first_name, p.name_prefix, p.last_name, p.date_of_birth, p.group_id,
                     p.group_key, p.contacts, p.left_at IS NULL)
                    IS DISTINCT FROM
                    (EXCLUDED.first_name, EXCLUDED.name_prefix, EXCLUDED.last_name,
                     EXCLUDED.date_of_birth, EXCLUDED.group_id, EXCLUDED.group_key,
                     EXCLUDED.contacts, true)
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

/// What a group becomes after an import: its name (unless the school arranged it by hand, or
/// another group has the name) and its year groups.
#[derive(Debug, Default)]
struct GroupUpdate {
    first_key: String,
    name: Option<String>,
    classes: usize,
    years: Vec<i16>,
}

/// Places every class of the file. A class whose keys are known stays where the keys point —
/// also where the school split or merged groups by hand; its new keys join the group of its
/// first known key. A class with no known key becomes the group of its name, or a new group.
/// Returns how many groups were added.
async fn apply_groups(tx: &mut TenantTx, file: &RosterFile) -> Result<i64, sqlx::Error> {
    // Groups given a key some other way (a school made before group_keys) keep it.
    sqlx::query(
        "INSERT INTO group_keys (key, group_id, years)
         SELECT import_key, id, CASE WHEN year IS NULL THEN '{}' ELSE ARRAY[year] END
           FROM groups WHERE import_key IS NOT NULL
         ON CONFLICT (key) DO NOTHING",
    )
    .execute(&mut **tx)
    .await?;
    let owners: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT key, group_id FROM group_keys")
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
    let existing: Vec<(i64, String, bool)> =
        sqlx::query_as("SELECT id, lower(name), arranged_by_school FROM groups")
            .fetch_all(&mut **tx)
            .await?;
    let by_name: HashMap<&str, i64> = existing
        .iter()
        .map(|(id, name, _)| (name.as_str(), *id))
        .collect();

    // Where each class goes: an existing group, or a new one (by its first key).
    let classes = file.classes();
    let mut new_groups: Vec<(&str, &str, Vec<i16>)> = Vec::new();
    let mut placed: Vec<Option<i64>> = Vec::with_capacity(classes.len());
    for class in &classes {
        let known = class
            .entries
            .iter()
            .find_map(|entry| owners.get(&entry.key).copied());
        let target = known.or_else(|| by_name.get(class.name.to_lowercase().as_str()).copied());
        if target.is_none() {
            new_groups.push((class.entries[0].key.as_str(), class.name, class.years()));
        }
        placed.push(target);
    }
    let created: HashMap<String, i64> = if new_groups.is_empty() {
        HashMap::new()
    } else {
        let years_text: Vec<String> = new_groups.iter().map(|g| array_text(&g.2)).collect();
        sqlx::query_as::<_, (String, i64)>(
            "INSERT INTO groups (import_key, name, years, year)
             SELECT key, name, years::int2[], (years::int2[])[1]
               FROM unnest($1::text[], $2::text[], $3::text[]) AS n(key, name, years)
             RETURNING import_key, id",
        )
        .bind(new_groups.iter().map(|g| g.0).collect::<Vec<_>>())
        .bind(new_groups.iter().map(|g| g.1).collect::<Vec<_>>())
        .bind(&years_text)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect()
    };

    // Every key of the file, pointing at its group; known keys keep theirs.
    let mut keys: Vec<&str> = Vec::new();
    let mut key_groups: Vec<i64> = Vec::new();
    let mut key_years: Vec<String> = Vec::new();
    let mut updates: BTreeMap<i64, GroupUpdate> = BTreeMap::new();
    for (class, target) in classes.iter().zip(&placed) {
        let target = match target {
            Some(id) => *id,
            None => created[&class.entries[0].key],
        };
        let mut named = Vec::new();
        for entry in &class.entries {
            let group = owners.get(&entry.key).copied().unwrap_or(target);
            keys.push(&entry.key);
            key_groups.push(group);
            key_years.push(array_text(&entry.years));
            let update = updates.entry(group).or_insert_with(|| GroupUpdate {
                first_key: entry.key.clone(),
                ..GroupUpdate::default()
            });
            update.years.extend(&entry.years);
            if !named.contains(&group) {
                named.push(group);
                update.classes += 1;
                update.name = Some(class.name.to_owned());
            }
        }
    }
    sqlx::query(
        "INSERT INTO group_keys AS k (key, group_id, years)
         SELECT key, group_id, years::int2[]
           FROM unnest($1::text[], $2::int8[], $3::text[]) AS i(key, group_id, years)
         ON CONFLICT (key) DO UPDATE SET years = EXCLUDED.years
          WHERE k.years IS DISTINCT FROM EXCLUDED.years",
    )
    .bind(&keys)
    .bind(&key_groups)
    .bind(&key_years)
    .execute(&mut **tx)
    .await?;

    // Names and years: a group one class names takes its name, unless the school arranged
    // it by hand or another group already has that name.
    let arranged: HashMap<i64, bool> = existing.iter().map(|(id, _, a)| (*id, *a)).collect();
    let mut ids = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    let mut years = Vec::new();
    let mut first_keys = Vec::new();
    for (id, mut update) in updates {
        let rename = update.name.take().filter(|name| {
            update.classes == 1
                && !arranged.get(&id).copied().unwrap_or(false)
                && by_name
                    .get(name.to_lowercase().as_str())
                    .is_none_or(|owner| *owner == id)
        });
        update.years.sort_unstable();
        update.years.dedup();
        ids.push(id);
        names.push(rename);
        years.push(array_text(&update.years));
        first_keys.push(update.first_key);
    }
    // A group made by hand and matched by name is from now on known by its first key too.
    sqlx::query(
        "UPDATE groups g SET name = coalesce(u.name, g.name), years = u.years::int2[],
                year = (u.years::int2[])[1], import_key = coalesce(g.import_key, u.first_key)
           FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[])
                AS u(id, name, years, first_key)
          WHERE g.id = u.id
            AND (coalesce(u.name, g.name), u.years::int2[], coalesce(g.import_key, u.first_key))
                IS DISTINCT FROM (g.name, g.years, g.import_key)",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&years)
    .bind(&first_keys)
    .execute(&mut **tx)
    .await?;
    Ok(created.len() as i64)
}

/// PostgreSQL's text form of a one-dimensional array of small numbers: `{1,2}`.
fn array_text(values: &[i16]) -> String {
    let inner: Vec<String> = values.iter().map(i16::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// Keeps the file's teachers for the admin to invite, replacing those of the last file.
async fn keep_teachers(tx: &mut TenantTx, teachers: &[ImportedTeacher]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM imported_teachers")
        .execute(&mut **tx)
        .await?;
    let group_keys: Vec<String> = teachers
        .iter()
        .map(|t| serde_json::to_string(&t.group_keys).unwrap_or_else(|_| "[]".into()))
        .collect();
    sqlx::query(
        "INSERT INTO imported_teachers (key, name, email, group_keys)
         SELECT key, name, email,
                ARRAY(SELECT jsonb_array_elements_text(group_keys::jsonb))
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                AS t(key, name, email, group_keys)
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(teachers.iter().map(|t| t.key.as_str()).collect::<Vec<_>>())
    .bind(teachers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>())
    .bind(
        teachers
            .iter()
            .map(|t| t.email.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(&group_keys)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
