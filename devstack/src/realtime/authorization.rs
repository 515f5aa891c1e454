//! Private channels: RLS on `realtime.messages` decides who may read and write a topic.
//!
//! As Supabase does it: probe rows are inserted as the server, then read back as the user's
//! role and claims with `realtime.topic()` set; a visible row means "may read". Writing is
//! tried as the user. Everything happens inside a transaction that is rolled back, so probes
//! leave no row and announce nothing.

use super::token::Token;
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

/// What a channel may do on a private topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadAccess {
    /// May receive broadcasts.
    pub broadcast: bool,
    /// May receive presence.
    pub presence: bool,
}

/// The roles a token may switch to (anything else is refused before touching the database).
pub fn is_api_role(role: &str) -> bool {
    matches!(role, "anon" | "authenticated" | "service_role")
}

/// Switches the transaction to the token's role and claims, as PostgREST and Realtime do.
pub async fn act_as(tx: &mut Transaction<'_, Postgres>, token: &Token, topic: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), \
                set_config('request.jwt.claim.sub', coalesce($3, ''), true), \
                set_config('request.jwt.claim.role', $1, true), set_config('realtime.topic', coalesce($4, ''), true)",
    )
    .bind(&token.role)
    .bind(token.claims.to_string())
    .bind(token.claims.get("sub").and_then(Value::as_str))
    .bind(topic)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which extensions of `topic` (a sub-topic, without `realtime:`) the token may read.
pub async fn read_access(pool: &PgPool, token: &Token, topic: &str) -> sqlx::Result<ReadAccess> {
    if !is_api_role(&token.role) {
        return Ok(ReadAccess::default());
    }
    let mut tx = pool.begin().await?;
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "insert into realtime.messages (topic, extension, private) \
         values ($1, 'broadcast', true), ($1, 'presence', true) returning id",
    )
    .bind(topic)
    .fetch_all(&mut *tx)
    .await?;
    act_as(&mut tx, token, Some(topic)).await?;
    let visible: Result<Vec<String>, sqlx::Error> =
        sqlx::query_scalar("select extension from realtime.messages where id = any ($1) and topic = realtime.topic()")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await;
    tx.rollback().await?;
    // A policy that errors for this user (e.g. a bad cast) denies, as on Supabase.
    let visible = visible.unwrap_or_default();
    Ok(ReadAccess {
        broadcast: visible.iter().any(|e| e == "broadcast"),
        presence: visible.iter().any(|e| e == "presence"),
    })
}

/// May the token write `extension` (`broadcast` or `presence`) on `topic`?
pub async fn may_write(pool: &PgPool, token: &Token, topic: &str, extension: &str) -> sqlx::Result<bool> {
    if !is_api_role(&token.role) {
        return Ok(false);
    }
    let mut tx = pool.begin().await?;
    act_as(&mut tx, token, Some(topic)).await?;
    let inserted = sqlx::query("insert into realtime.messages (topic, extension, private) values ($1, $2, true)")
        .bind(topic)
        .bind(extension)
        .execute(&mut *tx)
        .await;
    tx.rollback().await?;
    Ok(inserted.is_ok())
}
