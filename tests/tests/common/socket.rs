//! A Realtime socket for tests, driven by the widget's own client state machine
//! (`chat_client::realtime::client`), and the tokens to open one with.

use chat_client::realtime::client::{Client, Event, JoinConfig, Outgoing};
use chat_core::claims::GuestScope;
use chat_core::{Claims, Role};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::env;

/// One socket driven by the shared client state machine.
pub struct Socket {
    /// The client state machine.
    pub client: Client,
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// A socket authorised by `token`.
    pub async fn open(token: &str) -> Self {
        Self::reopen(Client::new(token)).await
    }

    /// A new socket for an existing client (a reconnect).
    pub async fn reopen(mut client: Client) -> Self {
        let url = Client::socket_url(&format!("{}/realtime/v1", env("STACK_API_URL")), &env("STACK_PUBLISHABLE_KEY"));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("realtime reachable");
        let frames = client.opened();
        let mut socket = Self { client, stream };
        for frame in frames {
            socket.send(Some(frame)).await;
        }
        socket
    }

    /// The connection drops (no close frame); the client is kept, to reconnect.
    pub fn lose_connection(self) -> Client {
        self.client
    }

    /// Sends the client's frame.
    pub async fn send(&mut self, frame: Option<Outgoing>) {
        let frame = frame.expect("the client has a frame to send");
        let message = match frame {
            Outgoing::Text(text) => WsMessage::text(text),
            Outgoing::Binary(bytes) => WsMessage::binary(bytes),
        };
        self.stream.send(message).await.expect("socket open");
    }

    /// Joins `topic`; the join's outcome.
    pub async fn join(&mut self, topic: &str, config: JoinConfig) -> Event {
        let frame = self.client.join(topic, config);
        self.send(frame).await;
        self.until(|e| matches!(e, Event::Joined { .. } | Event::JoinRefused { .. })).await
    }

    /// Reads frames until an event matches; panics after 5 s.
    pub async fn until(&mut self, wanted: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("the awaited event did not arrive within 5 s")
                .expect("socket open")
                .expect("frame readable");
            let events = match frame {
                WsMessage::Text(text) => self.client.receive_text(text.as_str()),
                WsMessage::Binary(bytes) => self.client.receive_binary(&bytes),
                _ => Vec::new(),
            };
            if let Some(event) = events.into_iter().find(|e| wanted(e)) {
                return event;
            }
        }
    }

    /// Nothing matching arrives within `ms`.
    pub async fn quiet(&mut self, ms: u64, unwanted: impl Fn(&Event) -> bool) {
        let result = tokio::time::timeout(Duration::from_millis(ms), self.until(unwanted)).await;
        assert!(result.is_err(), "an event arrived that must not: {result:?}");
    }
}

/// A token for `sub` signed with Auth's key (a staff member, or with `guest` a guest).
pub fn sign(sub: &str, guest: Option<GuestScope>) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut claims = Claims::api_key(Role::Authenticated, now, now + 3600);
    claims.sub = Some(sub.to_owned());
    claims.guest = guest;
    super::auth_key().sign(&claims).unwrap()
}

/// The guest token of a session started in SQL (`widget_session`).
pub fn guest_token(session: &Value) -> String {
    let field = |name: &str| session[name].as_str().unwrap().to_owned();
    let scope = GuestScope {
        site_id: field("site_id"),
        conversation_id: field("conversation_id"),
        session_id: field("session_id"),
        origin: None,
    };
    sign(&field("customer_id"), Some(scope))
}

/// Whether `event` is a broadcast named `name`.
pub fn is_broadcast(event: &Event, name: &str) -> bool {
    matches!(event, Event::Broadcast { event, .. } if event == name)
}
