//! The links section (owners and admins): temporary chat links with one of the site's agents.
//! Created through the edge (which mints the token: its URL is shown once), listed from
//! PostgREST with their state and usage, switched off or on, extended, and each link's numbers.

use crate::app::{Problem, loaded};
use crate::auth::Auth;
use crate::project::sentence;
use crate::site::CopyButton;
use crate::sites::site_rows;
use chat_client::call::CallError;
use chat_core::links::{CreateLink, CreatedLink, LINK_COLUMNS, Link, LinkStats, UpdateLink};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use std::collections::BTreeMap;
use thaw::*;
use uuid::Uuid;

/// Hours one "Extend" adds.
const EXTEND_HOURS: i64 = 24;

#[derive(Clone, Debug, Deserialize)]
struct Agent {
    id: Uuid,
    name: String,
}

/// The shown site's links.
#[component]
pub fn LinksSection(auth: Auth, site_id: Uuid) -> impl IntoView {
    let version = RwSignal::new(0_u32);
    let agents = site_rows::<Agent>(auth, site_id, ("agents", "id,name", "created_at,id"), version);
    let links = site_rows::<Link>(auth, site_id, ("chat_links", LINK_COLUMNS, "created_at.desc,id.desc"), version);
    let reload = move || version.update(|v| *v += 1);
    let created = RwSignal::new(None::<CreatedLink>);
    view! {
        <main class="settings" aria-labelledby="links-heading">
            <h1 id="links-heading">"Temporary links"</h1>
            <p class="help">"A link opens a chat with one of your agents for people without your website: it works for a limited time and number of chats."</p>
            {move || loaded(agents.get(), |list| if list.is_empty() {
                view! { <p class="empty">"Links chat with an agent: this site has none yet."</p> }.into_any()
            } else {
                view! { <CreateForm auth agents=list created on_created=reload /> }.into_any()
            })}
            {move || created.get().map(|link| {
                let url = link.url.clone();
                view! {
                    <section class="created-link" role="status" data-testid="created-link">
                        <h2>"Link created: copy it now"</h2>
                        <p>"Its address holds a secret that is shown only this once. Anyone with it can open the chat until it expires."</p>
                        <pre class="snippet" data-testid="link-url">{url.clone()}</pre>
                        <CopyButton text=Signal::derive(move || url.clone()) />
                        <Button on_click=move |_| created.set(None)>"Done"</Button>
                    </section>
                }
            })}
            <h2>"Links"</h2>
            {move || loaded(links.get(), |list| if list.is_empty() {
                view! { <p class="empty">"No links yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="links" data-testid="links">
                        {list.into_iter().map(|link| view! { <LinkRow auth link on_change=reload /> }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </main>
    }
}

/// A new link with every limit.
#[component]
fn CreateForm(
    auth: Auth,
    agents: Vec<Agent>,
    created: RwSignal<Option<CreatedLink>>,
    on_created: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let agent = RwSignal::new(agents.first().map(|a| a.id.to_string()).unwrap_or_default());
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let welcome = RwSignal::new(String::new());
    let hours = RwSignal::new("24".to_string());
    let sessions = RwSignal::new("1".to_string());
    let messages = RwSignal::new("100".to_string());
    let timeout = RwSignal::new("30".to_string());
    let rate = RwSignal::new("10".to_string());
    let domains = RwSignal::new(String::new());
    let ips = RwSignal::new(String::new());
    let problems = RwSignal::new(BTreeMap::<String, String>::new());
    let problem = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let number = |value: RwSignal<String>| value.get_untracked().trim().parse::<i64>().unwrap_or(0);
    let lines = |value: RwSignal<String>| -> Vec<String> {
        value.get_untracked().lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let body = CreateLink {
            agent_id: agent.get_untracked().parse().unwrap_or_default(),
            title: title.get_untracked().trim().to_string(),
            description: description.get_untracked().trim().to_string(),
            welcome_message: Some(welcome.get_untracked().trim().to_string()).filter(|w| !w.is_empty()),
            expires_in_hours: number(hours),
            max_sessions: number(sessions),
            max_messages_per_session: number(messages),
            session_timeout_minutes: number(timeout),
            rate_limit_per_minute: number(rate),
            allowed_domains: lines(domains),
            allowed_ips: lines(ips),
            ui_customization: None,
        };
        if let Err(error) = body.validate() {
            problems.set(error.fields);
            return;
        }
        problems.set(BTreeMap::new());
        pending.set(true);
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            match auth.project().edge::<CreatedLink>(&token, "POST", "/v1/links", Some(&body)).await {
                Ok(link) => {
                    problem.set(None);
                    title.set(String::new());
                    created.set(Some(link));
                    on_created();
                }
                Err(CallError::Api(error)) if !error.fields.is_empty() => problems.set(error.fields),
                Err(error) => problem.set(Some(sentence(&error))),
            }
            pending.set(false);
        });
    };
    let said = move |field: &'static str| move || problems.with(|p| p.get(field).cloned());
    view! {
        <form class="panel-form" on:submit=submit data-testid="new-link">
            <h2>"New link"</h2>
            <label for="link-agent">"Agent"</label>
            <Select id="link-agent" value=agent>
                {agents.into_iter().map(|a| view! { <option value=a.id.to_string()>{a.name}</option> }).collect_view()}
            </Select>
            <Field label="Title"><Input value=title /></Field>
            <p class="field-error" role="alert">{said("title")}</p>
            <Field label="Description (optional)"><Textarea value=description /></Field>
            <p class="field-error" role="alert">{said("description")}</p>
            <Field label="Welcome message (optional)"><Textarea value=welcome /></Field>
            <p class="field-error" role="alert">{said("welcome_message")}</p>
            <div class="limits">
                <Field label="Expires after (hours)"><Input value=hours input_type=InputType::Number /></Field>
                <Field label="Chats it may open"><Input value=sessions input_type=InputType::Number /></Field>
                <Field label="Messages per chat"><Input value=messages input_type=InputType::Number /></Field>
                <Field label="Ends after idle (minutes)"><Input value=timeout input_type=InputType::Number /></Field>
                <Field label="Messages per minute"><Input value=rate input_type=InputType::Number /></Field>
            </div>
            {move || {
                let fields = ["expires_in_hours", "max_sessions", "max_messages_per_session", "session_timeout_minutes", "rate_limit_per_minute"];
                problems.with(|p| fields.iter().filter_map(|f| p.get(*f).map(|m| format!("{}: {m}", label_of(f)))).collect::<Vec<_>>())
                    .into_iter()
                    .map(|m| view! { <p class="field-error" role="alert">{m}</p> })
                    .collect_view()
            }}
            <Field label="Only from these websites (host names, one per line; empty: any)"><Textarea value=domains /></Field>
            <p class="field-error" role="alert">{said("allowed_domains")}</p>
            <Field label="Only from these networks (IPs or CIDRs, one per line; empty: any)"><Textarea value=ips /></Field>
            <p class="field-error" role="alert">{said("allowed_ips")}</p>
            {move || problem.get().map(|message| view! { <Problem message /> })}
            <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary disabled=pending>"Create link"</Button>
        </form>
    }
}

fn label_of(field: &str) -> &'static str {
    match field {
        "expires_in_hours" => "Expires after",
        "max_sessions" => "Chats it may open",
        "max_messages_per_session" => "Messages per chat",
        "session_timeout_minutes" => "Ends after idle",
        _ => "Messages per minute",
    }
}

/// A link's state for people.
fn state(link: &Link) -> &'static str {
    let expired = js_sys::Date::parse(&link.expires_at) <= js_sys::Date::now();
    if !link.is_active {
        "Off"
    } else if expired {
        "Expired"
    } else if link.session_count >= link.max_sessions {
        "Full"
    } else {
        "Active"
    }
}

/// A moment in the viewer's own time.
fn local_time(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    String::from(date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
}

/// One link: state, usage, switch, extend, and its numbers on demand.
#[component]
fn LinkRow(auth: Auth, link: Link, on_change: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let id = link.id;
    let active = link.is_active;
    let problem = RwSignal::new(None::<String>);
    let stats = RwSignal::new(None::<LinkStats>);
    let change = move |body: UpdateLink| {
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            match auth.project().edge::<Link>(&token, "PATCH", &format!("/v1/links/{id}"), Some(&body)).await {
                Ok(_) => on_change(),
                Err(error) => problem.set(Some(sentence(&error))),
            }
        });
    };
    let analytics = move |_| {
        if stats.with_untracked(Option::is_some) {
            stats.set(None);
            return;
        }
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            match auth
                .project()
                .edge::<LinkStats>(&token, "GET", &format!("/v1/links/{id}/analytics?days_back=365"), None::<&()>)
                .await
            {
                Ok(numbers) => stats.set(Some(numbers)),
                Err(error) => problem.set(Some(sentence(&error))),
            }
        });
    };
    let state = state(&link);
    view! {
        <li class="link" data-testid="link" data-code=link.short_code.clone()>
            <div class="line">
                <strong>{link.title.clone()}</strong>
                <span class=format!("state {}", state.to_lowercase()) data-testid="link-state">{state}</span>
            </div>
            <p class="help" data-testid="link-usage">
                {format!("{} of {} chats · {} messages · expires {}", link.session_count, link.max_sessions, link.message_count, local_time(&link.expires_at))}
            </p>
            <div class="actions">
                <Button size=ButtonSize::Small on_click=move |_| change(UpdateLink { is_active: Some(!active), ..UpdateLink::default() })>
                    {if active { "Switch off" } else { "Switch on" }}
                </Button>
                <Button size=ButtonSize::Small on_click=move |_| change(UpdateLink { extend_hours: Some(EXTEND_HOURS), ..UpdateLink::default() })>
                    {format!("Extend by {EXTEND_HOURS} hours")}
                </Button>
                <Button size=ButtonSize::Small on_click=analytics>"Numbers"</Button>
            </div>
            {move || problem.get().map(|message| view! { <Problem message /> })}
            {move || stats.get().map(|s| view! {
                <dl class="link-stats" data-testid="link-stats">
                    <dt>"Chats"</dt><dd data-testid="link-sessions">{s.total_sessions}</dd>
                    <dt>"Going now"</dt><dd>{s.active_sessions}</dd>
                    <dt>"Messages"</dt><dd data-testid="link-messages">{s.total_messages}</dd>
                    <dt>"Average chat"</dt><dd>{chat_analytics::duration(s.average_session_seconds as f64)}</dd>
                    <dt>"Countries"</dt>
                    <dd>{if s.top_countries.is_empty() { "unknown".to_string() } else {
                        s.top_countries.iter().map(|c| format!("{} ({})", c.country, c.sessions)).collect::<Vec<_>>().join(", ")
                    }}</dd>
                </dl>
            })}
        </li>
    }
}
