//! Creating, preparing and dropping the project database.
//!
//! Preparing means what `supabase start` does: the objects Supabase pre-creates
//! (`sql/bootstrap.sql`, `sql/realtime.sql`), then `migrations/` as the Supabase CLI applies them
//! ([`crate::migrations`]), then the demo seed (`sql/seed.sql`, also the CLI's seed).

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

const BOOTSTRAP_SQL: &str = include_str!("../sql/bootstrap.sql");
/// The database side of Realtime (`realtime.messages`, `send`, `broadcast_changes`, change capture).
const REALTIME_SQL: &str = include_str!("../sql/realtime.sql");
const SEED_SQL: &str = include_str!("../sql/seed.sql");

/// Serializes bootstraps across processes: roles are cluster-wide, and two databases
/// prepared at once would race on `create role`.
const BOOTSTRAP_LOCK: i64 = 0x6368_6174_0001;

/// Connection options for `url`.
pub fn options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).with_context(|| format!("invalid database URL {url}"))
}

/// The URL of the same server and database as `url`, logging in as `role` without a password
/// (the local server trusts loopback connections).
pub fn url_as(url: &str, role: &str) -> Result<String> {
    let opts = options(url)?;
    let database = opts.get_database().context("the database URL names no database")?;
    Ok(format!("postgres://{role}@{}:{}/{database}", opts.get_host(), opts.get_port()))
}

/// A small pool of superuser connections to the project database.
pub async fn connect(url: &str) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options(url)?)
        .await
        .with_context(|| format!("cannot connect to {url}: is PostgreSQL running?"))
}

/// Create the database `url` names, unless it exists.
pub async fn create(url: &str) -> Result<()> {
    let target = options(url)?;
    let name = target.get_database().context("the database URL names no database")?.to_string();
    let mut admin = PgConnection::connect_with(&target.clone().database("postgres")).await?;
    let exists: bool = sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        // The name is quoted as an identifier: safe to splice.
        admin.execute(AssertSqlSafe(format!("create database {}", quote_ident(&name)))).await?;
    }
    Ok(())
}

/// Drop the database `url` names, disconnecting its sessions first.
pub async fn drop(url: &str) -> Result<()> {
    let target = options(url)?;
    let name = target.get_database().context("the database URL names no database")?.to_string();
    let mut admin = PgConnection::connect_with(&target.clone().database("postgres")).await?;
    // The name is quoted as an identifier: safe to splice.
    admin.execute(AssertSqlSafe(format!("drop database if exists {} with (force)", quote_ident(&name)))).await?;
    Ok(())
}

/// Apply the bootstrap, every pending migration in `migrations_dir`, and optionally the demo seed.
pub async fn prepare(pool: &PgPool, migrations_dir: &Path, seed: bool) -> Result<crate::migrations::Applied> {
    let mut conn = pool.acquire().await?;
    sqlx::query("select pg_advisory_lock($1)").bind(BOOTSTRAP_LOCK).execute(&mut *conn).await?;
    let mut bootstrapped = conn.execute(BOOTSTRAP_SQL).await.map(|_| ()).context("bootstrap SQL failed");
    if bootstrapped.is_ok() {
        bootstrapped = conn.execute(REALTIME_SQL).await.map(|_| ()).context("realtime SQL failed");
    }
    sqlx::query("select pg_advisory_unlock($1)").bind(BOOTSTRAP_LOCK).execute(&mut *conn).await?;
    bootstrapped?;

    let migrated = crate::migrations::apply(&mut conn, migrations_dir).await?;

    if seed {
        conn.execute(SEED_SQL).await.context("seed SQL failed")?;
    }
    // Tell the REST API the schema may have changed.
    conn.execute("notify pgrst, 'reload schema'").await?;
    Ok(migrated)
}

/// `name` as a quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("chat_test"), "\"chat_test\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn url_as_switches_only_the_user() {
        let url = url_as("postgres://postgres@127.0.0.1:5433/chat_dev", "authenticator").unwrap();
        assert_eq!(url, "postgres://authenticator@127.0.0.1:5433/chat_dev");
    }
}
