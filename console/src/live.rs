//! The console's one Realtime connection as the signed-in user (`chat_browser::Socket`). Views
//! listen to topics through it: a topic is joined while someone listens and left after the
//! last one goes. News counters are bumped on every broadcast that matters to a view and on
//! every (re)join, and views refetch when they move, so nothing said while the connection was
//! down is missing once it is back. Presence tracked here is tracked again after each rejoin.

use crate::auth::Auth;
use chat_browser::{Heard, Socket};
use chat_client::realtime::client::{Client, Event, JoinConfig, PresenceConfig};
use chat_client::realtime::presence::Presence;
use leptos::prelude::*;
use serde::Serialize;
use std::rc::Rc;
use std::time::Duration;

/// How long news waits for the rest of its burst.
const COALESCE_MS: u64 = 150;

/// Hears what happens on a topic; `None` when the connection was lost.
type Hear = Rc<dyn Fn(Option<&Event>)>;

/// Whoever listens, and what this console tracks.
#[derive(Default)]
struct Hub {
    listeners: Vec<(u64, String, Hear)>,
    next: u64,
    /// Presence this console tracks, per topic, sent again after each join.
    tracked: Vec<(String, serde_json::Value)>,
}

/// The connection; cheap to copy.
#[derive(Clone, Copy)]
pub struct Live {
    socket: Socket<Hub>,
    /// Whether the socket is open (false while it reconnects).
    pub connected: ReadSignal<bool>,
    me: StoredValue<String>,
}

impl Live {
    /// Connects as the signed-in user until the calling view goes.
    pub fn start(auth: Auth) -> Self {
        let connected = RwSignal::new(false);
        let me = auth.session.with_untracked(|s| s.as_ref().map(|s| s.user.id.to_string()).unwrap_or_default());
        let live = Self { socket: Socket::new(), connected: connected.read_only(), me: StoredValue::new(me) };
        let project = auth.project();
        let url = Client::socket_url(&project.realtime_url(), project.publishable_key());
        let client = Client::new(auth.token().unwrap_or_default());
        live.socket.start(url, client, Hub::default(), move |heard| {
            let event = match &heard {
                Heard::Event(event) => Some(event),
                Heard::Lost => None,
            };
            if connected.get_untracked() != event.is_some() {
                connected.set(event.is_some());
            }
            if let Some(Event::Joined { topic }) = event {
                live.track_again(topic);
            }
            let topic = event.map(topic_of);
            // Called outside the socket's state: a listener may send.
            let hears: Vec<Hear> = live
                .socket
                .with_owner(|hub, _| {
                    hub.listeners
                        .iter()
                        .filter(|(_, t, _)| topic.is_none_or(|topic| topic == t))
                        .map(|(_, _, hear)| hear.clone())
                        .collect()
                })
                .unwrap_or_default();
            for hear in hears {
                hear(event);
            }
        });
        // Each refreshed token goes to the channels before the old one expires.
        Effect::new(move |_| {
            if let Some(token) = auth.session.with(|s| s.as_ref().map(|s| s.access_token.clone())) {
                live.socket.send_with(|client, _| client.set_token(&token));
            }
        });
        on_cleanup(move || live.socket.stop());
        live
    }

    /// Calls `hear` with what happens on `topic` until the calling view goes.
    pub fn listen(self, topic: String, hear: impl Fn(Option<&Event>) + 'static) {
        let config = join_config(&topic, self.me.get_value());
        let mut id = 0;
        let joined = topic.clone();
        let hear: Hear = Rc::new(hear);
        let heard = hear.clone();
        self.socket.send_with(|client, hub| {
            hub.next += 1;
            id = hub.next;
            let first = !hub.listeners.iter().any(|(_, t, _)| *t == topic);
            hub.listeners.push((id, topic.clone(), heard));
            if !first {
                return Vec::new();
            }
            client.join(&topic, config).into_iter().collect()
        });
        // A listener that came after the join hears of it too (it refetches).
        if self.is_joined(&joined) {
            hear(Some(&Event::Joined { topic: joined.clone() }));
        }
        on_cleanup(move || {
            self.socket.send_with(|client, hub| {
                hub.listeners.retain(|(l, _, _)| *l != id);
                if hub.listeners.iter().any(|(_, t, _)| *t == joined) {
                    return Vec::new();
                }
                hub.tracked.retain(|(t, _)| *t != joined);
                client.leave(&joined).into_iter().collect()
            });
        });
    }

    /// A counter bumped after every (re)join of `topic` and every broadcast named in
    /// `events`; a burst moves it once, [`COALESCE_MS`] after its first event, so a view
    /// refetches once per burst, not once per event.
    pub fn news(self, topic: String, events: &'static [&'static str]) -> ReadSignal<u64> {
        let news = RwSignal::new(0_u64);
        let waiting = StoredValue::new(false);
        self.listen(topic, move |event| {
            let fresh = match event {
                Some(Event::Joined { .. }) => true,
                Some(Event::Broadcast { event, .. }) => events.contains(&event.as_str()),
                _ => false,
            };
            if fresh && !waiting.get_value() {
                waiting.set_value(true);
                set_timeout(
                    move || {
                        waiting.try_set_value(false);
                        news.try_update(|n| *n += 1);
                    },
                    Duration::from_millis(COALESCE_MS),
                );
            }
        });
        news.read_only()
    }

    /// The presence keys on `topic`, empty while disconnected.
    pub fn present(self, topic: String) -> ReadSignal<Vec<String>> {
        let keys = RwSignal::new(Vec::new());
        let state = StoredValue::new_local(Presence::default());
        self.listen(topic, move |event| {
            state.update_value(|presence| match event {
                None | Some(Event::Joined { .. }) => presence.reset(),
                Some(Event::Presence { full: true, payload, .. }) => presence.apply_state(payload),
                Some(Event::Presence { full: false, payload, .. }) => presence.apply_diff(payload),
                _ => {}
            });
            let now: Vec<String> = state.with_value(|p| p.keys().into_iter().map(str::to_owned).collect());
            if keys.with_untracked(|k| *k != now) {
                keys.set(now);
            }
        });
        keys.read_only()
    }

    /// Tracks `payload` as this console's presence on `topic` (kept across rejoins), or stops
    /// tracking with `None`.
    pub fn track<P: Serialize>(self, topic: &str, payload: Option<&P>) {
        let payload = payload.and_then(|p| serde_json::to_value(p).ok());
        self.socket.send_with(|client, hub| {
            hub.tracked.retain(|(t, _)| t != topic);
            match payload {
                Some(payload) => {
                    let frame = client.track(topic, &payload);
                    hub.tracked.push((topic.to_owned(), payload));
                    frame.into_iter().collect()
                }
                None => client.untrack(topic).into_iter().collect(),
            }
        });
    }

    /// Whether `topic` is joined now (a broadcast on it would be sent).
    pub fn is_joined(self, topic: &str) -> bool {
        self.socket.with_owner(|_, client| client.is_joined(topic)).unwrap_or(false)
    }

    /// Broadcasts `payload` as `event` on a joined `topic` (dropped while disconnected).
    pub fn broadcast<P: Serialize>(self, topic: &str, event: &str, payload: &P) {
        self.socket.send_with(|client, _| client.broadcast(topic, event, payload).into_iter().collect());
    }

    fn track_again(self, topic: &str) {
        self.socket.send_with(|client, hub| {
            hub.tracked.iter().filter(|(t, _)| t == topic).filter_map(|(t, p)| client.track(t, p)).collect()
        });
    }
}

/// How `topic` is joined: privately, as `me`. Site and conversation topics carry presence
/// (operators on a site, the visitor in a conversation); the operator topic only notifications.
fn join_config(topic: &str, me: String) -> JoinConfig {
    let presence = !topic.starts_with("operator:");
    JoinConfig {
        private: true,
        presence: PresenceConfig { enabled: presence, key: if presence { me } else { String::new() } },
        ..JoinConfig::default()
    }
}

/// The sub-topic an event happened on.
fn topic_of(event: &Event) -> &str {
    match event {
        Event::Joined { topic }
        | Event::JoinRefused { topic, .. }
        | Event::Closed { topic }
        | Event::Broadcast { topic, .. }
        | Event::Presence { topic, .. }
        | Event::PostgresChange { topic, .. }
        | Event::System { topic, .. } => topic,
    }
}

/// The latest value `resource` produced, kept while it reloads, so a refetch on news never
/// flashes an empty list.
pub fn latest<T: Clone + Send + Sync + 'static>(resource: LocalResource<T>) -> ReadSignal<Option<T>> {
    let latest = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(value) = resource.get() {
            latest.set(Some(value));
        }
    });
    latest.read_only()
}
