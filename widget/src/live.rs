//! Live updates over Supabase Realtime: new messages from the database, typing both ways and
//! operator presence. The protocol lives in `chat_client::realtime`, the WebSocket in
//! `chat_browser::Socket`; this module joins the chat's topics and reports what it hears as
//! [`LiveEvent`]s. While the socket is down the chat polls instead, and every (re)join
//! backfills from the history, so a gap never loses a message.

use chat_browser::{Heard, Socket};
use chat_client::realtime::RowChange;
use chat_client::realtime::client::{Client, Event, JoinConfig, PresenceConfig};
use chat_client::realtime::presence::Presence;
use chat_client::timing::TypingSender;
use chat_core::api::{Message, RealtimeAccess, SenderType, Session, Typing};
use leptos::prelude::*;
use std::rc::Rc;

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
    conversation: String,
    presence: Presence,
    typing: TypingSender,
    events: Rc<dyn Fn(LiveEvent)>,
}

/// The live connection of a chat (absent until the session has Realtime access).
#[derive(Clone, Copy)]
pub struct Live {
    socket: Socket,
    state: StoredValue<Option<State>, LocalStorage>,
}

impl Live {
    /// Not connected yet.
    pub fn new() -> Self {
        Self { socket: Socket::new(), state: StoredValue::new_local(None) }
    }

    /// Connects for `session` unless already connected; what it hears goes to `events`.
    pub fn start(self, session: &Session, events: impl Fn(LiveEvent) + 'static) {
        let Some(access) = session.realtime.clone() else { return };
        if self.socket.is_started() {
            return;
        }
        let conversation = RealtimeAccess::conversation_topic(session.conversation_id);
        let mut client = Client::new(session.guest_jwt.clone());
        client.join(&conversation, JoinConfig { private: true, ..JoinConfig::default() });
        let presence = PresenceConfig { enabled: true, key: String::new() };
        client.join(&access.site_topic(), JoinConfig { private: true, presence, ..JoinConfig::default() });
        let url = Client::socket_url(&access.url, &access.api_key);
        let state = State {
            conversation,
            presence: Presence::default(),
            typing: TypingSender::default(),
            events: Rc::new(events),
        };
        self.state.set_value(Some(state));
        self.socket.start(url, client, move |heard| self.heard(heard));
    }

    /// Disconnects for good (the chat ended).
    pub fn stop(self) {
        self.socket.stop();
        self.state.set_value(None);
    }

    /// True while the conversation topic is joined (no polling needed).
    pub fn is_joined(self) -> bool {
        let conversation = self.state.with_value(|s| s.as_ref().map(|s| s.conversation.clone())).unwrap_or_default();
        self.socket.with_client(|c| c.is_joined(&conversation)).unwrap_or(false)
    }

    /// A fresh guest token for every channel.
    pub fn set_token(self, token: &str) {
        self.socket.send_with(|client| client.set_token(token));
    }

    /// The visitor typed (`true`, throttled) or sent / left the field (`false`).
    pub fn typing(self, active: bool) {
        let now = js_sys::Date::now();
        let news = self
            .state
            .try_update_value(|s| s.as_mut().and_then(|s| Some((s.typing.input(active, now)?, s.conversation.clone()))))
            .flatten();
        let Some((active, conversation)) = news else { return };
        let typing = Typing { typing: active, sender: SenderType::Customer, name: None };
        self.socket.send_with(|client| client.broadcast(&conversation, "typing", &typing).into_iter().collect());
    }

    /// Tells the chat, outside any borrow of the state (the chat may call back in).
    fn emit(self, event: LiveEvent) {
        if let Some(events) = self.state.with_value(|s| s.as_ref().map(|s| s.events.clone())) {
            events(event);
        }
    }

    fn heard(self, heard: Heard) {
        let conversation = self.state.with_value(|s| s.as_ref().map(|s| s.conversation.clone())).unwrap_or_default();
        let event = match heard {
            Heard::Lost => {
                self.state.update_value(|s| s.iter_mut().for_each(|s| s.presence.reset()));
                return self.emit(LiveEvent::Operators(None));
            }
            Heard::Event(event) => event,
        };
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
            _ => {}
        }
    }
}
