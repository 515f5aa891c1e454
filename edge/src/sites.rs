//! A site's public widget settings: `GET /v1/sites/{site_key}/widget`, and the one read of them
//! that starting a chat and opening a link share.

use crate::http::worker_error;
use crate::supabase::Supabase;
use crate::widget_config;
use chat_core::{ApiError, ErrorCode, WidgetConfig, WidgetState};
use worker::{Env, Response};

/// `GET /v1/sites/{site_key}/widget`.
pub async fn widget(env: &Env, site_key: &str) -> Result<Response, ApiError> {
    let state = widget_state(env, site_key).await?;
    let response = Response::from_json(&state).map_err(worker_error)?;
    response.headers().set("Cache-Control", widget_config::CACHE_CONTROL).map_err(worker_error)?;
    Ok(response)
}

/// The site's public widget settings, read as anyone may read them.
async fn widget_state(env: &Env, site_key: &str) -> Result<WidgetState, ApiError> {
    let text = Supabase::anon(env)?.rpc(widget_config::RPC, widget_config::rpc_body(site_key)?).await?;
    widget_config::from_response(200, &text)
}

/// The settings of a site whose chat is switched on; `widget_disabled` otherwise.
pub async fn enabled_widget(env: &Env, site_key: &str) -> Result<Box<WidgetConfig>, ApiError> {
    match widget_state(env, site_key).await? {
        WidgetState::Enabled(config) => Ok(config),
        WidgetState::Disabled { .. } => {
            Err(ApiError::new(ErrorCode::WidgetDisabled, "This site has switched its chat off."))
        }
    }
}
