//! The tool catalog AI agents use to manage temporary links for an owner: OpenAI-style function
//! schemas (`GET /v1/tools`) and the typed calls their arguments must parse into
//! (`POST /v1/tools/{name}`). The schemas are written from the same limits the API enforces.

use crate::error::{ApiError, ErrorCode};
use crate::limits;
use crate::links::{ANALYTICS_DAYS, CreateLink, MAX_LINK_PAGE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// `list_temporary_chat_links` arguments (also the query of `GET /v1/links`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListLinks {
    /// Only this agent's links.
    #[serde(default)]
    pub agent_id: Option<Uuid>,
    /// Also switched-off and expired links.
    #[serde(default)]
    pub include_inactive: bool,
    /// 1–100, default 20.
    #[serde(default)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `get_temporary_chat_analytics` arguments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkAnalyticsQuery {
    /// Only this agent's links.
    #[serde(default)]
    pub agent_id: Option<Uuid>,
    /// 1–365, default 30.
    #[serde(default)]
    pub days_back: Option<i64>,
}

/// A parsed, validated tool call.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolCall {
    /// `create_temporary_chat_link`.
    Create(Box<CreateLink>),
    /// `list_temporary_chat_links`.
    List(ListLinks),
    /// `get_temporary_chat_analytics`.
    Analytics(LinkAnalyticsQuery),
}

impl ListLinks {
    /// The page size to use, or the refusal (also for a cursor that is no page's `next_cursor`).
    pub fn page_size(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(20);
        if self.cursor.as_deref().is_some_and(|c| !is_timestamp(c)) {
            return Err(field_error("cursor", "Pass the previous page's next_cursor."));
        }
        if (1..=MAX_LINK_PAGE).contains(&limit) {
            Ok(limit)
        } else {
            Err(field_error("limit", &format!("Must be between 1 and {MAX_LINK_PAGE}.")))
        }
    }
}

/// An RFC 3339 timestamp as PostgREST writes one (`2026-12-01T20:41:30.49533+00:00`): the form
/// of a `next_cursor`.
fn is_timestamp(text: &str) -> bool {
    let digits = |part: &str, count: usize| part.len() == count && part.bytes().all(|b| b.is_ascii_digit());
    let Some((date, time)) = text.split_once('T') else { return false };
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => return false,
    };
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let date: Vec<&str> = date.split('-').collect();
    let clock: Vec<&str> = clock.split(':').collect();
    let zone_ok =
        zone == "Z" || zone.len() == 6 && zone[1..].split_once(':').is_some_and(|(h, m)| digits(h, 2) && digits(m, 2));
    matches!(date.as_slice(), [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2))
        && matches!(clock.as_slice(), [h, m, s] if digits(h, 2) && digits(m, 2) && digits(s, 2))
        && (1..=9).contains(&fraction.len())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && zone_ok
}

impl LinkAnalyticsQuery {
    /// The look-back to use, or the refusal.
    pub fn days(&self) -> Result<i64, ApiError> {
        let days = self.days_back.unwrap_or(30);
        if ANALYTICS_DAYS.contains(&days) {
            Ok(days)
        } else {
            Err(field_error("days_back", "Must be between 1 and 365."))
        }
    }
}

fn field_error(field: &str, message: &str) -> ApiError {
    let mut error = ApiError::new(ErrorCode::ValidationFailed, "Some arguments are not valid.");
    error.fields.insert(field.into(), message.into());
    error
}

/// Reads `arguments` for tool `name`, refusing unknown tools, unknown or mistyped arguments
/// and values outside the limits.
pub fn parse_call(name: &str, arguments: Value) -> Result<ToolCall, ApiError> {
    let invalid =
        |error: serde_json::Error| ApiError::new(ErrorCode::ValidationFailed, format!("invalid arguments: {error}"));
    let arguments = if arguments.is_null() { json!({}) } else { arguments };
    match name {
        "create_temporary_chat_link" => {
            let call: CreateLink = serde_json::from_value(arguments).map_err(invalid)?;
            call.validate()?;
            Ok(ToolCall::Create(Box::new(call)))
        }
        "list_temporary_chat_links" => {
            let call: ListLinks = serde_json::from_value(arguments).map_err(invalid)?;
            call.page_size()?;
            Ok(ToolCall::List(call))
        }
        "get_temporary_chat_analytics" => {
            let call: LinkAnalyticsQuery = serde_json::from_value(arguments).map_err(invalid)?;
            call.days()?;
            Ok(ToolCall::Analytics(call))
        }
        other => Err(ApiError::new(ErrorCode::NotFound, format!("there is no tool named {other:?}"))),
    }
}

fn range(bounds: std::ops::RangeInclusive<i64>, description: &str) -> Value {
    json!({"type": "integer", "minimum": bounds.start(), "maximum": bounds.end(), "description": description})
}

/// The catalog, as OpenAI-style `{"type": "function", "function": {...}}` entries.
pub fn catalog() -> Value {
    let uuid = |description: &str| json!({"type": "string", "format": "uuid", "description": description});
    json!([
        {"type": "function", "function": {
            "name": "create_temporary_chat_link",
            "description": "Create a time-limited chat link for one of the owner's agents. Returns the URL to share; its secret token is shown only once.",
            "parameters": {"type": "object", "additionalProperties": false, "required": ["agent_id", "title", "expires_in_hours"], "properties": {
                "agent_id": uuid("The agent guests will chat with."),
                "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Shown on the link's page."},
                "description": {"type": "string", "maxLength": 1000},
                "welcome_message": {"type": "string", "minLength": 1, "maxLength": 2000},
                "expires_in_hours": range(limits::LINK_EXPIRES_IN_HOURS, "Hours until the link stops working."),
                "max_sessions": range(limits::LINK_MAX_SESSIONS, "Chats the link may open (default 1)."),
                "max_messages_per_session": range(limits::MAX_MESSAGES_PER_SESSION, "Guest messages per chat (default 100)."),
                "session_timeout_minutes": range(limits::SESSION_TIMEOUT_MINUTES, "Inactivity that ends a chat (default 30)."),
                "rate_limit_per_minute": range(limits::RATE_LIMIT_PER_MINUTE, "Guest messages per minute (default 10)."),
                "allowed_domains": {"type": "array", "items": {"type": "string"}, "description": "Websites it may be opened from."},
                "allowed_ips": {"type": "array", "items": {"type": "string"}, "description": "IP addresses or CIDRs it may be opened from."},
                "ui_customization": {"type": "object"}
            }}
        }},
        {"type": "function", "function": {
            "name": "list_temporary_chat_links",
            "description": "List the owner's temporary chat links, newest first.",
            "parameters": {"type": "object", "additionalProperties": false, "properties": {
                "agent_id": uuid("Only this agent's links."),
                "include_inactive": {"type": "boolean", "default": false},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LINK_PAGE, "default": 20},
                "cursor": {"type": "string", "description": "next_cursor of the previous page."}
            }}
        }},
        {"type": "function", "function": {
            "name": "get_temporary_chat_analytics",
            "description": "Links, sessions, messages, average session length and top countries of the owner's temporary chat links.",
            "parameters": {"type": "object", "additionalProperties": false, "properties": {
                "agent_id": uuid("Only this agent's links."),
                "days_back": {"type": "integer", "minimum": ANALYTICS_DAYS.start(), "maximum": ANALYTICS_DAYS.end(), "default": 30}
            }}
        }}
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_postgrest_timestamps() {
        for good in ["2026-12-01T20:41:30.49533+00:00", "2026-12-01T20:41:30Z", "2026-12-01T20:41:30.1-05:30"] {
            assert!(is_timestamp(good), "{good}");
        }
        for bad in
            ["not-a-date", "2026-12-01", "2026-12-01 20:41:30+00", "2026-12-01T20:41:30.+00:00", "2026-1-01T20:41:30Z"]
        {
            assert!(!is_timestamp(bad), "{bad}");
            let list = ListLinks { cursor: Some(bad.into()), ..ListLinks::default() };
            assert_eq!(list.page_size().unwrap_err().code, ErrorCode::ValidationFailed);
        }
    }

    #[test]
    fn the_catalog_names_what_parse_call_accepts() {
        let catalog = catalog();
        let names: Vec<&str> =
            catalog.as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["create_temporary_chat_link", "list_temporary_chat_links", "get_temporary_chat_analytics"]);
        for tool in catalog.as_array().unwrap() {
            let name = tool["function"]["name"].as_str().unwrap();
            let required = tool["function"]["parameters"]["required"].as_array().cloned().unwrap_or_default();
            assert!(parse_call(name, json!({"unknown": 1})).is_err(), "{name} refuses unknown arguments");
            if required.is_empty() {
                assert!(parse_call(name, Value::Null).is_ok(), "{name} takes no arguments");
            }
        }
        assert_eq!(parse_call("drop_tables", json!({})).unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn arguments_are_checked_against_the_limits() {
        let create = json!({"agent_id": Uuid::nil(), "title": "Order help", "expires_in_hours": 169});
        assert!(parse_call("create_temporary_chat_link", create).unwrap_err().fields.contains_key("expires_in_hours"));
        let create = json!({"agent_id": Uuid::nil(), "title": "Order help", "expires_in_hours": 168});
        assert!(matches!(parse_call("create_temporary_chat_link", create), Ok(ToolCall::Create(_))));
        assert!(parse_call("list_temporary_chat_links", json!({"limit": 101})).is_err());
        assert!(parse_call("list_temporary_chat_links", json!({"limit": "ten"})).is_err());
        assert!(parse_call("get_temporary_chat_analytics", json!({"days_back": 0})).is_err());
        assert!(matches!(
            parse_call("get_temporary_chat_analytics", json!({"days_back": 365})),
            Ok(ToolCall::Analytics(_))
        ));
    }
}
