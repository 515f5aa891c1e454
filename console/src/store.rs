//! What the console keeps in the browser's `localStorage`, as JSON: the Auth session, and per
//! conversation the draft and the messages not confirmed yet. Unreadable or missing entries
//! read as absent; a full or blocked storage only loses the copy, never the page's state.

use serde::Serialize;
use serde::de::DeserializeOwned;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The value saved under `key`.
pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = storage()?.get_item(key).ok()??;
    serde_json::from_str(&text).ok()
}

/// Saves `value` under `key`, or forgets the key with `None`.
pub fn save<T: Serialize>(key: &str, value: Option<&T>) {
    let Some(storage) = storage() else { return };
    let _ = match value.and_then(|v| serde_json::to_string(v).ok()) {
        Some(text) => storage.set_item(key, &text),
        None => storage.remove_item(key),
    };
}
