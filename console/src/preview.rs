//! The widget preview: the real widget (the same wasm visitors load) in a frame of its own,
//! `/preview.html`, fed settings that are not saved yet. The frame is same-origin; each change
//! is posted to it as JSON (`public/preview.js` mounts a fresh widget with it).

use chat_core::WidgetConfig;
use leptos::html;
use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// What the frame is sent.
#[derive(Serialize)]
struct Show<'a> {
    /// Tells the frame this message is for it.
    r#type: &'static str,
    /// `page` (the phone's full-screen chat) or `float` (launcher and panel).
    mode: &'static str,
    config: &'a WidgetConfig,
}

/// The preview of `config`, full-screen in a phone-sized frame when `phone`.
#[component]
pub fn Preview(config: Signal<WidgetConfig>, phone: Signal<bool>) -> impl IntoView {
    let frame = NodeRef::<html::Iframe>::new();
    let post = move || {
        let Some(target) = frame.get_untracked().and_then(|f| f.content_window()) else { return };
        let mode = if phone.get_untracked() { "page" } else { "float" };
        let text =
            config.with_untracked(|config| serde_json::to_string(&Show { r#type: "chat-preview", mode, config }));
        if let Ok(text) = text {
            let origin = window().location().origin().unwrap_or_default();
            let _ = target.post_message(&JsValue::from_str(&text), &origin);
        }
    };
    Effect::new(move |_| {
        config.track();
        phone.track();
        post();
    });
    view! {
        <div class=move || if phone.get() { "preview phone" } else { "preview desktop" }>
            <iframe node_ref=frame src="/preview.html" title="Widget preview" data-testid="widget-preview" on:load=move |_| post()></iframe>
        </div>
    }
}
