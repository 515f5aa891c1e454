//! Request bodies: what every JSON body must be before its fields are read.
//!
//! A body is UTF-8 (invalid bytes are refused, never stored as U+FFFD), one JSON object (not
//! an array, which serde would read into a struct, and not nested deeper than serde_json's
//! limit of 128), and holds no control character in any key or string but tab and line
//! breaks: PostgreSQL refuses NUL in text, and the others have no place in a chat.

use chat_core::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Read `bytes` as a JSON object of type `T`; an empty body reads as `empty` when given.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], empty: Option<T>) -> Result<T, ApiError> {
    let bad = |message: String| ApiError::new(ErrorCode::BadRequest, message);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the body is not UTF-8 text".into()))?;
    if text.trim().is_empty()
        && let Some(empty) = empty
    {
        return Ok(empty);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(bad("the body must be a JSON object".into()));
    }
    if let Some(text) = control_text(&value) {
        return Err(bad(format!(
            "text may not hold control characters (only tab and line breaks): {}",
            text.escape_debug().take(80).collect::<String>()
        )));
    }
    serde_json::from_value(value).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

/// The first key or string of `value` holding a control character other than tab, line feed
/// and carriage return.
fn control_text(value: &Value) -> Option<&str> {
    let bad = |text: &str| text.chars().any(chat_core::text::is_refused_control);
    match value {
        Value::String(text) => bad(text).then_some(text.as_str()),
        Value::Array(items) => items.iter().find_map(control_text),
        Value::Object(map) => {
            map.iter().find_map(|(key, item)| if bad(key) { Some(key.as_str()) } else { control_text(item) })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::api::{EndSession, PostMessage};

    fn refused<T: DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) -> String {
        let error = parse::<T>(bytes, None).unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
        error.message
    }

    #[test]
    fn objects_of_the_documented_shape_pass() {
        let id = "7b0f6c1e-8a58-4f4c-9d1e-0a0b0c0d0e0f";
        let body = format!(r#"{{"client_msg_id":"{id}","content":"Line one\nline two\ttab"}}"#);
        assert_eq!(parse::<PostMessage>(body.as_bytes(), None).unwrap().content, "Line one\nline two\ttab");
        assert_eq!(parse(b"  ", Some(EndSession::default())).unwrap(), EndSession::default());
    }

    #[test]
    fn invalid_utf8_is_refused_not_replaced() {
        assert!(refused::<EndSession>(b"{\"feedback\":\"caf\xe9\"}").contains("UTF-8"));
    }

    #[test]
    fn arrays_and_other_values_are_refused() {
        for body in [&b"[5, \"ok\"]"[..], b"5", b"\"x\"", b"null"] {
            assert!(refused::<EndSession>(body).contains("JSON object"), "{body:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(refused::<EndSession>(deep.as_bytes()).contains("invalid JSON"));
    }

    #[test]
    fn control_characters_are_refused_anywhere() {
        for body in [
            r#"{"feedback":"a\u0000b"}"#,
            r#"{"feedback":"bell\u0007"}"#,
            r#"{"feedback":"c1\u0085"}"#,
            r#"{"nested":{"deep":["x\u001b[31m"]}}"#,
            r#"{"ke\u0000y":"v"}"#,
        ] {
            assert!(refused::<serde_json::Map<String, Value>>(body.as_bytes()).contains("control"), "{body}");
        }
    }
}
