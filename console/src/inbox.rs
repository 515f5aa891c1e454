//! The inbox: the conversations of the operator's site, by filter, newest activity first, kept
//! current by the site's live news.

use crate::app::Problem;
use crate::auth::Auth;
use crate::conversation::ConversationPane;
use crate::live::{latest, site_news};
use crate::project::sentence;
use chat_core::inbox::{InboxFilter, InboxQuery, InboxRow};
use chat_core::text::displayable;
use leptos::prelude::*;
use serde::Deserialize;
use thaw::*;
use uuid::Uuid;

/// Conversations per page.
const PAGE: u32 = 50;

/// A site the signed-in user works on.
#[derive(Clone, Debug, Deserialize)]
struct Site {
    id: Uuid,
    name: String,
}

/// The filters and the conversation list of the first site the user works on.
#[component]
pub fn Inbox(auth: Auth) -> impl IntoView {
    let sites = LocalResource::new(move || async move {
        let token = auth.token().unwrap_or_default();
        auth.project().select::<Vec<Site>>(&token, "sites", &[("select", "id,name"), ("order", "name")]).await
    });
    move || {
        sites.get().map(|loaded| match loaded {
            Ok(sites) => match sites.into_iter().next() {
                Some(site) => view! { <SiteInbox auth site /> }.into_any(),
                None => view! { <p class="empty">"You are not a member of any site yet."</p> }.into_any(),
            },
            Err(error) => view! { <Problem message=sentence(&error) /> }.into_any(),
        })
    }
}

/// One site's inbox: the list, and the conversation picked from it.
#[component]
fn SiteInbox(auth: Auth, site: Site) -> impl IntoView {
    let filter = RwSignal::new(InboxFilter::Open.as_str().to_string());
    let selected = RwSignal::new(None::<Uuid>);
    let news = site_news(auth, site.id);
    // Bumped when the open conversation was marked read: its unread count drops.
    let read = RwSignal::new(0_u64);
    let rows = LocalResource::new(move || {
        news.track();
        read.track();
        let filter = InboxFilter::named(&filter.get()).unwrap_or(InboxFilter::Open);
        let query = InboxQuery {
            p_site_id: site.id,
            p_filter: filter,
            p_search: None,
            p_cursor_at: None,
            p_cursor_id: None,
            p_limit: PAGE,
        };
        async move {
            let token = auth.token().unwrap_or_default();
            auth.project().rpc::<Vec<InboxRow>>(&token, "inbox", &query).await
        }
    });
    let rows = latest(rows);
    let list = move || rows.with(|loaded| loaded.as_ref().and_then(|l| l.as_ref().ok()).cloned().unwrap_or_default());
    let empty = move || rows.with(|loaded| matches!(loaded, Some(Ok(rows)) if rows.is_empty()));
    let problem = move || rows.with(|loaded| loaded.as_ref().and_then(|l| l.as_ref().err()).map(sentence));
    let site_id = site.id;
    view! {
        <div class="panes">
            <section
                class="inbox"
                aria-label=format!("Inbox of {}", site.name)
                aria-busy=move || if rows.with(Option::is_none) { "true" } else { "false" }
            >
                <TabList selected_value=filter>
                    {InboxFilter::ALL.into_iter().map(|f| view! { <Tab value=f.as_str()>{label(f)}</Tab> }).collect::<Vec<_>>()}
                </TabList>
                {move || problem().map(|message| view! { <Problem message /> })}
                <p class="empty" hidden=move || !empty()>"No conversations here."</p>
                // One keyed list for the inbox's life: news moves, adds and drops rows.
                <ul class="conversations" data-testid="conversations">
                    <For each=list key=|r| (r.id, r.last_message_at.clone(), r.unread, r.status.clone()) let:row>
                        <ConversationItem row selected />
                    </For>
                </ul>
            </section>
            {move || match selected.get() {
                Some(id) => view! { <ConversationPane auth site_id id read /> }.into_any(),
                None => view! { <p class="empty pick">"Pick a conversation."</p> }.into_any(),
            }}
        </div>
    }
}

/// A conversation in the list: who, the latest message, its state and unread count; a button
/// that opens it.
#[component]
fn ConversationItem(row: InboxRow, selected: RwSignal<Option<Uuid>>) -> impl IntoView {
    let id = row.id;
    let who = row.customer_name.clone().or_else(|| row.customer_email.clone()).unwrap_or_else(|| "Visitor".into());
    let unread = (row.unread > 0).then(|| {
        view! { <Badge color=BadgeColor::Danger>{row.unread.to_string()}</Badge> }
    });
    view! {
        <li class="conversation" data-testid="conversation" data-status=row.status.clone()>
            <button
                class="open"
                aria-current=move || (selected.get() == Some(id)).then_some("true")
                on:click=move |_| selected.set(Some(id))
            >
                <span class="line">
                    <strong class="who">{who}</strong>
                    <time datetime=row.last_message_at.clone()>{short_time(&row.last_message_at)}</time>
                </span>
                <span class="line">
                    <span class="preview">{row.last_message.clone().map(|m| displayable(&m).into_owned()).unwrap_or_default()}</span>
                    {unread}
                </span>
            </button>
        </li>
    }
}

fn label(filter: InboxFilter) -> &'static str {
    match filter {
        InboxFilter::Mine => "Mine",
        InboxFilter::Unassigned => "Queue",
        InboxFilter::Open => "All open",
        InboxFilter::Snoozed => "Snoozed",
        InboxFilter::Closed => "Closed",
    }
}

/// `HH:MM` of a timestamp as PostgREST writes it (`2026-12-02T06:41:00.123+00:00`).
pub fn short_time(at: &str) -> String {
    at.get(11..16).unwrap_or(at).to_string()
}
