//! Who the visitor is: name, email, phone and the pre-chat form's other answers, the page and
//! site they wrote from, their rating and feedback, whether they are here now, and their
//! previous conversations (each opens in the conversation pane).

use crate::desk::Desk;
use crate::inbox::short_time;
use crate::live::latest;
use chat_core::inbox::{CUSTOMER_COLUMNS, Customer, VISIT_COLUMNS, Visit};
use chat_core::text::displayable;
use leptos::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

/// Another conversation of the same customer.
#[derive(Clone, Debug, Deserialize)]
struct Earlier {
    id: Uuid,
    status: String,
    created_at: String,
    csat: Option<i16>,
}

/// The customer pane of conversation `id` (with `customer`, when known), read again when
/// `news` moves; `online` says whether the visitor is on the conversation now, `selected`
/// opens another conversation.
#[component]
pub fn CustomerPane(
    desk: Desk,
    site_name: String,
    id: Uuid,
    customer: Option<Uuid>,
    news: Signal<u64>,
    online: Signal<bool>,
    selected: RwSignal<Option<Uuid>>,
) -> impl IntoView {
    let details = LocalResource::new(move || {
        news.track();
        async move {
            let token = desk.auth.token().unwrap_or_default();
            let project = desk.auth.project();
            let conversation = format!("eq.{id}");
            let visits =
                [("select", VISIT_COLUMNS), ("conversation_id", conversation.as_str()), ("order", "started_at.desc")];
            let visits = project.select::<Vec<Visit>>(&token, "chat_sessions", &visits).await.unwrap_or_default();
            let Some(customer) = customer else { return (None, visits, Vec::new()) };
            let who = format!("eq.{customer}");
            let row = [("select", CUSTOMER_COLUMNS), ("id", who.as_str())];
            let row = project
                .select::<Vec<Customer>>(&token, "customers", &row)
                .await
                .ok()
                .and_then(|r| r.into_iter().next());
            let other = format!("neq.{id}");
            let earlier = [
                ("select", "id,status,created_at,csat"),
                ("customer_id", who.as_str()),
                ("id", other.as_str()),
                ("order", "created_at.desc"),
                ("limit", "10"),
            ];
            let earlier = project.select::<Vec<Earlier>>(&token, "conversations", &earlier).await.unwrap_or_default();
            (row, visits, earlier)
        }
    });
    let details = latest(details);
    view! {
        <aside class="customer-pane" aria-label="Customer" data-testid="customer-pane">
            {move || {
                details.get().map(|(customer, visits, earlier)| {
                    let name = customer.as_ref().and_then(|c| c.name.clone()).unwrap_or_else(|| "Visitor".into());
                    let visit = visits.first().cloned();
                    view! {
                        <h2 data-testid="customer-name">{displayable(&name).into_owned()}</h2>
                        <p class="presence" data-testid="visitor-presence">
                            {move || if online.get() { "Online now" } else { "Offline" }}
                        </p>
                        <dl>
                            {customer.map(|c| view! { <CustomerFields customer=c /> })}
                            <dt>"Site"</dt>
                            <dd>{site_name.clone()}</dd>
                            {visit.map(|v| view! { <VisitFields visit=v /> })}
                        </dl>
                        <h3>"Previous conversations"</h3>
                        <ul class="earlier" data-testid="earlier">
                            {if earlier.is_empty() {
                                view! { <li class="empty">"None"</li> }.into_any()
                            } else {
                                earlier
                                    .into_iter()
                                    .map(|e| {
                                        let rating = e.csat.map(|r| format!(" · rated {r}/5")).unwrap_or_default();
                                        let label = format!("{} · {}{rating}", e.created_at.get(..10).unwrap_or(&e.created_at), e.status);
                                        view! {
                                            <li>
                                                <button class="link" on:click=move |_| selected.set(Some(e.id))>{label}</button>
                                            </li>
                                        }
                                    })
                                    .collect::<Vec<_>>()
                                    .into_any()
                            }}
                        </ul>
                    }
                })
            }}
        </aside>
    }
}

/// Name, email, phone and custom fields, those given.
#[component]
fn CustomerFields(customer: Customer) -> impl IntoView {
    let mut rows = Vec::new();
    for (label, value) in [("Email", customer.email), ("Phone", customer.phone)] {
        if let Some(value) = value {
            rows.push((label.to_string(), value));
        }
    }
    for (field, value) in customer.custom_fields {
        let value = match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        rows.push((field, value));
    }
    if let Some(seen) = customer.last_seen_at {
        rows.push(("Last seen".into(), format!("{} {}", seen.get(..10).unwrap_or(&seen), short_time(&seen))));
    }
    rows.into_iter()
        .map(|(label, value)| {
            view! {
                <dt>{displayable(&label).into_owned()}</dt>
                <dd>{displayable(&value).into_owned()}</dd>
            }
        })
        .collect::<Vec<_>>()
}

/// The page, browser, country and rating of the latest visit.
#[component]
fn VisitFields(visit: Visit) -> impl IntoView {
    let rating = visit.rating.map(|r| {
        let feedback = visit.feedback.clone().filter(|f| !f.is_empty()).map(|f| format!(": “{f}”")).unwrap_or_default();
        format!("{r}/5{feedback}")
    });
    let rows = [
        ("Page", visit.referrer),
        ("Country", visit.country),
        ("Browser", visit.user_agent),
        ("Rating", rating),
        (
            "Started",
            Some(format!(
                "{} {}",
                visit.started_at.get(..10).unwrap_or(&visit.started_at),
                short_time(&visit.started_at)
            )),
        ),
    ];
    rows.into_iter()
        .filter_map(|(label, value)| value.map(|v| (label, v)))
        .map(|(label, value)| {
            view! {
                <dt>{label}</dt>
                <dd data-testid=format!("customer-{}", label.to_lowercase())>{displayable(&value).into_owned()}</dd>
            }
        })
        .collect::<Vec<_>>()
}
