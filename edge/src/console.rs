//! `GET /v1/console/config`: the project's public URL and key for the console, from the
//! Worker's settings, so the console's build holds no deployment's values.

use crate::http::worker_error;
use crate::supabase::var;
use chat_core::ApiError;
use chat_core::api::ConsoleConfig;
use worker::{Env, Response};

/// `GET /v1/console/config`.
pub fn config(env: &Env) -> Result<Response, ApiError> {
    let config = ConsoleConfig {
        supabase_url: var(env, "SUPABASE_URL")?.trim_end_matches('/').to_string(),
        publishable_key: var(env, "SUPABASE_PUBLISHABLE_KEY")?,
    };
    let response = Response::from_json(&config).map_err(worker_error)?;
    response.headers().set("Cache-Control", "no-store").map_err(worker_error)?;
    Ok(response)
}
