//! Writing in a conversation: replies and internal notes go through the same exactly-once
//! outbox as the widget's (`chat_client::outbox`): each keeps its `client_msg_id` for every try
//! of `rpc/post_staff_message`, is retried with back-off while the server is away, and shows
//! its state until the server confirms it. The draft and the unconfirmed messages are kept in
//! `localStorage` per conversation, so a reload loses nothing typed (a message sent again
//! after a reload keeps its id: still once). `/shortcut` inserts a canned response; typing a
//! reply (not a note) tells the visitor.

use crate::desk::Desk;
use crate::project::sentence;
use crate::store;
use chat_client::outbox::{AfterFailure, Delivery, Outbox, Outgoing, Pending};
use chat_client::timing::TypingSender;
use chat_core::api::{SenderType, Typing};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_use_interval_fn::use_interval_fn;
use serde::{Deserialize, Serialize};
use thaw::*;
use uuid::Uuid;

/// How often due retries are looked for.
const RETRY_CHECK_MS: u64 = 1_000;
/// Canned responses offered at once.
const SUGGESTED: usize = 6;

/// The replies and the notes of one conversation on their way.
#[derive(Clone)]
pub struct Sending {
    replies: Outbox,
    notes: Outbox,
}

/// What is kept of a conversation's outbox across reloads.
#[derive(Default, Serialize, Deserialize)]
struct SavedSending {
    replies: Vec<Outgoing>,
    notes: Vec<Outgoing>,
}

/// The draft kept across reloads.
#[derive(Default, Serialize, Deserialize)]
struct Draft {
    text: String,
    note: bool,
}

impl Sending {
    /// What conversation `id` still had on its way when the page was left.
    pub fn restore(id: Uuid) -> Self {
        let saved: SavedSending = store::load(&outbox_key(id)).unwrap_or_default();
        Self { replies: Outbox::restore(saved.replies), notes: Outbox::restore(saved.notes) }
    }

    fn save(&self, id: Uuid) {
        let saved = SavedSending { replies: self.replies.saved(), notes: self.notes.saved() };
        let empty = saved.replies.is_empty() && saved.notes.is_empty();
        store::save(&outbox_key(id), (!empty).then_some(&saved));
    }

    /// Messages the server has (the conversation's page shows them) are done, however their
    /// own answer went.
    pub fn confirm_all(&mut self, ids: impl Iterator<Item = Uuid>) -> bool {
        let mut changed = false;
        for id in ids {
            changed |= self.replies.confirm(id) | self.notes.confirm(id);
        }
        changed
    }

    fn of(&mut self, internal: bool) -> &mut Outbox {
        if internal { &mut self.notes } else { &mut self.replies }
    }

    /// Everything not confirmed yet, replies first, with whether it is a note.
    fn items(&self) -> Vec<(Pending, bool)> {
        let replies = self.replies.items().iter().map(|p| (p.clone(), false));
        replies.chain(self.notes.items().iter().map(|p| (p.clone(), true))).collect()
    }

    fn next_due(&self, now: f64) -> Option<(Outgoing, bool)> {
        let reply = self.replies.due(now).into_iter().next().map(|m| (m, false));
        reply.or_else(|| self.notes.due(now).into_iter().next().map(|m| (m, true)))
    }
}

fn outbox_key(id: Uuid) -> String {
    format!("chat-console:outbox:{id}")
}

fn draft_key(id: Uuid) -> String {
    format!("chat-console:draft:{id}")
}

/// A site's saved reply.
#[derive(Clone, Debug, Deserialize)]
struct Canned {
    shortcut: String,
    content: String,
}

/// The composer of conversation `id` (its Realtime `topic`), and what it is still `sending`.
/// `sent` is bumped when the server confirmed a message (the list refetches); while `closed`
/// only notes go out.
#[component]
pub fn Composer(
    desk: Desk,
    id: Uuid,
    topic: String,
    sending: RwSignal<Sending>,
    sent: RwSignal<u64>,
    closed: Memo<bool>,
) -> impl IntoView {
    let busy = StoredValue::new(false);
    let draft: Draft = store::load(&draft_key(id)).unwrap_or_default();
    let text = RwSignal::new(draft.text);
    let note = RwSignal::new(draft.note);
    let problem = RwSignal::new(None::<String>);
    let typing = StoredValue::new(TypingSender::default());
    let picked = RwSignal::new(0_usize);
    let canned = LocalResource::new(move || async move {
        let token = desk.auth.token().unwrap_or_default();
        let site = format!("eq.{}", desk.site_id);
        let query = [("select", "shortcut,content"), ("site_id", site.as_str()), ("order", "shortcut")];
        desk.auth.project().select::<Vec<Canned>>(&token, "canned_responses", &query).await.unwrap_or_default()
    });
    // `/ref` offers the canned responses whose shortcut starts with `ref`.
    let suggestions = Memo::new(move |_| {
        let typed = text.get();
        let Some(prefix) = typed.strip_prefix('/').filter(|p| !p.contains(char::is_whitespace)) else {
            return Vec::new();
        };
        let all = canned.get().unwrap_or_default();
        all.into_iter()
            .filter(|c| c.shortcut.starts_with(prefix))
            .take(SUGGESTED)
            .map(|c| (c.shortcut, c.content))
            .collect::<Vec<_>>()
    });
    let insert = move |index: usize| {
        if let Some((_, content)) = suggestions.with_untracked(|s| s.get(index).cloned()) {
            text.set(content);
            picked.set(0);
        }
    };
    Effect::new(move |_| {
        let draft = Draft { text: text.get(), note: note.get() };
        store::save(&draft_key(id), (!draft.text.is_empty()).then_some(&draft));
    });
    Effect::new(move |_| sending.with(|s| s.save(id)));
    let tell_typing = {
        let topic = topic.clone();
        move |active: bool| {
            // Not joined yet: nothing would go out, and the throttle would hold the next news back.
            if !desk.live.is_joined(&topic) {
                return;
            }
            let Some(active) = typing.try_update_value(|t| t.input(active, js_sys::Date::now())).flatten() else {
                return;
            };
            let name = desk.mine().and_then(|m| m.display_name);
            desk.live.broadcast(&topic, "typing", &Typing { typing: active, sender: SenderType::Operator, name });
        }
    };
    let deliver = move || deliver(desk, id, sending, busy, sent);
    use_interval_fn(deliver, RETRY_CHECK_MS);
    let submit = {
        let tell_typing = tell_typing.clone();
        move || {
            let content = chat_core::text::without_controls(&text.get_untracked()).into_owned();
            if content.trim().is_empty() {
                return;
            }
            let max = *chat_core::limits::MESSAGE_CHARS.end() as usize;
            if content.chars().count() > max {
                problem.set(Some(format!("A message has at most {max} characters.")));
                return;
            }
            let internal = note.get_untracked();
            if closed.get_untracked() && !internal {
                problem
                    .set(Some("This conversation is closed: reopen it to reply (notes still reach your team).".into()));
                return;
            }
            problem.set(None);
            let message = Outgoing { client_msg_id: Uuid::new_v4(), content };
            sending.update(|s| s.of(internal).push(message));
            text.set(String::new());
            tell_typing(false);
            deliver();
        }
    };
    let keydown = {
        let submit = submit.clone();
        move |event: leptos::ev::KeyboardEvent| {
            let offered = suggestions.with_untracked(Vec::len);
            match event.key().as_str() {
                "ArrowDown" | "ArrowUp" if offered > 0 => {
                    event.prevent_default();
                    let step = if event.key() == "ArrowDown" { 1 } else { offered - 1 };
                    picked.update(|p| *p = (*p + step) % offered);
                }
                "Tab" | "Enter" if offered > 0 && !event.shift_key() => {
                    event.prevent_default();
                    insert(picked.get_untracked().min(offered - 1));
                }
                "Enter" if !event.shift_key() && !event.is_composing() => {
                    event.prevent_default();
                    submit();
                }
                _ => {}
            }
        }
    };
    let input = {
        let tell_typing = tell_typing.clone();
        move |event: leptos::ev::Event| {
            text.set(event_target_value(&event));
            picked.set(0);
            if !note.get_untracked() {
                tell_typing(true);
            }
        }
    };
    view! {
        <ol class="pending" data-testid="pending">
            <For each=move || sending.with(Sending::items) key=|(p, _)| (p.message.client_msg_id, state_key(&p.delivery)) let:item>
                <PendingItem pending=item.0 internal=item.1 sending />
            </For>
        </ol>
        <form class="composer" class:note=note on:submit=move |event| { event.prevent_default(); submit(); }>
            <label class="sr-only" for="reply">{move || if note.get() { "Internal note" } else { "Reply" }}</label>
            <ul class="canned" role="listbox" aria-label="Canned responses" data-testid="canned" hidden=move || suggestions.with(Vec::is_empty)>
                {move || {
                    suggestions
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(index, (shortcut, content))| {
                            view! {
                                <li
                                    role="option"
                                    aria-selected=move || (picked.get() == index).to_string()
                                    on:mousedown=move |event| { event.prevent_default(); insert(index); }
                                >
                                    <strong>{format!("/{shortcut}")}</strong>
                                    " "
                                    <span>{content}</span>
                                </li>
                            }
                        })
                        .collect::<Vec<_>>()
                }}
            </ul>
            <textarea
                id="reply"
                data-testid="composer"
                rows="3"
                aria-keyshortcuts="r"
                placeholder=move || if note.get() { "Note for your team (the visitor never sees it)" } else { "Reply… (Enter sends, Shift+Enter: new line, / for canned responses)" }
                prop:value=move || text.get()
                on:input=input
                on:keydown=keydown
                on:blur=move |_| tell_typing(false)
            ></textarea>
            <p class="hint" hidden=move || !closed.get()>"Closed: reopen it to reply. Notes still reach your team."</p>
            {move || problem.get().map(|message| view! { <p class="problem" role="alert">{message}</p> })}
            <div class="composer-actions">
                <Checkbox checked=note label="Internal note" />
                <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary>
                    {move || if note.get() { "Add note" } else { "Send" }}
                </Button>
            </div>
        </form>
    }
}

/// A message on its way: its text and state, and Retry once it failed.
#[component]
fn PendingItem(pending: Pending, internal: bool, sending: RwSignal<Sending>) -> impl IntoView {
    let id = pending.message.client_msg_id;
    let (state, retry) = match &pending.delivery {
        Delivery::Failed(reason) => (format!("Not sent: {reason}"), true),
        Delivery::Retrying { attempts, .. } if *attempts > 0 => ("Not delivered yet, retrying…".to_string(), true),
        _ => ("Sending…".to_string(), false),
    };
    view! {
        <li class=if internal { "message note pending" } else { "message staff pending" } data-testid="pending-message">
            <p class="text">{pending.message.content.clone()}</p>
            <span class="state" data-testid="delivery">{state}</span>
            {retry.then(|| view! {
                <Button size=ButtonSize::Small on_click=move |_| sending.update(|s| s.of(internal).retry_now(id))>"Retry"</Button>
            })}
        </li>
    }
}

/// What a pending line shows changes with this.
fn state_key(delivery: &Delivery) -> u8 {
    match delivery {
        Delivery::Sending { .. } => 0,
        Delivery::Retrying { attempts: 0, .. } => 1,
        Delivery::Retrying { .. } => 2,
        Delivery::Failed(_) => 3,
    }
}

/// Sends what is due, one message at a time, in order; a failure waits for its retry time.
fn deliver(desk: Desk, conversation: Uuid, sending: RwSignal<Sending>, busy: StoredValue<bool>, sent: RwSignal<u64>) {
    let auth = desk.auth;
    if busy.get_value() {
        return;
    }
    busy.set_value(true);
    spawn_local(async move {
        while let Some((message, internal)) = sending.with_untracked(|s| s.next_due(js_sys::Date::now())) {
            let id = message.client_msg_id;
            sending.update(|s| s.of(internal).sending(id));
            let body = serde_json::json!({
                "p_conversation_id": conversation,
                "p_client_msg_id": id,
                "p_content": message.content,
                "p_internal": internal,
            });
            let token = auth.token().unwrap_or_default();
            match auth.project().rpc::<serde_json::Value>(&token, "post_staff_message", &body).await {
                Ok(_) => {
                    sending.update(|s| {
                        s.of(internal).confirm(id);
                    });
                    sent.update(|n| *n += 1);
                }
                Err(error) => {
                    let (now, jitter) = (js_sys::Date::now(), js_sys::Math::random());
                    let mut after = AfterFailure::Next;
                    sending.update(|s| after = s.of(internal).failed(id, &error, now, jitter));
                    if after != AfterFailure::Next {
                        leptos::logging::warn!("console: message not delivered yet: {}", sentence(&error));
                        break;
                    }
                }
            }
        }
        busy.set_value(false);
    });
}
