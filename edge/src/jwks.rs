//! The edge's keys from its settings, and the project's JWKS, fetched from Auth and kept per
//! isolate (Workers reuse an isolate across requests; a new one starts empty and fetches).

use crate::keys::{EdgeKeys, JwksCache, needs_jwks};
use crate::supabase::{internal, optional_var, var};
use chat_core::ApiError;
use chat_core::keys::VerifyingKeys;
use jsonwebtoken::jwk::JwkSet;
use std::cell::RefCell;
use worker::{Date, Env, Fetch, Method, Request, RequestInit};

thread_local! {
    /// The edge's keys, read once per isolate (parsing a JWK costs a scalar multiplication).
    static EDGE_KEYS: RefCell<Option<EdgeKeys>> = const { RefCell::new(None) };
    static JWKS: RefCell<JwksCache> = RefCell::new(JwksCache::default());
}

/// The edge's keys (`SUPABASE_JWT_SIGNING_KEY`, `SUPABASE_JWT_SECRET`).
pub fn edge_keys(env: &Env) -> Result<EdgeKeys, ApiError> {
    if let Some(keys) = EDGE_KEYS.with(|k| k.borrow().clone()) {
        return Ok(keys);
    }
    let setting = |name: &str| optional_var(env, name);
    let keys = EdgeKeys::from_settings(
        setting("SUPABASE_JWT_SIGNING_KEY").as_deref(),
        setting("SUPABASE_JWT_SECRET").as_deref(),
    )
    .map_err(internal)?;
    EDGE_KEYS.with(|k| *k.borrow_mut() = Some(keys.clone()));
    Ok(keys)
}

/// The keys that verify the user token `token`: the cached JWKS (fetched first when missing,
/// old, or lacking the token's `kid`) and the legacy secret. A failed fetch keeps the last set.
pub async fn user_keys(env: &Env, token: &str) -> Result<VerifyingKeys, ApiError> {
    let keys = edge_keys(env)?;
    if !needs_jwks(token) {
        return Ok(keys.user_verifier(JwkSet { keys: Vec::new() }));
    }
    let now = Date::now().as_millis() as f64;
    let cache = JWKS.with(|c| c.borrow().clone());
    let set = if cache.should_fetch(token, now) {
        match fetch(env).await {
            Ok(set) => {
                JWKS.with(|c| c.borrow_mut().keys = Some((set.clone(), now)));
                set
            }
            Err(error) => match cache.keys {
                Some((set, _)) => {
                    tracing::warn!("cannot refresh the project's JWKS, keeping the last one: {}", error.message);
                    set
                }
                None => return Err(error),
            },
        }
    } else {
        cache.keys.map(|(set, _)| set).unwrap_or(JwkSet { keys: Vec::new() })
    };
    Ok(keys.user_verifier(set))
}

async fn fetch(env: &Env) -> Result<JwkSet, ApiError> {
    let url = format!("{}/auth/v1/.well-known/jwks.json", var(env, "SUPABASE_URL")?.trim_end_matches('/'));
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let request = Request::new_with_init(&url, &init).map_err(|e| internal(e.to_string()))?;
    let mut response = Fetch::Request(request).send().await.map_err(|e| {
        tracing::error!("cannot fetch the project's JWKS: {e}");
        chat_client::refusal::unreachable()
    })?;
    let text = response.text().await.map_err(|_| chat_client::refusal::unreachable())?;
    if response.status_code() != 200 {
        return Err(internal(format!("the project's JWKS answered {}: {text}", response.status_code())));
    }
    serde_json::from_str(&text).map_err(|e| internal(format!("the project's JWKS is not a key set: {e}")))
}
