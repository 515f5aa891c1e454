//! Live updates over Supabase Realtime: new messages from the database (and an AI agent's answer
//! as it is written), typing both ways,
//! operator presence, and the visitor's own presence on the conversation (for staff). The
//! protocol lives in `chat_client::realtime`, the WebSocket in `chat_browser::Socket`; this
//! module joins the chat's topics and reports what it hears as
//! [`LiveEvent`]s. While the socket is down the chat polls instead, and every (re)join
//! backfills from the history, so a gap never loses a message.

use chat_browser::{Heard, Socket};
use chat_client::realtime::RowChange;
use chat_client::realtime::client::{Client, Event, JoinConfig, PresenceConfig};
use chat_client::realtime::presence::Presence;
use chat_client::timing::TypingSender;
use chat_core::api::{DRAFT_EVENT, Message, RealtimeAccess, SenderType, Session, Typing};

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

/// The visitor's presence on the conversation: being there is all it says.
#[derive(serde::Serialize)]
struct Here {}

struct State {
    conversation: String,
    presence: Presence,
    typing: TypingSender,
}

/// The live connection of a chat (absent until the session has Realtime access).
#[derive(Clone, Copy)]
pub struct Live {
    socket: Socket<State>,
}

impl Live {
    /// Not connected yet.
    pub fn new() -> Self {
        Self { socket: Socket::new() }
    }

    /// Connects for `session` unless already connected; what it hears goes to `events`.
    pub fn start(self, session: &Session, events: impl Fn(LiveEvent) + 'static) {
        let Some(access) = session.realtime.clone() else { return };
        if self.socket.is_started() {
            return;
        }
        let conversation = RealtimeAccess::conversation_topic(session.conversation_id);
        let mut client = Client::new(session.guest_jwt.clone());
        // Both topics carry presence: operators on the site's, the visitor on the conversation's.
        let config = JoinConfig {
            private: true,
            presence: PresenceConfig { enabled: true, key: String::new() },
            ..JoinConfig::default()
        };
        client.join(&conversation, config.clone());
        client.join(&access.site_topic(), config);
        let url = Client::socket_url(&access.url, &access.api_key);
        let state = State { conversation, presence: Presence::default(), typing: TypingSender::default() };
        // The chat hears of it outside any borrow of the state (it may call back in).
        self.socket.start(url, client, state, move |heard| {
            if let Some(event) = self.translate(heard) {
                events(event);
            }
        });
    }

    /// Disconnects for good (the chat ended).
    pub fn stop(self) {
        self.socket.stop();
    }

    /// True while the conversation topic is joined (no polling needed).
    pub fn is_joined(self) -> bool {
        self.socket.with_owner(|s, client| client.is_joined(&s.conversation)).unwrap_or(false)
    }

    /// A fresh guest token for every channel.
    pub fn set_token(self, token: &str) {
        self.socket.send_with(|client, _| client.set_token(token));
    }

    /// The visitor typed (`true`, throttled) or sent / left the field (`false`).
    pub fn typing(self, active: bool) {
        let now = js_sys::Date::now();
        self.socket.send_with(|client, s| {
            let Some(active) = s.typing.input(active, now) else { return Vec::new() };
            let typing = Typing { typing: active, sender: SenderType::Customer, name: None };
            client.broadcast(&s.conversation, "typing", &typing).into_iter().collect()
        });
    }

    /// What the chat hears of what the socket heard.
    fn translate(self, heard: Heard) -> Option<LiveEvent> {
        let event = match heard {
            Heard::Lost => {
                self.socket.with_owner(|s, _| s.presence.reset());
                return Some(LiveEvent::Operators(None));
            }
            Heard::Event(event) => event,
        };
        let conversation = self.socket.with_owner(|s, _| s.conversation.clone()).unwrap_or_default();
        match event {
            Event::Joined { topic } if topic == conversation => {
                // The visitor is present on the conversation while the chat is open (staff see
                // "Online now"); tracked again after each join.
                self.socket.send_with(|client, s| client.track(&s.conversation, &Here {}).into_iter().collect());
                Some(LiveEvent::Joined)
            }
            Event::Broadcast { topic, event, payload } if topic == conversation => match event.as_str() {
                // An agent's answer being written comes as a row too.
                "INSERT" | "UPDATE" | DRAFT_EVENT => {
                    payload.decode::<RowChange<Message>>().map(|change| LiveEvent::Row(change.record))
                }
                "typing" => payload
                    .decode::<Typing>()
                    .filter(|typing| typing.sender != SenderType::Customer)
                    .map(|typing| LiveEvent::Typing { active: typing.typing, name: typing.name }),
                _ => None,
            },
            Event::Presence { topic, full, payload } if topic != conversation => {
                let online = self.socket.with_owner(|s, _| {
                    if full {
                        s.presence.apply_state(&payload);
                    } else {
                        s.presence.apply_diff(&payload);
                    }
                    !s.presence.is_empty()
                });
                Some(LiveEvent::Operators(online))
            }
            _ => None,
        }
    }
}
