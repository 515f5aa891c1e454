//! The site section (owners and admins): its name and allowed origins, the embed snippet with a
//! copy button, the widget switched on or off; and creating another site.

use crate::app::Problem;
use crate::project::sentence;
use crate::sites::Sites;
use crate::versioned::{SaveOutcome, Saving};
use chat_core::settings::{SITE_COLUMNS, SiteRow};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thaw::*;
use uuid::Uuid;

/// How long "Copied" shows after a copy.
const COPIED_MS: u64 = 2000;

/// The shown site's settings.
#[component]
pub fn SiteSection(sites: Sites, site_id: Uuid) -> impl IntoView {
    let Some(site) = sites.all().into_iter().find(|s| s.row.id == site_id) else {
        return ().into_any();
    };
    let loaded = RwSignal::new(site.row.clone());
    let name = RwSignal::new(site.row.name.clone());
    let origins = RwSignal::new(site.row.allowed_origins.join("\n"));
    let draft = Memo::new(move |_| SiteRow {
        name: name.get().trim().to_string(),
        allowed_origins: origins.get().lines().map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect(),
        ..loaded.get()
    });
    let problems = Memo::new(move |_| draft.with(SiteRow::problems));
    let saving = Saving::<SiteRow>::default();
    let fill = move |row: SiteRow| {
        name.set(row.name.clone());
        origins.set(row.allowed_origins.join("\n"));
        loaded.set(row);
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if !problems.with_untracked(|p| p.is_empty()) {
            return saving.refuse();
        }
        let row = draft.get_untracked();
        let args = serde_json::json!({
            "p_site_id": row.id, "p_version": row.updated_at, "p_name": row.name, "p_allowed_origins": row.allowed_origins,
        });
        let target = ("sites", "id", row.id.to_string(), SITE_COLUMNS);
        saving.run(sites.auth(), "save_site", args, target, "Saved.", move |row: SiteRow| {
            sites.saved(row.clone());
            loaded.set(row);
        });
    };
    let origin_problems = move || {
        problems.with(|p| {
            p.iter()
                .filter(|(k, _)| k.starts_with("allowed_origins"))
                .map(|(_, m)| m.clone())
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    let snippet = move || loaded.with(|row| row.embed_snippet(&origin()));
    view! {
        <main class="settings" aria-labelledby="site-heading">
            <h1 id="site-heading">"Site"</h1>
            <form class="panel-form" on:submit=submit data-testid="site-form">
                <Field label="Name">
                    <Input value=name />
                </Field>
                <p class="field-error" role="alert">{move || problems.with(|p| p.get("name").cloned())}</p>
                <Field label="Allowed origins (one per line; none allows every page)">
                    <Textarea value=origins />
                </Field>
                <p class="help">"Pages on these origins may start chats, e.g. https://shop.example (no path, no slash at the end)."</p>
                <p class="field-error" role="alert" data-testid="origins-problem">{origin_problems}</p>
                <SaveOutcome saving fill=Callback::new(fill) testid="site" />
                <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary disabled=saving.pending>"Save"</Button>
            </form>
            <section class="panel-form" aria-labelledby="embed-heading">
                <h2 id="embed-heading">"Embed the widget"</h2>
                <p>"Paste this before </body> on every page that should show the chat:"</p>
                <pre class="snippet" data-testid="embed-snippet">{snippet}</pre>
                <CopyButton text=Signal::derive(snippet) />
            </section>
            <WidgetSwitch sites site_id />
            <NewSite sites />
        </main>
    }
    .into_any()
}

/// The page's origin (the edge serving the console serves `embed.js` too).
fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// Copies `text` to the clipboard, then says so for a moment.
#[component]
pub fn CopyButton(text: Signal<String>) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let copy = move |_| {
        let promise = window().navigator().clipboard().write_text(&text.get_untracked());
        spawn_local(async move {
            copied.set(Some(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()));
            set_timeout(move || copied.set(None), Duration::from_millis(COPIED_MS));
        });
    };
    view! {
        <Button on_click=copy>
            {move || match copied.get() {
                None => "Copy",
                Some(true) => "Copied",
                Some(false) => "Copy failed: select the text and copy it",
            }}
        </Button>
    }
}

#[derive(Serialize, Deserialize)]
struct Enabled {
    enabled: bool,
}

/// The widget switched on or off on the site's pages (saved at once).
#[component]
fn WidgetSwitch(sites: Sites, site_id: Uuid) -> impl IntoView {
    let auth = sites.auth();
    let checked = RwSignal::new(true);
    let ready = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    spawn_local(async move {
        let token = auth.token().unwrap_or_default();
        let filter = format!("eq.{site_id}");
        let rows = auth
            .project()
            .select::<Vec<Enabled>>(&token, "widget_settings", &[("select", "enabled"), ("site_id", &filter)])
            .await;
        match rows {
            Ok(rows) => checked.set(rows.first().is_none_or(|r| r.enabled)),
            Err(error) => problem.set(Some(sentence(&error))),
        }
        ready.set(true);
    });
    Effect::watch(
        move || checked.get(),
        move |enabled, _, _| {
            if !ready.get_untracked() {
                return;
            }
            let enabled = *enabled;
            spawn_local(async move {
                let token = auth.token().unwrap_or_default();
                let filter = format!("eq.{site_id}");
                let saved = auth
                    .project()
                    .update::<Enabled>(
                        &token,
                        "widget_settings",
                        &[("site_id", &filter), ("select", "enabled")],
                        &Enabled { enabled },
                    )
                    .await;
                problem.set(match saved {
                    Ok(rows) if rows.is_empty() => {
                        Some("Only the site's owners and admins may switch the widget.".into())
                    }
                    Ok(_) => None,
                    Err(error) => Some(sentence(&error)),
                });
            });
        },
        false,
    );
    view! {
        <section class="panel-form" aria-labelledby="switch-heading">
            <h2 id="switch-heading">"Widget"</h2>
            // thaw 0.5.0-beta draws a new random id on every read without one: the label would name nothing.
            <Switch id="widget-enabled" checked label="Show the chat widget on the site's pages" />
            <p class="help">{move || if checked.get() { "Visitors see the launcher." } else { "Visitors see nothing: the widget is off." }}</p>
            {move || problem.get().map(|message| view! { <Problem message /> })}
        </section>
    }
}

/// Create another site (the creator becomes its owner).
#[component]
pub fn NewSite(sites: Sites) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let wanted = name.get_untracked().trim().to_string();
        let row = SiteRow {
            id: Uuid::new_v4(),
            name: wanted,
            site_key: String::new(),
            allowed_origins: Vec::new(),
            updated_at: String::new(),
        };
        if let Some(message) = row.problems().get("name") {
            problem.set(Some(format!("Name: {message}")));
            return;
        }
        pending.set(true);
        let auth = sites.auth();
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            let body = serde_json::json!({ "id": row.id, "name": row.name });
            match auth.project().create(&token, "sites", &body).await {
                Ok(()) => {
                    problem.set(None);
                    name.set(String::new());
                    sites.pick(row.id);
                    sites.reload();
                }
                Err(error) => problem.set(Some(sentence(&error))),
            }
            pending.set(false);
        });
    };
    view! {
        <section class="panel-form" aria-labelledby="new-site-heading">
            <h2 id="new-site-heading">"Add a site"</h2>
            <form on:submit=submit class="inline-form" data-testid="new-site">
                <Field label="Name of the new site">
                    <Input value=name />
                </Field>
                {move || problem.get().map(|message| view! { <Problem message /> })}
                <Button button_type=ButtonType::Submit disabled=pending>"Create site"</Button>
            </form>
        </section>
    }
}
