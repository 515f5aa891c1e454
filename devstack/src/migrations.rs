//! `migrations/`, applied and recorded as the Supabase CLI does it.
//!
//! The ledger is the CLI's own, `supabase_migrations.schema_migrations (version, statements,
//! name)`: `version` is the file name's 14-digit prefix, `name` the rest without `.sql`, and
//! `statements` the file split into statements as the CLI splits it (trimmed, without the
//! closing `;`). A database migrated here and one migrated by `supabase db push` therefore
//! agree on what has run, and neither applies the other's migrations again. The stored
//! statements also reveal a landed migration that was edited afterwards: that is refused.

use anyhow::{Context, Result, bail};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::path::Path;

/// One migration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The 14-digit timestamp the file name starts with.
    pub version: String,
    /// The file name after the version and `_`, without `.sql`.
    pub name: String,
    /// The file's statements.
    pub statements: Vec<String>,
}

/// The CLI's ledger, created as the CLI creates it (so either may come first).
const LEDGER_SQL: &str = "
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
";

/// Serializes migration runs on one database.
const MIGRATION_LOCK: i64 = 0x6368_6174_0002;

/// The migrations in `dir`, oldest first. A file whose name is not `<14 digits>_<name>.sql`
/// is refused (the CLI would skip it silently, and it would never run anywhere).
pub fn read_dir(dir: &Path) -> Result<Vec<Migration>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read migrations from {}", dir.display()))?;
    let mut migrations = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some((version, name)) = file.strip_suffix(".sql").and_then(|stem| stem.split_once('_')) else {
            bail!("{}: a migration is named <14-digit timestamp>_<name>.sql", path.display());
        };
        if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
            bail!("{}: a migration's name starts with a 14-digit timestamp (YYYYMMDDHHMMSS)", path.display());
        }
        let sql = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        migrations.push(Migration { version: version.into(), name: name.into(), statements: statements(&sql) });
    }
    migrations.sort_by(|a, b| a.version.cmp(&b.version));
    if let Some(pair) = migrations.windows(2).find(|pair| pair[0].version == pair[1].version) {
        bail!("two migrations share the version {}", pair[0].version);
    }
    Ok(migrations)
}

/// What [`apply`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Versions applied now.
    pub applied: Vec<String>,
    /// Versions the database had already.
    pub present: usize,
}

/// Apply every migration of `dir` the ledger lacks, each in its own transaction together
/// with its ledger row.
pub async fn apply(conn: &mut PgConnection, dir: &Path) -> Result<Applied> {
    let migrations = read_dir(dir)?;
    sqlx::query("select pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    let outcome = apply_locked(conn, &migrations).await;
    sqlx::query("select pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    outcome
}

async fn apply_locked(conn: &mut PgConnection, migrations: &[Migration]) -> Result<Applied> {
    conn.execute(LEDGER_SQL).await.context("cannot create the migration ledger")?;
    adopt_sqlx_ledger(conn, migrations).await?;
    let recorded: Vec<(String, Option<Vec<String>>)> =
        sqlx::query_as("select version, statements from supabase_migrations.schema_migrations order by version")
            .fetch_all(&mut *conn)
            .await?;
    let mut result = Applied::default();
    for (version, stored) in &recorded {
        let Some(migration) = migrations.iter().find(|m| &m.version == version) else {
            bail!(
                "the database has applied migration {version}, which migrations/ does not have\n\
                 fix: check out the branch that has it, or for a local database drop it \
                 (`cargo run -p devstack -- drop-database`) and start again"
            );
        };
        if stored.as_ref().is_some_and(|stored| *stored != migration.statements) {
            bail!(
                "migration {version}_{} was edited after this database applied it; landed migrations are \
                 never edited: put the change in a new migration\n\
                 fix: for a local database, drop it (`cargo run -p devstack -- drop-database`) and start again",
                migration.name
            );
        }
        result.present += 1;
    }
    for migration in migrations.iter().filter(|m| !recorded.iter().any(|(v, _)| *v == m.version)) {
        let mut tx = conn.begin().await?;
        for (index, statement) in migration.statements.iter().enumerate() {
            // Statements come from the repository's own migration files.
            tx.execute(AssertSqlSafe(statement.as_str())).await.with_context(|| {
                format!("migration {}_{} failed at statement {}", migration.version, migration.name, index + 1)
            })?;
        }
        record(&mut tx, migration).await?;
        tx.commit().await?;
        result.applied.push(migration.version.clone());
    }
    Ok(result)
}

async fn record(conn: &mut PgConnection, migration: &Migration) -> Result<()> {
    sqlx::query("insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)")
        .bind(&migration.version)
        .bind(&migration.name)
        .bind(&migration.statements)
        .execute(conn)
        .await?;
    Ok(())
}

/// Databases set up before the ledger was the CLI's recorded migrations in
/// `supabase_migrations.sqlx_migrations`: its versions move to the CLI's ledger, once.
async fn adopt_sqlx_ledger(conn: &mut PgConnection, migrations: &[Migration]) -> Result<()> {
    let old: Option<String> = sqlx::query_scalar("select to_regclass('supabase_migrations.sqlx_migrations')::text")
        .fetch_one(&mut *conn)
        .await?;
    if old.is_none() {
        return Ok(());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("select version from supabase_migrations.sqlx_migrations where success order by version")
            .fetch_all(&mut *conn)
            .await?;
    let mut tx = conn.begin().await?;
    for version in versions {
        let version = format!("{version:014}");
        let Some(migration) = migrations.iter().find(|m| m.version == version) else {
            bail!("the database has applied migration {version}, which migrations/ does not have");
        };
        record(&mut tx, migration).await?;
    }
    tx.execute("drop table supabase_migrations.sqlx_migrations").await?;
    tx.commit().await?;
    Ok(())
}

/// `sql` split into statements as the Supabase CLI splits a migration: at each `;` outside
/// quotes, quoted identifiers, dollar quotes and comments; each trimmed, without its `;`,
/// a comment kept with the statement it precedes; empty ones dropped.
pub fn statements(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' => {
                let escapes = i > 0 && bytes[i - 1].eq_ignore_ascii_case(&b'e') && !is_word(bytes, i - 1);
                skip_quoted(bytes, i, b'\'', escapes)
            }
            b'"' => skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            b'$' => dollar_tag(bytes, i).map_or(i + 1, |tag| skip_dollar_quoted(bytes, i, tag)),
            b';' => {
                push_statement(&mut out, &sql[start..i]);
                start = i + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    push_statement(&mut out, &sql[start..]);
    out
}

fn push_statement(out: &mut Vec<String>, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push(text.to_string());
    }
}

/// Whether the byte before `at` continues a word (so `at` is not the start of an `E'...'` prefix).
fn is_word(bytes: &[u8], at: usize) -> bool {
    at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_')
}

/// The index after the quoted text opening at `open` (a doubled quote stays inside).
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index after the (nestable) block comment opening at `open`.
fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    let (mut depth, mut i) = (0usize, open);
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => (depth, i) = (depth + 1, i + 2),
            (b'*', b'/') if depth == 1 => return i + 2,
            (b'*', b'/') => (depth, i) = (depth - 1, i + 2),
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The tag of a dollar quote opening at `open` (`$$` or `$name$`); `None` for `$1` and the like.
fn dollar_tag(bytes: &[u8], open: usize) -> Option<&[u8]> {
    if is_word(bytes, open) {
        return None;
    }
    let rest = &bytes[open + 1..];
    let end = rest.iter().position(|&b| b == b'$')?;
    let tag = &rest[..end];
    let valid = tag.first().is_none_or(|b| b.is_ascii_alphabetic() || *b == b'_')
        && tag.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    valid.then_some(&bytes[open..open + end + 2])
}

/// The index after the dollar-quoted text opening at `open` with `tag` (which includes both `$`).
fn skip_dollar_quoted(bytes: &[u8], open: usize, tag: &[u8]) -> usize {
    let body = open + tag.len();
    bytes[body..].windows(tag.len()).position(|w| w == tag).map_or(bytes.len(), |n| body + n + tag.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        let sql = "-- head\ncreate table t (a text default 'x;y');\n\n\
                   comment on table t is 'it''s; fine';\n\
                   select \"odd;name\" from t /* a; /* nested; */ b; */;\n\
                   create function f() returns int language sql as $$ select 1; $$;\n\
                   do $body$ begin perform $1; end $body$;\n\
                   select e'\\';' ;\n-- tail only\n";
        assert_eq!(
            statements(sql),
            [
                "-- head\ncreate table t (a text default 'x;y')",
                "comment on table t is 'it''s; fine'",
                "select \"odd;name\" from t /* a; /* nested; */ b; */",
                "create function f() returns int language sql as $$ select 1; $$",
                "do $body$ begin perform $1; end $body$",
                "select e'\\';'",
                "-- tail only",
            ]
        );
    }

    #[test]
    fn empty_statements_are_dropped() {
        assert_eq!(statements(" ;\n; select 1;;"), ["select 1"]);
        assert!(statements("").is_empty());
    }

    #[test]
    fn the_repository_migrations_are_named_as_the_cli_reads_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
        let migrations = read_dir(&dir).unwrap();
        assert!(migrations.len() > 20);
        assert!(migrations.iter().all(|m| !m.statements.is_empty()));
    }
}
