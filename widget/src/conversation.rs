//! The conversation: message bubbles (text only; links in agent messages become anchors) with
//! their delivery state, and the composer.

use crate::chat::{Chat, Stage, friendly};
use chat_client::history::Offer;
use chat_client::outbox::{Delivery, Pending};
use chat_core::api::{HANDOFF_REQUEST, Message, SenderType};
use chat_core::text::{Segment, displayable, segments};
use leptos::either::Either;
use leptos::html;
use leptos::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;

/// Characters after which the composer shows how many are left (nine tenths of the limit).
const COUNTER_FROM: usize = MAX_CHARS / 10 * 9;
const MAX_CHARS: usize = *chat_core::limits::MESSAGE_CHARS.end() as usize;
/// The send button's paper plane (static markup, set as HTML).
const SEND_ICON: &str = r#"<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M3 20l18-8L3 4v6l12 2-12 2z"/></svg>"#;

/// The greeting, the confirmed messages, then the visitor's unconfirmed ones.
#[component]
pub fn MessageList(chat: Chat, greeting: String) -> impl IntoView {
    let list = NodeRef::<html::Div>::new();
    let shown = AtomicUsize::new(0);
    // Keyed by what a bubble shows: a line that changes is drawn again, the others keep their
    // nodes (and the focus, say on another message's Retry button). A new line scrolls the
    // list to the newest message.
    let lines = move || {
        let lines = lines(chat);
        if shown.swap(lines.len(), Ordering::Relaxed) != lines.len() {
            request_animation_frame(move || {
                if let Some(list) = list.get_untracked() {
                    list.set_scroll_top(list.scroll_height());
                }
            });
        }
        lines
    };
    view! {
        <div class="body messages" node_ref=list data-testid="chat-messages">
            <p class="bubble system" data-testid="chat-welcome">{greeting}</p>
            <For each=lines key=Line::key children=move |line| view! { <Bubble chat row=line.row seen=line.seen /> } />
            <p class="offer" hidden=move || chat.offer().is_none()>
                <button class="text-button" data-testid="chat-offer" on:click=move |_| chat.take_offer()>
                    {move || if chat.offer() == Some(Offer::Rating) { "Rate this conversation" } else { HANDOFF_REQUEST }}
                </button>
            </p>
            <div class="notice" role="status" data-testid="chat-notice" hidden=move || chat.notice.with(Option::is_none)>
                <p>{move || chat.notice.get().unwrap_or_default()}</p>
                {(!chat.full_page).then(|| view! {
                    <button class="text-button" data-testid="chat-new" hidden=move || chat.stage.get() != Stage::Ended
                        on:click=move |_| chat.start_over()>"Start a new chat"</button>
                })}
            </div>
        </div>
    }
}

/// A line of the conversation: confirmed by the edge, or still in the outbox.
#[derive(Clone)]
enum Row {
    Sent(Message),
    Unsent(Pending),
}

/// A row as drawn: with "Seen" under the visitor's newest message staff has read.
#[derive(Clone)]
struct Line {
    row: Row,
    seen: bool,
}

impl Line {
    /// Changes whenever what the bubble shows changes.
    fn key(&self) -> (Uuid, Option<String>, u8) {
        match &self.row {
            Row::Sent(m) => (m.id, m.edited_at.clone(), u8::from(self.seen)),
            Row::Unsent(p) => {
                let state = match p.delivery {
                    Delivery::Sending { .. } => 2,
                    Delivery::Retrying { attempts: 0, .. } => 3,
                    Delivery::Retrying { .. } => 4,
                    Delivery::Failed(_) => 5,
                };
                (p.message.client_msg_id, None, state)
            }
        }
    }
}

/// Confirmed messages in order, then the visitor's unconfirmed ones.
fn lines(chat: Chat) -> Vec<Line> {
    chat.lines.with(|l| {
        let seen = l.messages().iter().rev().find(|m| m.sender_type == SenderType::Customer && m.read_at.is_some());
        let seen = seen.map(|m| m.id);
        let sent = l.messages().iter().map(|m| Line { seen: Some(m.id) == seen, row: Row::Sent(m.clone()) });
        let unsent = l.outbox.items().iter().map(|p| Line { seen: false, row: Row::Unsent(p.clone()) });
        sent.chain(unsent).collect()
    })
}

/// A message: confirmed by the edge (`seen` by staff), or one of the visitor's still on its way
/// (with its delivery state and a retry button once sending failed).
#[component]
fn Bubble(chat: Chat, row: Row, seen: bool) -> impl IntoView {
    let (sender_type, content, created_at, pending) = match row {
        Row::Sent(message) => (message.sender_type, message.content, Some(message.created_at), None),
        Row::Unsent(item) => {
            (SenderType::Customer, item.message.content, None, Some((item.message.client_msg_id, item.delivery)))
        }
    };
    let unsent = pending.is_some();
    let (class, who, sender) = match (sender_type, unsent) {
        (SenderType::Customer, true) => ("bubble own pending", "You", "customer"),
        (SenderType::Customer, false) => ("bubble own", "You", "customer"),
        (SenderType::Operator, _) => ("bubble agent", "Agent", "operator"),
        (SenderType::Ai, _) => ("bubble automatic", "Automatic answer", "ai"),
        (SenderType::System, _) => ("bubble system", "Notice", "system"),
    };
    let linkable = matches!(sender_type, SenderType::Operator | SenderType::Ai);
    view! {
        <div class=class data-testid="chat-message" data-sender=sender data-pending=unsent.then_some("true")>
            <span class="sr-only">{who}": "</span>
            <p class="text">{render_text(&content, linkable)}</p>
            <span class="meta" data-testid=unsent.then_some("chat-delivery")>
                {created_at.map(|at| {
                    let time = clock(&at);
                    view! { <time datetime=at>{time}</time> }
                })}
                {seen.then(|| view! { <span data-testid="chat-seen">" · Seen"</span> })}
                {pending.map(|(id, delivery)| view! { <DeliveryState chat id delivery /> })}
            </span>
        </div>
    }
}

/// "Sending…", or why it is not delivered yet and a button to try again now. The list is
/// drawn again whenever the outbox changes, so this is drawn from the state it has now.
#[component]
fn DeliveryState(chat: Chat, id: Uuid, delivery: Delivery) -> impl IntoView {
    let (state, action) = match delivery {
        Delivery::Failed(reason) => (format!("Not sent: {reason} "), "Retry"),
        Delivery::Retrying { attempts, .. } if attempts > 0 => {
            ("Not delivered yet, retrying… ".to_string(), "Retry now")
        }
        _ => ("Sending…".to_string(), ""),
    };
    view! {
        <span class=if action.is_empty() { "" } else { "failed" }>{state}</span>
        <button class="text-button" data-testid="chat-retry" hidden=action.is_empty() on:click=move |_| chat.retry(id)>{action}</button>
    }
}

/// Text as text, without direction overrides; in agent messages, web links as anchors that
/// open safely in a new tab.
fn render_text(content: &str, linkable: bool) -> Vec<Either<impl IntoView + use<>, String>> {
    segments(&displayable(content))
        .into_iter()
        .map(|segment| match segment {
            Segment::Link(url) if linkable => {
                let (href, text) = (url.to_string(), url.to_string());
                Either::Left(view! { <a href=href target="_blank" rel="noopener noreferrer">{text}</a> })
            }
            Segment::Link(text) | Segment::Text(text) => Either::Right(text.to_string()),
        })
        .collect()
}

/// The length of "14:05".
const HH_MM: usize = 5;

/// "14:05" in the visitor's time zone.
fn clock(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&rfc3339.into());
    if date.get_time().is_nan() {
        return String::new();
    }
    // `toTimeString()` starts with the local "HH:MM:SS" (ECMA-262 TimeString), zero-padded.
    let time = String::from(date.to_time_string());
    time.get(..HH_MM).unwrap_or_default().to_string()
}

/// Enter sends, Shift+Enter starts a new line; the counter appears near the limit.
#[component]
pub fn Composer(chat: Chat) -> impl IntoView {
    // RwSignals of the types the chat already has: each new signal type costs widget code.
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Textarea>::new();
    request_animation_frame(move || {
        if let Some(input) = input.get_untracked() {
            let _ = input.focus();
        }
    });
    let length = move || text.with(|t| t.chars().count());
    let send = move || {
        let content = text.get_untracked();
        if content.trim().is_empty() {
            return;
        }
        match chat.send(content) {
            Ok(()) => {
                text.set(String::new());
                problem.set(None);
            }
            Err(error) => problem.set(Some(friendly(&error.into()))),
        }
    };
    let enabled = move || chat.stage.get() == Stage::Chatting;
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <label class="sr-only" for="chat-input">"Message"</label>
            <textarea
                id="chat-input"
                node_ref=input
                rows="1"
                maxlength=MAX_CHARS.to_string()
                placeholder="Write a message…"
                data-testid="chat-input"
                prop:value=move || text.get()
                prop:disabled=move || !enabled()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    chat.typing_input(true);
                }
                on:blur=move |_| chat.typing_input(false)
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <span class="counter" data-testid="chat-counter" aria-live="polite" hidden=move || length() < COUNTER_FROM>
                {move || format!("{}/{MAX_CHARS}", length())}
            </span>
            <button type="submit" class="send" aria-label="Send" data-testid="chat-send"
                prop:disabled=move || !enabled() || text.with(|t| t.trim().is_empty())>
                <span class="icon" inner_html=SEND_ICON></span>
            </button>
            <p class="problem" role="alert" hidden=move || problem.with(Option::is_none)>{move || problem.get().unwrap_or_default()}</p>
        </form>
    }
}
