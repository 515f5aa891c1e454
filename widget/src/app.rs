//! The widget's shell: launcher, panel and header, themed from the site's settings.

use crate::chat::{Chat, PanelView, Stage};
use crate::conversation::{Composer, MessageList};
use crate::forms::{PreChatForm, RatingForm};
use chat_core::text::displayable;
use chat_core::widget::is_hex_color;
use chat_core::{ColorScheme, Position, WidgetConfig};
use leptos::either::Either;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// `style.css`, minified by `build.rs`.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/style.css"));
const DARK_TEXT: &str = "#f3f4f6";
const DARK_BACKGROUND: &str = "#111827";

/// How the widget starts: what embed.js handed over.
pub struct Start {
    /// The edge API's base URL.
    pub api_base: String,
    /// The site's settings, as embed.js fetched them.
    pub config: WidgetConfig,
    /// Whether the visitor already clicked the launcher.
    pub open: bool,
    /// Where the chat is saved in the page's storage.
    pub storage_key: String,
    /// A link's full-page chat.
    pub full_page: bool,
    /// The session a link's page opened (`data-session`), when storage could not keep it.
    pub session: Option<chat_core::api::Session>,
}

/// The whole widget for one site.
#[component]
pub fn App(start: Start) -> impl IntoView {
    let Start { api_base, config, open, storage_key, full_page, session } = start;
    let chat = Chat::start(config, &api_base, storage_key, full_page, session);
    if open {
        chat.open_panel();
    }
    view! { <Widget chat /> }
}

/// Style the widget's shadow root: the theme's colours as custom properties, then
/// `style.css`, as one constructed stylesheet. It is no inline style, so a host page's
/// Content-Security-Policy needs no `style-src 'unsafe-inline'` for it (browsers without
/// constructed stylesheets get a `<style>` element instead).
pub fn adopt_style(root: &web_sys::ShadowRoot, config: &WidgetConfig) {
    let theme = &config.theme;
    let dark = is_dark(theme.color_scheme);
    // The settings' text and background colours are for light mode; dark mode uses its own.
    let (text, background) =
        if dark { (DARK_TEXT, DARK_BACKGROUND) } else { (theme.text_color.as_str(), theme.background_color.as_str()) };
    let mut css = String::from(":host{");
    for (name, value) in [("primary", theme.primary_color.as_str()), ("text", text), ("background", background)] {
        // Only colours are written into the sheet (the database checks them too).
        if is_hex_color(value) {
            css.push_str(&format!("--chat-{name}:{value};"));
        }
    }
    css.push('}');
    css.push_str(STYLE);
    let adopted = web_sys::CssStyleSheet::new().and_then(|sheet| {
        sheet.replace_sync(&css)?;
        root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
        Ok(())
    });
    if adopted.is_err()
        && let Ok(style) = document().create_element("style")
    {
        style.set_text_content(Some(&css));
        let _ = root.prepend_with_node_1(&style);
    }
}

/// Launcher, panel and the screen-reader announcer, coloured through CSS custom properties.
#[component]
fn Widget(chat: Chat) -> impl IntoView {
    let (scheme, position) = chat.config(|c| (c.theme.color_scheme, c.position));
    let dark = is_dark(scheme);
    let mut class = match position {
        Position::BottomRight => "chat right".to_string(),
        Position::BottomLeft => "chat left".to_string(),
    };
    if dark {
        class.push_str(" dark");
    }
    if chat.full_page {
        class.push_str(" page");
    }
    let launcher = NodeRef::<html::Button>::new();
    let close = move || {
        if chat.full_page {
            return;
        }
        chat.open.set(false);
        request_animation_frame(move || {
            if let Some(button) = launcher.get_untracked() {
                let _ = button.focus();
            }
        });
    };
    view! {
        <div class=class dir=text_direction() data-testid="chat-widget">
            {move || chat.open.get().then(|| view! { <Panel chat close /> })}
            <button
                class="launcher"
                node_ref=launcher
                data-testid="chat-launcher"
                aria-label=move || if chat.open.get() { "Close chat" } else { "Open chat" }
                aria-expanded=move || chat.open.get().to_string()
                on:click=move |_| if chat.open.get_untracked() { close() } else { chat.open_panel() }
            >
                <span class="icon" inner_html=CHAT_ICON></span>
                <span class="badge" data-testid="chat-unread" hidden=move || chat.unread.get() == 0
                    aria-label=move || format!("{} unread", chat.unread.get())>{move || chat.unread.get().to_string()}</span>
            </button>
            <div class="sr-only" aria-live="polite" data-testid="chat-announcer">{move || chat.announcement.get()}</div>
        </div>
    }
}

/// The chat panel: header, then the form, the rating or the conversation.
#[component]
fn Panel(chat: Chat, close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let (title, online, welcome, offline) = chat.config(|c| {
        (displayable(&c.title).into_owned(), c.is_online, c.welcome_message.clone(), c.offline_message.clone())
    });
    let (agent, photo) = chat.config(|c| {
        let agent = c.agent.clone();
        let photo = agent.as_ref().and_then(|a| a.avatar_url.clone()).filter(|_| c.show_agent_photos);
        (agent.map(|a| displayable(&a.name).into_owned()), photo)
    });
    let label = title.clone();
    let panel = NodeRef::<html::Section>::new();
    // Focus moves into the panel: the first form field, else the message box.
    request_animation_frame(move || {
        if let Some(panel) = panel.get_untracked()
            && let Ok(Some(field)) = panel.query_selector("input, textarea")
            && let Ok(field) = field.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = field.focus();
        }
    });
    view! {
        <section
            node_ref=panel
            class="panel"
            role="dialog"
            aria-label=label
            data-testid="chat-panel"
            on:keydown=move |ev| if ev.key() == "Escape" { close() }
        >
            <header class="header" data-testid="chat-header">
                {photo.map(|src| view! { <img class="avatar" src=src alt="" data-testid="chat-agent-photo" /> })}
                <div class="heading">
                    <span class="title">{title}</span>
                    {agent.map(|name| view! { <span class="agent" data-testid="chat-agent">{name}</span> })}
                    <span class="status" data-testid="chat-status">
                        <span class=move || if chat.online.get() { "dot online" } else { "dot" } aria-hidden="true"></span>
                        {move || if chat.online.get() { "We're online" } else { "We're away" }}
                    </span>
                </div>
                <button class="text-button" data-testid="chat-end" hidden=move || chat.stage.get() != Stage::Chatting
                    on:click=move |_| chat.ask_rating()>"End chat"</button>
                {(!chat.full_page).then(|| view! {
                    <button class="icon-button" aria-label="Close chat" data-testid="chat-close" on:click=move |_| close()>
                        <span class="icon" inner_html=CLOSE_ICON></span>
                    </button>
                })}
            </header>
            {move || match chat.panel.get() {
                PanelView::Form => Either::Left(Either::Left(view! {
                    <div class="body"><p class="welcome" data-testid="chat-welcome">{if online { welcome.clone() } else { offline.clone() }}</p><PreChatForm chat /></div>
                })),
                PanelView::Rating => Either::Left(Either::Right(view! { <div class="body"><RatingForm chat /></div> })),
                PanelView::Conversation => Either::Right(view! {
                    <MessageList chat greeting=if online { welcome.clone() } else { offline.clone() } />
                    <p class="typing" data-testid="chat-typing" hidden=move || chat.typing.with(Option::is_none)>
                        <span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>{move || chat.typing.get().unwrap_or_default()}
                    </p>
                    <Composer chat />
                }),
            }}
        </section>
    }
}

/// Dark when the settings say so, or say "auto" and the visitor's system prefers dark.
fn is_dark(scheme: ColorScheme) -> bool {
    match scheme {
        ColorScheme::Light => false,
        ColorScheme::Dark => true,
        ColorScheme::Auto => {
            window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches())
        }
    }
}

/// Right-to-left when the host page is, or is in a right-to-left language.
fn text_direction() -> &'static str {
    let root = document().document_element();
    let dir = root.as_ref().and_then(|r| r.get_attribute("dir")).unwrap_or_default();
    let lang = root.as_ref().and_then(|r| r.get_attribute("lang")).unwrap_or_default().to_ascii_lowercase();
    let rtl_language = ["ar", "he", "fa", "ur", "ps", "yi"]
        .iter()
        .any(|l| lang.strip_prefix(l).is_some_and(|rest| rest.is_empty() || rest.starts_with('-')));
    if dir.eq_ignore_ascii_case("rtl") || rtl_language { "rtl" } else { "ltr" }
}

/// The launcher's speech bubble (static markup, so it is set as HTML rather than built node by node).
const CHAT_ICON: &str = r#"<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>"#;
/// The panel's close cross.
const CLOSE_ICON: &str = r#"<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M6 6l12 12M18 6L6 18"/></svg>"#;
