//! Calls to the edge API. Every failure is an `ApiError`; a network failure is
//! `upstream_unavailable`, so the caller can tell "retry later" from "this will never work".

use chat_core::api::{EndSession, Message, MessagePage, PostMessage, RefreshSession, Session, StartSession};
use chat_core::{ApiError, ErrorCode, WidgetState};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;

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

    /// `GET /v1/sites/{site_key}/widget`.
    pub async fn widget(&self, site_key: &str) -> Result<WidgetState, ApiError> {
        let response = Request::get(&format!("{}/v1/sites/{site_key}/widget", self.base)).send().await.map_err(|_| unreachable())?;
        if !response.ok() {
            return Err(response.json::<ApiError>().await.unwrap_or_else(|_| unreachable()));
        }
        let text = response.text().await.map_err(|_| unreachable())?;
        WidgetState::from_json(&text).map_err(|_| unreachable())
    }

    /// `POST /v1/sessions`.
    pub async fn start(&self, body: &StartSession) -> Result<Session, ApiError> {
        send_json(Request::post(&format!("{}/v1/sessions", self.base)), body).await
    }

    /// `POST /v1/sessions/refresh`.
    pub async fn refresh(&self, token: &str) -> Result<Session, ApiError> {
        send_json(Request::post(&format!("{}/v1/sessions/refresh", self.base)), &RefreshSession { token: token.into() }).await
    }

    /// `POST /v1/sessions/end`.
    pub async fn end(&self, jwt: &str, body: &EndSession) -> Result<serde_json::Value, ApiError> {
        send_json(Request::post(&format!("{}/v1/sessions/end", self.base)).header("Authorization", &bearer(jwt)), body).await
    }

    /// `POST /v1/messages`.
    pub async fn post(&self, jwt: &str, body: &PostMessage) -> Result<Message, ApiError> {
        send_json(Request::post(&format!("{}/v1/messages", self.base)).header("Authorization", &bearer(jwt)), body).await
    }

    /// `GET /v1/messages?after=&limit=`.
    pub async fn history(&self, jwt: &str, after: i64) -> Result<MessagePage, ApiError> {
        let url = format!("{}/v1/messages?after={after}&limit={}", self.base, chat_core::api::MAX_PAGE);
        answer(Request::get(&url).header("Authorization", &bearer(jwt)).send().await).await
    }
}

fn bearer(jwt: &str) -> String {
    format!("Bearer {jwt}")
}

async fn send_json<B: serde::Serialize, T: DeserializeOwned>(request: RequestBuilder, body: &B) -> Result<T, ApiError> {
    let request = request.json(body).map_err(|_| ApiError::new(ErrorCode::BadRequest, "cannot encode the request"))?;
    answer(request.send().await).await
}

async fn answer<T: DeserializeOwned>(response: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let response = response.map_err(|_| unreachable())?;
    if response.ok() {
        response.json::<T>().await.map_err(|_| unreachable())
    } else {
        Err(response.json::<ApiError>().await.unwrap_or_else(|_| unreachable()))
    }
}

/// The error for "the network or the service is down": always worth retrying.
pub fn unreachable() -> ApiError {
    ApiError::new(ErrorCode::UpstreamUnavailable, "the chat service cannot be reached")
}
