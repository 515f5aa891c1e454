//! The inbox: the conversations of the operator's site, by filter, newest activity first, kept
//! current by the site's live news; the conversation picked from it; the operator's status,
//! alerts and keyboard shortcuts; the unread count in the tab's title.

use crate::alerts::Alerts;
use crate::app::Problem;
use crate::conversation::ConversationPane;
use crate::desk::{Desk, StatusPicker};
use crate::keys::{Help, Shortcuts, use_shortcuts};
use crate::live::latest;
use crate::project::sentence;
use chat_client::call::CallError;
use chat_core::inbox::{InboxFilter, InboxQuery, InboxRow};
use chat_core::text::displayable;
use leptos::prelude::*;
use std::time::Duration;
use thaw::*;
use uuid::Uuid;

/// Conversations per page.
const PAGE: u32 = 50;
/// The title counts unread conversations among this many newest open ones (the inbox's
/// largest page).
const TITLE_COUNTS: u32 = 100;
/// The search runs once typing paused this long.
const SEARCH_PAUSE_MS: u64 = 300;

/// One site's inbox: the list, and the conversation picked from it.
#[component]
pub fn Inbox(desk: Desk, site_name: String) -> impl IntoView {
    let filter = RwSignal::new(InboxFilter::Open.as_str().to_string());
    let selected = RwSignal::new(None::<Uuid>);
    let news = desk.live.news(desk.topic(), &["conversation_created", "conversation_updated"]);
    let alerts = Alerts::start(desk);
    // Bumped when the open conversation was marked read: its unread count drops.
    let read = RwSignal::new(0_u64);
    // The search as typed, and as asked for once typing paused.
    let typed = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    Effect::watch(
        move || typed.get(),
        move |now, _, _| {
            let now = now.clone();
            set_timeout(
                move || {
                    if typed.try_get_untracked().is_some_and(|t| t == now) {
                        search.set(now.trim().to_string());
                    }
                },
                Duration::from_millis(SEARCH_PAUSE_MS),
            );
        },
        false,
    );
    // Pages shown: a new filter or search starts again from one.
    let pages = RwSignal::new(1_usize);
    Effect::watch(move || (filter.get(), search.get()), move |_, _, _| pages.set(1), false);
    let rows = LocalResource::new(move || {
        news.track();
        read.track();
        let filter = InboxFilter::named(&filter.get()).unwrap_or(InboxFilter::Open);
        let (search, pages) = (search.get(), pages.get());
        async move { read_inbox(desk, filter, search, pages).await }
    });
    let rows = latest(rows);
    let list = move || {
        rows.with(|loaded| loaded.as_ref().and_then(|l| l.as_ref().ok()).map(|p| p.rows.clone()).unwrap_or_default())
    };
    let more = move || rows.with(|loaded| matches!(loaded, Some(Ok(p)) if p.more));
    let empty = move || rows.with(|loaded| matches!(loaded, Some(Ok(p)) if p.rows.is_empty()));
    let problem = move || rows.with(|loaded| loaded.as_ref().and_then(|l| l.as_ref().err()).map(sentence));
    unread_in_title(desk, news, read);
    let help = RwSignal::new(false);
    let said = RwSignal::new(None::<String>);
    let order = Signal::derive(move || list().into_iter().map(|r| r.id).collect());
    use_shortcuts(Shortcuts { desk, selected, order, help, said });
    view! {
        <div class="desk-bar">
            <StatusPicker desk />
            {alerts.controls()}
            <Button appearance=ButtonAppearance::Subtle on_click=move |_| help.set(true) attr:aria-keyshortcuts="?">
                "Shortcuts"
            </Button>
            {move || said.get().map(|message| view! { <Problem message /> })}
            <span class="connection" data-testid="connection" role="status">
                {move || if desk.live.connected.get() { "" } else { "Reconnecting…" }}
            </span>
        </div>
        <Help open=help />
        <div class="panes">
            <section
                class="inbox"
                aria-label=format!("Inbox of {site_name}")
                aria-busy=move || if rows.with(Option::is_none) { "true" } else { "false" }
            >
                <div class="search">
                    <label class="sr-only" for="search">"Search conversations"</label>
                    <Input id="search" value=typed placeholder="Search names, emails, messages" input_type=InputType::Search />
                </div>
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
                <Button appearance=ButtonAppearance::Subtle attr:hidden=move || !more() on_click=move |_| pages.update(|n| *n += 1)>
                    "Load more"
                </Button>
            </section>
            {move || match selected.get() {
                Some(id) => view! { <ConversationPane desk site_name=site_name.clone() id read selected /> }.into_any(),
                None => view! { <p class="empty pick">"Pick a conversation."</p> }.into_any(),
            }}
        </div>
    }
}

/// Loaded pages of the inbox, and whether more follow.
#[derive(Clone)]
struct Listing {
    rows: Vec<InboxRow>,
    more: bool,
}

/// The first `pages` pages of the inbox for `filter` and `search`, each after the last row
/// of the one before (keyset paging: a page never skips or repeats a row).
async fn read_inbox(desk: Desk, filter: InboxFilter, search: String, pages: usize) -> Result<Listing, CallError> {
    let token = desk.auth.token().unwrap_or_default();
    let mut listing = Listing { rows: Vec::new(), more: false };
    for _ in 0..pages {
        let last = listing.rows.last();
        let query = InboxQuery {
            p_site_id: desk.site_id,
            p_filter: filter,
            p_search: Some(search.clone()).filter(|s| !s.is_empty()),
            p_cursor_at: last.map(|r| r.last_message_at.clone()),
            p_cursor_id: last.map(|r| r.id),
            p_limit: PAGE,
        };
        let page = desk.auth.project().rpc::<Vec<InboxRow>>(&token, "inbox", &query).await?;
        listing.more = page.len() == PAGE as usize;
        listing.rows.extend(page);
        if !listing.more {
            break;
        }
    }
    Ok(listing)
}

/// The tab's title: how many open conversations (of the newest [`TITLE_COUNTS`]) have
/// messages the operator has not read.
fn unread_in_title(desk: Desk, news: ReadSignal<u64>, read: RwSignal<u64>) {
    let unread = LocalResource::new(move || {
        news.track();
        read.track();
        let query = InboxQuery {
            p_site_id: desk.site_id,
            p_filter: InboxFilter::Open,
            p_search: None,
            p_cursor_at: None,
            p_cursor_id: None,
            p_limit: TITLE_COUNTS,
        };
        async move {
            let token = desk.auth.token().unwrap_or_default();
            let rows = desk.auth.project().rpc::<Vec<InboxRow>>(&token, "inbox", &query).await;
            rows.map(|rows| rows.iter().filter(|r| r.unread > 0).count()).ok()
        }
    });
    Effect::new(move |_| {
        if let Some(Some(count)) = unread.get() {
            let title = if count > 0 { format!("({count}) Inbox · Console") } else { "Inbox · Console".into() };
            document().set_title(&title);
        }
    });
    on_cleanup(|| document().set_title("Console"));
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
        InboxFilter::Agent => "AI",
        InboxFilter::Open => "All open",
        InboxFilter::Snoozed => "Snoozed",
        InboxFilter::Closed => "Closed",
    }
}

/// `HH:MM` of a timestamp as PostgREST writes it (`2026-12-02T06:41:00.123+00:00`).
pub fn short_time(at: &str) -> String {
    at.get(11..16).unwrap_or(at).to_string()
}
