//! The inbox's live news: the site's private Realtime topic, joined as the signed-in user
//! (`chat_browser::Socket`). Every `conversation_created` / `conversation_updated` broadcast (a
//! new conversation, a message, a state change) and every (re)join bumps a counter the list
//! refetches on, so nothing said while the connection was down is missing once it is back.

use crate::auth::Auth;
use chat_browser::{Heard, Socket};
use chat_client::realtime::client::{Client, Event, JoinConfig};
use leptos::prelude::*;
use uuid::Uuid;

/// A counter bumped on every piece of news about the site's conversations.
pub fn site_news(auth: Auth, site_id: Uuid) -> ReadSignal<u64> {
    let news = RwSignal::new(0_u64);
    let Some(token) = auth.token() else { return news.read_only() };
    let topic = format!("site:{site_id}");
    let mut client = Client::new(token);
    client.join(&topic, JoinConfig { private: true, ..JoinConfig::default() });
    let project = auth.project();
    let socket = Socket::<()>::new();
    let url = Client::socket_url(&project.realtime_url(), project.publishable_key());
    socket.start(url, client, (), move |heard| {
        let fresh = match heard {
            Heard::Event(Event::Joined { topic: joined }) => joined == topic,
            Heard::Event(Event::Broadcast { topic: on, event, .. }) => {
                on == topic && matches!(event.as_str(), "conversation_created" | "conversation_updated")
            }
            _ => false,
        };
        if fresh {
            news.update(|n| *n += 1);
        }
    });
    // Each refreshed token goes to the channel before the old one expires.
    Effect::new(move |_| {
        if let Some(token) = auth.session.with(|s| s.as_ref().map(|s| s.access_token.clone())) {
            socket.send_with(|client, _| client.set_token(&token));
        }
    });
    on_cleanup(move || socket.stop());
    news.read_only()
}
