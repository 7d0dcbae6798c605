//! A person's notification preferences, and when the school's digest goes out.

use tenant_router::TenantTx;

/// The person's choices, `(kind, delivery)`; kinds not chosen are left out.
pub async fn of_person(
    tx: &mut TenantTx,
    person_id: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT kind, delivery FROM notification_preferences WHERE person_id = $1")
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await
}

/// The digest's time (`HH:MM`) and weekdays.
pub async fn digest_schedule(tx: &mut TenantTx) -> Result<(String, Vec<i16>), sqlx::Error> {
    sqlx::query_as("SELECT to_char(digest_time, 'HH24:MI'), digest_days FROM school_settings")
        .fetch_one(&mut **tx)
        .await
}

/// Stores the person's choices, `(kind, delivery)`, over the ones they had for those kinds.
pub async fn save(
    tx: &mut TenantTx,
    person_id: i64,
    choices: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_preferences (person_id, kind, delivery)
         SELECT $1, unnest($2::text[]), unnest($3::text[])
         ON CONFLICT (person_id, kind) DO UPDATE SET delivery = excluded.delivery",
    )
    .bind(person_id)
    .bind(choices.iter().map(|(k, _)| *k).collect::<Vec<_>>())
    .bind(choices.iter().map(|(_, d)| *d).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether the person gets notices of new messages (N3), and mailings (C5).
pub async fn switches(tx: &mut TenantTx, person_id: i64) -> Result<(bool, bool), sqlx::Error> {
    sqlx::query_as("SELECT message_notices, mailings FROM people WHERE id = $1")
        .bind(person_id)
        .fetch_one(&mut **tx)
        .await
}

/// Turns the person's mailings (C5) on or off.
pub async fn set_mailings(tx: &mut TenantTx, person_id: i64, on: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE people SET mailings = $2 WHERE id = $1")
        .bind(person_id)
        .bind(on)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Turns the person's notices of new messages on or off.
pub async fn set_message_notices(
    tx: &mut TenantTx,
    person_id: i64,
    on: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE people SET message_notices = $2 WHERE id = $1")
        .bind(person_id)
        .bind(on)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
