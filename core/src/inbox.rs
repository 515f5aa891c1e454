//! The operator's inbox as `rpc/inbox` answers it: one row per conversation with its customer,
//! latest message and unread count, newest activity first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which conversations the inbox lists (`p_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxFilter {
    /// Active or snoozed, assigned to the caller.
    Mine,
    /// Waiting in the queue.
    Unassigned,
    /// Waiting or active.
    Open,
    /// Snoozed.
    Snoozed,
    /// Closed.
    Closed,
}

impl InboxFilter {
    /// Every filter, in the order the console shows them.
    pub const ALL: [InboxFilter; 5] = [Self::Mine, Self::Unassigned, Self::Open, Self::Snoozed, Self::Closed];

    /// The value `rpc/inbox` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mine => "mine",
            Self::Unassigned => "unassigned",
            Self::Open => "open",
            Self::Snoozed => "snoozed",
            Self::Closed => "closed",
        }
    }

    /// The filter named `value` (see [`InboxFilter::as_str`]).
    pub fn named(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == value)
    }
}

/// The body of `rpc/inbox`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InboxQuery {
    /// The site whose conversations are listed.
    pub p_site_id: Uuid,
    /// Which of them.
    pub p_filter: InboxFilter,
    /// Text to look for in names, emails and messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_search: Option<String>,
    /// The last row of the previous page: its `last_message_at` ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_cursor_at: Option<String>,
    /// ... and its `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_cursor_id: Option<Uuid>,
    /// Rows per page (1 to 100).
    pub p_limit: u32,
}

/// A conversation in the inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRow {
    /// The conversation.
    pub id: Uuid,
    /// `waiting`, `active`, `snoozed` or `closed`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// A subject, when one was given.
    pub subject: Option<String>,
    /// When the latest message was written (the sort key).
    pub last_message_at: String,
    /// Who holds the conversation.
    pub assigned_operator_id: Option<Uuid>,
    /// The customer's name, when known.
    pub customer_name: Option<String>,
    /// The customer's email, when known.
    pub customer_email: Option<String>,
    /// The latest message's text.
    pub last_message: Option<String>,
    /// Who wrote it.
    pub last_sender_type: Option<String>,
    /// The customer's messages the caller has not read.
    pub unread: i32,
}

/// A message as staff read it (`messages` under RLS): with internal notes, which guests never see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMessage {
    /// The message.
    pub id: Uuid,
    /// Its place in the conversation.
    pub seq: i64,
    /// `customer`, `operator`, `ai` or `system`.
    pub sender_type: String,
    /// The text.
    pub content: String,
    /// A note for staff only.
    pub internal: bool,
    /// The writer's id for it, when written through an outbox.
    pub client_msg_id: Option<Uuid>,
    /// When it was written.
    pub created_at: String,
}

/// The columns of [`StaffMessage`], as a PostgREST `select`.
pub const STAFF_MESSAGE_COLUMNS: &str = "id,seq,sender_type,content,internal,client_msg_id,created_at";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_back_from_their_names() {
        for filter in InboxFilter::ALL {
            assert_eq!(InboxFilter::named(filter.as_str()), Some(filter));
            assert_eq!(serde_json::to_value(filter).unwrap(), filter.as_str());
        }
        assert_eq!(InboxFilter::named("all"), None);
    }
}
