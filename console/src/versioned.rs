//! Saving settings only over the version the form was filled from (optimistic concurrency on
//! `updated_at`, checked by `save_widget_settings`, `save_site` and `save_ai_settings`): a
//! second person's save never silently overwrites the first's.

use crate::app::Problem;
use crate::auth::Auth;
use crate::project::sentence;
use chat_client::call::CallError;
use chat_core::ErrorCode;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thaw::*;

/// What a form says when its fields have problems.
const FIX_FIRST: &str = "Fix the fields marked below first.";

/// How a save ended.
enum Saved<T> {
    /// Stored; the row as it is now.
    Stored(T),
    /// Someone saved in between (the sentence to show) and their row, when it could be read.
    Conflict(String, Option<T>),
}

/// Call the save function `function` with `args`; on a conflict, read the row now stored
/// from `table` where `key` equals `id` (`columns`).
async fn save<T: DeserializeOwned>(
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

/// A settings form's saving: whether a save runs, what the last one said, and the row
/// someone else saved meanwhile. Cheap to copy.
pub struct Saving<T: Send + Sync + 'static> {
    /// The last save's outcome in words: `Ok` stored, `Err` why not.
    pub said: RwSignal<Option<Result<String, String>>>,
    /// What another person saved while the form was open.
    pub theirs: RwSignal<Option<T>>,
    /// A save is running.
    pub pending: RwSignal<bool>,
}

impl<T: Send + Sync + 'static> Clone for Saving<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Saving<T> {}

impl<T: Send + Sync + 'static> Default for Saving<T> {
    fn default() -> Self {
        Self { said: RwSignal::new(None), theirs: RwSignal::new(None), pending: RwSignal::new(false) }
    }
}

impl<T: DeserializeOwned + Clone + Send + Sync + 'static> Saving<T> {
    /// The form has problems: say so instead of saving.
    pub fn refuse(self) {
        self.said.set(Some(Err(FIX_FIRST.into())));
    }

    /// "Fix the fields first" goes once `fixed`.
    pub fn forget_refusal(self, fixed: bool) {
        if fixed && self.said.with_untracked(|s| matches!(s, Some(Err(m)) if m == FIX_FIRST)) {
            self.said.set(None);
        }
    }

    /// Save with `function` (see [`save`]), then say `done` and hand the stored row to
    /// `stored`, or say why not.
    pub fn run(
        self,
        auth: Auth,
        function: &'static str,
        args: serde_json::Value,
        (table, key, id, columns): (&'static str, &'static str, String, &'static str),
        done: &'static str,
        stored: impl FnOnce(T) + 'static,
    ) {
        self.pending.set(true);
        spawn_local(async move {
            let outcome = save::<T>(auth, function, &args, (table, key, &id, columns)).await;
            self.said.set(Some(match outcome {
                Ok(Saved::Stored(row)) => {
                    self.theirs.set(None);
                    stored(row);
                    Ok(done.into())
                }
                Ok(Saved::Conflict(message, row)) => {
                    self.theirs.set(row);
                    Err(message)
                }
                Err(error) => Err(sentence(&error)),
            }));
            self.pending.set(false);
        });
    }
}

/// What the last save said (`{testid}-saved`, `{testid}-problem`), and after a conflict a
/// button that fills the form with the other person's version.
#[component]
pub fn SaveOutcome<T: Clone + Send + Sync + 'static>(
    saving: Saving<T>,
    fill: Callback<T>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        {move || saving.said.get().map(|outcome| match outcome {
            Ok(message) => view! { <p class="saved" role="status" data-testid=format!("{testid}-saved")>{message}</p> }.into_any(),
            Err(message) => view! { <div data-testid=format!("{testid}-problem")><Problem message /></div> }.into_any(),
        })}
        {move || saving.theirs.get().map(|row| view! {
            <Button on_click=move |_| {
                fill.run(row.clone());
                saving.theirs.set(None);
                saving.said.set(None);
            }>"Load their version"</Button>
        })}
    }
}
