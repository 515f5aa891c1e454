//! The chat widget.
//!
//! `public/embed.js` creates the host element (`#chat-widget-host`, with `data-site` and
//! `data-api`) and its open shadow root, then loads this module; `main` mounts the app
//! inside that shadow root so the host page's CSS cannot reach it.

mod api;
mod app;

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// The element embed.js creates and this module mounts into.
const HOST_ID: &str = "chat-widget-host";

fn main() {
    console_error_panic_hook::set_once();
    let Some(host) = leptos::prelude::document().get_element_by_id(HOST_ID) else {
        leptos::logging::warn!("chat widget: no #{HOST_ID} element; load the widget through embed.js");
        return;
    };
    let site_key = host.get_attribute("data-site").unwrap_or_default();
    let api_base = host.get_attribute("data-api").unwrap_or_default();
    let Some(mount_point) = host
        .shadow_root()
        .and_then(|root| root.get_element_by_id("chat-widget-root"))
        .and_then(|el| el.dyn_into::<HtmlElement>().ok())
    else {
        leptos::logging::warn!("chat widget: the host has no shadow root to mount into");
        return;
    };
    leptos::mount::mount_to(mount_point, move || app::App(app::AppProps { site_key, api_base })).forget();
}
