//! The error body every API answers with: `{"code": "...", "message": "..."}`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Stable, machine-readable error codes. Clients switch on these; the message is for people.
/// The SQL functions raise the same codes (as the error message), so one list serves both.
///
/// Adding a code is fine; renaming or removing one breaks clients.
///
/// On the wire a code is its [`ErrorCode::as_str`] name (the one list of names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, wrong types).
    BadRequest,
    /// Fields failed validation; `fields` says which and why.
    ValidationFailed,
    /// No route matches the path.
    NotFound,
    /// The method is not allowed on this path.
    MethodNotAllowed,
    /// No site has the given public site key, or its widget is gone.
    SiteNotFound,
    /// The site's widget is switched off.
    WidgetDisabled,
    /// The page's origin is not among the site's allowed origins.
    OriginNotAllowed,
    /// A credential is missing, malformed, expired or revoked.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// Email and password do not match a user.
    InvalidCredentials,
    /// A user with this email already exists.
    UserAlreadyExists,
    /// The password does not meet the minimum policy.
    WeakPassword,
    /// The chat session does not exist (or the token does not name one).
    SessionNotFound,
    /// The chat session has ended (by the visitor, an operator, or its message limit).
    SessionEnded,
    /// The chat session ended after a period of inactivity.
    SessionExpired,
    /// A message must have 1 to 5000 characters.
    InvalidContent,
    /// A retried `client_msg_id` came with another text than the stored message.
    IdempotencyConflict,
    /// A rating is 1 to 5.
    InvalidRating,
    /// Feedback has at most 1000 characters.
    InvalidFeedback,
    /// The chat was rated already (a rating is given once).
    AlreadyRated,
    /// Too many messages; `retry_after` says when to try again.
    RateLimited,
    /// The customer has no credits left.
    InsufficientCredits,
    /// The temporary link does not exist.
    LinkNotFound,
    /// The temporary link was switched off.
    LinkInactive,
    /// The temporary link has expired.
    LinkExpired,
    /// The temporary link has reached its number of sessions.
    LinkFull,
    /// The temporary link may not be opened from this IP address.
    IpNotAllowed,
    /// The temporary link may not be opened from this website.
    DomainNotAllowed,
    /// The operator is not online.
    OperatorUnavailable,
    /// The operator holds as many conversations as allowed.
    OperatorAtCapacity,
    /// The conversation is not assigned to anyone.
    NotAssigned,
    /// No such conversation on the caller's sites.
    ConversationNotFound,
    /// The conversation is closed; reopen it first.
    ConversationClosed,
    /// Another operator holds the conversation.
    NotAssignedToYou,
    /// Someone else holds the conversation already (take it from them by transfer).
    AlreadyAssigned,
    /// The conversation was escalated above the caller's support level.
    LevelTooLow,
    /// The person named does not answer chats on the site.
    OperatorNotMember,
    /// A site keeps at least one owner: the last one can be neither demoted nor removed.
    LastOwner,
    /// The row was saved by someone else after it was read; nothing was written.
    VersionConflict,
    /// The database API (PostgREST) could not be reached or answered unexpectedly.
    UpstreamUnavailable,
    /// Something failed on our side; details are in the server log, not the response.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 41] = [
        Self::BadRequest,
        Self::ValidationFailed,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::SiteNotFound,
        Self::WidgetDisabled,
        Self::OriginNotAllowed,
        Self::Unauthorized,
        Self::Forbidden,
        Self::InvalidCredentials,
        Self::UserAlreadyExists,
        Self::WeakPassword,
        Self::SessionNotFound,
        Self::SessionEnded,
        Self::SessionExpired,
        Self::InvalidContent,
        Self::IdempotencyConflict,
        Self::InvalidRating,
        Self::InvalidFeedback,
        Self::AlreadyRated,
        Self::RateLimited,
        Self::InsufficientCredits,
        Self::LinkNotFound,
        Self::LinkInactive,
        Self::LinkExpired,
        Self::LinkFull,
        Self::IpNotAllowed,
        Self::DomainNotAllowed,
        Self::OperatorUnavailable,
        Self::OperatorAtCapacity,
        Self::NotAssigned,
        Self::ConversationNotFound,
        Self::ConversationClosed,
        Self::NotAssignedToYou,
        Self::AlreadyAssigned,
        Self::LevelTooLow,
        Self::OperatorNotMember,
        Self::LastOwner,
        Self::VersionConflict,
        Self::UpstreamUnavailable,
        Self::Internal,
    ];

    /// Whether the chat session is over for good (ended, expired, or unknown to the edge):
    /// nothing more can be sent in it.
    pub fn ends_session(self) -> bool {
        matches!(self, Self::SessionEnded | Self::SessionExpired | Self::SessionNotFound)
    }

    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::WeakPassword | Self::InvalidCredentials => 400,
            Self::Unauthorized | Self::SessionNotFound => 401,
            Self::InsufficientCredits => 402,
            Self::Forbidden
            | Self::OriginNotAllowed
            | Self::WidgetDisabled
            | Self::IpNotAllowed
            | Self::DomainNotAllowed
            | Self::NotAssignedToYou
            | Self::LevelTooLow => 403,
            Self::NotFound | Self::SiteNotFound | Self::LinkNotFound | Self::ConversationNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::SessionEnded
            | Self::IdempotencyConflict
            | Self::LinkFull
            | Self::OperatorUnavailable
            | Self::OperatorAtCapacity
            | Self::NotAssigned
            | Self::ConversationClosed
            | Self::AlreadyRated
            | Self::AlreadyAssigned
            | Self::LastOwner
            | Self::VersionConflict => 409,
            Self::SessionExpired | Self::LinkExpired | Self::LinkInactive => 410,
            Self::ValidationFailed
            | Self::InvalidContent
            | Self::InvalidRating
            | Self::InvalidFeedback
            | Self::UserAlreadyExists
            | Self::OperatorNotMember => 422,
            Self::RateLimited => 429,
            Self::UpstreamUnavailable => 503,
            Self::Internal => 500,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::ValidationFailed => "validation_failed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::SiteNotFound => "site_not_found",
            Self::WidgetDisabled => "widget_disabled",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::InvalidCredentials => "invalid_credentials",
            Self::UserAlreadyExists => "user_already_exists",
            Self::WeakPassword => "weak_password",
            Self::SessionNotFound => "session_not_found",
            Self::SessionEnded => "session_ended",
            Self::SessionExpired => "session_expired",
            Self::InvalidContent => "invalid_content",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::InvalidRating => "invalid_rating",
            Self::InvalidFeedback => "invalid_feedback",
            Self::RateLimited => "rate_limited",
            Self::InsufficientCredits => "insufficient_credits",
            Self::LinkNotFound => "link_not_found",
            Self::LinkInactive => "link_inactive",
            Self::LinkExpired => "link_expired",
            Self::LinkFull => "link_full",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::DomainNotAllowed => "domain_not_allowed",
            Self::OperatorUnavailable => "operator_unavailable",
            Self::OperatorAtCapacity => "operator_at_capacity",
            Self::NotAssigned => "not_assigned",
            Self::ConversationNotFound => "conversation_not_found",
            Self::ConversationClosed => "conversation_closed",
            Self::AlreadyRated => "already_rated",
            Self::NotAssignedToYou => "not_assigned_to_you",
            Self::AlreadyAssigned => "already_assigned",
            Self::LevelTooLow => "level_too_low",
            Self::OperatorNotMember => "operator_not_member",
            Self::LastOwner => "last_owner",
            Self::VersionConflict => "version_conflict",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::Internal => "internal",
        }
    }

    /// The code named `code` (on the wire, or in a SQL refusal: `public.refuse(code, ...)`), if
    /// it is one of ours.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::from_code(&code).ok_or_else(|| serde::de::Error::custom("unknown error code"))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation, safe to show to the person who made the request.
    pub message: String,
    /// Seconds to wait before retrying (with `rate_limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// Per-field problems (with `validation_failed`): field name to explanation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after: None, fields: BTreeMap::new() }
    }

    /// The same error, asking the client to wait `seconds` before retrying.
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A `validation_failed` error listing each field's problem.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Self {
        let message = format!("please check: {}", fields.keys().cloned().collect::<Vec<_>>().join(", "));
        Self { fields, ..Self::new(ErrorCode::ValidationFailed, message) }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_code_and_message() {
        let body = serde_json::to_value(ApiError::new(ErrorCode::SiteNotFound, "no such site")).unwrap();
        assert_eq!(body, serde_json::json!({"code": "site_not_found", "message": "no such site"}));
    }

    #[test]
    fn as_str_matches_serde_name_and_every_status_is_an_error() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(code));
            assert!((400..600).contains(&code.status()));
        }
        assert_eq!(ErrorCode::from_code("no_such_code"), None);
        assert_eq!(serde_json::from_str::<ErrorCode>(r#""rate_limited""#).unwrap(), ErrorCode::RateLimited);
        assert_eq!(serde_json::from_str::<ErrorCode>(r#""link_\u0066ull""#).unwrap(), ErrorCode::LinkFull);
        assert!(serde_json::from_str::<ErrorCode>(r#""no_such_code""#).is_err());
        let distinct: std::collections::HashSet<_> = ErrorCode::ALL.iter().collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len(), "ALL names every code once");
        // ALL is the one list the wire names are read from: in declaration order, up to the last code.
        for (index, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(code as usize, index, "{code} is out of declaration order in ALL");
        }
        assert_eq!(ErrorCode::ALL.len(), ErrorCode::Internal as usize + 1);
    }

    #[test]
    fn retry_after_and_fields_appear_only_when_set() {
        let limited = ApiError::new(ErrorCode::RateLimited, "slow down").with_retry_after(12);
        assert_eq!(serde_json::to_value(&limited).unwrap()["retry_after"], 12);
        let fields = BTreeMap::from([("email".to_string(), "required".to_string())]);
        let invalid = serde_json::to_value(ApiError::invalid_fields(fields)).unwrap();
        assert_eq!(invalid["fields"]["email"], "required");
        assert!(invalid.get("retry_after").is_none());
    }

    /// The README documents every code with its status.
    #[test]
    fn readme_documents_every_code() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        for code in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.status());
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }

    /// Every code a SQL function raises with `public.refuse(...)` is one the API knows.
    #[test]
    fn every_sql_refusal_is_a_known_code() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let sql = std::fs::read_to_string(entry.path()).unwrap();
            for part in sql.split("public.refuse('").skip(1) {
                let code = part.split('\'').next().unwrap();
                assert!(ErrorCode::from_code(code).is_some(), "{code} in {:?}", entry.file_name());
            }
        }
    }
}
