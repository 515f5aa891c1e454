//! What survives a reload, in the page's localStorage under one key per chat (per site for the
//! embedded widget, per link for a link's page): the session, the outbox of messages not yet
//! confirmed, and whether the session was rated. Nothing is written before the visitor opens
//! the chat.

use chat_client::outbox::Outgoing;
use chat_core::api::Session;
use serde::{Deserialize, Serialize};

/// The saved state of one site's chat.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Saved {
    /// The current session, if any.
    pub session: Option<Session>,
    /// Unconfirmed messages, oldest first.
    pub outbox: Vec<Outgoing>,
    /// The session was rated (a rating is given once).
    #[serde(default)]
    pub rated: bool,
}

/// The key of the embedded widget's chat with a site.
pub fn site_key(site_key: &str) -> String {
    format!("chat-widget:{site_key}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The saved state under `key`, or an empty one.
pub fn load(key: &str) -> Saved {
    storage()
        .and_then(|s| s.get_item(key).ok().flatten())
        .and_then(|json| chat_client::json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Save the state under `key` (best effort: private browsing may refuse storage).
pub fn save(key: &str, saved: &Saved) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(saved)) {
        let _ = storage.set_item(key, &json);
    }
}
