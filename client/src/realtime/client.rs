//! A Realtime client without I/O: it turns socket events into frames to send and channel
//! events to show. The widget drives it over a browser WebSocket; tests drive it over TCP.
//!
//! Behaviour follows realtime-js: vsn 2.0.0, one ref counter per socket, a heartbeat every
//! [`HEARTBEAT_INTERVAL_MS`] (an unanswered one means the socket is dead), reconnect with
//! back-off, every channel rejoined with a fresh join ref and the latest token after a
//! reconnect, frames of stale joins dropped, broadcasts sent as binary kind 3.

use super::codec::{BinaryBroadcast, Body, decode_binary, encode_binary};
use crate::json::Raw;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How often a heartbeat is due.
pub const HEARTBEAT_INTERVAL_MS: u32 = 25_000;
/// Delays before reconnecting (and rejoining a refused channel), by attempt; the last repeats.
pub const RETRY_AFTER_MS: [u32; 4] = [1_000, 2_000, 5_000, 10_000];

/// A frame for the socket.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    /// A text frame.
    Text(String),
    /// A binary frame (broadcasts).
    Binary(Vec<u8>),
}

/// An event's payload, kept as the JSON text the server sent until the receiver decodes it
/// into the type it expects (the widget never builds a `serde_json::Value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload(String);

impl Payload {
    /// Wraps JSON text.
    pub fn new(json: impl Into<String>) -> Self {
        Self(json.into())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The payload as `T`, or `None` when it does not have that shape.
    pub fn decode<T: DeserializeOwned>(&self) -> Option<T> {
        crate::json::from_str(&self.0).ok()
    }
}

/// What happened on a channel.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The join was accepted (`postgres_changes` holds the bindings the server echoed).
    Joined {
        /// The sub-topic (without `realtime:`).
        topic: String,
    },
    /// The join was refused; the reason is Realtime's (`Unauthorized: ...`).
    JoinRefused {
        /// The sub-topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The server closed the channel (left, token expired, permission lost).
    Closed {
        /// The sub-topic.
        topic: String,
    },
    /// A broadcast, from a client or from the database.
    Broadcast {
        /// The sub-topic.
        topic: String,
        /// The user event (`typing`, `INSERT`...).
        event: String,
        /// The user payload.
        payload: Payload,
    },
    /// `presence_state` or `presence_diff` (see [`super::presence::Presence`]).
    Presence {
        /// The sub-topic.
        topic: String,
        /// True for a full state, false for a diff.
        full: bool,
        /// The payload.
        payload: Payload,
    },
    /// A row change for a postgres_changes binding.
    PostgresChange {
        /// The sub-topic.
        topic: String,
        /// `{ids, data}`.
        payload: Payload,
    },
    /// A `system` message.
    System {
        /// The sub-topic.
        topic: String,
        /// `{message, status, extension, channel}`.
        payload: Payload,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Joining,
    Joined,
    Errored,
    Closed,
}

/// A channel's `config` at join.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JoinConfig {
    /// Authorized by RLS on `realtime.messages`.
    pub private: bool,
    /// Broadcast options.
    pub broadcast: BroadcastConfig,
    /// Presence options.
    pub presence: PresenceConfig,
}

/// `config.broadcast`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BroadcastConfig {
    /// Receive one's own broadcasts.
    #[serde(rename = "self")]
    pub echo: bool,
    /// Ask the server to acknowledge each broadcast.
    pub ack: bool,
}

/// `config.presence`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PresenceConfig {
    /// Send `presence_state` after the join.
    pub enabled: bool,
    /// This client's presence key (empty: the server picks one).
    pub key: String,
}

#[derive(Serialize)]
struct JoinPayload<'a> {
    config: &'a JoinConfig,
    access_token: &'a str,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Track<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'static str,
    payload: &'a P,
}

#[derive(Serialize)]
struct AccessToken<'a> {
    access_token: &'a str,
}

/// A vsn 2.0.0 text frame as the client reads it: `[join_ref, ref, topic, event, payload]`,
/// the payload left as JSON text.
#[derive(Deserialize)]
struct Incoming<'a>(Option<String>, Option<String>, String, String, #[serde(borrow)] Raw<'a>);

/// The payload of a `phx_reply`.
#[derive(Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    response: ReplyResponse,
}

#[derive(Default, Deserialize)]
struct ReplyResponse {
    reason: Option<String>,
}

/// The payload of a text `broadcast` frame.
#[derive(Deserialize)]
struct TextBroadcast<'a> {
    #[serde(default)]
    event: String,
    #[serde(borrow)]
    payload: Option<Raw<'a>>,
}

/// A vsn 2.0.0 text frame written from typed parts: the client never serializes a
/// `serde_json::Value`, which keeps number formatting out of the widget.
fn frame<P: Serialize>(join_ref: Option<&str>, reference: &str, topic: &str, event: &str, payload: &P) -> Outgoing {
    Outgoing::Text(serde_json::to_string(&(join_ref, Some(reference), topic, event, payload)).unwrap_or_default())
}

#[derive(Clone, Debug)]
struct Channel {
    topic: String,
    config: JoinConfig,
    join_ref: Option<String>,
    state: State,
    refusals: usize,
}

/// The client's state.
#[derive(Clone, Debug)]
pub struct Client {
    token: String,
    next_ref: u64,
    open: bool,
    heartbeat_ref: Option<String>,
    reconnects: usize,
    channels: Vec<Channel>,
}

impl Client {
    /// A client whose channels authenticate with `token` (a user or guest JWT).
    pub fn new(token: impl Into<String>) -> Self {
        Self { token: token.into(), next_ref: 0, open: false, heartbeat_ref: None, reconnects: 0, channels: Vec::new() }
    }

    /// The socket URL for a Realtime endpoint (`.../realtime/v1`) and the project's API key.
    pub fn socket_url(endpoint: &str, api_key: &str) -> String {
        let endpoint = endpoint.trim_end_matches('/');
        let endpoint = endpoint
            .strip_prefix("https://")
            .map(|rest| format!("wss://{rest}"))
            .or_else(|| endpoint.strip_prefix("http://").map(|rest| format!("ws://{rest}")))
            .unwrap_or_else(|| endpoint.to_owned());
        format!("{endpoint}/websocket?apikey={api_key}&vsn=2.0.0")
    }

    fn make_ref(&mut self) -> String {
        self.next_ref += 1;
        self.next_ref.to_string()
    }

    fn full_topic(topic: &str) -> String {
        format!("realtime:{topic}")
    }

    fn channel(&self, topic: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.topic == topic)
    }

    fn join_frame(&mut self, index: usize) -> Outgoing {
        let reference = self.make_ref();
        let channel = &mut self.channels[index];
        channel.join_ref = Some(reference.clone());
        channel.state = State::Joining;
        let payload = JoinPayload { config: &channel.config, access_token: &self.token };
        frame(Some(&reference), &reference, &Self::full_topic(&channel.topic), "phx_join", &payload)
    }

    /// The socket opened: every channel (re)joins with a fresh ref and the current token.
    pub fn opened(&mut self) -> Vec<Outgoing> {
        self.open = true;
        self.reconnects = 0;
        self.heartbeat_ref = None;
        let wanted: Vec<usize> =
            (0..self.channels.len()).filter(|&i| self.channels[i].state != State::Closed).collect();
        wanted.into_iter().map(|i| self.join_frame(i)).collect()
    }

    /// The socket closed or failed: returns how long to wait before reconnecting.
    pub fn closed(&mut self) -> u32 {
        self.open = false;
        self.heartbeat_ref = None;
        for channel in &mut self.channels {
            if channel.state != State::Closed {
                channel.state = State::Errored;
            }
        }
        let delay = RETRY_AFTER_MS[self.reconnects.min(RETRY_AFTER_MS.len() - 1)];
        self.reconnects += 1;
        delay
    }

    /// A heartbeat is due. `None` means the previous one was never answered: close the socket
    /// and reconnect.
    pub fn heartbeat(&mut self) -> Option<Outgoing> {
        if !self.open || self.heartbeat_ref.is_some() {
            return None;
        }
        let reference = self.make_ref();
        self.heartbeat_ref = Some(reference.clone());
        Some(frame(None, &reference, "phoenix", "heartbeat", &Empty {}))
    }

    /// Joins `topic` (a sub-topic) with a `config` (`{"private": true, ...}`); the frame is
    /// returned when the socket is open, else the join is sent by [`Client::opened`].
    pub fn join(&mut self, topic: &str, config: JoinConfig) -> Option<Outgoing> {
        let index = match self.channels.iter().position(|c| c.topic == topic) {
            Some(index) => {
                self.channels[index].config = config;
                index
            }
            None => {
                let channel =
                    Channel { topic: topic.to_owned(), config, join_ref: None, state: State::Errored, refusals: 0 };
                self.channels.push(channel);
                self.channels.len() - 1
            }
        };
        self.open.then(|| self.join_frame(index))
    }

    /// Joins a refused or server-closed channel again (call after [`Client::rejoin_delay`]).
    pub fn rejoin(&mut self, topic: &str) -> Option<Outgoing> {
        let index = self.channels.iter().position(|c| c.topic == topic)?;
        self.open.then(|| self.join_frame(index))
    }

    /// How long to wait before rejoining a refused channel.
    pub fn rejoin_delay(&self, topic: &str) -> u32 {
        let refusals = self.channel(topic).map(|c| c.refusals).unwrap_or(0);
        RETRY_AFTER_MS[refusals.saturating_sub(1).min(RETRY_AFTER_MS.len() - 1)]
    }

    /// Leaves `topic` and forgets it.
    pub fn leave(&mut self, topic: &str) -> Option<Outgoing> {
        let index = self.channels.iter().position(|c| c.topic == topic)?;
        let channel = self.channels.remove(index);
        if !self.open || channel.state != State::Joined {
            return None;
        }
        let reference = self.make_ref();
        Some(frame(channel.join_ref.as_deref(), &reference, &Self::full_topic(topic), "phx_leave", &Empty {}))
    }

    /// True once the join of `topic` was accepted (and until the socket or channel closes).
    pub fn is_joined(&self, topic: &str) -> bool {
        self.channel(topic).is_some_and(|c| c.state == State::Joined)
    }

    /// A broadcast on a joined channel, as binary kind 3 (what realtime-js sends).
    pub fn broadcast<P: Serialize>(&mut self, topic: &str, event: &str, payload: &P) -> Option<Outgoing> {
        let join_ref = self.channel(topic).filter(|c| c.state == State::Joined && self.open)?.join_ref.clone();
        let push = BinaryBroadcast {
            join_ref,
            reference: Some(self.make_ref()),
            topic: Self::full_topic(topic),
            event: event.to_owned(),
            meta: None,
            body: Body::Json(serde_json::to_string(payload).ok()?),
        };
        encode_binary(&push, true).ok().map(Outgoing::Binary)
    }

    /// Tracks presence on a joined channel.
    pub fn track<P: Serialize>(&mut self, topic: &str, payload: &P) -> Option<Outgoing> {
        let join_ref = self.channel(topic).filter(|c| c.state == State::Joined && self.open)?.join_ref.clone();
        let reference = self.make_ref();
        let body = Track { kind: "presence", event: "track", payload };
        Some(frame(join_ref.as_deref(), &reference, &Self::full_topic(topic), "presence", &body))
    }

    /// Stops tracking presence on a joined channel (this client's key leaves).
    pub fn untrack(&mut self, topic: &str) -> Option<Outgoing> {
        let join_ref = self.channel(topic).filter(|c| c.state == State::Joined && self.open)?.join_ref.clone();
        let reference = self.make_ref();
        let body = Track { kind: "presence", event: "untrack", payload: &Empty {} };
        Some(frame(join_ref.as_deref(), &reference, &Self::full_topic(topic), "presence", &body))
    }

    /// A new token: kept for later joins and sent to every joined channel.
    pub fn set_token(&mut self, token: impl Into<String>) -> Vec<Outgoing> {
        let token = token.into();
        if token == self.token {
            return Vec::new();
        }
        self.token = token;
        if !self.open {
            return Vec::new();
        }
        let joined: Vec<(String, Option<String>)> = self
            .channels
            .iter()
            .filter(|c| c.state == State::Joined)
            .map(|c| (c.topic.clone(), c.join_ref.clone()))
            .collect();
        joined
            .into_iter()
            .map(|(topic, join_ref)| {
                let reference = self.make_ref();
                let payload = AccessToken { access_token: &self.token };
                frame(join_ref.as_deref(), &reference, &Self::full_topic(&topic), "access_token", &payload)
            })
            .collect()
    }

    /// A text frame from the server.
    pub fn receive_text(&mut self, text: &str) -> Vec<Event> {
        let Ok(Incoming(join_ref, reference, topic, event, payload)) = crate::json::from_str(text) else {
            return Vec::new();
        };
        if topic == "phoenix" {
            if reference.is_some() && reference == self.heartbeat_ref {
                self.heartbeat_ref = None;
            }
            return Vec::new();
        }
        let Some(topic) = topic.strip_prefix("realtime:").map(str::to_owned) else { return Vec::new() };
        let Some(channel) = self.channels.iter_mut().find(|c| c.topic == topic) else { return Vec::new() };
        if join_ref.is_some() && join_ref != channel.join_ref {
            return Vec::new();
        }
        let raw = || Payload::new(payload.get());
        let event = match event.as_str() {
            "phx_reply" if reference.is_some() && reference == channel.join_ref => {
                match crate::json::from_str::<Reply>(payload.get()) {
                    Ok(reply) if reply.status == "ok" => {
                        channel.state = State::Joined;
                        channel.refusals = 0;
                        Event::Joined { topic }
                    }
                    reply => {
                        channel.state = State::Errored;
                        channel.refusals += 1;
                        let reason = reply.ok().and_then(|r| r.response.reason);
                        Event::JoinRefused { topic, reason: reason.unwrap_or_else(|| "join refused".into()) }
                    }
                }
            }
            "phx_close" => {
                channel.state = State::Closed;
                Event::Closed { topic }
            }
            "phx_error" => {
                channel.state = State::Errored;
                channel.refusals += 1;
                Event::JoinRefused { topic, reason: "channel error".into() }
            }
            "broadcast" => {
                let Ok(broadcast) = crate::json::from_str::<TextBroadcast>(payload.get()) else { return Vec::new() };
                let payload = Payload::new(broadcast.payload.map_or("null", Raw::get));
                Event::Broadcast { topic, event: broadcast.event, payload }
            }
            "presence_state" => Event::Presence { topic, full: true, payload: raw() },
            "presence_diff" => Event::Presence { topic, full: false, payload: raw() },
            "postgres_changes" => Event::PostgresChange { topic, payload: raw() },
            "system" => Event::System { topic, payload: raw() },
            _ => return Vec::new(),
        };
        vec![event]
    }

    /// A binary frame from the server (kind 4 broadcasts; JSON payloads only).
    pub fn receive_binary(&mut self, bytes: &[u8]) -> Vec<Event> {
        let Ok(broadcast) = decode_binary(bytes) else { return Vec::new() };
        let Some(topic) = broadcast.topic.strip_prefix("realtime:") else { return Vec::new() };
        if self.channel(topic).is_none() {
            return Vec::new();
        }
        let Body::Json(payload) = broadcast.body else { return Vec::new() };
        vec![Event::Broadcast { topic: topic.to_owned(), event: broadcast.event, payload: Payload(payload) }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn private() -> JoinConfig {
        JoinConfig { private: true, ..JoinConfig::default() }
    }

    fn text(frame: Option<Outgoing>) -> Value {
        match frame {
            Some(Outgoing::Text(text)) => serde_json::from_str(&text).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    #[test]
    fn joins_when_open_and_rejoins_with_fresh_refs_after_a_reconnect() {
        let mut client = Client::new("jwt-1");
        assert_eq!(client.join("conversation:1", private()), None, "not open yet");
        let joins = client.opened();
        assert_eq!(joins.len(), 1);
        let Outgoing::Text(join) = &joins[0] else { panic!() };
        let join: Value = serde_json::from_str(join).unwrap();
        assert_eq!(
            join.as_array().unwrap()[..4],
            json!(["1", "1", "realtime:conversation:1", "phx_join"]).as_array().unwrap()[..]
        );
        assert_eq!(join[4]["config"]["private"], json!(true));
        assert_eq!(join[4]["config"]["broadcast"], json!({"self": false, "ack": false}));
        assert_eq!(join[4]["access_token"], json!("jwt-1"));

        let joined =
            client.receive_text(r#"["1","1","realtime:conversation:1","phx_reply",{"status":"ok","response":{}}]"#);
        assert_eq!(joined, [Event::Joined { topic: "conversation:1".into() }]);
        assert!(client.is_joined("conversation:1"));

        assert_eq!(client.closed(), 1_000);
        assert!(!client.is_joined("conversation:1"));
        assert_eq!(client.closed(), 2_000, "back-off grows while reconnects fail");
        client.set_token("jwt-2");
        let rejoin = client.opened();
        let Outgoing::Text(rejoin) = &rejoin[0] else { panic!() };
        let rejoin: Value = serde_json::from_str(rejoin).unwrap();
        assert_eq!(rejoin[0], json!("2"), "a new join ref");
        assert_eq!(rejoin[4]["access_token"], json!("jwt-2"));
        assert_eq!(client.closed(), 1_000, "a successful open resets the back-off");

        let stale =
            client.receive_text(r#"["1",null,"realtime:conversation:1","broadcast",{"event":"typing","payload":{}}]"#);
        assert!(stale.is_empty(), "frames of an old join are dropped");
    }

    #[test]
    fn an_unanswered_heartbeat_asks_for_a_reconnect() {
        let mut client = Client::new("jwt");
        assert_eq!(client.heartbeat(), None, "no heartbeat while closed");
        client.opened();
        let beat = text(client.heartbeat());
        assert_eq!(beat, json!([null, "1", "phoenix", "heartbeat", {}]));
        client.receive_text(r#"[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]"#);
        let again = text(client.heartbeat());
        assert_eq!(again[1], json!("2"));
        assert_eq!(client.heartbeat(), None, "the previous heartbeat is still unanswered");
    }

    #[test]
    fn tracks_and_untracks_presence_on_joined_channels_only() {
        let mut client = Client::new("jwt");
        client.opened();
        client.join("site:1", JoinConfig { presence: PresenceConfig { enabled: true, key: "me".into() }, ..private() });
        assert_eq!(client.track("site:1", &json!({"status": "online"})), None, "not joined yet");
        client.receive_text(r#"["1","1","realtime:site:1","phx_reply",{"status":"ok","response":{}}]"#);
        let track = text(client.track("site:1", &json!({"status": "online"})));
        assert_eq!(
            track,
            json!(["1", "2", "realtime:site:1", "presence", {"type": "presence", "event": "track", "payload": {"status": "online"}}])
        );
        let untrack = text(client.untrack("site:1"));
        assert_eq!(
            untrack,
            json!(["1", "3", "realtime:site:1", "presence", {"type": "presence", "event": "untrack", "payload": {}}])
        );
        assert_eq!(client.untrack("elsewhere"), None);
    }

    #[test]
    fn routes_events_and_sends_broadcasts_as_kind_3() {
        let mut client = Client::new("jwt");
        client.opened();
        client.join("room", JoinConfig::default());
        assert_eq!(client.broadcast("room", "typing", &json!({"on": true})), None, "not joined yet");
        client.receive_text(r#"["1","1","realtime:room","phx_reply",{"status":"ok","response":{}}]"#);
        let Some(Outgoing::Binary(frame)) = client.broadcast("room", "typing", &json!({"on": true})) else { panic!() };
        let push = decode_binary(&frame).unwrap();
        assert_eq!(
            (push.join_ref.as_deref(), push.topic.as_str(), push.event.as_str()),
            (Some("1"), "realtime:room", "typing")
        );

        let kind4 = encode_binary(
            &BinaryBroadcast {
                join_ref: None,
                reference: None,
                topic: "realtime:room".into(),
                event: "INSERT".into(),
                meta: Some(r#"{"id":"x"}"#.into()),
                body: Body::Json(r#"{"record":{"id":1}}"#.into()),
            },
            false,
        )
        .unwrap();
        assert_eq!(
            client.receive_binary(&kind4),
            [Event::Broadcast {
                topic: "room".into(),
                event: "INSERT".into(),
                payload: Payload::new(r#"{"record":{"id":1}}"#)
            }]
        );
        let presence = client.receive_text(r#"["1",null,"realtime:room","presence_state",{}]"#);
        assert_eq!(presence, [Event::Presence { topic: "room".into(), full: true, payload: Payload::new("{}") }]);
        let typed = client.receive_text(
            r#"["1",null,"realtime:room","broadcast",{"type":"broadcast","event":"typing","payload":{"on":true}}]"#,
        );
        let [Event::Broadcast { event, payload, .. }] = &typed[..] else { panic!("{typed:?}") };
        assert_eq!((event.as_str(), payload.decode::<Value>()), ("typing", Some(json!({"on": true}))));
        let tokens = client.set_token("jwt-2");
        assert_eq!(text(tokens.into_iter().next())[3], json!("access_token"));
        let closed = client.receive_text(r#"["1","1","realtime:room","phx_close",{}]"#);
        assert_eq!(closed, [Event::Closed { topic: "room".into() }]);
        assert!(client.opened().is_empty(), "a channel the server closed is not rejoined by itself");
    }

    #[test]
    fn a_refused_join_backs_off() {
        let mut client = Client::new("jwt");
        client.opened();
        client.join("private", private());
        let refused = client.receive_text(
            r#"["1","1","realtime:private","phx_reply",{"status":"error","response":{"reason":"Unauthorized: no"}}]"#,
        );
        assert_eq!(refused, [Event::JoinRefused { topic: "private".into(), reason: "Unauthorized: no".into() }]);
        assert_eq!(client.rejoin_delay("private"), 1_000);
        assert!(client.rejoin("private").is_some());
        client.receive_text(r#"["2","2","realtime:private","phx_reply",{"status":"error","response":{}}]"#);
        assert_eq!(client.rejoin_delay("private"), 2_000);
        assert_eq!(
            Client::socket_url("https://x.supabase.co/realtime/v1/", "k"),
            "wss://x.supabase.co/realtime/v1/websocket?apikey=k&vsn=2.0.0"
        );
    }
}
