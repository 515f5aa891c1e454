//! Calls to the edge API.

use chat_core::{ApiError, ErrorCode, WidgetConfig};
use gloo_net::http::Request;

/// Fetch a site's public widget settings from the edge.
pub async fn widget_config(api_base: String, site_key: String) -> Result<WidgetConfig, ApiError> {
    let url = format!("{}/v1/sites/{}/widget", api_base.trim_end_matches('/'), site_key);
    let response = Request::get(&url).send().await.map_err(|_| offline())?;
    if response.ok() {
        response.json::<WidgetConfig>().await.map_err(|_| offline())
    } else {
        Err(response.json::<ApiError>().await.unwrap_or_else(|_| offline()))
    }
}

fn offline() -> ApiError {
    ApiError::new(ErrorCode::UpstreamUnavailable, "the chat service cannot be reached")
}
