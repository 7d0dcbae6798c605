//! One-click unsubscribe links (RFC 8058): finding a link, using it once, and turning off
//! the kind of mail it names for its person.

use schoolplein_kernel::tokens::SecretToken;
use tenant_router::TenantTx;

/// The link's kind and whether it was used, if it exists.
pub async fn find(
    tx: &mut TenantTx,
    token: &SecretToken,
) -> Result<Option<(String, bool)>, sqlx::Error> {
    sqlx::query_as("SELECT kind, used_at IS NOT NULL FROM unsubscribe_links WHERE token_hash = $1")
        .bind(token.hash().as_bytes().to_vec())
        .fetch_optional(&mut **tx)
        .await
}

/// Marks the link used, if it was not: its person and kind.
pub async fn use_link(
    tx: &mut TenantTx,
    token: &SecretToken,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE unsubscribe_links SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL
         RETURNING person_id, kind",
    )
    .bind(token.hash().as_bytes().to_vec())
    .fetch_optional(&mut **tx)
    .await
}

/// Turns off `kind` (`digest`, `each:<post kind>`, `message_notices`) for the person.
pub async fn turn_off(tx: &mut TenantTx, person_id: i64, kind: &str) -> Result<(), sqlx::Error> {
    match kind {
        // Every kind that came in the digest: those not mailed one by one (a missing choice
        // is the daily digest).
        "digest" => {
            sqlx::query(
                "INSERT INTO notification_preferences (person_id, kind, delivery)
                 SELECT $1, k, 'none' FROM unnest(ARRAY['news', 'agenda', 'board']) AS k
                  WHERE NOT EXISTS (SELECT 1 FROM notification_preferences p
                                     WHERE p.person_id = $1 AND p.kind = k
                                       AND p.delivery IN ('each', 'none'))
                 ON CONFLICT (person_id, kind) DO UPDATE SET delivery = 'none'",
            )
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
        }
        "mailings" => {
            sqlx::query("UPDATE people SET mailings = false WHERE id = $1")
                .bind(person_id)
                .execute(&mut **tx)
                .await?;
        }
        "message_notices" => {
            sqlx::query("UPDATE people SET message_notices = false WHERE id = $1")
                .bind(person_id)
                .execute(&mut **tx)
                .await?;
        }
        each => {
            let Some(post_kind) = each.strip_prefix("each:") else {
                return Ok(());
            };
            sqlx::query(
                "INSERT INTO notification_preferences (person_id, kind, delivery)
                 VALUES ($1, $2, 'none')
                 ON CONFLICT (person_id, kind) DO UPDATE SET delivery = 'none'",
            )
            .bind(person_id)
            .bind(post_kind)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
