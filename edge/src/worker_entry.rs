//! The Worker's fetch handler: route, call the handler, answer JSON with CORS.

use crate::routes::{self, Route};
use crate::supabase::Supabase;
use crate::widget_config;
use chat_core::ApiError;
use worker::{Context, Env, Headers, Request, Response, event};

#[event(fetch)]
async fn fetch(request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let outcome = match routes::resolve(request.method().as_ref(), &request.path()) {
        Ok(Route::WidgetConfig { site_key }) => widget(&env, &site_key).await,
        Ok(Route::WidgetAsset) => return asset(request, &env).await,
        Ok(Route::Preflight) => Response::empty().map(|r| r.with_status(204)).map_err(internal),
        Err(error) => Err(error),
    };
    let response = outcome.or_else(|error| error_response(&error))?;
    Ok(with_cors(response))
}

/// `GET /v1/sites/{site_key}/widget`.
async fn widget(env: &Env, site_key: &str) -> Result<Response, ApiError> {
    let body = widget_config::rpc_body(site_key)?;
    let (status, text) = Supabase::anon(env)?.rpc(widget_config::RPC, body).await?;
    let config = widget_config::from_response(status, &text)?;
    let response = Response::from_json(&config).map_err(internal)?;
    response.headers().set("Cache-Control", widget_config::CACHE_CONTROL).map_err(internal)?;
    Ok(response)
}

/// The built widget, from the static assets, readable by the sites that embed it.
async fn asset(request: Request, env: &Env) -> worker::Result<Response> {
    let mut upstream = env.assets("ASSETS")?.fetch_request(request).await?;
    let headers = Headers::new();
    for (name, value) in upstream.headers().entries() {
        headers.set(&name, &value)?;
    }
    headers.set("Access-Control-Allow-Origin", "*")?;
    headers.set("Cross-Origin-Resource-Policy", "cross-origin")?;
    let status = upstream.status_code();
    let bytes = upstream.bytes().await?;
    Ok(Response::from_bytes(bytes)?.with_status(status).with_headers(headers))
}

fn error_response(error: &ApiError) -> worker::Result<Response> {
    Ok(Response::from_json(error)?.with_status(error.status()))
}

/// The widget runs on customer origins; what it may read is public, so any origin may ask.
fn with_cors(response: Response) -> Response {
    let headers = response.headers();
    let _ = headers.set("Access-Control-Allow-Origin", "*");
    let _ = headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    let _ = headers.set("Access-Control-Allow-Headers", "authorization, content-type");
    let _ = headers.set("Access-Control-Max-Age", "600");
    response
}

fn internal(error: worker::Error) -> ApiError {
    worker::console_error!("{error}");
    ApiError::new(chat_core::ErrorCode::Internal, "something went wrong on our side")
}
