//! The widget's views: launcher and panel, themed from the site's settings.

use crate::api;
use chat_core::{Position, WidgetConfig};
use leptos::either::Either;
use leptos::prelude::*;

const STYLE: &str = include_str!("style.css");

/// The whole widget for one site.
#[component]
pub fn App(site_key: String, api_base: String) -> impl IntoView {
    let config = LocalResource::new(move || api::widget_config(api_base.clone(), site_key.clone()));
    view! {
        <style>{STYLE}</style>
        {move || config.get().map(|result| match result {
            Ok(config) if config.enabled => Either::Left(view! { <Widget config /> }),
            Ok(_) => Either::Right(Either::Left(())),
            Err(error) => {
                leptos::logging::warn!("chat widget unavailable: {error}");
                Either::Right(Either::Right(view! { <Unavailable /> }))
            }
        })}
    }
}

/// Launcher plus panel, coloured by the site's theme through CSS custom properties.
#[component]
fn Widget(config: WidgetConfig) -> impl IntoView {
    let (open, set_open) = signal(false);
    let theme = format!(
        "--chat-primary:{};--chat-text:{};--chat-background:{}",
        config.theme.primary_color, config.theme.text_color, config.theme.background_color
    );
    let side = match config.position {
        Position::BottomRight => "chat right",
        Position::BottomLeft => "chat left",
    };
    view! {
        <div class=side style=theme data-testid="chat-widget">
            <Show when=move || open.get()>
                <section class="panel" role="dialog" aria-label=config.title.clone() data-testid="chat-panel">
                    <header class="header" data-testid="chat-header">
                        <span class="title">{config.title.clone()}</span>
                        <button class="close" aria-label="Close chat" on:click=move |_| set_open.set(false)>
                            <CloseIcon />
                        </button>
                    </header>
                    <p class="welcome" data-testid="chat-welcome">{config.welcome_message.clone()}</p>
                </section>
            </Show>
            <Launcher open set_open />
        </div>
    }
}

/// The round button that opens and closes the panel.
#[component]
fn Launcher(open: ReadSignal<bool>, set_open: WriteSignal<bool>) -> impl IntoView {
    view! {
        <button
            class="launcher"
            data-testid="chat-launcher"
            aria-label=move || if open.get() { "Close chat" } else { "Open chat" }
            aria-expanded=move || open.get().to_string()
            on:click=move |_| set_open.update(|o| *o = !*o)
        >
            <ChatIcon />
        </button>
    }
}

/// The quiet state when settings cannot be loaded: a muted launcher and a short note.
#[component]
fn Unavailable() -> impl IntoView {
    let (open, set_open) = signal(false);
    view! {
        <div class="chat right unavailable" data-testid="chat-unavailable">
            <Show when=move || open.get()>
                <section class="panel" role="dialog" aria-label="Chat">
                    <p class="welcome">"Chat is unavailable right now. Please try again later."</p>
                </section>
            </Show>
            <Launcher open set_open />
        </div>
    }
}

#[component]
fn ChatIcon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
            <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z" />
        </svg>
    }
}

#[component]
fn CloseIcon() -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M6 6l12 12M18 6L6 18" />
        </svg>
    }
}
