//! Keyboard shortcuts for the inbox, listed in a help overlay (`?`): next and previous
//! conversation, reply, close, take next. They act only outside text fields, so typing is
//! never taken for a command; every action is also a button, for the mouse and screen readers.

use crate::desk::Desk;
use crate::project::sentence;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use thaw::*;
use uuid::Uuid;
use wasm_bindgen::JsCast;

/// The shortcuts and what they mean, as the help overlay lists them.
pub const SHORTCUTS: [(&str, &str); 7] = [
    ("j", "Next conversation"),
    ("k", "Previous conversation"),
    ("r", "Reply (focus the composer)"),
    ("c", "Close the open conversation"),
    ("n", "Take the next conversation from the queue"),
    ("?", "Show these shortcuts"),
    ("Esc", "Leave the composer, or close this list"),
];

/// What the shortcuts act on.
pub struct Shortcuts {
    /// The site's desk.
    pub desk: Desk,
    /// The open conversation.
    pub selected: RwSignal<Option<Uuid>>,
    /// The conversations listed, in order.
    pub order: Signal<Vec<Uuid>>,
    /// Whether the help overlay is open.
    pub help: RwSignal<bool>,
    /// Where a refused action is said.
    pub said: RwSignal<Option<String>>,
}

/// Handles the shortcuts while the calling view lives.
pub fn use_shortcuts(shortcuts: Shortcuts) {
    let Shortcuts { desk, selected, order, help, said } = shortcuts;
    let act = move |function: &'static str, body: Value, open_result: bool| {
        spawn_local(async move {
            let token = desk.auth.token().unwrap_or_default();
            match desk.auth.project().rpc::<Value>(&token, function, &body).await {
                Ok(result) => {
                    said.set(None);
                    if open_result {
                        match result["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()) {
                            Some(id) => selected.set(Some(id)),
                            None => said.set(Some("Nobody is waiting in the queue.".into())),
                        }
                    }
                }
                Err(error) => said.set(Some(sentence(&error))),
            }
        });
    };
    let step = move |by: isize| {
        let order = order.get_untracked();
        let at = selected.get_untracked().and_then(|id| order.iter().position(|o| *o == id));
        let next = match at {
            Some(at) => at.saturating_add_signed(by).min(order.len().saturating_sub(1)),
            None => 0,
        };
        if let Some(id) = order.get(next) {
            selected.set(Some(*id));
        }
    };
    let handle = window_event_listener(ev::keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() || event.default_prevented() {
            return;
        }
        if in_field(&event) {
            if event.key() == "Escape"
                && let Some(field) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = field.blur();
            }
            return;
        }
        let answers = desk.answers();
        match event.key().as_str() {
            "j" => step(1),
            "k" => step(-1),
            "r" if answers => {
                if let Some(reply) =
                    document().get_element_by_id("reply").and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    event.prevent_default();
                    let _ = reply.focus();
                }
            }
            "c" if answers => {
                if let Some(id) = selected.get_untracked() {
                    act("close_conversation", json!({ "p_conversation_id": id }), false);
                }
            }
            "n" if answers => act("take_next_conversation", json!({ "p_site_id": desk.site_id }), true),
            "?" => help.set(true),
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
}

/// Whether the key went to a text field, a select or an editable element.
fn in_field(event: &web_sys::KeyboardEvent) -> bool {
    let Some(element) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else { return false };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || element.is_content_editable()
}

/// The help overlay listing the shortcuts.
#[component]
pub fn Help(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <Dialog open>
            <DialogSurface>
                <DialogBody>
                    <DialogTitle>"Keyboard shortcuts"</DialogTitle>
                    <DialogContent>
                        <dl class="shortcuts" data-testid="shortcuts">
                            {SHORTCUTS
                                .iter()
                                .map(|(key, what)| view! { <dt><kbd>{*key}</kbd></dt><dd>{*what}</dd> })
                                .collect::<Vec<_>>()}
                        </dl>
                    </DialogContent>
                    <DialogActions>
                        <Button appearance=ButtonAppearance::Primary on_click=move |_| open.set(false)>"Close"</Button>
                    </DialogActions>
                </DialogBody>
            </DialogSurface>
        </Dialog>
    }
}
