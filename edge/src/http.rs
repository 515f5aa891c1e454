//! What every handler shares: reading the request (headers, the caller's address, a JSON
//! body), checking who calls (a guest of a chat, a signed-in owner), answering JSON.

use crate::supabase::internal;
use crate::tokens;
use chat_core::ApiError;
use serde::de::DeserializeOwned;
use std::ops::RangeInclusive;
use worker::{Env, Request, Response};

/// The request's guest JWT and its verified claims.
pub(crate) fn guest(request: &Request, env: &Env) -> Result<(String, chat_core::Claims), ApiError> {
    let authorization = header(request, "Authorization");
    let keys = crate::jwks::edge_keys(env)?.guest_verifier();
    let (jwt, claims) = tokens::verify_guest(authorization.as_deref(), header(request, "Origin").as_deref(), &keys)?;
    Ok((jwt.to_string(), claims))
}

/// The owner's JWT, verified: a signed-in user, not a guest.
pub(crate) async fn owner(request: &Request, env: &Env) -> Result<String, ApiError> {
    let authorization = header(request, "Authorization");
    let token = tokens::bearer(authorization.as_deref()).unwrap_or_default();
    let keys = crate::jwks::user_keys(env, token).await?;
    tokens::verify_owner(authorization.as_deref(), &keys).map(str::to_owned)
}

/// The visitor's IP address as Cloudflare reports it; a value that is not one address (only a
/// client talking to the Worker directly could send one) counts as none.
pub(crate) fn client_ip(request: &Request) -> Option<String> {
    header(request, "CF-Connecting-IP").filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
}

/// A request header, when present and not empty.
pub(crate) fn header(request: &Request, name: &str) -> Option<String> {
    request.headers().get(name).ok().flatten().filter(|v| !v.is_empty())
}

/// The header `name`, cut to the characters a session records of it.
pub(crate) fn header_cut(request: &Request, name: &str, chars: RangeInclusive<i64>) -> Option<String> {
    header(request, name).map(|value| value.chars().take(*chars.end() as usize).collect())
}

/// The request's body as a JSON object of type `T` (see [`crate::body`]).
pub(crate) async fn json_body<T: DeserializeOwned>(request: &mut Request) -> Result<T, ApiError> {
    let bytes = request.bytes().await.map_err(worker_error)?;
    crate::body::parse(&bytes, None)
}

/// Parse what the database API answered.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| internal(format!("unexpected answer from the database API: {e}: {text}")))
}

/// `value` as a JSON answer with `status`.
pub(crate) fn json_response<T: serde::Serialize>(value: &T, status: u16) -> Result<Response, ApiError> {
    Ok(Response::from_json(value).map_err(worker_error)?.with_status(status))
}

/// Seconds since the epoch, by the Worker's clock.
pub(crate) fn now_seconds() -> i64 {
    (worker::Date::now().as_millis() / 1000) as i64
}

/// A Worker runtime failure: logged, answered as internal.
pub(crate) fn worker_error(error: worker::Error) -> ApiError {
    internal(error.to_string())
}
