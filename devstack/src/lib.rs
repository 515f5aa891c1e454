//! The local stand-in for Supabase: what `supabase start` serves, without Docker.
//!
//! - `/rest/v1`: PostgREST (postrust) under RLS, with Supabase's gateway fixes ([`rest`]).
//! - `/auth/v1`: a GoTrue subset ([`auth`]).
//! - `/realtime/v1`: Supabase Realtime ([`realtime`]).
//! - the demo customer site on its own origin ([`site`]).

pub mod auth;
pub mod config;
pub mod database;
pub mod keys;
pub mod migrations;
pub mod realtime;
pub mod rest;
pub mod site;

use anyhow::Result;
use axum::Router;
use axum::http::Method;
use config::Config;
use std::sync::Arc;
use tower_http::cors::{Any, CorsLayer};

/// The API router (`/rest/v1`, `/auth/v1`, `/realtime/v1`), as served on 127.0.0.1:54321.
///
/// A function of its own so tests can drive it without a socket.
pub async fn api(config: &Config, pool: sqlx::PgPool) -> Result<Router> {
    let keys = Arc::new(config.keys.clone());
    let realtime = realtime::RealtimeState::new(pool.clone(), keys.clone(), realtime::Limits::default());
    realtime::start_listener(&realtime).await?;
    let auth = auth::router(auth::AuthState { pool, keys, issuer: format!("{}/auth/v1", config.api_url()) });
    // Browsers call Auth directly (the console); REST has its own CORS from postrust, its
    // preflights let through the gateway's key check.
    let auth_cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers(Any)
        .expose_headers(Any);
    Ok(Router::new()
        .nest("/auth/v1", auth.layer(auth_cors))
        .nest("/realtime/v1", realtime::router(realtime))
        .nest_service("/rest/v1", rest::router(config).await?))
}
