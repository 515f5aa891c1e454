//! One WebSocket: Phoenix channels multiplexed by topic, as Realtime's socket and channel
//! processes handle them (join, leave, heartbeat, broadcast, presence, token refresh, expiry).

use super::authorization::{ReadAccess, may_write, read_access};
use super::binding::Binding;
use super::changes::{binary_fanout, check_binding};
use super::hub::{Audience, ChannelId, Fanout, Member, Outbox, TopicKey};
use super::token::{self, Token};
use super::{RealtimeState, now_seconds};
use axum::extract::ws::{Message as WsMessage, WebSocket};
use chat_client::realtime::{BinaryBroadcast, Body, Message, Vsn, decode_binary, decode_text, encode_text};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Presence calls a channel may make per window before it is closed.
const PRESENCE_CALLS: usize = 5;
/// The window of [`PRESENCE_CALLS`].
const PRESENCE_WINDOW: Duration = Duration::from_secs(30);

/// A joined channel, as this socket knows it.
struct Channel {
    id: ChannelId,
    key: TopicKey,
    sub_topic: String,
    join_ref: String,
    token: Arc<Token>,
    ack: bool,
    presence_key: String,
    /// Write permissions already probed on this private topic, by extension.
    may_write: HashMap<&'static str, bool>,
    presence_calls: VecDeque<Instant>,
}

/// Serves one upgraded socket until it closes, times out or falls behind.
pub async fn serve(state: Arc<RealtimeState>, socket: WebSocket, vsn: Vsn, socket_token: Token) {
    let (outbox, mut queue, overflow) = Outbox::new(vsn);
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(frame) = queue.recv().await {
            let closing = matches!(frame, WsMessage::Close(_));
            if sink.send(frame).await.is_err() || closing {
                break;
            }
        }
    });
    let mut connection = Connection { state, outbox, socket_token: Arc::new(socket_token), channels: HashMap::new() };
    let mut last_seen = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            frame = stream.next() => {
                last_seen = Instant::now();
                match frame {
                    Some(Ok(WsMessage::Text(text))) => connection.text(text.as_str()).await,
                    Some(Ok(WsMessage::Binary(bytes))) => connection.binary(&bytes).await,
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                    Some(Ok(WsMessage::Close(_)) | Err(_)) | None => break,
                }
            }
            () = overflow.notified() => {
                tracing::debug!("realtime socket fell behind; disconnecting it");
                break;
            }
            _ = tick.tick() => {
                if last_seen.elapsed() >= connection.state.limits.idle_timeout {
                    connection.outbox.send(WsMessage::Close(None));
                    break;
                }
                connection.expire_tokens();
            }
        }
    }
    for channel in connection.channels.values() {
        connection.state.hub.leave(&channel.key, channel.id);
    }
    drop(connection);
    if tokio::time::timeout(Duration::from_secs(1), writer).await.is_err() {
        tracing::debug!("realtime socket writer did not finish in time");
    }
}

struct Connection {
    state: Arc<RealtimeState>,
    outbox: Outbox,
    socket_token: Arc<Token>,
    channels: HashMap<String, Channel>,
}

impl Connection {
    fn push(&self, message: &Message) {
        self.outbox.send(WsMessage::Text(encode_text(self.outbox.vsn, message, false).into()));
    }

    fn reply(&self, request: &Message, join_ref: Option<String>, status: &str, response: Value) {
        let payload = json!({"status": status, "response": response});
        self.push(
            &Message::new(request.topic.clone(), "phx_reply", payload).with_refs(join_ref, request.reference.clone()),
        );
    }

    fn system(&self, channel: &Channel, extension: &str, status: &str, text: &str) {
        let payload = json!({"message": text, "status": status, "extension": extension, "channel": channel.sub_topic});
        self.push(
            &Message::new(channel.key.topic.clone(), "system", payload).with_refs(Some(channel.join_ref.clone()), None),
        );
    }

    /// Ends a channel: an optional `system` error, then `phx_close`.
    fn close(&mut self, topic: &str, error: Option<&str>) {
        let Some(channel) = self.channels.remove(topic) else { return };
        if let Some(text) = error {
            self.system(&channel, "system", "error", text);
        }
        let join_ref = Some(channel.join_ref.clone());
        self.push(
            &Message::new(channel.key.topic.clone(), "phx_close", json!({})).with_refs(join_ref.clone(), join_ref),
        );
        self.state.hub.leave(&channel.key, channel.id);
    }

    async fn text(&mut self, text: &str) {
        let Ok(message) = decode_text(self.outbox.vsn, text) else {
            tracing::debug!("realtime: unreadable frame ignored");
            return;
        };
        if message.topic == "phoenix" {
            if message.event == "heartbeat" {
                self.reply(&message, None, "ok", json!({}));
            }
            return;
        }
        if message.event == "phx_join" {
            return self.join(message).await;
        }
        let Some(channel) = self.channels.get(&message.topic) else {
            let (status, response) = if message.event == "phx_leave" {
                ("ok", json!({}))
            } else {
                ("error", json!({"reason": "unmatched topic"}))
            };
            return self.reply(&message, None, status, response);
        };
        if message.join_ref.as_ref().is_some_and(|r| *r != channel.join_ref) {
            return;
        }
        let join_ref = Some(channel.join_ref.clone());
        match message.event.as_str() {
            "phx_leave" => {
                self.reply(&message, join_ref, "ok", json!({}));
                self.close(&message.topic, None);
            }
            "broadcast" => {
                let event = message.payload.get("event").and_then(Value::as_str).unwrap_or_default().to_owned();
                let body = message.payload.get("payload").cloned().unwrap_or_else(|| json!({}));
                let text_payload = message.payload.clone();
                self.broadcast(&message, event, Body::Json(body.to_string()), Some(text_payload)).await;
            }
            "presence" => self.presence(&message).await,
            "access_token" => self.refresh(&message).await,
            _ => {}
        }
    }

    async fn binary(&mut self, bytes: &[u8]) {
        let Ok(push) = decode_binary(bytes) else {
            tracing::debug!("realtime: unreadable binary frame ignored");
            return;
        };
        let request = Message::new(push.topic.clone(), "broadcast", Value::Null)
            .with_refs(push.join_ref.clone(), push.reference.clone());
        let Some(channel) = self.channels.get(&push.topic) else {
            return self.reply(&request, None, "error", json!({"reason": "unmatched topic"}));
        };
        if push.join_ref.as_ref().is_some_and(|r| *r != channel.join_ref) {
            return;
        }
        self.broadcast(&request, push.event, push.body, None).await;
    }

    async fn join(&mut self, message: Message) {
        let join_ref = message.join_ref.clone().or_else(|| message.reference.clone()).unwrap_or_default();
        let refuse = |this: &Self, reason: String| {
            this.reply(&message, Some(join_ref.clone()), "error", json!({"reason": reason}))
        };
        let Some(sub_topic) = message.topic.strip_prefix("realtime:").map(str::to_owned) else {
            return self.reply(&message, None, "error", json!({"reason": "unmatched topic"}));
        };
        if sub_topic.is_empty() {
            return refuse(self, "TopicNameRequired: You must provide a topic name".into());
        }
        if let Some(old) = self.channels.get(&message.topic) {
            let old_ref = Some(old.join_ref.clone());
            let close = Message::new(message.topic.clone(), "phx_close", json!({})).with_refs(old_ref.clone(), old_ref);
            self.push(&close);
            let old = self.channels.remove(&message.topic).expect("just found");
            self.state.hub.leave(&old.key, old.id);
        }
        if self.channels.len() >= self.state.limits.max_channels {
            return refuse(self, "ChannelRateLimitReached: Too many channels".into());
        }
        let config = message.payload.get("config").cloned().unwrap_or_else(|| json!({}));
        let flag = |value: Option<&Value>| match value {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        let private = flag(config.get("private"));
        let token = match channel_token(&message.payload) {
            None => self.socket_token.clone(),
            Some(raw) => match token::verify(raw, &self.state.keys, now_seconds()) {
                Ok(token) => Arc::new(token),
                Err(error) => return refuse(self, error.reason()),
            },
        };
        if token.exp <= now_seconds() {
            return refuse(self, token::TokenError::Expired(now_seconds() - token.exp).reason());
        }
        let access = if private {
            match read_access(&self.state.pool, &token, &sub_topic).await {
                Ok(access) => access,
                Err(error) => {
                    tracing::warn!(%error, "realtime authorization failed");
                    return refuse(
                        self,
                        "UnableToConnectToProject: Realtime was unable to connect to the project database".into(),
                    );
                }
            }
        } else {
            ReadAccess { broadcast: true, presence: true }
        };
        if !access.broadcast && !access.presence {
            return refuse(
                self,
                format!("Unauthorized: You do not have permissions to read from this Channel topic: {sub_topic}"),
            );
        }

        let entries: Vec<Value> = config.get("postgres_changes").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut bindings = Vec::new();
        let mut echoes = Vec::new();
        let mut binding_errors = Vec::new();
        for entry in &entries {
            match Binding::parse(entry) {
                Ok(binding) => {
                    let mut echo = entry.clone();
                    echo["id"] = json!(binding.id);
                    echoes.push(echo);
                    match check_binding(&self.state.pool, &binding).await {
                        Ok(()) => bindings.push(binding),
                        Err(error) => binding_errors.push(error),
                    }
                }
                Err(error) => {
                    echoes.push(entry.clone());
                    binding_errors.push(error);
                }
            }
        }
        let presence = config.get("presence");
        let presence_enabled = presence.is_some_and(|p| flag(p.get("enabled")));
        let presence_key = presence
            .and_then(|p| p.get("key"))
            .and_then(Value::as_str)
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let broadcast = config.get("broadcast");
        let channel = Channel {
            id: self.state.next_channel_id(),
            key: TopicKey { topic: message.topic.clone(), private },
            sub_topic,
            join_ref: join_ref.clone(),
            token: token.clone(),
            ack: broadcast.is_some_and(|b| flag(b.get("ack"))),
            presence_key,
            may_write: HashMap::new(),
            presence_calls: VecDeque::new(),
        };
        let member = Member {
            outbox: self.outbox.clone(),
            echo_self: broadcast.is_some_and(|b| flag(b.get("self"))),
            read_broadcast: access.broadcast,
            read_presence: access.presence,
            bindings: Arc::new(bindings),
            token,
        };
        let has_bindings = !member.bindings.is_empty();
        self.state.hub.join(&channel.key, channel.id, member);
        self.reply(&message, Some(join_ref.clone()), "ok", json!({"postgres_changes": echoes}));
        if presence_enabled && access.presence {
            let state = self.state.hub.presence_state(&channel.key);
            self.push(&Message::new(message.topic.clone(), "presence_state", state).with_refs(Some(join_ref), None));
        }
        if has_bindings {
            self.system(&channel, "postgres_changes", "ok", "Subscribed to PostgreSQL");
        }
        for error in binding_errors {
            self.system(&channel, "postgres_changes", "error", &error);
        }
        self.channels.insert(message.topic, channel);
    }

    /// Relays a broadcast. `text_payload` is the payload of a text push (relayed as text);
    /// `None` for a binary push (relayed as kind 4).
    async fn broadcast(&mut self, request: &Message, event: String, body: Body, text_payload: Option<Value>) {
        let max_payload = self.state.limits.max_payload_bytes;
        let Some(channel) = self.channels.get(&request.topic) else { return };
        let (ack, join_ref) = (channel.ack, Some(channel.join_ref.clone()));
        if body.len() > max_payload {
            if ack {
                self.reply(request, join_ref, "error", json!({"reason": "payload_size_exceeded"}));
            }
            return;
        }
        if !self.may_write(&request.topic, "broadcast").await {
            return;
        }
        let Some(channel) = self.channels.get(&request.topic) else { return };
        let frame = match text_payload {
            Some(payload) => Fanout::text(&Message::new(request.topic.clone(), "broadcast", payload)),
            None => {
                let broadcast = BinaryBroadcast {
                    join_ref: None,
                    reference: None,
                    topic: request.topic.clone(),
                    event,
                    meta: None,
                    body,
                };
                let Some(frame) = binary_fanout(&broadcast) else { return };
                frame
            }
        };
        self.state.hub.fan_out(&channel.key, &frame, Audience::Broadcast { from: Some(channel.id) });
        if ack {
            self.reply(request, join_ref, "ok", json!({}));
        }
    }

    /// Public topics are open to every joined channel; private ones ask RLS once per extension.
    async fn may_write(&mut self, topic: &str, extension: &'static str) -> bool {
        let Some(channel) = self.channels.get(topic) else { return false };
        if !channel.key.private {
            return true;
        }
        if let Some(known) = channel.may_write.get(extension) {
            return *known;
        }
        let allowed = may_write(&self.state.pool, &channel.token, &channel.sub_topic, extension).await.unwrap_or(false);
        if let Some(channel) = self.channels.get_mut(topic) {
            channel.may_write.insert(extension, allowed);
        }
        allowed
    }

    async fn presence(&mut self, message: &Message) {
        let Some(channel) = self.channels.get_mut(&message.topic) else { return };
        let join_ref = Some(channel.join_ref.clone());
        let now = Instant::now();
        while channel.presence_calls.front().is_some_and(|t| now.duration_since(*t) > PRESENCE_WINDOW) {
            channel.presence_calls.pop_front();
        }
        if channel.presence_calls.len() >= PRESENCE_CALLS {
            return self.close(&message.topic, Some("Client presence rate limit exceeded"));
        }
        channel.presence_calls.push_back(now);
        let event = message.payload.get("event").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        match event.as_str() {
            "track" => {
                let Some(payload) = message.payload.get("payload").and_then(Value::as_object).cloned() else {
                    let reason = json!({"reason": "Presence track payload must be a map"});
                    return self.reply(message, join_ref, "error", reason);
                };
                if Value::Object(payload.clone()).to_string().len() > self.state.limits.max_payload_bytes {
                    return self.close(&message.topic, Some("Track message size exceeded"));
                }
                if !self.may_write(&message.topic, "presence").await {
                    return self.reply(message, join_ref, "error", json!({}));
                }
                let Some(channel) = self.channels.get(&message.topic) else { return };
                self.state.hub.track(&channel.key, channel.id, &channel.presence_key, payload);
                self.reply(message, join_ref, "ok", json!({}));
            }
            "untrack" => {
                self.state.hub.untrack(&channel.key, channel.id);
                self.reply(message, join_ref, "ok", json!({}));
            }
            _ => self.reply(message, join_ref, "error", json!({})),
        }
    }

    /// `access_token`: a new token for the channel, re-verified and re-authorized.
    async fn refresh(&mut self, message: &Message) {
        let Some(raw) = channel_token(&message.payload) else { return };
        let Some(channel) = self.channels.get(&message.topic) else { return };
        if channel.token.raw == raw {
            return;
        }
        let token = match token::verify(raw, &self.state.keys, now_seconds()) {
            Ok(token) => Arc::new(token),
            Err(error) => return self.close(&message.topic, Some(&error.message())),
        };
        let access = if channel.key.private {
            read_access(&self.state.pool, &token, &channel.sub_topic).await.unwrap_or_default()
        } else {
            ReadAccess { broadcast: true, presence: true }
        };
        if !access.broadcast && !access.presence {
            let text = format!("You no longer have permission to read from this Channel topic: {}", channel.sub_topic);
            return self.close(&message.topic, Some(&text));
        }
        let Some(channel) = self.channels.get_mut(&message.topic) else { return };
        channel.token = token.clone();
        channel.may_write.clear();
        self.state.hub.update(&channel.key, channel.id, |member| {
            member.token = token;
            member.read_broadcast = access.broadcast;
            member.read_presence = access.presence;
        });
    }

    /// Closes every channel whose token has expired, as Realtime's expiry timer does.
    fn expire_tokens(&mut self) {
        let now = now_seconds();
        let expired: Vec<(String, i64)> = self
            .channels
            .iter()
            .filter(|(_, c)| c.token.exp <= now)
            .map(|(topic, c)| (topic.clone(), now - c.token.exp))
            .collect();
        for (topic, seconds) in expired {
            self.close(&topic, Some(&token::TokenError::Expired(seconds).message()));
        }
    }
}

/// The join's or refresh's `access_token` (alias `user_token`); `sb_` keys and null count as absent.
fn channel_token(payload: &Value) -> Option<&str> {
    let token = payload.get("access_token").or_else(|| payload.get("user_token")).and_then(Value::as_str)?;
    (!token.is_empty() && !token.starts_with("sb_")).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_tokens_ignore_publishable_keys() {
        assert_eq!(channel_token(&json!({"access_token": "eyJ"})), Some("eyJ"));
        assert_eq!(channel_token(&json!({"user_token": "eyJ"})), Some("eyJ"));
        assert_eq!(channel_token(&json!({"access_token": "sb_publishable_x"})), None);
        assert_eq!(channel_token(&json!({"access_token": null})), None);
        assert_eq!(channel_token(&json!({})), None);
    }
}
