//! Writing in a conversation: replies and internal notes go through the same exactly-once
//! outbox as the widget's (`chat_client::outbox`): each keeps its `client_msg_id` for every try
//! of `rpc/post_staff_message`, is retried with back-off while the server is away, and shows
//! its state until the server confirms it.

use crate::auth::Auth;
use crate::project::sentence;
use chat_client::outbox::{AfterFailure, Delivery, Outbox, Outgoing, Pending};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_use_interval_fn::use_interval_fn;
use thaw::*;
use uuid::Uuid;

/// How often due retries are looked for.
const RETRY_CHECK_MS: u64 = 1_000;

/// The replies and the notes of one conversation on their way.
#[derive(Clone, Default)]
pub struct Sending {
    replies: Outbox,
    notes: Outbox,
}

impl Sending {
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

/// The composer of conversation `id`, and what it is still `sending`. `sent` is bumped when the
/// server confirmed a message (the list refetches).
#[component]
pub fn Composer(auth: Auth, id: Uuid, sending: RwSignal<Sending>, sent: RwSignal<u64>) -> impl IntoView {
    let busy = StoredValue::new(false);
    let text = RwSignal::new(String::new());
    let note = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let deliver = move || deliver(auth, id, sending, busy, sent);
    use_interval_fn(deliver, RETRY_CHECK_MS);
    let submit = move || {
        let content = chat_core::text::without_controls(&text.get_untracked()).into_owned();
        if content.trim().is_empty() {
            return;
        }
        let max = *chat_core::limits::MESSAGE_CHARS.end() as usize;
        if content.chars().count() > max {
            problem.set(Some(format!("A message has at most {max} characters.")));
            return;
        }
        problem.set(None);
        let message = Outgoing { client_msg_id: Uuid::new_v4(), content };
        sending.update(|s| s.of(note.get_untracked()).push(message));
        text.set(String::new());
        deliver();
    };
    let keydown = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
            event.prevent_default();
            submit();
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
            <textarea
                id="reply"
                data-testid="composer"
                rows="3"
                placeholder=move || if note.get() { "Note for your team (the visitor never sees it)" } else { "Reply… (Enter sends, Shift+Enter: new line)" }
                prop:value=move || text.get()
                on:input=move |event| text.set(event_target_value(&event))
                on:keydown=keydown
            ></textarea>
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
fn deliver(auth: Auth, conversation: Uuid, sending: RwSignal<Sending>, busy: StoredValue<bool>, sent: RwSignal<u64>) {
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
