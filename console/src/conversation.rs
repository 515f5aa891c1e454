//! One conversation as staff see it: its messages oldest first, internal notes marked as such,
//! kept current by the conversation's topic and the site's notes. Opening it marks it read.

use crate::app::Problem;
use crate::auth::Auth;
use crate::composer::{Composer, Sending};
use crate::inbox::short_time;
use crate::live::{Watch, latest, news};
use crate::project::sentence;
use chat_core::inbox::{STAFF_MESSAGE_COLUMNS, StaffMessage};
use chat_core::text::displayable;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

/// The newest messages shown (older ones: paging upward, next).
const SHOWN: &str = "100";

/// The conversation `id` of site `site_id`; `read` is bumped each time it was marked read.
#[component]
pub fn ConversationPane(auth: Auth, site_id: Uuid, id: Uuid, read: RwSignal<u64>) -> impl IntoView {
    let watches = vec![
        Watch { topic: format!("conversation:{id}"), events: &["INSERT", "UPDATE"] },
        Watch { topic: format!("site:{site_id}"), events: &["NOTE_INSERT", "NOTE_UPDATE"] },
    ];
    let news = news(auth, watches);
    // Bumped when the server confirmed a message written here.
    let sent = RwSignal::new(0_u64);
    let sending = RwSignal::new(Sending::default());
    let messages = LocalResource::new(move || {
        news.track();
        sent.track();
        async move {
            let token = auth.token().unwrap_or_default();
            let conversation = format!("eq.{id}");
            let query = [
                ("select", STAFF_MESSAGE_COLUMNS),
                ("conversation_id", conversation.as_str()),
                ("deleted_at", "is.null"),
                ("order", "seq.desc"),
                ("limit", SHOWN),
            ];
            let mut page = auth.project().select::<Vec<StaffMessage>>(&token, "messages", &query).await?;
            page.reverse();
            mark_read(auth, id, read);
            Ok(page)
        }
    });
    let messages = latest(messages);
    // What the page shows is delivered, even if its own answer was lost on the way.
    Effect::new(move |_| {
        messages.with(|loaded| {
            if let Some(Ok(page)) = loaded {
                sending.maybe_update(|s| s.confirm_all(page.iter().filter_map(|m| m.client_msg_id)));
            }
        })
    });
    let page =
        move || messages.with(|loaded| loaded.as_ref().and_then(|l| l.as_ref().ok()).cloned().unwrap_or_default());
    let problem = move || messages.with(|loaded| loaded.as_ref().and_then(|l| l.as_ref().err()).map(sentence));
    // One keyed list for the pane's life: a refetch moves, adds and drops rows, never redraws all.
    view! {
        <section class="conversation-pane" aria-label="Conversation" data-testid="conversation-pane">
            {move || problem().map(|message| view! { <Problem message /> })}
            <ol class="messages" data-testid="messages">
                <For each=page key=|m| (m.id, m.content.clone()) let:message>
                    <MessageItem message />
                </For>
            </ol>
            <Composer auth id sending sent />
        </section>
    }
}

/// A message; text only, notes marked for staff.
#[component]
fn MessageItem(message: StaffMessage) -> impl IntoView {
    let class = match (message.internal, message.sender_type.as_str()) {
        (true, _) => "message note",
        (_, "customer") => "message customer",
        (_, "system") => "message system",
        _ => "message staff",
    };
    let who = match (message.internal, message.sender_type.as_str()) {
        (true, _) => "Internal note",
        (_, "customer") => "Visitor",
        (_, "operator") => "Agent",
        (_, "ai") => "Automatic answer",
        _ => "Notice",
    };
    let time = short_time(&message.created_at);
    view! {
        <li class=class data-testid="message" data-internal=message.internal.then_some("true")>
            <span class="who">{who}</span>
            <p class="text">{displayable(&message.content).into_owned()}</p>
            <time datetime=message.created_at.clone()>{time}</time>
        </li>
    }
}

/// Mark what the operator sees as read, then bump `read`; a failure only leaves the badge.
fn mark_read(auth: Auth, id: Uuid, read: RwSignal<u64>) {
    spawn_local(async move {
        let token = auth.token().unwrap_or_default();
        let body = serde_json::json!({ "p_conversation_id": id });
        if auth.project().rpc::<serde_json::Value>(&token, "mark_conversation_read", &body).await.is_ok() {
            read.update(|n| *n += 1);
        }
    });
}
