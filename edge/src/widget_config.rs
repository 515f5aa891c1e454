//! `GET /v1/sites/{site_key}/widget`: reading a site's public settings, minus the I/O.

use chat_client::refusal;
use chat_core::widget::is_valid_site_key;
use chat_core::{ApiError, ErrorCode, WidgetState};

/// The PostgREST function that returns a site's public settings.
pub const RPC: &str = "widget_config";

/// `Cache-Control` of a successful answer: settings edits show up within a minute.
pub const CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=300";

/// The RPC body for `site_key`, or the error when the key cannot name any site.
pub fn rpc_body(site_key: &str) -> Result<String, ApiError> {
    if !is_valid_site_key(site_key) {
        return Err(site_not_found());
    }
    Ok(serde_json::json!({ "site_key": site_key }).to_string())
}

/// Interpret PostgREST's answer to the RPC.
pub fn from_response(status: u16, body: &str) -> Result<WidgetState, ApiError> {
    if !(200..300).contains(&status) {
        return Err(refusal::from_postgrest(status, body));
    }
    if body.trim() == "null" {
        return Err(site_not_found());
    }
    WidgetState::from_json(body)
        .map_err(|error| ApiError::new(ErrorCode::UpstreamUnavailable, format!("unexpected widget settings: {error}")))
}

fn site_not_found() -> ApiError {
    ApiError::new(ErrorCode::SiteNotFound, "no site has this site key")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r##"{"site_key":"demo-site","site_name":"Demo","enabled":true,"title":"Chat",
        "welcome_message":"Hi","offline_message":"Away","is_online":false,"theme":{"primary_color":"#0f766e",
        "text_color":"#1f2937","background_color":"#ffffff","color_scheme":"auto"},"position":"bottom-left",
        "show_agent_photos":true,"show_typing_indicator":true,"enable_file_upload":false,
        "enable_emojis":true,"max_file_size_bytes":10,"allowed_file_types":["image/*"],
        "require_name":true,"require_email":false,"require_phone":false,"custom_fields":[]}"##;

    #[test]
    fn a_row_becomes_the_config() {
        let WidgetState::Enabled(config) = from_response(200, CONFIG).unwrap() else { panic!("enabled") };
        assert_eq!(config.theme.primary_color, "#0f766e");
        assert_eq!(config.theme.color_scheme, chat_core::ColorScheme::Auto);
        assert_eq!(config.position, chat_core::Position::BottomLeft);
        assert!(!config.is_online);
    }

    #[test]
    fn disabled_and_unknown_sites() {
        let disabled = from_response(200, r#"{"site_key":"demo-site","enabled":false}"#).unwrap();
        assert!(matches!(disabled, WidgetState::Disabled { .. }));
        assert_eq!(from_response(200, "null").unwrap_err().code, ErrorCode::SiteNotFound);
    }

    #[test]
    fn upstream_failures_are_503_not_500() {
        for (status, body) in [(500, "{}"), (401, "<html>"), (200, "{\"unexpected\":1}")] {
            let error = from_response(status, body).unwrap_err();
            assert_eq!(error.status(), 503, "{status} {body}");
        }
    }

    #[test]
    fn malformed_keys_never_reach_the_database() {
        assert_eq!(rpc_body("NOT A KEY").unwrap_err().code, ErrorCode::SiteNotFound);
        assert_eq!(rpc_body("demo-site").unwrap(), r#"{"site_key":"demo-site"}"#);
    }
}
