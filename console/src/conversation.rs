//! One conversation as staff see it: its header (state and actions), its messages oldest
//! first (internal notes marked as such), the visitor's typing, the composer, and the customer
//! pane; kept current by the conversation's topic and the site's. Opening it marks it read.

use crate::actions::ConversationHeader;
use crate::app::Problem;
use crate::composer::{Composer, Sending};
use crate::customer::CustomerPane;
use crate::desk::Desk;
use crate::inbox::short_time;
use crate::live::latest;
use crate::project::sentence;
use chat_client::call::CallError;
use chat_client::realtime::RowChange;
use chat_client::realtime::client::Event;
use chat_client::timing::{TYPING_SHOWN_MS, TypingShown};
use chat_core::api::{DRAFT_EVENT, DRAFT_SEQ, Message, SenderType, Typing};
use chat_core::inbox::{CONVERSATION_STATE_COLUMNS, ConversationState, STAFF_MESSAGE_COLUMNS, StaffMessage};
use chat_core::text::displayable;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use uuid::Uuid;

/// The newest messages shown when a conversation opens.
const SHOWN: usize = 100;
/// Earlier messages loaded per step upward.
const EARLIER: usize = 50;
/// The most messages one read returns (a longer conversation shows its newest ones).
const MOST: &str = "1000";

/// The conversation `id` of the desk's site (called `site_name`); `read` is bumped each time
/// it was marked read, `selected` opens another one.
#[component]
pub fn ConversationPane(
    desk: Desk,
    site_name: String,
    id: Uuid,
    read: RwSignal<u64>,
    selected: RwSignal<Option<Uuid>>,
) -> impl IntoView {
    let topic = format!("conversation:{id}");
    let news = desk.live.news(topic.clone(), &["INSERT", "UPDATE"]);
    let notes = desk.live.news(desk.topic(), &["NOTE_INSERT", "NOTE_UPDATE"]);
    let updated = desk.live.news(desk.topic(), &["conversation_updated"]);
    let visitor = desk.live.present(topic.clone());
    let typing = visitor_typing(desk, topic.clone());
    let draft = agent_draft(desk, topic.clone());
    // Bumped when the server confirmed a message written here, or an action went through.
    let sent = RwSignal::new(0_u64);
    let changed = RwSignal::new(0_u64);
    let sending = RwSignal::new(Sending::restore(id));
    // The oldest message shown: every read after the first returns all from there on, so the
    // list grows with new messages and with each step upward, without gaps.
    let floor = StoredValue::new(None::<i64>);
    let more = RwSignal::new(false);
    let earlier = RwSignal::new(0_u64);
    let messages = LocalResource::new(move || {
        news.track();
        notes.track();
        sent.track();
        earlier.track();
        async move {
            let from = floor.get_value();
            let page = read_messages(desk, id, from.map_or(Range::Newest(SHOWN), Range::From)).await?;
            if from.is_none() {
                more.set(page.len() == SHOWN);
            }
            // Only ever lower: a read started before a step upward must not undo it.
            let oldest = page.first().map(|m| m.seq);
            floor.update_value(|f| *f = [*f, oldest].into_iter().flatten().min());
            mark_read(desk, id, read);
            Ok(page)
        }
    });
    let load_earlier = move |_| {
        let Some(before) = floor.get_value() else { return };
        spawn_local(async move {
            if let Ok(step) = read_messages(desk, id, Range::Before(before, EARLIER)).await {
                more.set(step.len() == EARLIER);
                if let Some(first) = step.first() {
                    floor.update_value(|f| *f = Some(f.map_or(first.seq, |f| f.min(first.seq))));
                    earlier.update(|n| *n += 1);
                }
            }
        });
    };
    let messages = latest(messages);
    let state = LocalResource::new(move || {
        updated.track();
        changed.track();
        async move {
            let token = desk.auth.token().unwrap_or_default();
            let conversation = format!("eq.{id}");
            let query = [("select", CONVERSATION_STATE_COLUMNS), ("id", conversation.as_str())];
            let rows = desk.auth.project().select::<Vec<ConversationState>>(&token, "conversations", &query).await?;
            Ok::<_, CallError>(rows.into_iter().next())
        }
    });
    let state = latest(state);
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
    // Views below are redrawn only when what they show changed, not on every refetch.
    let current = Memo::new(move |_| state.with(|s| s.as_ref().and_then(|s| s.as_ref().ok()).cloned().flatten()));
    let answers = Memo::new(move |_| desk.answers());
    let customer = Memo::new(move |_| current.get().map(|s| s.customer_id));
    let closed = Memo::new(move |_| current.get().is_some_and(|s| s.status == "closed"));
    let online = Signal::derive(move || !visitor.with(Vec::is_empty));
    let refresh = Signal::derive(move || updated.get() + changed.get());
    // One keyed list for the pane's life: a refetch moves, adds and drops rows, never redraws all.
    view! {
        <section class="conversation-pane" aria-label="Conversation" data-testid="conversation-pane">
            {move || current.get().map(|state| view! { <ConversationHeader desk state changed /> })}
            {move || problem().map(|message| view! { <Problem message /> })}
            <button class="link earlier-messages" hidden=move || !more.get() on:click=load_earlier>
                "Load earlier messages"
            </button>
            <ol class="messages" data-testid="messages">
                <For each=page key=|m| (m.id, m.content.clone()) let:message>
                    <MessageItem message />
                </For>
            </ol>
            <p class="typing" data-testid="visitor-typing" aria-live="polite">
                {move || typing.get().then_some("The visitor is typing…")}
            </p>
            <p class="typing" data-testid="agent-typing">
                {move || draft.get().map(|text| match text.as_str() {
                    "…" => "The AI agent is thinking…".to_string(),
                    _ => format!("The AI agent is answering: {text}"),
                })}
            </p>
            {move || {
                answers.get().then(|| view! { <Composer desk id topic=topic.clone() sending sent closed /> })
            }}
        </section>
        {move || {
            customer.get().map(|customer| {
                view! { <CustomerPane desk site_name=site_name.clone() id customer news=refresh online selected /> }
            })
        }}
    }
}

/// Which messages a read returns.
enum Range {
    /// The newest `n`.
    Newest(usize),
    /// From this `seq` on (at most [`MOST`]).
    From(i64),
    /// The `n` before this `seq`.
    Before(i64, usize),
}

/// The conversation's messages in `range`, oldest first, notes included, deleted ones left out.
async fn read_messages(desk: Desk, id: Uuid, range: Range) -> Result<Vec<StaffMessage>, CallError> {
    let token = desk.auth.token().unwrap_or_default();
    let conversation = format!("eq.{id}");
    let (seq, order, limit) = match range {
        Range::Newest(n) => (None, "seq.desc", n.to_string()),
        Range::From(seq) => (Some(format!("gte.{seq}")), "seq.asc", MOST.to_string()),
        Range::Before(seq, n) => (Some(format!("lt.{seq}")), "seq.desc", n.to_string()),
    };
    let mut query = vec![
        ("select", STAFF_MESSAGE_COLUMNS),
        ("conversation_id", conversation.as_str()),
        ("deleted_at", "is.null"),
        ("order", order),
        ("limit", limit.as_str()),
    ];
    if let Some(seq) = &seq {
        query.push(("seq", seq.as_str()));
    }
    let mut page = desk.auth.project().select::<Vec<StaffMessage>>(&token, "messages", &query).await?;
    if order == "seq.desc" {
        page.reverse();
    }
    Ok(page)
}

/// Whether the visitor is typing in the conversation on `topic` (shown until news stops).
fn visitor_typing(desk: Desk, topic: String) -> ReadSignal<bool> {
    let shown = RwSignal::new(false);
    let state = StoredValue::new(TypingShown::default());
    desk.live.listen(topic, move |event| {
        let news = match event {
            Some(Event::Broadcast { event, payload, .. }) if event == "typing" => payload.decode::<Typing>(),
            _ => None,
        };
        let Some(typing) = news.filter(|t| t.sender == SenderType::Customer) else { return };
        state.update_value(|s| s.news(typing.typing, js_sys::Date::now()));
        shown.set(typing.typing);
        if typing.typing {
            set_timeout(
                move || {
                    if state.try_with_value(|s| !s.shown(js_sys::Date::now())).unwrap_or(false) {
                        shown.try_set(false);
                    }
                },
                Duration::from_millis(TYPING_SHOWN_MS as u64 + 50),
            );
        }
    });
    shown.read_only()
}

/// The AI agent's answer in the conversation on `topic` while the model writes it (its drafts,
/// [`DRAFT_EVENT`]); gone once it is stored or was dropped.
fn agent_draft(desk: Desk, topic: String) -> ReadSignal<Option<String>> {
    let shown = RwSignal::new(None);
    desk.live.listen(topic, move |event| {
        let Some(Event::Broadcast { event, payload, .. }) = event else { return };
        if event != DRAFT_EVENT && event != "INSERT" {
            return;
        }
        let Some(change) = payload.decode::<RowChange<Message>>() else { return };
        let record = change.record;
        let writing = event == DRAFT_EVENT && record.seq == DRAFT_SEQ && record.deleted_at.is_none();
        if writing {
            shown.set(Some(record.content));
        } else if record.sender_type == SenderType::Ai {
            shown.set(None);
        }
    });
    shown.read_only()
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
fn mark_read(desk: Desk, id: Uuid, read: RwSignal<u64>) {
    spawn_local(async move {
        let token = desk.auth.token().unwrap_or_default();
        let body = serde_json::json!({ "p_conversation_id": id });
        if desk.auth.project().rpc::<serde_json::Value>(&token, "mark_conversation_read", &body).await.is_ok() {
            read.update(|n| *n += 1);
        }
    });
}
