//! What staff do to a conversation, from its header: take, close, reopen, snooze, transfer
//! (to a named colleague or the queue), assign (owners and admins), escalate, priority and
//! tags. Each goes through the lifecycle function or the column grant RLS allows, and a refusal
//! is said plainly; a viewer sees the state but none of the controls.

use crate::app::Problem;
use crate::desk::Desk;
use crate::project::sentence;
use chat_core::inbox::{ConversationState, PRIORITIES, SUPPORT_LEVELS};
use chat_core::limits;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use thaw::*;
use uuid::Uuid;

/// The header of conversation `state`; `changed` is bumped after each action that went through.
#[component]
pub fn ConversationHeader(desk: Desk, state: ConversationState, changed: RwSignal<u64>) -> impl IntoView {
    let id = state.id;
    let problem = RwSignal::new(None::<String>);
    let act = move |function: &'static str, body: Value| {
        spawn_local(async move {
            let token = desk.auth.token().unwrap_or_default();
            match desk.auth.project().rpc::<Value>(&token, function, &body).await {
                Ok(_) => {
                    problem.set(None);
                    changed.update(|n| *n += 1);
                }
                Err(error) => problem.set(Some(sentence(&error))),
            }
        });
    };
    let status = status_line(desk, &state);
    let open = state.status != "closed";
    let mine = state.assigned_operator_id == Some(desk.me);
    let held = state.assigned_operator_id.is_some();
    let manages = desk.mine().is_some_and(|m| m.manages());
    let take = (open && !mine).then(|| {
        view! {
            <Button appearance=ButtonAppearance::Primary on_click=move |_| act("take_conversation", json!({ "p_conversation_id": id }))>
                "Take"
            </Button>
        }
    });
    let close_or_reopen = if open {
        view! { <Button on_click=move |_| act("close_conversation", json!({ "p_conversation_id": id }))>"Close"</Button> }
            .into_any()
    } else {
        view! { <Button on_click=move |_| act("reopen_conversation", json!({ "p_conversation_id": id }))>"Reopen"</Button> }
            .into_any()
    };
    let snooze = open.then(|| {
        let choice = picker(move |choice: String| {
            let until = match choice.as_str() {
                "hour" => Some(later_by_ms(3_600_000.0)),
                "tomorrow" => Some(tomorrow_at_nine()),
                _ => None,
            };
            act("snooze_conversation", json!({ "p_conversation_id": id, "p_until": until }));
        });
        view! {
            <label class="sr-only" for="snooze">"Snooze"</label>
            <Select id="snooze" value=choice>
                <option value="">"Snooze…"</option>
                <option value="hour">"For an hour"</option>
                <option value="tomorrow">"Until tomorrow 9:00"</option>
                <option value="reply">"Until they reply"</option>
            </Select>
        }
    });
    // Said with a transfer (to the next holder) or an escalation (its reason), then cleared.
    let why = RwSignal::new(String::new());
    let said = move || Some(why.get_untracked().trim().to_string()).filter(|w| !w.is_empty());
    // Who may hand it on: its holder, or an owner or admin (who also assigns one nobody holds).
    let hand_on = (open && (mine || manages)).then(|| {
        let assigning = !held;
        let choice = picker(move |choice: String| {
            // "queue" parses to no operator: back to the queue.
            let operator = Uuid::parse_str(&choice).ok();
            if assigning {
                act("assign_conversation", json!({ "p_conversation_id": id, "p_operator_id": operator }));
            } else {
                let note = said();
                act(
                    "transfer_conversation",
                    json!({ "p_conversation_id": id, "p_operator_id": operator, "p_note": note }),
                );
                why.set(String::new());
            }
        });
        let holder = state.assigned_operator_id;
        let colleagues = move || {
            desk.members.with(|all| {
                all.iter()
                    .filter(|m| m.answers() && Some(m.user_id) != holder)
                    .map(|m| {
                        let name = m.display_name.clone().unwrap_or_else(|| m.role.clone());
                        let here = desk.present.with(|p| p.contains(&m.user_id.to_string()));
                        let label = format!("{name} ({})", if here { "online now" } else { m.availability.as_str() });
                        view! { <option value=m.user_id.to_string()>{label}</option> }
                    })
                    .collect::<Vec<_>>()
            })
        };
        view! {
            <label class="sr-only" for="hand-on">{if assigning { "Assign" } else { "Transfer" }}</label>
            <Select id="hand-on" value=choice>
                <option value="">{if assigning { "Assign to…" } else { "Transfer to…" }}</option>
                {(!assigning).then(|| view! { <option value="queue">"The queue"</option> })}
                {colleagues}
            </Select>
        }
    });
    let escalate = open.then(|| {
        let above: Vec<&'static str> = SUPPORT_LEVELS
            .iter()
            .skip_while(|level| **level != state.escalation_level)
            .skip(1)
            .copied()
            .collect();
        let choice = picker(move |level: String| {
            let reason = said().unwrap_or_else(|| "Escalated from the console".into());
            act("escalate_conversation", json!({ "p_conversation_id": id, "p_to_level": level, "p_reason": reason }));
            why.set(String::new());
        });
        (!above.is_empty()).then(|| {
            view! {
                <label class="sr-only" for="escalate">"Escalate"</label>
                <Select id="escalate" value=choice>
                    <option value="">"Escalate to…"</option>
                    {above.into_iter().map(|level| view! { <option value=level>{level.to_uppercase()}</option> }).collect::<Vec<_>>()}
                </Select>
            }
        })
    });
    let priority = RwSignal::new(state.priority.clone());
    let current = state.priority.clone();
    Effect::watch(
        move || priority.get(),
        move |wanted, _, _| {
            if *wanted != current && !wanted.is_empty() {
                update(desk, id, json!({ "priority": wanted }), problem, changed);
            }
        },
        false,
    );
    let tags = state.tags.clone();
    view! {
        <header class="conversation-header" data-testid="conversation-header">
            <p class="state" data-testid="conversation-status" data-status=state.status.clone()>{status}</p>
            <div class="actions" hidden=!desk.answers()>
                {take}
                {close_or_reopen}
                {snooze}
                {hand_on}
                {escalate}
                {open.then(|| view! {
                    <label class="sr-only" for="why">"Note for a transfer or escalation"</label>
                    <Input id="why" value=why placeholder="Note for a transfer or escalation" />
                })}
                <label class="sr-only" for="priority">"Priority"</label>
                <Select id="priority" value=priority>
                    {PRIORITIES.iter().map(|p| view! { <option value=*p selected=*p == state.priority>{*p}</option> }).collect::<Vec<_>>()}
                </Select>
            </div>
            <Tags desk id tags problem changed />
            {move || problem.get().map(|message| view! { <Problem message /> })}
        </header>
    }
}

/// The conversation's tags: each removable, a field to add one (Enter).
#[component]
fn Tags(
    desk: Desk,
    id: Uuid,
    tags: Vec<String>,
    problem: RwSignal<Option<String>>,
    changed: RwSignal<u64>,
) -> impl IntoView {
    let adding = RwSignal::new(String::new());
    let all = StoredValue::new(tags.clone());
    let save = move |next: Vec<String>| update(desk, id, json!({ "tags": next }), problem, changed);
    let add = move |event: leptos::ev::KeyboardEvent| {
        if event.key() != "Enter" {
            return;
        }
        event.prevent_default();
        let tag = adding.get_untracked().trim().to_lowercase();
        if tag.is_empty() || all.with_value(|t| t.contains(&tag)) {
            return;
        }
        let (most, longest) = (*limits::TAGS_PER_CONVERSATION.end(), *limits::TAG_CHARS.end());
        if tag.chars().count() as i64 > longest {
            problem.set(Some(format!("A tag has at most {longest} characters.")));
            return;
        }
        if all.with_value(Vec::len) as i64 >= most {
            problem.set(Some(format!("A conversation has at most {most} tags.")));
            return;
        }
        adding.set(String::new());
        let mut next = all.get_value();
        next.push(tag);
        save(next);
    };
    view! {
        <div class="tags" data-testid="tags">
            {tags
                .into_iter()
                .map(|tag| {
                    let removed = tag.clone();
                    let dismiss = move |_| save(all.get_value().into_iter().filter(|t| *t != removed).collect());
                    let name = format!("Remove the tag {tag}");
                    view! {
                        <Tag>
                            {tag}
                            <button class="untag" aria-label=name hidden=!desk.answers() on:click=dismiss>"×"</button>
                        </Tag>
                    }
                })
                .collect::<Vec<_>>()}
            <span hidden=!desk.answers()>
                <label class="sr-only" for="add-tag">"Add a tag"</label>
                <Input id="add-tag" value=adding placeholder="Add a tag" on:keydown=add />
            </span>
        </div>
    }
}

/// A select whose choice runs `chosen` once and returns to its prompt.
fn picker(chosen: impl Fn(String) + 'static) -> RwSignal<String> {
    let choice = RwSignal::new(String::new());
    Effect::watch(
        move || choice.get(),
        move |picked, _, _| {
            if picked.is_empty() {
                return;
            }
            chosen(picked.clone());
            choice.set(String::new());
        },
        false,
    );
    choice
}

/// `PATCH` the conversation's staff-editable columns.
fn update(desk: Desk, id: Uuid, body: Value, problem: RwSignal<Option<String>>, changed: RwSignal<u64>) {
    spawn_local(async move {
        let token = desk.auth.token().unwrap_or_default();
        let conversation = format!("eq.{id}");
        let query = [("id", conversation.as_str()), ("select", "id")];
        match desk.auth.project().update::<Value>(&token, "conversations", &query, &body).await {
            Ok(rows) if rows.is_empty() => problem.set(Some("You cannot change this conversation.".into())),
            Ok(_) => {
                problem.set(None);
                changed.update(|n| *n += 1);
            }
            Err(error) => problem.set(Some(sentence(&error))),
        }
    });
}

/// Where the conversation stands, in words.
fn status_line(desk: Desk, state: &ConversationState) -> String {
    let level = if state.escalation_level == "t1" {
        String::new()
    } else {
        format!(" · {}", state.escalation_level.to_uppercase())
    };
    let holder = state.assigned_operator_id.map(|user| desk.name_of(user));
    let line = match (state.status.as_str(), holder) {
        ("closed", _) => "Closed".to_string(),
        ("bot", _) => "The AI agent is answering".to_string(),
        ("snoozed", _) => match &state.snoozed_until {
            Some(until) => format!("Snoozed until {}", crate::inbox::short_time(until)),
            None => "Snoozed until the visitor writes".to_string(),
        },
        (_, Some(holder)) => format!("With {holder}"),
        _ => "Waiting in the queue".to_string(),
    };
    format!("{line}{level}")
}

/// The ISO time `ms` from now.
fn later_by_ms(ms: f64) -> String {
    js_sys::Date::new(&(js_sys::Date::now() + ms).into()).to_iso_string().into()
}

/// Tomorrow 9:00 in the operator's time zone, as an ISO time.
fn tomorrow_at_nine() -> String {
    let date = js_sys::Date::new_0();
    date.set_date(date.get_date() + 1);
    date.set_hours(9);
    date.set_minutes(0);
    date.set_seconds(0);
    date.to_iso_string().into()
}
