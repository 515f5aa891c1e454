//! The error body every API answers with: `{"code": "...", "message": "..."}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable, machine-readable error codes. Clients switch on these; the message is for people.
///
/// Adding a code is fine; renaming or removing one breaks clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (bad JSON, missing or invalid field).
    BadRequest,
    /// No route matches the path.
    NotFound,
    /// The method is not allowed on this path.
    MethodNotAllowed,
    /// No site has the given public site key, or its widget is gone.
    SiteNotFound,
    /// A credential is missing, malformed, expired or revoked.
    Unauthorized,
    /// Email and password do not match a user.
    InvalidCredentials,
    /// A user with this email already exists.
    UserAlreadyExists,
    /// The password does not meet the minimum policy.
    WeakPassword,
    /// The database API (PostgREST) could not be reached or answered unexpectedly.
    UpstreamUnavailable,
    /// Something failed on our side; details are in the server log, not the response.
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::WeakPassword => 400,
            Self::Unauthorized => 401,
            Self::InvalidCredentials => 400,
            Self::NotFound | Self::SiteNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::UserAlreadyExists => 422,
            Self::UpstreamUnavailable => 503,
            Self::Internal => 500,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::SiteNotFound => "site_not_found",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::UserAlreadyExists => "user_already_exists",
            Self::WeakPassword => "weak_password",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::Internal => "internal",
        }
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
}

impl ApiError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
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
    fn as_str_matches_serde_name() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::SiteNotFound,
            ErrorCode::Unauthorized,
            ErrorCode::InvalidCredentials,
            ErrorCode::UserAlreadyExists,
            ErrorCode::WeakPassword,
            ErrorCode::UpstreamUnavailable,
            ErrorCode::Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!((400..600).contains(&code.status()));
        }
    }
}
