//! PostgREST's answers as API errors, for every caller of the Data API (the edge, the console).
//!
//! The SQL functions refuse with SQLSTATE P0001, a stable code as the message, a sentence for
//! people in the detail and, for rate limits, the seconds to wait in the hint. PostgREST passes
//! these through as `{"code", "message", "details", "hint"}`.

use chat_core::{ApiError, ErrorCode};
use serde::Deserialize;

#[derive(Deserialize)]
struct PostgrestError {
    code: Option<String>,
    message: Option<String>,
    details: Option<String>,
    hint: Option<String>,
}

/// The API error for a non-2xx PostgREST answer.
pub fn from_postgrest(status: u16, body: &str) -> ApiError {
    let Ok(error) = serde_json::from_str::<PostgrestError>(body) else {
        return unexpected(status);
    };
    let refusal = error.message.as_deref().and_then(ErrorCode::from_code);
    match (error.code.as_deref(), refusal) {
        (Some("P0001"), Some(code)) => {
            let message = error.details.filter(|d| !d.is_empty()).unwrap_or_else(|| code.as_str().replace('_', " "));
            let api = ApiError::new(code, message);
            match (code, error.hint.and_then(|h| h.parse().ok())) {
                (ErrorCode::RateLimited, Some(seconds)) => api.with_retry_after(seconds),
                _ => api,
            }
        }
        // Invalid or expired JWT as PostgREST reports it.
        (Some(c), _) if c.starts_with("PGRST3") => {
            ApiError::new(ErrorCode::Unauthorized, "the session token is invalid or expired")
        }
        // An invalid phone number from normalize_phone.
        (Some("22023"), _) => ApiError::new(ErrorCode::ValidationFailed, "a field has an invalid value"),
        _ if status == 401 || status == 403 => {
            ApiError::new(ErrorCode::Unauthorized, "the session token is not accepted")
        }
        _ => unexpected(status),
    }
}

/// An answer that is no refusal of ours: a 4xx (but a gateway's 401/403) means the database
/// refused input the edge let through, which is our bug and never "unavailable" (clients retry
/// that forever); the caller logs the answer. Anything else is the database API failing.
fn unexpected(status: u16) -> ApiError {
    if (400..500).contains(&status) && status != 401 && status != 403 {
        ApiError::new(ErrorCode::Internal, "something went wrong on our side")
    } else {
        upstream(format!("the database API answered {status}"))
    }
}

/// The error when the database API cannot be reached at all.
pub fn unreachable() -> ApiError {
    upstream("the database API cannot be reached".to_string())
}

fn upstream(message: String) -> ApiError {
    ApiError::new(ErrorCode::UpstreamUnavailable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_code_and_sentence() {
        let body =
            r#"{"code":"P0001","message":"session_ended","details":"This chat has ended.","hint":"max_messages"}"#;
        let error = from_postgrest(400, body);
        assert_eq!(error.code, ErrorCode::SessionEnded);
        assert_eq!(error.message, "This chat has ended.");
        assert_eq!(error.status(), 409);
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let body = r#"{"code":"P0001","message":"rate_limited","details":"Too many messages; please wait a moment.","hint":"17"}"#;
        let error = from_postgrest(400, body);
        assert_eq!((error.code, error.retry_after, error.status()), (ErrorCode::RateLimited, Some(17), 429));
    }

    #[test]
    fn unknown_database_errors_do_not_leak() {
        let body = r#"{"code":"23505","message":"duplicate key value violates unique constraint \"secret_idx\"","details":null,"hint":null}"#;
        let error = from_postgrest(409, body);
        assert_eq!(error.code, ErrorCode::Internal, "input the database refused is our bug, not an outage");
        assert!(!error.message.contains("secret_idx"));
        let nul = r#"{"code":"22P05","message":"unsupported Unicode escape sequence","details":null,"hint":null}"#;
        assert_eq!(from_postgrest(400, nul).code, ErrorCode::Internal);
        assert_eq!(from_postgrest(413, "").code, ErrorCode::Internal);
        assert_eq!(from_postgrest(502, "<html>").code, ErrorCode::UpstreamUnavailable);
        assert_eq!(from_postgrest(401, r#"{"code":"PGRST301","message":"JWT expired"}"#).code, ErrorCode::Unauthorized);
    }
}
