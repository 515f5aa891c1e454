//! `/auth/v1`: the subset of GoTrue (Supabase Auth) the product uses.
//!
//! Email + password sign-up (auto-confirmed, as `supabase start` does by default), password
//! and refresh-token grants, the current user, and logout. Access tokens are HS256 JWTs with
//! Supabase's claims; refresh tokens rotate on use and are stored only as SHA-256 hashes.
//! Errors have GoTrue's shape (`code`, `error_code`, `msg`) so auth-js reads them.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chat_core::{Claims, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

/// Lifetime of an access token, in seconds (Supabase's default).
pub const ACCESS_TOKEN_TTL: i64 = 3600;
/// GoTrue's default minimum password length.
const MIN_PASSWORD_LEN: usize = 6;
/// GoTrue's bcrypt cost.
const BCRYPT_COST: u32 = 10;

/// What the Auth routes share.
#[derive(Clone)]
pub struct AuthState {
    /// Superuser pool (the `auth` schema is not reachable through the API roles).
    pub pool: PgPool,
    /// The project's keys: user tokens are signed with the current one.
    pub keys: Arc<crate::keys::ProjectKeys>,
    /// The issuer written into tokens: `<api url>/auth/v1`.
    pub issuer: String,
}

/// The Auth routes, to be nested under `/auth/v1`.
pub fn router(state: AuthState) -> Router {
    Router::new()
        .route("/signup", post(signup))
        .route("/token", post(token))
        .route("/user", get(user))
        .route("/logout", post(logout))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/health", get(|| async { Json(json!({"name": "GoTrue", "description": "local stand-in"})) }))
        .with_state(state)
}

/// A GoTrue-shaped error.
#[derive(Debug)]
pub struct AuthError {
    status: StatusCode,
    error_code: &'static str,
    msg: String,
}

impl AuthError {
    fn new(status: StatusCode, error_code: &'static str, msg: impl Into<String>) -> Self {
        Self { status, error_code, msg: msg.into() }
    }

    fn bad_jwt() -> Self {
        Self::new(StatusCode::FORBIDDEN, "bad_jwt", "invalid JWT: unable to parse or verify signature")
    }
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "auth database error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "Database error")
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.status.as_u16(), "error_code": self.error_code, "msg": self.msg});
        with_api_version((self.status, Json(body)).into_response())
    }
}

/// auth-js reads `error_code` only when the server says it speaks this API version.
fn with_api_version(mut response: Response) -> Response {
    response.headers_mut().insert("x-supabase-api-version", HeaderValue::from_static("2024-01-01"));
    response
}

type AuthResult = Result<Response, AuthError>;

#[derive(Deserialize)]
struct Credentials {
    email: Option<String>,
    password: Option<String>,
    #[serde(default)]
    data: Option<Value>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct GrantQuery {
    grant_type: Option<String>,
}

#[derive(Deserialize)]
struct LogoutQuery {
    scope: Option<String>,
}

/// One row of `auth.users`, as the API shows it.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: Option<String>,
    encrypted_password: Option<String>,
    raw_app_meta_data: Value,
    raw_user_meta_data: Value,
    is_anonymous: bool,
    created_at: sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>,
    updated_at: sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>,
    email_confirmed_at: Option<sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>>,
    last_sign_in_at: Option<sqlx::types::chrono::DateTime<sqlx::types::chrono::Utc>>,
}

/// The columns of [`UserRow`], for `concat!` into literal SQL.
macro_rules! user_columns {
    () => {
        "id, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, \
         is_anonymous, created_at, updated_at, email_confirmed_at, last_sign_in_at"
    };
}

impl UserRow {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": self.email,
            "email_confirmed_at": self.email_confirmed_at,
            "phone": "",
            "confirmed_at": self.email_confirmed_at,
            "last_sign_in_at": self.last_sign_in_at,
            "app_metadata": self.raw_app_meta_data,
            "user_metadata": self.raw_user_meta_data,
            "identities": [],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "is_anonymous": self.is_anonymous,
        })
    }
}

async fn signup(State(state): State<AuthState>, Json(body): Json<Credentials>) -> AuthResult {
    let email = normalized_email(body.email.as_deref())?;
    let password = body.password.unwrap_or_default();
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
            format!("Password should be at least {MIN_PASSWORD_LEN} characters."),
        ));
    }
    let hash = hash_password(password).await?;
    let metadata = body.data.filter(Value::is_object).unwrap_or_else(|| json!({}));
    let inserted: Option<UserRow> = sqlx::query_as(concat!(
        "insert into auth.users (email, encrypted_password, raw_user_meta_data, email_confirmed_at) \
         values ($1, $2, $3, now()) on conflict (email) where is_anonymous = false do nothing returning ",
        user_columns!()
    ))
    .bind(&email)
    .bind(&hash)
    .bind(&metadata)
    .fetch_optional(&state.pool)
    .await?;
    let Some(user) = inserted else {
        return Err(AuthError::new(StatusCode::UNPROCESSABLE_ENTITY, "user_already_exists", "User already registered"));
    };
    issue_session(&state, user).await
}

async fn token(
    State(state): State<AuthState>,
    Query(query): Query<GrantQuery>,
    Json(body): Json<Credentials>,
) -> AuthResult {
    match query.grant_type.as_deref() {
        Some("password") => password_grant(&state, body).await,
        Some("refresh_token") => refresh_grant(&state, body).await,
        other => Err(AuthError::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            format!("unsupported grant_type {:?}", other.unwrap_or("")),
        )),
    }
}

async fn password_grant(state: &AuthState, body: Credentials) -> AuthResult {
    let invalid = || AuthError::new(StatusCode::BAD_REQUEST, "invalid_credentials", "Invalid login credentials");
    let email = normalized_email(body.email.as_deref())?;
    let password = body.password.unwrap_or_default();
    let user: Option<UserRow> = sqlx::query_as(concat!(
        "select ",
        user_columns!(),
        " from auth.users where email = $1 and is_anonymous = false"
    ))
    .bind(&email)
    .fetch_optional(&state.pool)
    .await?;
    let Some(user) = user else {
        return Err(invalid());
    };
    let hash = user.encrypted_password.clone().unwrap_or_default();
    let matches =
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false)).await.unwrap_or(false);
    if !matches {
        return Err(invalid());
    }
    issue_session(state, user).await
}

async fn refresh_grant(state: &AuthState, body: Credentials) -> AuthResult {
    let presented = body.refresh_token.unwrap_or_default();
    let mut tx = state.pool.begin().await?;
    let row: Option<(i64, Uuid, Uuid, bool)> = sqlx::query_as(
        "select id, user_id, session_id, revoked from auth.refresh_tokens where token_hash = $1 for update",
    )
    .bind(sha256_hex(&presented))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, user_id, session_id, revoked)) = row else {
        return Err(AuthError::new(
            StatusCode::BAD_REQUEST,
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        ));
    };
    if revoked {
        // Reuse of a rotated token means it leaked: end the whole session, as GoTrue does.
        sqlx::query("delete from auth.sessions where id = $1").bind(session_id).execute(&mut *tx).await?;
        tx.commit().await?;
        return Err(AuthError::new(
            StatusCode::BAD_REQUEST,
            "refresh_token_already_used",
            "Invalid Refresh Token: Already Used",
        ));
    }
    sqlx::query("update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let refresh_token = new_refresh_token(&mut tx, user_id, session_id).await?;
    let user: UserRow = sqlx::query_as(concat!("select ", user_columns!(), " from auth.users where id = $1"))
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    session_response(state, &user, session_id, refresh_token)
}

async fn user(State(state): State<AuthState>, headers: HeaderMap) -> AuthResult {
    let (id, _) = authenticate(&state, &headers).await?;
    let user: Option<UserRow> = sqlx::query_as(concat!("select ", user_columns!(), " from auth.users where id = $1"))
        .bind(id)
        .fetch_optional(&state.pool)
        .await?;
    let user = user.ok_or_else(|| {
        AuthError::new(StatusCode::FORBIDDEN, "user_not_found", "User from sub claim in JWT does not exist")
    })?;
    Ok(with_api_version(Json(user.to_json()).into_response()))
}

async fn logout(State(state): State<AuthState>, Query(query): Query<LogoutQuery>, headers: HeaderMap) -> AuthResult {
    let (user_id, session_id) = authenticate(&state, &headers).await?;
    let statement = match query.scope.as_deref().unwrap_or("global") {
        "local" => "delete from auth.sessions where user_id = $1 and id = $2",
        "others" => "delete from auth.sessions where user_id = $1 and id is distinct from $2",
        "global" => "delete from auth.sessions where user_id = $1",
        other => {
            return Err(AuthError::new(
                StatusCode::BAD_REQUEST,
                "validation_failed",
                format!("unsupported logout scope {other:?}"),
            ));
        }
    };
    sqlx::query(statement).bind(user_id).bind(session_id).execute(&state.pool).await?;
    Ok(with_api_version(StatusCode::NO_CONTENT.into_response()))
}

/// Start a new Auth session for `user` and answer with its tokens.
async fn issue_session(state: &AuthState, user: UserRow) -> AuthResult {
    let mut tx = state.pool.begin().await?;
    let session_id: Uuid = sqlx::query_scalar("insert into auth.sessions (user_id) values ($1) returning id")
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await?;
    let user: UserRow = sqlx::query_as(concat!(
        "update auth.users set last_sign_in_at = now() where id = $1 returning ",
        user_columns!()
    ))
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    let refresh_token = new_refresh_token(&mut tx, user.id, session_id).await?;
    tx.commit().await?;
    session_response(state, &user, session_id, refresh_token)
}

fn session_response(state: &AuthState, user: &UserRow, session_id: Uuid, refresh_token: String) -> AuthResult {
    let now = now_seconds();
    let claims = Claims {
        iss: state.issuer.clone(),
        sub: Some(user.id.to_string()),
        aud: Some("authenticated".into()),
        exp: now + ACCESS_TOKEN_TTL,
        iat: now,
        role: Role::Authenticated,
        email: user.email.clone(),
        session_id: Some(session_id.to_string()),
        is_anonymous: user.is_anonymous,
        app_metadata: Some(user.raw_app_meta_data.clone()),
        user_metadata: Some(user.raw_user_meta_data.clone()),
        aal: Some("aal1".into()),
        guest: None,
    };
    let access_token = state.keys.signing.sign(&claims).map_err(|error| {
        tracing::error!(%error, "cannot sign access token");
        AuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "cannot sign token")
    })?;
    let body = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_TTL,
        "expires_at": now + ACCESS_TOKEN_TTL,
        "refresh_token": refresh_token,
        "user": user.to_json(),
    });
    Ok(with_api_version(Json(body).into_response()))
}

async fn new_refresh_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<String, AuthError> {
    let token = random_token();
    sqlx::query("insert into auth.refresh_tokens (token_hash, user_id, session_id) values ($1, $2, $3)")
        .bind(sha256_hex(&token))
        .bind(user_id)
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

/// The user and session of the request's bearer token, which must be valid and whose
/// session must not have been logged out.
async fn authenticate(state: &AuthState, headers: &HeaderMap) -> Result<(Uuid, Uuid), AuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| {
            AuthError::new(StatusCode::UNAUTHORIZED, "no_authorization", "This endpoint requires a Bearer token")
        })?;
    let claims: Claims = state.keys.verifying.verify(token, true).map_err(|_| AuthError::bad_jwt())?;
    let parse = |value: Option<&str>| value.and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(AuthError::bad_jwt);
    let (user_id, session_id) = (parse(claims.sub.as_deref())?, parse(claims.session_id.as_deref())?);
    let live: bool = sqlx::query_scalar("select exists (select from auth.sessions where id = $1 and user_id = $2)")
        .bind(session_id)
        .bind(user_id)
        .fetch_one(&state.pool)
        .await?;
    if !live {
        return Err(AuthError::new(
            StatusCode::FORBIDDEN,
            "session_not_found",
            "Session from session_id claim in JWT does not exist",
        ));
    }
    Ok((user_id, session_id))
}

fn normalized_email(email: Option<&str>) -> Result<String, AuthError> {
    let email = email.unwrap_or_default().trim().to_lowercase();
    let valid = email.len() <= 255
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if valid {
        Ok(email)
    } else {
        Err(AuthError::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "Unable to validate email address: invalid format",
        ))
    }
}

async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| AuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "unexpected_failure", "cannot hash password"))
}

/// 256 random bits, URL-safe.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a token: how tokens are stored.
pub fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// The public keys user tokens are verified with (empty in the legacy system), as Auth serves
/// them to anyone: PostgREST, Realtime and the edge fetch them.
async fn jwks(State(state): State<AuthState>) -> Response {
    let mut response = Json(state.keys.jwks().clone()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=600"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(normalized_email(Some("  Ann@Example.COM ")).unwrap(), "ann@example.com");
        assert!(normalized_email(Some("not-an-email")).is_err());
        assert!(normalized_email(Some("@example.com")).is_err());
        assert!(normalized_email(None).is_err());
    }

    #[test]
    fn tokens_are_random_and_hashed_to_hex() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
