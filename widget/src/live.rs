//! Live updates over Supabase Realtime: new messages from the database, typing both ways and
//! operator presence. The protocol state lives in `chat_client::realtime::client`; this module
//! is the browser's WebSocket around it and reports what it hears as [`LiveEvent`]s. While the
//! socket is down the chat polls instead, and every (re)join backfills from the history, so a
//! gap never loses a message.

use chat_client::realtime::RowChange;
use chat_client::realtime::client::{Client, Event, HEARTBEAT_INTERVAL_MS, JoinConfig, Outgoing, PresenceConfig};
use chat_client::realtime::presence::Presence;
use chat_client::timing::TypingSender;
use chat_core::api::{Message, RealtimeAccess, SenderType, Session, Typing};
use leptos::prelude::*;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the live connection reports.
pub enum LiveEvent {
    /// The conversation's topic was (re)joined: catch up from the history.
    Joined,
    /// A message of the conversation was written, edited or deleted.
    Row(Message),
    /// Staff typing news.
    Typing {
        /// Typing (`true`) or stopped.
        active: bool,
        /// Who, when they said.
        name: Option<String>,
    },
    /// Whether operators are present (`None`: unknown, the connection is down).
    Operators(Option<bool>),
}

struct State {
    client: Client,
    access: RealtimeAccess,
    conversation: String,
    socket: Option<WebSocket>,
    /// Bumped per socket, so events of a replaced socket are ignored.
    generation: u32,
    handlers: Vec<Closure<dyn FnMut(JsEvent)>>,
    presence: Presence,
    typing: TypingSender,
    events: Rc<dyn Fn(LiveEvent)>,
}

type JsEvent = web_sys::Event;

/// The live connection of a chat (absent until the session has Realtime access).
#[derive(Clone, Copy)]
pub struct Live {
    state: StoredValue<Option<State>, LocalStorage>,
}

impl Live {
    /// Not connected yet; its heartbeat timer runs from now on.
    pub fn new() -> Self {
        let live = Self { state: StoredValue::new_local(None) };
        set_interval(move || live.heartbeat(), Duration::from_millis(u64::from(HEARTBEAT_INTERVAL_MS)));
        live
    }

    /// Connects for `session` unless already connected; what it hears goes to `events`.
    pub fn start(self, session: &Session, events: impl Fn(LiveEvent) + 'static) {
        let Some(access) = session.realtime.clone() else { return };
        if self.state.with_value(Option::is_some) {
            return;
        }
        let conversation = RealtimeAccess::conversation_topic(session.conversation_id);
        let mut client = Client::new(session.guest_jwt.clone());
        client.join(&conversation, JoinConfig { private: true, ..JoinConfig::default() });
        let presence = PresenceConfig { enabled: true, key: String::new() };
        client.join(&access.site_topic(), JoinConfig { private: true, presence, ..JoinConfig::default() });
        let state = State {
            client,
            access,
            conversation,
            socket: None,
            generation: 0,
            handlers: Vec::new(),
            presence: Presence::default(),
            typing: TypingSender::default(),
            events: Rc::new(events),
        };
        self.state.set_value(Some(state));
        self.connect();
    }

    /// Disconnects for good (the chat ended).
    pub fn stop(self) {
        if let Some(state) = self.state.try_update_value(Option::take).flatten()
            && let Some(socket) = state.socket
        {
            let _ = socket.close();
        }
    }

    /// True while the conversation topic is joined (no polling needed).
    pub fn is_joined(self) -> bool {
        self.state.with_value(|s| s.as_ref().is_some_and(|s| s.client.is_joined(&s.conversation)))
    }

    /// A fresh guest token for every channel.
    pub fn set_token(self, token: &str) {
        self.send_with(|state| state.client.set_token(token));
    }

    /// The visitor typed (`true`, throttled) or sent / left the field (`false`).
    pub fn typing(self, active: bool) {
        let now = js_sys::Date::now();
        self.send_with(|state| {
            let Some(active) = state.typing.input(active, now) else { return Vec::new() };
            let typing = Typing { typing: active, sender: SenderType::Customer, name: None };
            let conversation = state.conversation.clone();
            state.client.broadcast(&conversation, "typing", &typing).into_iter().collect()
        });
    }

    fn send_with(self, make: impl FnOnce(&mut State) -> Vec<Outgoing>) {
        self.state.update_value(|state| {
            if let Some(state) = state {
                let frames = make(state);
                if let Some(socket) = &state.socket {
                    send(socket, frames);
                }
            }
        });
    }

    fn connect(self) {
        let live = self;
        self.state.update_value(|state| {
            let Some(state) = state else { return };
            state.generation += 1;
            let generation = state.generation;
            let url = Client::socket_url(&state.access.url, &state.access.api_key);
            let Ok(socket) = WebSocket::new(&url) else {
                let delay = state.client.closed();
                set_timeout(move || live.connect(), Duration::from_millis(u64::from(delay)));
                return;
            };
            socket.set_binary_type(BinaryType::Arraybuffer);
            let on_open = Closure::<dyn FnMut(JsEvent)>::new(move |_| live.opened(generation));
            let on_message = Closure::<dyn FnMut(JsEvent)>::new(move |event: JsEvent| {
                if let Ok(message) = event.dyn_into::<MessageEvent>() {
                    live.received(generation, message.data());
                }
            });
            let on_close = Closure::<dyn FnMut(JsEvent)>::new(move |_| live.closed(generation));
            socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            state.handlers = vec![on_open, on_message, on_close];
            state.socket = Some(socket);
        });
    }

    fn current(self, generation: u32) -> bool {
        self.state.with_value(|s| s.as_ref().is_some_and(|s| s.generation == generation))
    }

    fn opened(self, generation: u32) {
        if self.current(generation) {
            self.send_with(|state| state.client.opened());
        }
    }

    fn closed(self, generation: u32) {
        if !self.current(generation) {
            return;
        }
        let Some(delay) = self.state.try_update_value(|state| {
            state.as_mut().map(|state| {
                state.socket = None;
                state.presence.reset();
                state.client.closed()
            })
        }) else {
            return;
        };
        self.emit(LiveEvent::Operators(None));
        if let Some(delay) = delay {
            leptos::logging::log!("chat widget: live connection lost; reconnecting in {delay} ms");
            let live = self;
            set_timeout(move || live.connect(), Duration::from_millis(u64::from(delay)));
        }
    }

    fn heartbeat(self) {
        self.state.update_value(|state| {
            let Some(state) = state else { return };
            let Some(socket) = &state.socket else { return };
            match state.client.heartbeat() {
                Some(frame) => send(socket, vec![frame]),
                // The previous heartbeat was never answered: the socket is dead.
                None if socket.ready_state() == WebSocket::OPEN => {
                    let _ = socket.close();
                }
                None => {}
            }
        });
    }

    fn received(self, generation: u32, data: wasm_bindgen::JsValue) {
        if !self.current(generation) {
            return;
        }
        let events = self
            .state
            .try_update_value(|state| {
                let state = state.as_mut()?;
                Some(match data.as_string() {
                    Some(text) => state.client.receive_text(&text),
                    None => state.client.receive_binary(&js_sys::Uint8Array::new(&data).to_vec()),
                })
            })
            .flatten()
            .unwrap_or_default();
        for event in events {
            self.handle(event);
        }
    }

    /// Tells the chat, outside any borrow of the state (the chat may call back in).
    fn emit(self, event: LiveEvent) {
        if let Some(events) = self.state.with_value(|s| s.as_ref().map(|s| s.events.clone())) {
            events(event);
        }
    }

    fn handle(self, event: Event) {
        let conversation = self.state.with_value(|s| s.as_ref().map(|s| s.conversation.clone())).unwrap_or_default();
        match event {
            Event::Joined { topic } if topic == conversation => self.emit(LiveEvent::Joined),
            Event::Broadcast { topic, event, payload } if topic == conversation => match event.as_str() {
                "INSERT" | "UPDATE" => {
                    if let Some(change) = payload.decode::<RowChange<Message>>() {
                        self.emit(LiveEvent::Row(change.record));
                    }
                }
                "typing" => {
                    if let Some(typing) = payload.decode::<Typing>()
                        && typing.sender != SenderType::Customer
                    {
                        self.emit(LiveEvent::Typing { active: typing.typing, name: typing.name });
                    }
                }
                _ => {}
            },
            Event::Presence { full, payload, .. } => {
                let online = self
                    .state
                    .try_update_value(|state| {
                        state.as_mut().map(|state| {
                            if full {
                                state.presence.apply_state(&payload);
                            } else {
                                state.presence.apply_diff(&payload);
                            }
                            !state.presence.is_empty()
                        })
                    })
                    .flatten();
                self.emit(LiveEvent::Operators(online));
            }
            Event::JoinRefused { topic, .. } | Event::Closed { topic } => {
                let live = self;
                let delay =
                    self.state.with_value(|s| s.as_ref().map(|s| s.client.rejoin_delay(&topic))).unwrap_or(1_000);
                set_timeout(
                    move || live.send_with(|state| state.client.rejoin(&topic).into_iter().collect()),
                    Duration::from_millis(u64::from(delay)),
                );
            }
            _ => {}
        }
    }
}

fn send(socket: &WebSocket, frames: Vec<Outgoing>) {
    if socket.ready_state() != WebSocket::OPEN {
        return;
    }
    for frame in frames {
        let _ = match frame {
            Outgoing::Text(text) => socket.send_with_str(&text),
            Outgoing::Binary(bytes) => socket.send_with_u8_array(&bytes),
        };
    }
}
