//! What every stack test needs: where the running stack is, and small request helpers.
//! `cargo xtask test` starts the stack and sets the `STACK_*` variables.

#![allow(dead_code)]

use serde_json::{Value, json};

/// A `STACK_*` setting; the tests need the stack `cargo xtask test` starts.
#[track_caller]
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these tests with `cargo xtask test`"))
}

/// The Supabase stand-in's base URL.
pub fn api() -> String {
    env("STACK_API_URL")
}

/// The edge's base URL.
pub fn edge() -> String {
    env("STACK_EDGE_URL")
}

/// The public anon key.
pub fn anon_key() -> String {
    env("STACK_ANON_KEY")
}

/// An HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A fresh unique email.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.test", uuid::Uuid::new_v4().simple())
}

/// Sign up a new user; returns the session JSON.
pub async fn sign_up(email: &str, password: &str) -> Value {
    let response = client()
        .post(format!("{}/auth/v1/signup", api()))
        .header("apikey", anon_key())
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("auth reachable");
    assert_eq!(response.status(), 200, "signup failed");
    response.json().await.expect("session json")
}

/// A superuser connection pool to the test database.
pub async fn database() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&env("STACK_DATABASE_URL"))
        .await
        .expect("test database reachable")
}
