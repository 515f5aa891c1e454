//! `/realtime/v1`: a Supabase Realtime server for the local stack.
//!
//! Speaks the Phoenix protocol as hosted Realtime does (vsn 1.0.0 and 2.0.0, binary broadcasts,
//! presence, postgres_changes under RLS, private channels authorized by RLS on
//! `realtime.messages`) so `@supabase/realtime-js` and the widget's client work unchanged.
//! The wire format lives in `chat_client::realtime`; the database side in `sql/realtime.sql`.

pub mod authorization;
pub mod binding;
pub mod changes;
pub mod hub;
pub mod socket;
pub mod token;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use chat_client::realtime::{BinaryBroadcast, Body, Message, Vsn};
use hub::{Audience, Fanout, Hub, TopicKey};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Read and write buffer of each socket; larger frames still pass, in several reads.
const SOCKET_BUFFER_BYTES: usize = 4096;

/// Server limits (Supabase's defaults for a free project unless said otherwise).
#[derive(Clone, Debug)]
pub struct Limits {
    /// A socket that sends nothing for this long is closed (Phoenix: 60 s).
    pub idle_timeout: Duration,
    /// Largest broadcast or presence payload, in bytes (free plan: 256 KB).
    pub max_payload_bytes: usize,
    /// Channels one socket may join.
    pub max_channels: usize,
    /// Largest WebSocket frame accepted.
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60),
            max_payload_bytes: 256_000,
            max_channels: 100,
            max_frame_bytes: 5_000_000,
        }
    }
}

/// Shared state of the Realtime server.
#[derive(Debug)]
pub struct RealtimeState {
    /// Superuser pool: probes and change delivery switch role per subscriber.
    pub pool: sqlx::PgPool,
    /// Every joined channel.
    pub hub: Arc<Hub>,
    /// The project's keys.
    pub keys: Arc<crate::keys::ProjectKeys>,
    /// Server limits.
    pub limits: Limits,
    next_channel: AtomicU64,
}

impl RealtimeState {
    /// A server on `pool`; call [`start_listener`] once to deliver database events.
    pub fn new(pool: sqlx::PgPool, keys: Arc<crate::keys::ProjectKeys>, limits: Limits) -> Arc<Self> {
        Arc::new(Self { pool, hub: Arc::new(Hub::default()), keys, limits, next_channel: AtomicU64::new(1) })
    }

    fn next_channel_id(&self) -> hub::ChannelId {
        self.next_channel.fetch_add(1, Ordering::Relaxed)
    }
}

/// Starts delivering what the database announces (row changes, `realtime.send`); returns once
/// it listens, so a server restarted mid-chat misses nothing committed after it serves.
pub async fn start_listener(state: &Arc<RealtimeState>) -> sqlx::Result<()> {
    changes::start(state.pool.clone(), state.hub.clone()).await
}

/// The routes under `/realtime/v1`: `/websocket` and the broadcast REST API.
pub fn router(state: Arc<RealtimeState>) -> Router {
    Router::new()
        .route("/websocket", any(websocket))
        .route("/api/broadcast", post(broadcast_batch))
        .route("/api/broadcast/{topic}/events/{event}", post(broadcast_single))
        .with_state(state)
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Refusals before the upgrade are plain HTTP, `{"error": ...}`, as Realtime answers them.
fn handshake_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

async fn websocket(
    State(state): State<Arc<RealtimeState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).or(params.get("apikey").map(String::as_str));
    let Some(api_key) = api_key else {
        return handshake_error(StatusCode::UNAUTHORIZED, "API key is missing");
    };
    let token = match token::verify(api_key, &state.keys, now_seconds()) {
        Ok(token) => token,
        Err(error) => return handshake_error(StatusCode::UNAUTHORIZED, &error.message()),
    };
    let Some(vsn) = Vsn::parse(params.get("vsn").map(String::as_str)) else {
        return handshake_error(StatusCode::BAD_REQUEST, "Unsupported serializer version (vsn): use 1.0.0 or 2.0.0");
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let max_frame = state.limits.max_frame_bytes;
    // Small socket buffers (tungstenite reserves 128 KiB per direction by default): a chat
    // socket carries small frames, and this is most of what an idle socket costs.
    upgrade
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| socket::serve(state, socket, vsn, token))
}

/// The caller of a REST broadcast: `Authorization: Bearer`, else the `apikey`.
fn rest_token(state: &RealtimeState, headers: &HeaderMap) -> Option<token::Token> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let raw = bearer.or_else(|| headers.get("apikey").and_then(|v| v.to_str().ok()))?;
    token::verify(raw, &state.keys, now_seconds()).ok()
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"message": "Unauthorized"}))).into_response()
}

/// May the caller send to this topic? Public: any valid token. Private: RLS INSERT check.
async fn may_send(state: &RealtimeState, token: &token::Token, topic: &str, private: bool) -> bool {
    !private || authorization::may_write(&state.pool, token, topic, "broadcast").await.unwrap_or(false)
}

/// `POST /api/broadcast`: `{"messages": [{topic, event, payload, private?, id?}]}` → 202.
/// Private messages the caller may not send are dropped, and the answer is still 202.
async fn broadcast_batch(State(state): State<Arc<RealtimeState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = rest_token(&state, &headers) else { return unauthorized() };
    let invalid = |what: &str| (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"errors": {"messages": [what]}})));
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return invalid("body must be JSON").into_response();
    };
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return invalid("messages is required").into_response();
    };
    let mut checked = Vec::with_capacity(messages.len());
    for message in messages {
        let topic = message.get("topic").and_then(Value::as_str).filter(|t| !t.is_empty());
        let event = message.get("event").and_then(Value::as_str);
        let payload = message.get("payload").filter(|p| p.is_object());
        let (Some(topic), Some(event), Some(payload)) = (topic, event, payload) else {
            return invalid("each message needs a topic, an event and an object payload").into_response();
        };
        if payload.to_string().len() > state.limits.max_payload_bytes {
            return invalid("payload_size_exceeded").into_response();
        }
        let private = message.get("private").and_then(Value::as_bool).unwrap_or(false);
        checked.push((topic, event, payload, private, message.get("id").cloned()));
    }
    let mut permitted: HashMap<(String, bool), bool> = HashMap::new();
    for (topic, event, payload, private, id) in checked {
        let key = (topic.to_owned(), private);
        let allowed = match permitted.get(&key) {
            Some(known) => *known,
            None => {
                let allowed = may_send(&state, &token, topic, private).await;
                permitted.insert(key, allowed);
                allowed
            }
        };
        if !allowed {
            continue;
        }
        let full_topic = format!("realtime:{topic}");
        let mut text = json!({"type": "broadcast", "event": event, "payload": payload});
        if let Some(id) = id {
            text["meta"] = json!({"id": id});
        }
        let frame = Fanout::text(&Message::new(full_topic.clone(), "broadcast", text));
        state.hub.fan_out(&TopicKey { topic: full_topic, private }, &frame, Audience::Broadcast { from: None });
    }
    StatusCode::ACCEPTED.into_response()
}

#[derive(serde::Deserialize)]
struct SingleQuery {
    #[serde(default)]
    private: bool,
}

/// `POST /api/broadcast/{topic}/events/{event}`: the body is the payload (JSON or raw bytes);
/// delivered as a kind-4 binary broadcast.
async fn broadcast_single(
    State(state): State<Arc<RealtimeState>>,
    Path((topic, event)): Path<(String, String)>,
    Query(query): Query<SingleQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(token) = rest_token(&state, &headers) else { return unauthorized() };
    if body.len() > state.limits.max_payload_bytes {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"errors": {"payload": ["payload_size_exceeded"]}})))
            .into_response();
    }
    let is_binary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    let body = if is_binary {
        Body::Binary(body.to_vec())
    } else {
        match std::str::from_utf8(&body).ok().filter(|text| serde_json::from_str::<Value>(text).is_ok()) {
            Some(text) => Body::Json(text.to_owned()),
            None => {
                return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"errors": {"payload": ["must be JSON"]}})))
                    .into_response();
            }
        }
    };
    if may_send(&state, &token, &topic, query.private).await {
        let full_topic = format!("realtime:{topic}");
        let broadcast =
            BinaryBroadcast { join_ref: None, reference: None, topic: full_topic.clone(), event, meta: None, body };
        if let Some(frame) = changes::binary_fanout(&broadcast) {
            let key = TopicKey { topic: full_topic, private: query.private };
            state.hub.fan_out(&key, &frame, Audience::Broadcast { from: None });
        }
    }
    StatusCode::ACCEPTED.into_response()
}
