//! What a chat keeps across reloads (the page's storage holds it as JSON under one key per
//! chat): the session, the outbox of messages not yet confirmed, and whether the session was
//! rated. Read with the lean JSON reader, so a saved state the page cannot read is no state.

use crate::outbox::Outgoing;
use chat_core::api::Session;
use serde::{Deserialize, Serialize};

/// The saved state of one chat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The current session, if any.
    pub session: Option<Session>,
    /// Unconfirmed messages, oldest first.
    pub outbox: Vec<Outgoing>,
    /// The session was rated (a rating is given once).
    #[serde(default)]
    pub rated: bool,
}

impl Saved {
    /// The state saved as `json`, or an empty one when there is none or it cannot be read.
    pub fn read(json: Option<&str>) -> Self {
        json.and_then(|json| crate::json::from_str(json).ok()).unwrap_or_default()
    }

    /// The state as saved.
    pub fn write(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The key of the embedded widget's chat with a site.
pub fn site_key(site_key: &str) -> String {
    format!("chat-widget:{site_key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_saved_chat_reads_back_as_it_was() {
        let saved = Saved {
            session: Some(Session {
                session_id: Uuid::new_v4(),
                conversation_id: Uuid::new_v4(),
                token: "resume".into(),
                guest_jwt: "jwt".into(),
                expires_at: 1_800_000_000,
                resumed: false,
                realtime: None,
            }),
            outbox: vec![Outgoing { client_msg_id: Uuid::new_v4(), content: "still on its way".into() }],
            rated: true,
        };
        assert_eq!(Saved::read(Some(&saved.write())), saved);
    }

    #[test]
    fn older_unreadable_or_missing_states_read_as_what_they_hold() {
        let before_ratings = r#"{"session":null,"outbox":[]}"#;
        assert_eq!(Saved::read(Some(before_ratings)), Saved::default(), "saved before `rated` existed");
        assert_eq!(Saved::read(Some("{not json")), Saved::default());
        assert_eq!(Saved::read(None), Saved::default());
        assert_eq!(site_key("demo-site"), "chat-widget:demo-site");
    }
}
