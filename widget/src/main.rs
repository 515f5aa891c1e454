//! The chat widget.
//!
//! `public/embed.js` (or a link's page, `public/link.js`, with `data-mode="page"` and its own
//! `data-storage-key`) creates the host element (`#chat-widget-host`, with `data-api`, the
//! settings it fetched in `data-config` and `data-open` once clicked) and its
//! open shadow root, then loads this module; `main` mounts the app inside that shadow root so
//! the host page's CSS cannot reach it, and retires embed.js's stand-in launcher.

mod api;
mod app;
mod chat;
mod conversation;
mod forms;
mod live;
mod store;

use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// The element embed.js creates and this module mounts into.
const HOST_ID: &str = "chat-widget-host";

fn main() {
    #[cfg(feature = "panic-messages")]
    console_error_panic_hook::set_once();
    let Some(host) = leptos::prelude::document().get_element_by_id(HOST_ID) else {
        leptos::logging::warn!("chat widget: no #{HOST_ID} element; load the widget through embed.js");
        return;
    };
    let Some(root) = host.shadow_root() else {
        leptos::logging::warn!("chat widget: the host has no shadow root to mount into");
        return;
    };
    let Some(mount_point) = root.get_element_by_id("chat-widget-root").and_then(|el| el.dyn_into::<HtmlElement>().ok())
    else {
        return;
    };
    let attribute = |name: &str| host.get_attribute(name).unwrap_or_default();
    // embed.js hands over enabled settings only (a switched-off site draws nothing).
    let Some(config) = chat_client::json::from_str::<chat_core::WidgetConfig>(&attribute("data-config"))
        .ok()
        .filter(|config| config.enabled)
    else {
        leptos::logging::warn!("chat widget: embed.js handed over no settings; load the widget through embed.js");
        return;
    };
    app::adopt_style(&root, &config);
    let full_page = attribute("data-mode") == "page";
    let storage_key = Some(attribute("data-storage-key"))
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| chat_client::storage::site_key(&config.site_key));
    let start = app::Start {
        api_base: attribute("data-api"),
        config,
        open: full_page || attribute("data-open") == "1",
        storage_key,
        full_page,
        session: chat_client::json::from_str(&attribute("data-session")).ok(),
    };
    leptos::mount::mount_to(mount_point, move || app::App(app::AppProps { start })).forget();
    if let Some(stub) = root.get_element_by_id("chat-launcher-stub") {
        stub.remove();
    }
}
