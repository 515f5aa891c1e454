//! Live news over Realtime as the signed-in user (`chat_browser::Socket`): a counter bumped
//! on every broadcast that matters to a view and on every (re)join of its topics. Views
//! refetch when it moves, so nothing said while the connection was down is missing once it
//! is back.

use crate::auth::Auth;
use chat_browser::{Heard, Socket};
use chat_client::realtime::client::{Client, Event, JoinConfig};
use leptos::prelude::*;
use uuid::Uuid;

/// A topic to join and the broadcast events on it that are news.
pub struct Watch {
    /// The sub-topic (`site:<id>`, `conversation:<id>`).
    pub topic: String,
    /// The events that count.
    pub events: &'static [&'static str],
}

/// The site's inbox news: new and changed conversations.
pub fn site_news(auth: Auth, site_id: Uuid) -> ReadSignal<u64> {
    news(
        auth,
        vec![Watch { topic: format!("site:{site_id}"), events: &["conversation_created", "conversation_updated"] }],
    )
}

/// A counter bumped on every (re)join of the `watches` topics and every broadcast they name.
pub fn news(auth: Auth, watches: Vec<Watch>) -> ReadSignal<u64> {
    let news = RwSignal::new(0_u64);
    let Some(token) = auth.token() else { return news.read_only() };
    let mut client = Client::new(token);
    for watch in &watches {
        client.join(&watch.topic, JoinConfig { private: true, ..JoinConfig::default() });
    }
    let project = auth.project();
    let socket = Socket::<()>::new();
    let url = Client::socket_url(&project.realtime_url(), project.publishable_key());
    socket.start(url, client, (), move |heard| {
        let fresh = match heard {
            Heard::Event(Event::Joined { topic }) => watches.iter().any(|w| w.topic == topic),
            Heard::Event(Event::Broadcast { topic, event, .. }) => {
                watches.iter().any(|w| w.topic == topic && w.events.contains(&event.as_str()))
            }
            _ => false,
        };
        if fresh {
            news.update(|n| *n += 1);
        }
    });
    // Each refreshed token goes to the channels before the old one expires.
    Effect::new(move |_| {
        if let Some(token) = auth.session.with(|s| s.as_ref().map(|s| s.access_token.clone())) {
            socket.send_with(|client, _| client.set_token(&token));
        }
    });
    on_cleanup(move || socket.stop());
    news.read_only()
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
