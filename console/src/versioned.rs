//! Saving settings only over the version the form was filled from (optimistic concurrency on
//! `updated_at`, checked by `save_widget_settings` and `save_site`): a second person's save
//! never silently overwrites the first's.

use crate::auth::Auth;
use chat_client::call::CallError;
use chat_core::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How a save ended.
pub enum Saved<T> {
    /// Stored; the row as it is now.
    Stored(T),
    /// Someone saved in between (the sentence to show) and their row, when it could be read.
    Conflict(String, Option<T>),
}

/// Call the save function `function` with `args`; on a conflict, read the row now stored
/// from `table` where `key` equals `id` (`columns`).
pub async fn save<T: DeserializeOwned>(
    auth: Auth,
    function: &str,
    args: &impl Serialize,
    (table, key, id, columns): (&str, &str, &str, &str),
) -> Result<Saved<T>, CallError> {
    let project = auth.project();
    let token = auth.token().unwrap_or_default();
    match project.rpc::<T>(&token, function, args).await {
        Ok(row) => Ok(Saved::Stored(row)),
        Err(CallError::Api(error)) if error.code == ErrorCode::VersionConflict => {
            let filter = format!("eq.{id}");
            let now: Vec<T> =
                project.select(&token, table, &[(key, &filter), ("select", columns)]).await.unwrap_or_default();
            Ok(Saved::Conflict(error.message, now.into_iter().next()))
        }
        Err(error) => Err(error),
    }
}
