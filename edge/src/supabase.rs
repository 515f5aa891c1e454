//! PostgREST calls with postgrest-rs, sent through the Workers runtime's `fetch`.
//!
//! postgrest-rs builds a `reqwest` request; we send it with `worker::Fetch` so it runs on
//! workerd's own networking. workerd refuses a body on GET, which postgrest-rs always sets,
//! so the body is forwarded only for other methods.

use crate::widget_config;
use chat_core::{ApiError, ErrorCode};
use postgrest::Postgrest;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

/// The project's Data API, as the caller's role.
pub struct Supabase {
    rest: Postgrest,
}

impl Supabase {
    /// The Data API with the public `anon` key (RLS applies as `anon`).
    pub fn anon(env: &Env) -> Result<Self, ApiError> {
        let url = var(env, "SUPABASE_URL")?;
        let key = var(env, "SUPABASE_ANON_KEY")?;
        let rest = Postgrest::new(format!("{}/rest/v1", url.trim_end_matches('/')))
            .insert_header("apikey", key.as_str())
            .insert_header("Authorization", format!("Bearer {key}"));
        Ok(Self { rest })
    }

    /// Call the database function `name` with a JSON body; returns the status and body.
    pub async fn rpc(&self, name: &str, body: String) -> Result<(u16, String), ApiError> {
        send(self.rest.rpc(name, body)).await
    }
}

async fn send(builder: postgrest::Builder) -> Result<(u16, String), ApiError> {
    let request = builder.build().build().map_err(|e| internal(format!("cannot build request: {e}")))?;
    let headers = Headers::new();
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|e| internal(format!("bad header {name}: {e}")))?;
        headers.set(name.as_str(), value).map_err(|e| internal(e.to_string()))?;
    }
    let method = request.method().as_str().to_string();
    let mut init = RequestInit::new();
    init.with_headers(headers).with_method(Method::from(method.clone()));
    if method != "GET" && method != "HEAD" {
        if let Some(bytes) = request.body().and_then(|b| b.as_bytes()) {
            let text = String::from_utf8_lossy(bytes);
            init.with_body(Some(text.as_ref().into()));
        }
    }
    let outgoing = Request::new_with_init(request.url().as_str(), &init).map_err(|e| internal(e.to_string()))?;
    let mut response = Fetch::Request(outgoing).send().await.map_err(|error| {
        worker::console_error!("database API unreachable: {error}");
        widget_config::unreachable()
    })?;
    let status = response.status_code();
    let text = response.text().await.map_err(|_| widget_config::unreachable())?;
    Ok((status, text))
}

fn var(env: &Env, name: &str) -> Result<String, ApiError> {
    env.var(name)
        .map(|v| v.to_string())
        .map_err(|_| internal(format!("the edge is missing its {name} setting")))
}

fn internal(detail: String) -> ApiError {
    worker::console_error!("{detail}");
    ApiError::new(ErrorCode::Internal, "something went wrong on our side")
}
