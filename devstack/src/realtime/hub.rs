//! Who is joined to which topic, and presence per topic.
//!
//! One lock guards the registry; it is held only to read or change membership, never while
//! writing to a socket. Sockets are written with `try_send` into a bounded queue: a client that
//! does not read fills its own queue and is disconnected, and nobody else waits for it.

use super::binding::Binding;
use super::token::Token;
use axum::extract::ws::Message as WsMessage;
use chat_client::realtime::{Message, Vsn, encode_text};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, mpsc};

/// A channel instance: one join of one topic on one socket.
pub type ChannelId = u64;

/// Frames queued per socket before it counts as too slow and is dropped.
pub const OUTBOX_CAPACITY: usize = 1024;

/// The write side of a socket.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<WsMessage>,
    overflow: Arc<Notify>,
    /// The serializer the socket negotiated.
    pub vsn: Vsn,
}

impl Outbox {
    /// A queue for one socket; the socket closes itself when `overflow` fires.
    pub fn new(vsn: Vsn) -> (Self, mpsc::Receiver<WsMessage>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        let overflow = Arc::new(Notify::new());
        (Self { tx, overflow: overflow.clone(), vsn }, rx, overflow)
    }

    /// Queues a frame without waiting; a full queue disconnects the socket.
    pub fn send(&self, message: WsMessage) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(message) {
            self.overflow.notify_one();
        }
    }
}

/// A topic in its namespace: private and public topics of the same name are separate.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct TopicKey {
    /// The full topic, `realtime:<sub-topic>`.
    pub topic: String,
    /// Joined with `config.private = true`.
    pub private: bool,
}

/// A joined channel as the hub sees it.
#[derive(Clone, Debug)]
pub struct Member {
    /// Where its frames go.
    pub outbox: Outbox,
    /// `broadcast.self`: receives its own broadcasts.
    pub echo_self: bool,
    /// May receive broadcasts (always on public topics; by RLS on private ones).
    pub read_broadcast: bool,
    /// May receive presence (always on public topics; by RLS on private ones).
    pub read_presence: bool,
    /// Its postgres_changes subscriptions.
    pub bindings: Arc<Vec<Binding>>,
    /// The token whose claims drive RLS for it.
    pub token: Arc<Token>,
}

/// A frame prepared once for every serializer, then queued to many sockets.
#[derive(Clone, Debug)]
pub struct Fanout {
    /// For vsn 1.0.0 sockets; `None` when they cannot receive it (raw binary payloads).
    pub v1: Option<WsMessage>,
    /// For vsn 2.0.0 sockets.
    pub v2: WsMessage,
}

impl Fanout {
    /// A text frame, written once per serializer.
    pub fn text(message: &Message) -> Self {
        Self {
            v1: Some(WsMessage::Text(encode_text(Vsn::V1, message, false).into())),
            v2: WsMessage::Text(encode_text(Vsn::V2, message, false).into()),
        }
    }

    fn deliver(&self, outbox: &Outbox) {
        match outbox.vsn {
            Vsn::V2 => outbox.send(self.v2.clone()),
            Vsn::V1 => {
                if let Some(frame) = &self.v1 {
                    outbox.send(frame.clone());
                }
            }
        }
    }
}

/// Which members of a topic receive a fan-out.
#[derive(Clone, Copy, Debug)]
pub enum Audience {
    /// Broadcast readers, except `from` unless it asked for its own messages.
    Broadcast {
        /// The sending channel, if a client sent it.
        from: Option<ChannelId>,
    },
    /// Presence readers.
    Presence,
}

#[derive(Debug, Default)]
struct Topic {
    members: HashMap<ChannelId, Member>,
    /// Presence key → metas (each with its `phx_ref`) and the channel that tracked it.
    presence: BTreeMap<String, Vec<(ChannelId, Value)>>,
}

/// The registry of every joined channel.
#[derive(Debug, Default)]
pub struct Hub {
    topics: Mutex<HashMap<TopicKey, Topic>>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HashMap<TopicKey, Topic>> {
        self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a joined channel.
    pub fn join(&self, key: &TopicKey, id: ChannelId, member: Member) {
        self.lock().entry(key.clone()).or_default().members.insert(id, member);
    }

    /// Changes a joined channel (new token, new permissions).
    pub fn update(&self, key: &TopicKey, id: ChannelId, change: impl FnOnce(&mut Member)) {
        if let Some(member) = self.lock().get_mut(key).and_then(|topic| topic.members.get_mut(&id)) {
            change(member);
        }
    }

    /// Removes a channel; its presence leaves are fanned out to the others.
    pub fn leave(&self, key: &TopicKey, id: ChannelId) {
        let mut topics = self.lock();
        let Some(topic) = topics.get_mut(key) else { return };
        topic.members.remove(&id);
        let leaves = remove_presence(topic, id, None);
        if !leaves.is_empty() {
            let diff = json!({"joins": {}, "leaves": leaves});
            send_to(topic, &key.topic, "presence_diff", diff, Audience::Presence);
        }
        if topic.members.is_empty() {
            topics.remove(key);
        }
    }

    /// Queues a prepared frame to the topic's audience.
    pub fn fan_out(&self, key: &TopicKey, frame: &Fanout, audience: Audience) {
        let topics = self.lock();
        let Some(topic) = topics.get(key) else { return };
        for (id, member) in &topic.members {
            if is_in(audience, *id, member) {
                frame.deliver(&member.outbox);
            }
        }
    }

    /// Tracks (or updates) the channel's presence under `presence_key` and fans out the diff.
    pub fn track(&self, key: &TopicKey, id: ChannelId, presence_key: &str, payload: Map<String, Value>) {
        let mut topics = self.lock();
        let Some(topic) = topics.get_mut(key) else { return };
        let previous = topic.presence.get(presence_key).and_then(|metas| metas.iter().find(|(owner, _)| *owner == id));
        if previous.is_some_and(|(_, meta)| without_refs(meta) == payload) {
            return;
        }
        let mut meta = payload;
        let mut leaves = Map::new();
        if let Some((_, old)) = previous {
            meta.insert("phx_ref_prev".into(), old["phx_ref"].clone());
            leaves = remove_presence(topic, id, Some(presence_key));
        }
        meta.insert("phx_ref".into(), Value::String(presence_ref()));
        let meta = Value::Object(meta);
        topic.presence.entry(presence_key.to_owned()).or_default().push((id, meta.clone()));
        let diff = json!({"joins": {presence_key: {"metas": [meta]}}, "leaves": leaves});
        send_to(topic, &key.topic, "presence_diff", diff, Audience::Presence);
    }

    /// Removes the channel's presence and fans out the diff.
    pub fn untrack(&self, key: &TopicKey, id: ChannelId) {
        let mut topics = self.lock();
        let Some(topic) = topics.get_mut(key) else { return };
        let leaves = remove_presence(topic, id, None);
        if !leaves.is_empty() {
            send_to(topic, &key.topic, "presence_diff", json!({"joins": {}, "leaves": leaves}), Audience::Presence);
        }
    }

    /// The topic's presence as `presence_state` sends it.
    pub fn presence_state(&self, key: &TopicKey) -> Value {
        let topics = self.lock();
        let mut state = Map::new();
        if let Some(topic) = topics.get(key) {
            for (presence_key, metas) in &topic.presence {
                let metas: Vec<Value> = metas.iter().map(|(_, meta)| meta.clone()).collect();
                state.insert(presence_key.clone(), json!({"metas": metas}));
            }
        }
        Value::Object(state)
    }

    /// Every channel with postgres_changes bindings (they are checked one by one, outside the lock).
    pub fn subscribers(&self) -> Vec<(TopicKey, Member)> {
        let topics = self.lock();
        topics
            .iter()
            .flat_map(|(key, topic)| {
                topic.members.values().filter(|m| !m.bindings.is_empty()).map(move |m| (key.clone(), m.clone()))
            })
            .collect()
    }
}

fn is_in(audience: Audience, id: ChannelId, member: &Member) -> bool {
    match audience {
        Audience::Broadcast { from } => member.read_broadcast && (from != Some(id) || member.echo_self),
        Audience::Presence => member.read_presence,
    }
}

fn send_to(topic: &Topic, name: &str, event: &str, payload: Value, audience: Audience) {
    let frame = Fanout::text(&Message::new(name, event, payload));
    for (id, member) in &topic.members {
        if is_in(audience, *id, member) {
            frame.deliver(&member.outbox);
        }
    }
}

/// Removes the channel's metas (under one key, or all) and returns them as `leaves`.
fn remove_presence(topic: &mut Topic, id: ChannelId, only_key: Option<&str>) -> Map<String, Value> {
    let mut leaves = Map::new();
    topic.presence.retain(|presence_key, metas| {
        if only_key.is_some_and(|only| only != presence_key) {
            return true;
        }
        let (gone, kept): (Vec<_>, Vec<_>) = metas.drain(..).partition(|(owner, _)| *owner == id);
        if !gone.is_empty() {
            let gone: Vec<Value> = gone.into_iter().map(|(_, meta)| meta).collect();
            leaves.insert(presence_key.clone(), json!({"metas": gone}));
        }
        *metas = kept;
        !metas.is_empty()
    });
    leaves
}

fn without_refs(meta: &Value) -> Map<String, Value> {
    let mut payload = meta.as_object().cloned().unwrap_or_default();
    payload.remove("phx_ref");
    payload.remove("phx_ref_prev");
    payload
}

/// An opaque presence ref, unique enough per server run.
fn presence_ref() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_that_does_not_read_is_told_to_close_instead_of_blocking_senders() {
        let (outbox, mut queue, overflow) = Outbox::new(Vsn::V2);
        for _ in 0..OUTBOX_CAPACITY {
            outbox.send(WsMessage::Text("x".into()));
        }
        let mut notified = std::pin::pin!(overflow.notified());
        assert!(!notified.as_mut().enable(), "not yet full");
        outbox.send(WsMessage::Text("one too many".into()));
        assert!(notified.as_mut().enable(), "the overflow is signalled");
        assert!(queue.try_recv().is_ok(), "queued frames stay deliverable");
    }
}
