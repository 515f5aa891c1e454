//! Request and response bodies of the edge's chat API (`/v1/...`), with the validation both
//! the widget (inline, before sending) and the edge (authoritative) run.

use crate::error::{ApiError, ErrorCode};
use crate::limits;
pub use crate::widget::CustomField;
use crate::widget::WidgetConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// `POST /v1/sessions`: start a chat, or resume one with the token the widget stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// The site's public key.
    pub site_key: String,
    /// The token of an earlier session, to continue it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
    /// Pre-chat form: the visitor's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Pre-chat form: the visitor's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Pre-chat form: the visitor's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Pre-chat form: the site's own fields, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, String>,
}

impl StartSession {
    /// Check the pre-chat form against what the site requires; `Err` lists every bad field.
    pub fn validate(&self, config: &WidgetConfig) -> Result<(), ApiError> {
        let mut fields = BTreeMap::new();
        let blank = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").is_empty();
        if config.require_name && blank(&self.name) {
            fields.insert("name".into(), "Please enter your name.".into());
        }
        if self.name.as_deref().is_some_and(|n| n.chars().count() as i64 > *limits::CUSTOMER_NAME_CHARS.end()) {
            fields
                .insert("name".into(), format!("A name has at most {} characters.", limits::CUSTOMER_NAME_CHARS.end()));
        }
        match self.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None if config.require_email => {
                fields.insert("email".into(), "Please enter your email address.".into());
            }
            Some(email) if !is_email(email) => {
                fields.insert("email".into(), "This does not look like an email address.".into());
            }
            _ => {}
        }
        match self.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None if config.require_phone => {
                fields.insert("phone".into(), "Please enter your phone number.".into());
            }
            Some(phone) if !is_phone(phone) => {
                fields.insert("phone".into(), "Use the international format, like +1 555 010 0000.".into());
            }
            _ => {}
        }
        for field in config.custom_fields.iter().filter(|f| f.required) {
            if self.custom_fields.get(&field.key).map(|v| v.trim().is_empty()).unwrap_or(true) {
                fields.insert(field.key.clone(), format!("Please fill in {}.", field.label));
            }
        }
        for (key, value) in &self.custom_fields {
            if !config.custom_fields.iter().any(|f| &f.key == key) {
                fields.insert(key.clone(), "This site asks for no such field.".into());
            } else if !limits::CUSTOM_FIELD_CHARS.contains(&(value.chars().count() as i64)) {
                fields.insert(key.clone(), "An answer has at most 500 characters.".into());
            }
        }
        let stored = limits::jsonb_object_bytes(
            self.custom_fields.iter().map(|(k, v)| (limits::json_string_bytes(k), limits::json_string_bytes(v))),
        );
        if stored as i64 > limits::JSON_BYTES {
            fields.insert("custom_fields".into(), "The answers are too long together.".into());
        }
        if fields.is_empty() { Ok(()) } else { Err(ApiError::invalid_fields(fields)) }
    }
}

/// What a started (or resumed) session gives the widget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The chat session.
    pub session_id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// Opaque resume token: keep it to continue after a reload; send it to refresh.
    pub token: String,
    /// Short-lived JWT scoping the guest to this conversation; send it as a bearer token.
    pub guest_jwt: String,
    /// When `guest_jwt` expires, seconds since the Unix epoch.
    pub expires_at: i64,
    /// Whether an existing session was continued.
    pub resumed: bool,
    /// Where live updates come from; absent when the project has no Realtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime: Option<RealtimeAccess>,
}

/// How the widget reaches Supabase Realtime for one session. Its channels are private: the
/// guest JWT is the access token, and RLS on `realtime.messages` scopes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RealtimeAccess {
    /// The Realtime endpoint, `https://<project>.supabase.co/realtime/v1`.
    pub url: String,
    /// The project's public (anon) API key.
    pub api_key: String,
    /// The site, whose topic carries operator presence.
    pub site_id: Uuid,
}

impl RealtimeAccess {
    /// The conversation's topic: messages from the database, typing both ways.
    pub fn conversation_topic(conversation_id: Uuid) -> String {
        format!("conversation:{conversation_id}")
    }

    /// The site's topic: operator presence.
    pub fn site_topic(&self) -> String {
        format!("site:{}", self.site_id)
    }
}

/// A typing broadcast on a conversation topic (event `typing`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    /// True while typing; false when the text was sent or the field left.
    pub typing: bool,
    /// `customer` or `operator`.
    pub sender: SenderType,
    /// The name to show ("Maya is typing…"), when the sender has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the widget's "Talk to a person" button sends, as the visitor's own message: a visitor
/// message of exactly this text hands an AI agent's conversation to a person
/// (`take_owed_answer`), as `POST /v1/handoff` does.
pub const HANDOFF_REQUEST: &str = "Talk to a person";

/// The event an AI agent's answer is broadcast with while the model writes it (on the
/// conversation topic, by the edge): a [`Message`] row change whose record has the id the
/// answer will be stored with, `seq` [`DRAFT_SEQ`] (after everything) and the text so far
/// (`…` while the agent thinks). The stored answer replaces it; a record with `deleted_at`
/// removes it when the answer was dropped or failed.
pub const DRAFT_EVENT: &str = "DRAFT";
/// The `seq` of an answer being written: it shows after every stored message.
pub const DRAFT_SEQ: i64 = i64::MAX;

/// `POST /v1/sessions/refresh`: a new guest JWT for a session that may still be used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshSession {
    /// The resume token of the session.
    pub token: String,
}

/// `POST /v1/sessions/end`: the visitor ends the chat, optionally rating it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndSession {
    /// 1 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<i64>,
    /// At most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

impl EndSession {
    /// Check the rating and feedback bounds.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.rating.is_some_and(|r| !limits::RATING.contains(&r)) {
            return Err(ApiError::new(ErrorCode::InvalidRating, "A rating is 1 to 5."));
        }
        if self.feedback.as_deref().is_some_and(|f| !limits::FEEDBACK_CHARS.contains(&(f.chars().count() as i64))) {
            return Err(ApiError::new(ErrorCode::InvalidFeedback, "Feedback has at most 1000 characters."));
        }
        Ok(())
    }
}

/// What `POST /v1/sessions/end` and `POST /v1/sessions/rating` answer: the session's state after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOutcome {
    /// The session.
    pub session_id: Uuid,
    /// `active` (a rating) or `ended`.
    pub status: String,
    /// Why it ended, when it has (`visitor` for an end by the visitor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The rating given, if any (the first one counts).
    pub rating: Option<i64>,
}

/// `POST /v1/messages`: a visitor message, idempotent on `client_msg_id`. The answer is the
/// stored [`Message`]: 201 when this call created it, 200 when it was already there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// Generated by the widget once per message and reused on every retry.
    pub client_msg_id: Uuid,
    /// Plain text, 1 to 5000 characters.
    pub content: String,
}

impl PostMessage {
    /// Check the content bounds.
    pub fn validate(&self) -> Result<(), ApiError> {
        let chars = self.content.chars().count() as i64;
        if self.content.trim().is_empty() || !limits::MESSAGE_CHARS.contains(&chars) {
            return Err(ApiError::new(ErrorCode::InvalidContent, "A message has 1 to 5000 characters."));
        }
        Ok(())
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    /// The visitor.
    Customer,
    /// A person of the site's team.
    Operator,
    /// An AI agent or automatic answer.
    Ai,
    /// The system (joins, transfers...).
    System,
}

/// A message as the API returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its id.
    pub id: Uuid,
    /// Global order; the `after` cursor of the history.
    pub seq: i64,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// `text`, `image`, `file`, `audio`, `video` or `system`.
    pub message_type: String,
    /// Plain text. Render as text, never as HTML.
    pub content: String,
    /// What guests may know about where a message came from.
    #[serde(default)]
    pub metadata: MessageMetadata,
    /// The widget's id for it, when the visitor sent it.
    #[serde(default)]
    pub client_msg_id: Option<Uuid>,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// When it was last edited, if ever.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// When it was deleted (live updates only; the history leaves deleted messages out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// When staff read it (the visitor's messages only): the widget's "Seen".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
}

/// The part of a message's metadata shown to guests (other keys stay with the site).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMetadata {
    /// What wrote it: `knowledge_answer`, `away_message` or `ai_reply` (a language model's
    /// answer) for `ai` messages; `handoff` or `conversation_closed` for `system` messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For knowledge answers: the article's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_title: Option<String>,
}

/// `GET /v1/messages?after=&limit=`: a page of the guest's conversation, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessagePage {
    /// The messages after the cursor.
    pub messages: Vec<Message>,
    /// The cursor for the next page (the last message's `seq`), or the one given if none.
    pub next_cursor: i64,
}

/// Largest history page.
pub const MAX_PAGE: i64 = 100;

/// A plausible email address: something@domain.tld, one `@`, no spaces, at most 255
/// characters: the rule of the `customers.email` CHECK (`tests/tests/database.rs` compares them).
pub fn is_email(email: &str) -> bool {
    email.chars().count() <= 255
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.char_indices().any(|(at, c)| c == '.' && at > 0 && at + 1 < domain.len())
        })
}

/// A plausible E.164 phone number once spaces, dashes, dots and brackets are removed
/// (the database normalizes and checks it again).
pub fn is_phone(phone: &str) -> bool {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let rest = digits.strip_prefix('+').or_else(|| digits.strip_prefix("00")).unwrap_or(&digits);
    (2..=15).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_digit()) && !rest.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(require_name: bool, require_email: bool, require_phone: bool, custom: serde_json::Value) -> WidgetConfig {
        serde_json::from_value(serde_json::json!({
            "site_key": "demo-site", "site_name": "Demo", "enabled": true, "title": "Chat",
            "welcome_message": "Hi", "offline_message": "Away", "is_online": true,
            "theme": {"primary_color": "#000000", "text_color": "#111111", "background_color": "#ffffff"},
            "position": "bottom-right", "show_agent_photos": true, "show_typing_indicator": true,
            "enable_file_upload": false, "enable_emojis": true, "max_file_size_bytes": 0,
            "allowed_file_types": [], "require_name": require_name, "require_email": require_email,
            "require_phone": require_phone, "custom_fields": custom
        }))
        .unwrap()
    }

    #[test]
    fn pre_chat_requirements_are_reported_per_field() {
        let custom = serde_json::json!([{"key": "order", "label": "your order number", "required": true}]);
        let error = StartSession::default().validate(&config(true, true, true, custom.clone())).unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["email", "name", "order", "phone"]);

        let ok = StartSession {
            name: Some("Ann".into()),
            email: Some("ann@example.com".into()),
            phone: Some("+1 (555) 010-0000".into()),
            custom_fields: BTreeMap::from([("order".into(), "A-17".into())]),
            ..Default::default()
        };
        assert!(ok.validate(&config(true, true, true, custom.clone())).is_ok());

        let mut extra = ok.clone();
        extra.custom_fields.insert("is_admin".into(), "yes".into());
        extra.custom_fields.insert("order".into(), "x".repeat(501));
        let error = extra.validate(&config(true, true, true, custom)).unwrap_err();
        assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["is_admin", "order"], "unconfigured and too long");
    }

    #[test]
    fn optional_fields_are_still_checked_when_given() {
        let bad = StartSession { email: Some("ann@".into()), phone: Some("call me".into()), ..Default::default() };
        let error = bad.validate(&config(false, false, false, serde_json::json!([]))).unwrap_err();
        assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["email", "phone"]);
        assert!(StartSession::default().validate(&config(false, false, false, serde_json::json!([]))).is_ok());
    }

    #[test]
    fn message_content_bounds() {
        let message = |content: String| PostMessage { client_msg_id: Uuid::nil(), content };
        assert!(message("x".into()).validate().is_ok());
        assert!(message("é".repeat(5000)).validate().is_ok());
        assert_eq!(message("x".repeat(5001)).validate().unwrap_err().code, ErrorCode::InvalidContent);
        assert_eq!(message("  \n".into()).validate().unwrap_err().code, ErrorCode::InvalidContent);
    }

    #[test]
    fn rating_and_feedback_bounds() {
        assert!(EndSession { rating: Some(5), feedback: Some("ok".into()) }.validate().is_ok());
        assert_eq!(
            EndSession { rating: Some(0), feedback: None }.validate().unwrap_err().code,
            ErrorCode::InvalidRating
        );
        let long = EndSession { rating: None, feedback: Some("x".repeat(1001)) };
        assert_eq!(long.validate().unwrap_err().code, ErrorCode::InvalidFeedback);
    }

    #[test]
    fn emails_and_phones() {
        assert!(is_email("ann@example.com"));
        assert!(!is_email("ann example@example.com"));
        assert!(!is_email("ann@localhost"));
        assert!(!is_email("a@b@example.de"), "one @ only, as the database's CHECK");
        assert!(is_phone("+44 7700 900123"));
        assert!(is_phone("0049 30 1234567"));
        assert!(!is_phone("+0123"));
        assert!(!is_phone("555-CALL-NOW"));
    }
}

/// `GET /v1/console/config`: what the console needs to reach the project as the signed-in
/// user. Public values only, served by the deployment so no build carries them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleConfig {
    /// The project URL (`https://<project>.supabase.co`): Auth, PostgREST and Realtime below it.
    pub supabase_url: String,
    /// The project's publishable (anon) API key.
    pub publishable_key: String,
}
