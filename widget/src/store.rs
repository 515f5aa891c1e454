//! The page's localStorage, where a chat is kept across reloads (`chat_client::storage`) under
//! one key per chat: per site for the embedded widget, per link for a link's page. Nothing is
//! written before the visitor opens the chat.

use chat_client::storage::Saved;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The saved state under `key`, or an empty one.
pub fn load(key: &str) -> Saved {
    Saved::read(storage().and_then(|s| s.get_item(key).ok().flatten()).as_deref())
}

/// Save the state under `key` (best effort: private browsing may refuse storage).
pub fn save(key: &str, saved: &Saved) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, &saved.write());
    }
}
