//! Calls to the edge API, with the browser's `fetch`. A failure is the edge's `ApiError` (a
//! network failure is `upstream_unavailable`: "retry later"), or an answer the widget cannot read
//! (a bug: logged to the console once per page, never retried).

use chat_client::call::CallError;
use chat_core::api::{EndSession, Message, MessagePage, PostMessage, RefreshSession, Session, StartSession};
use chat_core::{ApiError, ErrorCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicBool, Ordering};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// The edge, at `base`.
#[derive(Clone, Debug)]
pub struct Edge {
    base: String,
}

impl Edge {
    /// The edge API at `base` (e.g. `https://chat.example.com`).
    pub fn new(base: &str) -> Self {
        Self { base: base.trim_end_matches('/').to_string() }
    }

    /// `POST /v1/sessions`.
    pub async fn start(&self, body: &StartSession) -> Result<Session, CallError> {
        self.json("POST", "/v1/sessions", None, Some(body)).await
    }

    /// `POST /v1/sessions/refresh`.
    pub async fn refresh(&self, token: &str) -> Result<Session, CallError> {
        self.json("POST", "/v1/sessions/refresh", None, Some(&RefreshSession { token: token.into() })).await
    }

    /// `POST /v1/sessions/end`, or `POST /v1/sessions/rating` when the session goes on (`keep`).
    pub async fn end(&self, jwt: &str, body: &EndSession, keep: bool) -> Result<(), CallError> {
        let path = if keep { "/v1/sessions/rating" } else { "/v1/sessions/end" };
        self.call("POST", path, Some(jwt), Some(encode(body)?)).await.map(drop)
    }

    /// `POST /v1/messages`.
    pub async fn post(&self, jwt: &str, body: &PostMessage) -> Result<Message, CallError> {
        self.json("POST", "/v1/messages", Some(jwt), Some(body)).await
    }

    /// `GET /v1/messages?after=&limit=`.
    pub async fn history(&self, jwt: &str, after: i64) -> Result<MessagePage, CallError> {
        let path = format!("/v1/messages?after={after}&limit={}", chat_core::api::MAX_PAGE);
        self.json::<(), _>("GET", &path, Some(jwt), None).await
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        jwt: Option<&str>,
        body: Option<&B>,
    ) -> Result<T, CallError> {
        let body = body.map(encode).transpose()?;
        let text = self.call(method, path, jwt, body).await?;
        chat_client::json::from_str(&text).map_err(|_| unreadable(path, &text))
    }

    /// The body of a 2xx answer, or the API error the edge sent.
    async fn call(
        &self,
        method: &str,
        path: &str,
        jwt: Option<&str>,
        body: Option<String>,
    ) -> Result<String, CallError> {
        let init = RequestInit::new();
        init.set_method(method);
        let headers = Headers::new().map_err(|_| unreachable())?;
        if let Some(jwt) = jwt {
            headers.set("Authorization", &format!("Bearer {jwt}")).map_err(|_| unreachable())?;
        }
        if let Some(body) = body {
            headers.set("Content-Type", "application/json").map_err(|_| unreachable())?;
            init.set_body(&JsValue::from_str(&body));
        }
        init.set_headers(&headers);
        // A call never hangs the chat's background work: it fails (and is retried) instead.
        init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(CALL_TIMEOUT_MS)));
        let window = web_sys::window().ok_or_else(unreachable)?;
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(&format!("{}{path}", self.base), &init))
            .await
            .ok()
            .and_then(|r| r.dyn_into().ok())
            .ok_or_else(unreachable)?;
        let text = JsFuture::from(response.text().map_err(|_| unreachable())?)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .ok_or_else(unreachable)?;
        if response.ok() {
            return Ok(text);
        }
        Err(match chat_client::json::from_str::<ApiError>(&text) {
            Ok(error) => CallError::Api(error),
            // A gateway's own error page (the edge down or restarting): worth retrying.
            Err(_) if response.status() >= 500 => unreachable(),
            Err(_) => unreadable(path, &text),
        })
    }
}

/// The longest one API call may take.
const CALL_TIMEOUT_MS: u32 = 10_000;

fn encode<B: Serialize>(body: &B) -> Result<String, CallError> {
    serde_json::to_string(body).map_err(|_| ApiError::new(ErrorCode::BadRequest, "cannot encode the request").into())
}

/// The error for "the network or the service is down": always worth retrying.
fn unreachable() -> CallError {
    CallError::Api(ApiError::new(ErrorCode::UpstreamUnavailable, "the chat service cannot be reached"))
}

/// An answer to `path` that is not what the widget expects; the first is logged with its text.
fn unreadable(path: &str, text: &str) -> CallError {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        leptos::logging::error!("chat: unreadable answer to {path}: {text:.200}");
    }
    CallError::Unreadable
}
