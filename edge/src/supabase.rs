//! PostgREST calls with postgrest-rs, sent through the Workers runtime's `fetch`.
//!
//! postgrest-rs builds a `reqwest` request; we send it with `worker::Fetch` so it runs on
//! workerd's own networking. workerd refuses a body on GET, which postgrest-rs always sets,
//! so the body is forwarded only for other methods.

use chat_client::refusal;
use chat_core::{ApiError, ErrorCode};
use postgrest::Postgrest;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

/// The project's Data API, as one role.
pub struct Supabase {
    rest: Postgrest,
}

impl Supabase {
    /// As `anon` (the publishable key, or the legacy `anon` key): public data only.
    pub fn anon(env: &Env) -> Result<Self, ApiError> {
        let key = var(env, "SUPABASE_PUBLISHABLE_KEY")?;
        Self::with_bearer(env, &key.clone(), &key)
    }

    /// As `service_role` (the secret key, or the legacy `service_role` key): only for what no
    /// guest-scoped call can do (starting sessions, automatic answers).
    pub fn service(env: &Env) -> Result<Self, ApiError> {
        let key = var(env, "SUPABASE_SECRET_KEY")?;
        Self::with_bearer(env, &key.clone(), &key)
    }

    /// As the user or guest the JWT names: RLS applies as them.
    pub fn user(env: &Env, jwt: &str) -> Result<Self, ApiError> {
        Self::with_bearer(env, &var(env, "SUPABASE_PUBLISHABLE_KEY")?, jwt)
    }

    fn with_bearer(env: &Env, api_key: &str, bearer: &str) -> Result<Self, ApiError> {
        let url = var(env, "SUPABASE_URL")?;
        let rest = Postgrest::new(format!("{}/rest/v1", url.trim_end_matches('/')))
            .insert_header("apikey", api_key)
            .insert_header("Authorization", format!("Bearer {bearer}"));
        Ok(Self { rest })
    }

    /// Call the database function `name` with a JSON body; `Ok` holds a 2xx body.
    pub async fn rpc(&self, name: &str, body: String) -> Result<String, ApiError> {
        send(self.rest.rpc(name, body), false).await
    }

    /// [`Supabase::rpc`] for a function that is safe to call twice (it deduplicates itself):
    /// a connection lost on the way (a stale pooled connection) is retried once.
    pub async fn rpc_idempotent(&self, name: &str, body: String) -> Result<String, ApiError> {
        send(self.rest.rpc(name, body), true).await
    }

    /// A query on `table`, to be finished by the caller and sent with [`Supabase::send`].
    pub fn from(&self, table: &str) -> postgrest::Builder {
        self.rest.from(table)
    }

    /// Send a query built with [`Supabase::from`]; `Ok` holds a 2xx body. Reads are retried
    /// once when the connection is lost on the way.
    pub async fn send(&self, builder: postgrest::Builder) -> Result<String, ApiError> {
        send(builder, false).await
    }
}

async fn send(builder: postgrest::Builder, idempotent: bool) -> Result<String, ApiError> {
    let request = builder.build().build().map_err(|e| internal(format!("cannot build request: {e}")))?;
    let headers = Headers::new();
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|e| internal(format!("bad header {name}: {e}")))?;
        headers.set(name.as_str(), value).map_err(|e| internal(e.to_string()))?;
    }
    let method = request.method().as_str().to_string();
    let mut init = RequestInit::new();
    init.with_headers(headers).with_method(Method::from(method.clone()));
    if method != "GET"
        && method != "HEAD"
        && let Some(bytes) = request.body().and_then(|b| b.as_bytes())
    {
        let text = String::from_utf8_lossy(bytes);
        init.with_body(Some(text.as_ref().into()));
    }
    let retry = idempotent || method == "GET" || method == "HEAD";
    let mut attempt = 0;
    let mut response = loop {
        attempt += 1;
        let outgoing = Request::new_with_init(request.url().as_str(), &init).map_err(|e| internal(e.to_string()))?;
        match Fetch::Request(outgoing).send().await {
            Ok(response) => break response,
            Err(error) if retry && attempt == 1 => {
                tracing::warn!("database API call failed, retrying once: {error}")
            }
            Err(error) => {
                tracing::error!("database API unreachable: {error}");
                return Err(refusal::unreachable());
            }
        }
    };
    let status = response.status_code();
    let text = response.text().await.map_err(|_| refusal::unreachable())?;
    if (200..300).contains(&status) {
        return Ok(text);
    }
    let error = refusal::from_postgrest(status, &text);
    if error.code == ErrorCode::Internal {
        tracing::error!("the database API refused input the edge let through ({status}): {text}");
    }
    Err(error)
}

/// A setting of the Worker (a variable or a secret) it cannot work without.
pub fn var(env: &Env, name: &str) -> Result<String, ApiError> {
    optional_var(env, name).ok_or_else(|| internal(format!("the edge is missing its {name} setting")))
}

/// A setting of the Worker that may be absent (one of two key systems, say).
pub fn optional_var(env: &Env, name: &str) -> Option<String> {
    env.secret(name).map(|v| v.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()
}

/// Log the detail; answer with a generic internal error.
pub fn internal(detail: String) -> ApiError {
    tracing::error!("{detail}");
    ApiError::new(ErrorCode::Internal, "something went wrong on our side")
}
