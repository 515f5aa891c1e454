//! The pre-chat form (the fields the site requires, checked inline) and the rating asked when
//! the visitor ends the chat.

use crate::chat::{Chat, Stage};
use chat_core::api::StartSession;
use chat_core::text::without_controls;
use leptos::prelude::*;
use std::collections::BTreeMap;

/// Name, email, phone and the site's own fields, as the settings ask for them.
#[component]
pub fn PreChatForm(chat: Chat) -> impl IntoView {
    let (name, email, phone, custom) =
        chat.config(|c| (c.require_name, c.require_email, c.require_phone, c.custom_fields.clone()));
    let values = RwSignal::new(BTreeMap::<String, String>::new());
    let custom_keys: Vec<String> = custom.iter().map(|f| f.key.clone()).collect();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = values.with_untracked(|v| {
            let clean = |value: &String| without_controls(value).into_owned();
            let given = |key: &str| v.get(key).filter(|s| !s.trim().is_empty()).map(clean);
            let mut custom_fields = BTreeMap::new();
            for key in &custom_keys {
                if let Some(value) = v.get(key) {
                    custom_fields.insert(key.clone(), clean(value));
                }
            }
            StartSession {
                name: given("name"),
                email: given("email"),
                phone: given("phone"),
                custom_fields,
                ..Default::default()
            }
        });
        chat.begin(form);
    };
    let mut fields = Vec::new();
    if name {
        fields.push(("name".to_string(), "Your name".to_string(), "text", "name"));
    }
    if email {
        fields.push(("email".to_string(), "Email".to_string(), "email", "email"));
    }
    if phone {
        fields.push(("phone".to_string(), "Phone".to_string(), "tel", "tel"));
    }
    for field in custom {
        fields.push((field.key, field.label, "text", "off"));
    }
    let starting = move || chat.stage.get() == Stage::Starting;
    view! {
        <form class="form" data-testid="chat-prechat" on:submit=submit novalidate=true>
            {fields.into_iter().enumerate().map(|(i, (key, label, kind, autocomplete))| {
                let id = format!("chat-field-{key}");
                let error_id = format!("{id}-error");
                let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
                view! {
                    <label for=id.clone()>{label}</label>
                    <input
                        id=id
                        type=kind
                        autocomplete=autocomplete
                        autofocus=i == 0
                        data-testid=format!("chat-field-{key}")
                        aria-invalid=move || chat.form_errors.with(|e| e.contains_key(&k1)).to_string()
                        aria-describedby=error_id.clone()
                        on:input=move |ev| values.update(|v| { v.insert(k2.clone(), event_target_value(&ev)); })
                    />
                    <span class="field-error" id=error_id role="alert">{move || chat.form_errors.with(|e| e.get(&k3).cloned().unwrap_or_default())}</span>
                }
            }).collect_view()}
            <p class="problem" role="alert" hidden=move || chat.notice.with(Option::is_none)>{move || chat.notice.get().unwrap_or_default()}</p>
            <button type="submit" class="primary" data-testid="chat-start" prop:disabled=starting>
                {move || if starting() { "Starting…" } else { "Start chat" }}
            </button>
        </form>
    }
}

/// One to five stars (a radio group) and an optional comment, or skip.
#[component]
pub fn RatingForm(chat: Chat) -> impl IntoView {
    // 0 until a star is chosen (a u32, like the unread count: one signal type less).
    let rating = RwSignal::new(0u32);
    let feedback = RwSignal::new(String::new());
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = feedback.get_untracked();
        let stars = Some(i64::from(rating.get_untracked())).filter(|n| *n > 0);
        chat.rate(stars, Some(text).filter(|t| !t.trim().is_empty()));
    };
    let submit = if chat.rating_ends() { "Send and end chat" } else { "Send" };
    view! {
        <form class="form rating" data-testid="chat-rating" on:submit=send>
            // The stars are static markup (set as HTML, like the icons); one listener on the
            // group reads the chosen radio's value.
            <fieldset class="stars" inner_html=STARS
                on:change=move |ev| rating.set(event_target_value(&ev).parse().unwrap_or(0))></fieldset>
            <label for="chat-feedback">"Anything to add? (optional)"</label>
            <textarea id="chat-feedback" maxlength=chat_core::limits::FEEDBACK_CHARS.end().to_string() data-testid="chat-feedback"
                on:input=move |ev| feedback.set(event_target_value(&ev))></textarea>
            <div class="actions">
                <button type="button" class="text-button" data-testid="chat-skip" on:click=move |_| chat.rate(None, None)>"Skip"</button>
                <button type="submit" class="primary" data-testid="chat-send-rating">{submit}</button>
            </div>
        </form>
    }
}

/// The rating's radio group: five stars, each a visually hidden radio and its label.
const STARS: &str = concat!(
    r#"<legend>How was this chat?</legend>"#,
    r#"<input type="radio" class="sr-only" name="rating" id="chat-star-1" value="1" aria-label="1 of 5"><label for="chat-star-1" class="star" data-testid="chat-star-1" aria-hidden="true">★</label>"#,
    r#"<input type="radio" class="sr-only" name="rating" id="chat-star-2" value="2" aria-label="2 of 5"><label for="chat-star-2" class="star" data-testid="chat-star-2" aria-hidden="true">★</label>"#,
    r#"<input type="radio" class="sr-only" name="rating" id="chat-star-3" value="3" aria-label="3 of 5"><label for="chat-star-3" class="star" data-testid="chat-star-3" aria-hidden="true">★</label>"#,
    r#"<input type="radio" class="sr-only" name="rating" id="chat-star-4" value="4" aria-label="4 of 5"><label for="chat-star-4" class="star" data-testid="chat-star-4" aria-hidden="true">★</label>"#,
    r#"<input type="radio" class="sr-only" name="rating" id="chat-star-5" value="5" aria-label="5 of 5"><label for="chat-star-5" class="star" data-testid="chat-star-5" aria-hidden="true">★</label>"#,
);
