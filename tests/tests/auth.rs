//! `/auth/v1` of the dev stack: the GoTrue subset, as a client sees it.

mod common;

use common::{anon_key, api, client, database, sign_up, unique_email};
use serde_json::{Value, json};

async fn post(path: &str, body: Value) -> reqwest::Response {
    client().post(format!("{}/auth/v1{path}", api())).header("apikey", anon_key()).json(&body).send().await.unwrap()
}

async fn get_user(token: &str) -> reqwest::Response {
    client()
        .get(format!("{}/auth/v1/user", api()))
        .header("apikey", anon_key())
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signup_returns_a_session_with_supabase_claims() {
    let email = unique_email("signup");
    let session = sign_up(&email, "correct horse").await;
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["expires_in"], 3600);
    assert_eq!(session["user"]["email"], email.as_str());
    let token = session["access_token"].as_str().unwrap();
    let claims: chat_core::Claims = common::auth_key().verifier().verify(token, true).unwrap();
    assert_eq!(claims.role, chat_core::Role::Authenticated);
    assert_eq!(claims.sub.as_deref(), session["user"]["id"].as_str());
    assert_eq!(claims.aud.as_deref(), Some("authenticated"));
    assert!(claims.session_id.is_some());
    assert!(!claims.is_anonymous);
    assert!(claims.exp - claims.iat == 3600);
}

#[tokio::test]
async fn duplicate_and_weak_signups_are_refused() {
    let email = unique_email("dup");
    sign_up(&email, "correct horse").await;
    let again = post("/signup", json!({"email": email, "password": "another one"})).await;
    assert_eq!(again.status(), 422);
    assert_eq!(again.json::<Value>().await.unwrap()["error_code"], "user_already_exists");

    let weak = post("/signup", json!({"email": unique_email("weak"), "password": "123"})).await;
    assert_eq!(weak.status(), 422);
    assert_eq!(weak.json::<Value>().await.unwrap()["error_code"], "weak_password");

    let bad_email = post("/signup", json!({"email": "nope", "password": "correct horse"})).await;
    assert_eq!(bad_email.status(), 400);
}

#[tokio::test]
async fn password_grant_checks_the_password() {
    let email = unique_email("login");
    sign_up(&email, "correct horse").await;
    let ok =
        post("/token?grant_type=password", json!({"email": email.to_uppercase(), "password": "correct horse"})).await;
    assert_eq!(ok.status(), 200);
    let wrong = post("/token?grant_type=password", json!({"email": email, "password": "wrong horse"})).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error_code"], "invalid_credentials");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_ends_the_session() {
    let session = sign_up(&unique_email("refresh"), "correct horse").await;
    let first = session["refresh_token"].as_str().unwrap().to_string();

    let rotated = post("/token?grant_type=refresh_token", json!({"refresh_token": first})).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(get_user(rotated["access_token"].as_str().unwrap()).await.status(), 200);

    let reused = post("/token?grant_type=refresh_token", json!({"refresh_token": first})).await;
    assert_eq!(reused.status(), 400);
    assert_eq!(reused.json::<Value>().await.unwrap()["error_code"], "refresh_token_already_used");
    // The leak ended the session: the newest token and access token stop working too.
    let after = post("/token?grant_type=refresh_token", json!({"refresh_token": second})).await;
    assert_eq!(after.status(), 400);
    assert_eq!(get_user(rotated["access_token"].as_str().unwrap()).await.status(), 403);
}

#[tokio::test]
async fn user_and_logout() {
    let session = sign_up(&unique_email("logout"), "correct horse").await;
    let token = session["access_token"].as_str().unwrap();
    let user: Value = get_user(token).await.json().await.unwrap();
    assert_eq!(user["id"], session["user"]["id"]);
    assert_eq!(get_user("not-a-jwt").await.status(), 403);

    let logout = client()
        .post(format!("{}/auth/v1/logout", api()))
        .header("apikey", anon_key())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let after = get_user(token).await;
    assert_eq!(after.status(), 403);
    assert_eq!(after.json::<Value>().await.unwrap()["error_code"], "session_not_found");
}

#[tokio::test]
async fn tokens_and_passwords_are_stored_hashed() {
    let email = unique_email("hashed");
    let session = sign_up(&email, "correct horse").await;
    let refresh = session["refresh_token"].as_str().unwrap();
    let db = database().await;
    let (password_hash,): (String,) = sqlx::query_as("select encrypted_password from auth.users where email = $1")
        .bind(&email)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(password_hash.starts_with("$2"), "bcrypt hash expected");
    let stored: Option<String> = sqlx::query_scalar(
        "select token_hash from auth.refresh_tokens where token_hash = encode(extensions.digest($1, 'sha256'), 'hex')",
    )
    .bind(refresh)
    .fetch_optional(&db)
    .await
    .unwrap();
    assert!(stored.is_some(), "refresh token stored as its SHA-256");
    let plain: i64 = sqlx::query_scalar("select count(*) from auth.refresh_tokens where token_hash = $1")
        .bind(refresh)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(plain, 0);
}
