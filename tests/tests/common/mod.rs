//! What every stack test needs: where the running stack is, and small request helpers.
//! `cargo xtask test` starts the stack and sets the `STACK_*` variables.

#![allow(dead_code)]

pub mod desk;
pub mod socket;

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

/// The public API key (`sb_publishable_…`, or the legacy `anon` JWT).
pub fn anon_key() -> String {
    env("STACK_PUBLISHABLE_KEY")
}

/// The key Supabase Auth signs user tokens with: the project's ES256 signing key
/// (`STACK_AUTH_SIGNING_KEY`) in the signing-keys system, else the legacy secret.
pub fn auth_key() -> chat_core::keys::SigningKey {
    match std::env::var("STACK_AUTH_SIGNING_KEY") {
        Ok(jwk) => {
            chat_core::keys::SigningKey::from_private_jwk(&jwk).expect("STACK_AUTH_SIGNING_KEY is a private JWK")
        }
        Err(_) => chat_core::keys::SigningKey::secret(env("STACK_JWT_SECRET").as_bytes()),
    }
}

/// The key the edge signs guest tokens with (`STACK_EDGE_SIGNING_KEY`, else the legacy secret).
pub fn edge_key() -> chat_core::keys::SigningKey {
    match std::env::var("STACK_EDGE_SIGNING_KEY") {
        Ok(jwk) => {
            chat_core::keys::SigningKey::from_private_jwk(&jwk).expect("STACK_EDGE_SIGNING_KEY is a private JWK")
        }
        Err(_) => chat_core::keys::SigningKey::secret(env("STACK_JWT_SECRET").as_bytes()),
    }
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

/// A database connection acting as an API role with JWT claims, as PostgREST runs requests.
pub async fn connect_as(role: &str, claims: Value) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&env("STACK_DATABASE_URL")).await.expect("database reachable");
    sqlx::query("select set_config('role', $1, false), set_config('request.jwt.claims', $2, false)")
        .bind(role)
        .bind(claims.to_string())
        .execute(&mut conn)
        .await
        .expect("role switch");
    conn
}

/// A connection acting as the signed-in user `user_id`.
pub async fn connect_as_user(user_id: uuid::Uuid) -> sqlx::PgConnection {
    connect_as("authenticated", json!({"role": "authenticated", "sub": user_id})).await
}

/// A connection acting as the service role (the edge's privileged calls).
pub async fn connect_as_service() -> sqlx::PgConnection {
    connect_as("service_role", json!({"role": "service_role"})).await
}

/// A connection acting as a guest of one conversation (what the edge's guest JWT carries).
pub async fn connect_as_guest(session: &Value) -> sqlx::PgConnection {
    connect_as(
        "authenticated",
        json!({"role": "authenticated", "sub": session["customer_id"], "is_anonymous": true,
               "guest": {"site_id": session["site_id"], "conversation_id": session["conversation_id"],
                         "session_id": session["session_id"]}}),
    )
    .await
}

/// A new user in auth.users.
pub async fn new_user(db: &sqlx::PgPool) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    sqlx::query("insert into auth.users (id, email) values ($1, $2)")
        .bind(id)
        .bind(format!("{id}@example.test"))
        .execute(db)
        .await
        .unwrap();
    id
}

/// `user` joins `site` as `role` (`owner`, `admin`, `operator` or `viewer`).
pub async fn join(db: &sqlx::PgPool, site: uuid::Uuid, user: uuid::Uuid, role: &str) {
    sqlx::query("insert into public.site_members (site_id, user_id, role) values ($1, $2, $3)")
        .bind(site)
        .bind(user)
        .bind(role)
        .execute(db)
        .await
        .unwrap();
}

/// `user` joins `site` as an online operator.
pub async fn join_online(db: &sqlx::PgPool, site: uuid::Uuid, user: uuid::Uuid) {
    join(db, site, user, "operator").await;
    sqlx::query("update public.site_members set availability = 'online' where site_id = $1 and user_id = $2")
        .bind(site)
        .bind(user)
        .execute(db)
        .await
        .unwrap();
}

/// The guest of `guest` writes `text` (`post_message`); returns the stored message's id.
pub async fn guest_writes(guest: &mut sqlx::PgConnection, text: &str) -> uuid::Uuid {
    let message: Value = sqlx::query_scalar("select public.post_message($1, $2)")
        .bind(uuid::Uuid::new_v4())
        .bind(text)
        .fetch_one(guest)
        .await
        .unwrap();
    message["id"].as_str().unwrap().parse().unwrap()
}

/// A site owned by `owner` with a unique key; returns (site id, site key).
pub async fn new_site(db: &sqlx::PgPool, owner: uuid::Uuid) -> (uuid::Uuid, String) {
    let key = format!("site-{}", uuid::Uuid::new_v4().simple());
    let id = sqlx::query_scalar(
        "insert into public.sites (owner_id, name, site_key) values ($1, 'Test shop', $2) returning id",
    )
    .bind(owner)
    .bind(&key)
    .fetch_one(db)
    .await
    .unwrap();
    (id, key)
}

/// 64 hex characters: the shape of a stored token hash.
pub fn token_hash() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// SHA-256 of `text` as hex, computed by the database (as the edge stores token hashes).
pub async fn sha256_hex(db: &sqlx::PgPool, text: &str) -> String {
    sqlx::query_scalar("select encode(extensions.digest($1, 'sha256'), 'hex')").bind(text).fetch_one(db).await.unwrap()
}

/// The stable code of a refusal raised by the SQL functions (the error's message).
pub fn refusal(error: sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => e.message().to_string(),
        other => panic!("expected a database refusal, got {other}"),
    }
}

/// A new widget session on the site (what the edge's `POST /v1/sessions` does); returns the
/// function's JSON: session, conversation, customer and site ids.
pub async fn widget_session(site_key: &str) -> Value {
    let mut service = connect_as_service().await;
    sqlx::query_scalar("select public.start_widget_session($1, $2)")
        .bind(site_key)
        .bind(token_hash())
        .fetch_one(&mut service)
        .await
        .expect("session starts")
}

/// A site of a new owner with one widget session on it, and a connection as that guest.
pub async fn site_with_guest(db: &sqlx::PgPool) -> (uuid::Uuid, Value, sqlx::PgConnection) {
    let owner = new_user(db).await;
    let (site, key) = new_site(db, owner).await;
    let session = widget_session(&key).await;
    let guest = connect_as_guest(&session).await;
    (site, session, guest)
}
