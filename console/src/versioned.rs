//! Saving a row only while it is still the version the form was filled from (optimistic
//! concurrency on `updated_at`): a second person's save never silently overwrites the first's.

use crate::auth::Auth;
use chat_client::call::CallError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A row with a version (`updated_at`, which a trigger moves on every update).
pub trait Versioned {
    /// The version as read.
    fn version(&self) -> &str;
}

impl Versioned for chat_core::settings::SiteRow {
    fn version(&self) -> &str {
        &self.updated_at
    }
}

impl Versioned for chat_core::settings::WidgetSettings {
    fn version(&self) -> &str {
        &self.updated_at
    }
}

/// How a save ended.
pub enum Saved<T> {
    /// Stored; the row as it is now.
    Stored(T),
    /// Someone saved in between; their row.
    Conflict(T),
    /// The user may not change it (row-level security let nothing through).
    Refused,
}

/// Update the row of `table` whose `key` column equals `id` with `body`, if its version is
/// still `version`, reading `columns` back.
pub async fn save<T: DeserializeOwned + Versioned>(
    auth: Auth,
    table: &str,
    (key, id): (&str, &str),
    version: &str,
    columns: &str,
    body: &impl Serialize,
) -> Result<Saved<T>, CallError> {
    let project = auth.project();
    let token = auth.token().unwrap_or_default();
    let (key_filter, version_filter) = (format!("eq.{id}"), format!("eq.{version}"));
    let stored: Vec<T> = project
        .update(&token, table, &[(key, &key_filter), ("updated_at", &version_filter), ("select", columns)], body)
        .await?;
    if let Some(row) = stored.into_iter().next() {
        return Ok(Saved::Stored(row));
    }
    let now: Vec<T> = project.select(&token, table, &[(key, &key_filter), ("select", columns)]).await?;
    Ok(match now.into_iter().next() {
        Some(theirs) if theirs.version() != version => Saved::Conflict(theirs),
        _ => Saved::Refused,
    })
}
