//! `/rest/v1`: PostgREST, served by postrust, behind the fixes Supabase's gateway and
//! PostgREST itself would make for what supabase-js and postgrest-rs send.

use crate::config::Config;
use crate::database;
use crate::keys::ProjectKeys;
use anyhow::Result;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use postrust_server::{Builder, Host};
use std::sync::Arc;

/// Build the REST API as an axum router (to be nested under `/rest/v1`).
///
/// Requests run as `authenticator`, switching to the token's role, so RLS applies
/// exactly as on Supabase.
pub async fn router(config: &Config) -> Result<axum::Router> {
    let mut settings = postrust_core::AppConfig::default();
    settings.db_uri = database::url_as(&config.database_url, "authenticator")?;
    settings.db_schemas = vec!["public".into()];
    settings.db_anon_role = Some("anon".into());
    settings.db_channel_enabled = true;
    // PostgREST reads a JWKS from its secret setting as well as a plain secret.
    settings.jwt_secret = Some(match &config.keys.signing {
        chat_core::keys::SigningKey::Secret(secret) => String::from_utf8_lossy(secret).into_owned(),
        chat_core::keys::SigningKey::Es256 { .. } => serde_json::to_string(config.keys.jwks())?,
    });
    settings.compat_mode = true;
    settings.db_max_rows = Some(1000);
    let app = Builder::new(settings, Host::SERVER).build().await?;
    let keys = std::sync::Arc::new(config.keys.clone());
    Ok(app.router.layer(axum::middleware::from_fn_with_state(keys, gateway)))
}

/// What Supabase's API gateway does before PostgREST sees a request: checks the API key and,
/// for an `sb_` key sent alone (or repeated as the bearer, as supabase-js sends it), forwards a
/// short-lived token of the key's role instead. With signing keys, only `sb_` keys are API keys.
/// A CORS preflight carries no key: it is answered first (by postrust's CORS), as Kong's CORS
/// plugin answers it before the key check, so browsers (the console) can call REST.
async fn gateway(State(keys): State<Arc<ProjectKeys>>, mut request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::OPTIONS
        && let Some(refused) = authorize(&keys, &mut request)
    {
        return refused;
    }
    if request.method() == axum::http::Method::POST && request.uri().path().starts_with("/rpc/") {
        request = match drop_null_arguments(request).await {
            Ok(request) => request,
            Err(response) => return response,
        };
    }
    if let Some(query) = request.uri().query() {
        let fixed = fix_query(query);
        if fixed != query {
            let path = request.uri().path();
            if let Ok(uri) = format!("{path}?{fixed}").parse::<Uri>() {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

/// The key check: the request's API key must be the project's; an `sb_` key becomes a token of
/// its role, a legacy key alone becomes the bearer. Returns the refusal, if any.
fn authorize(keys: &ProjectKeys, request: &mut Request) -> Option<Response> {
    let api_key = request
        .headers()
        .get("apikey")
        .cloned()
        .or_else(|| query_param(request.uri(), "apikey").and_then(|k| HeaderValue::from_str(&k).ok()));
    let Some(api_key) = api_key else {
        return Some(no_api_key());
    };
    let bearer = request.headers().get(header::AUTHORIZATION).cloned();
    match keys.api_key_role(api_key.to_str().unwrap_or_default()) {
        Some(role) => {
            let repeated =
                bearer.as_ref().is_none_or(|b| b.as_bytes().strip_prefix(b"Bearer ") == Some(api_key.as_bytes()));
            if repeated && let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", keys.role_token(role))) {
                request.headers_mut().insert(header::AUTHORIZATION, value);
            }
        }
        None if keys.api_keys.is_some() => return Some(invalid_api_key()),
        None if bearer.is_none() => {
            let mut value = b"Bearer ".to_vec();
            value.extend_from_slice(api_key.as_bytes());
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                request.headers_mut().insert(header::AUTHORIZATION, value);
            }
        }
        None => {}
    }
    None
}

/// postrust passes a JSON `null` argument as an empty string (PostgREST passes SQL NULL), which
/// breaks every non-text parameter. Dropping null arguments lets the function's default apply:
/// the same as NULL for parameters that default to null, which is how our functions are written.
async fn drop_null_arguments(request: Request) -> Result<Request, Response> {
    let (mut parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response())?;
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut arguments)) => {
            arguments.retain(|_, value| !value.is_null());
            let rewritten = serde_json::to_vec(&arguments).unwrap_or_else(|_| bytes.to_vec());
            parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
            axum::body::Body::from(rewritten)
        }
        _ => axum::body::Body::from(bytes),
    };
    Ok(Request::from_parts(parts, body))
}

/// The gateway's answer to a request without an API key, as Supabase's Kong gives it.
fn no_api_key() -> Response {
    let body = serde_json::json!({
        "message": "No API key found in request",
        "hint": "No `apikey` request header or url param was found."
    });
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

/// The gateway's answer to an API key the project does not have.
fn invalid_api_key() -> Response {
    let body = serde_json::json!({
        "message": "Invalid API key",
        "hint": "Double check your Supabase `anon` or `service_role` API key."
    });
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

/// Rewrite a query string the way PostgREST reads it but postrust does not:
/// `+` means a space, and `columns="a","b"` (sent by postgrest-js on bulk inserts) means `columns=a,b`.
pub fn fix_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let pair = pair.replace('+', "%20");
            match pair.strip_prefix("columns=") {
                Some(columns) => format!("columns={}", columns.replace("%22", "").replace('"', "")),
                None => pair,
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_becomes_space() {
        assert_eq!(fix_query("name=eq.My+first+site&select=*"), "name=eq.My%20first%20site&select=*");
    }

    #[test]
    fn encoded_plus_stays_plus() {
        assert_eq!(fix_query("name=eq.a%2Bb"), "name=eq.a%2Bb");
    }

    #[test]
    fn quoted_columns_are_unquoted() {
        assert_eq!(fix_query("columns=%22name%22,%22site_key%22"), "columns=name,site_key");
        assert_eq!(fix_query("columns=\"name\",\"site_key\"&select=*"), "columns=name,site_key&select=*");
    }

    #[test]
    fn apikey_is_read_from_the_query() {
        let uri: Uri = "/sites?select=*&apikey=abc".parse().unwrap();
        assert_eq!(query_param(&uri, "apikey").as_deref(), Some("abc"));
        assert_eq!(query_param(&uri, "missing"), None);
    }
}
