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
    /// Answered by an AI agent (not in the queue until handed off).
    Agent,
    /// With an agent, waiting or active.
    Open,
    /// Snoozed.
    Snoozed,
    /// Closed.
    Closed,
}

impl InboxFilter {
    /// Every filter, in the order the console shows them.
    pub const ALL: [InboxFilter; 6] =
        [Self::Mine, Self::Unassigned, Self::Agent, Self::Open, Self::Snoozed, Self::Closed];

    /// The value `rpc/inbox` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mine => "mine",
            Self::Unassigned => "unassigned",
            Self::Agent => "agent",
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
    /// `low`, `medium`, `high` or `urgent`.
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

/// A conversation's state as staff read it (`conversations` under RLS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// The conversation.
    pub id: Uuid,
    /// `waiting`, `active`, `snoozed` or `closed`.
    pub status: String,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// Labels staff gave it.
    pub tags: Vec<String>,
    /// Who holds it.
    pub assigned_operator_id: Option<Uuid>,
    /// The support level it needs (`t1` ... `manager`).
    pub escalation_level: String,
    /// When a snooze ends (none: when the customer writes).
    pub snoozed_until: Option<String>,
    /// Who it is with.
    pub customer_id: Option<Uuid>,
    /// `widget`, `link`, `sms` ...
    pub source: String,
    /// When it began.
    pub created_at: String,
}

/// The columns of [`ConversationState`], as a PostgREST `select`.
pub const CONVERSATION_STATE_COLUMNS: &str =
    "id,status,priority,tags,assigned_operator_id,escalation_level,snoozed_until,customer_id,source,created_at";

/// The priorities, lowest first.
pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];

/// The support levels, lowest first (escalation goes up this ladder).
pub const SUPPORT_LEVELS: [&str; 4] = ["t1", "t2", "t3", "manager"];

/// Someone who works on a site (`site_members` under RLS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The user.
    pub user_id: Uuid,
    /// `owner`, `admin`, `operator` or `viewer`.
    pub role: String,
    /// The name shown to colleagues and visitors.
    pub display_name: Option<String>,
    /// `online`, `away` or `offline`.
    pub availability: String,
    /// `t1` ... `manager`.
    pub support_level: String,
}

/// The columns of [`Member`], as a PostgREST `select`.
pub const MEMBER_COLUMNS: &str = "user_id,role,display_name,availability,support_level";

impl Member {
    /// Whether this member answers chats (a viewer only reads).
    pub fn answers(&self) -> bool {
        self.role != "viewer"
    }

    /// Whether this member manages the site (assigns, and sees the owner sections).
    pub fn manages(&self) -> bool {
        matches!(self.role.as_str(), "owner" | "admin")
    }
}

/// The customer of a conversation, as staff read them (`customers` under RLS).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer.
    pub id: Uuid,
    /// Their name, when given.
    pub name: Option<String>,
    /// Their email, when given.
    pub email: Option<String>,
    /// Their phone number (E.164), when given.
    pub phone: Option<String>,
    /// The pre-chat form's other answers.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// When they were last seen.
    pub last_seen_at: Option<String>,
}

/// The columns of [`Customer`], as a PostgREST `select`.
pub const CUSTOMER_COLUMNS: &str = "id,name,email,phone,custom_fields,last_seen_at";

/// A visit of a conversation (`chat_sessions` under RLS): where it came from and how it was rated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// When it began.
    pub started_at: String,
    /// The page the chat was opened on.
    pub referrer: Option<String>,
    /// The browser.
    pub user_agent: Option<String>,
    /// Two-letter country code, when known.
    pub country: Option<String>,
    /// The visitor's rating, 1 to 5.
    pub rating: Option<i16>,
    /// What they wrote with it.
    pub feedback: Option<String>,
}

/// The columns of [`Visit`], as a PostgREST `select`.
pub const VISIT_COLUMNS: &str = "started_at,referrer,user_agent,country,rating,feedback";

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
