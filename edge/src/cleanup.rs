//! What the cleanup cron's summary says. (PostgREST's refusals are read by
//! `chat_client::refusal`, shared with the console.)

/// The failed steps `cleanup_expired()` reports (`{"errors": [{"step", "error"}]}`), or `None`
/// when every step ran. A summary that cannot be read counts as a failure.
pub fn cleanup_failures(summary: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(summary).ok().and_then(|v| v.get("errors").cloned()) {
        Some(serde_json::Value::Array(errors)) if errors.is_empty() => None,
        Some(errors) => Some(errors.to_string()),
        None => Some(format!("unreadable summary {summary}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_failures_are_reported_never_swallowed() {
        assert_eq!(cleanup_failures(r#"{"links_expired": 1, "errors": []}"#), None);
        let failed = cleanup_failures(r#"{"errors": [{"step": "messages_purged", "error": "boom"}]}"#).unwrap();
        assert!(failed.contains("messages_purged") && failed.contains("boom"));
        assert!(cleanup_failures("{}").is_some(), "a summary without errors is no success");
        assert!(cleanup_failures("not json").is_some());
    }
}
