//! The analytics section (owners and admins): a date range, the report's totals, its charts
//! (SVG drawn in Rust by `chat_analytics`), the operators' table and CSV downloads. One call,
//! `analytics_report(site, from, to)`, reads everything under the user's row-level security.

use crate::app::{Problem, loaded};
use crate::auth::Auth;
use chat_analytics::days::PRESETS;
use chat_analytics::{Days, Totals, charts, duration, export};
use chat_core::analytics::{OperatorRow, Range, Report};
use chrono::NaiveDate;
use leptos::prelude::*;
use thaw::*;
use uuid::Uuid;

/// The days shown when the section opens.
const FIRST_RANGE_DAYS: u64 = 30;

/// The shown site's analytics.
#[component]
pub fn AnalyticsSection(auth: Auth, site_id: Uuid) -> impl IntoView {
    let today = today();
    let days = RwSignal::new(Days::ending(today, FIRST_RANGE_DAYS));
    let from = RwSignal::new(days.get_untracked().from());
    let to = RwSignal::new(days.get_untracked().to());
    let problem = RwSignal::new(None::<String>);
    let report = LocalResource::new(move || {
        let days = days.get();
        async move {
            let range = Range { p_site_id: site_id, p_from: days.from(), p_to: days.to() };
            let token = auth.token().unwrap_or_default();
            auth.project().rpc::<Report>(&token, "analytics_report", &range).await.map(|report| (days, report))
        }
    });
    let pick = move |picked: Days| {
        from.set(picked.from());
        to.set(picked.to());
        problem.set(None);
        days.set(picked);
    };
    let apply = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match Days::parse(from.get_untracked().trim(), to.get_untracked().trim()) {
            Ok(picked) => pick(picked),
            Err(message) => problem.set(Some(message)),
        }
    };
    view! {
        <main class="settings analytics" aria-labelledby="analytics-heading">
            <h1 id="analytics-heading">"Analytics"</h1>
            <form class="range" on:submit=apply aria-label="Date range">
                <div class="presets" role="group" aria-label="Quick ranges">
                    {PRESETS.into_iter().map(|(label, count)| {
                        let preset = Days::ending(today, count);
                        view! {
                            <button type="button" class="section" aria-pressed=move || (days.get() == preset).to_string()
                                on:click=move |_| pick(preset)>{label}</button>
                        }
                    }).collect_view()}
                </div>
                <Field label="From"><Input value=from input_type=InputType::Date /></Field>
                <Field label="To"><Input value=to input_type=InputType::Date /></Field>
                <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary>"Show"</Button>
            </form>
            <p class="field-error" role="alert">{move || problem.get()}</p>
            {move || loaded(report.get(), |(days, report)| view! { <ReportView days report /> })}
        </main>
    }
}

/// One range's report.
#[component]
fn ReportView(days: Days, report: Report) -> impl IntoView {
    let totals = Totals::of(&report);
    let daily_csv = export::daily_csv(&days, &report);
    let operators_csv = export::operators_csv(&report.operators);
    let name = |what: &str| format!("{what}-{}-to-{}.csv", days.from(), days.to());
    let rating = totals.average_rating.map_or("No ratings".to_string(), |r| format!("{r:.1} of 5"));
    let wait = |seconds: Option<f64>| seconds.map_or("No replies".to_string(), duration);
    view! {
        <p class="help" data-testid="report-range">
            {format!("Conversations started from {}, days and hours in {}.", days.describe(), report.time_zone)}
        </p>
        <dl class="totals" data-testid="totals">
            <Figure label="Conversations" value=totals.conversations.to_string() />
            <Figure label="Answered by a person" value=totals.answered.to_string() />
            <Figure label="Median first response" value=wait(totals.p50_seconds) />
            <Figure label="90th percentile first response" value=wait(totals.p90_seconds) />
            <Figure label="Average rating" value=format!("{rating} ({} rated)", totals.rated) />
            <Figure label="Automatic answers" value=totals.automatic.to_string() />
            <Figure label="AI answers" value=totals.ai.to_string() />
            <Figure label="Human answers" value=totals.human.to_string() />
            <Figure label="Handoffs to a human" value=totals.handoffs.to_string() />
        </dl>
        <div class="downloads">
            <a class="download" download=name("daily") href=csv_href(&daily_csv)>"Download daily CSV"</a>
            <a class="download" download=name("operators") href=csv_href(&operators_csv)>"Download operators CSV"</a>
        </div>
        <div class="charts">
            <Chart id="conversations" caption="Conversations per day, by channel" svg=charts::conversations(&days, &report.conversations) />
            <Chart id="response-times" caption="First human response, median and 90th percentile"
                svg=charts::response_times(&days, &report.response_times) />
            <Chart id="satisfaction" caption=format!("Satisfaction: {rating} from {} ratings", totals.rated)
                svg=charts::satisfaction(&report.satisfaction) />
            <Chart id="answers" caption="Automatic, AI and human answers, and handoffs" svg=charts::answers(&days, &report.answers) />
            <Chart id="busiest-hours" caption="Busiest hours: conversations started by weekday and hour"
                svg=charts::busiest_hours(&report.busiest_hours) />
        </div>
        <h2>"Operators"</h2>
        <Operators rows=report.operators />
    }
}

/// One total.
#[component]
fn Figure(#[prop(into)] label: String, value: String) -> impl IntoView {
    view! { <div class="figure"><dt>{label}</dt><dd>{value}</dd></div> }
}

/// A chart with its caption, or why it could not be drawn.
#[component]
fn Chart(id: &'static str, #[prop(into)] caption: String, svg: Result<String, String>) -> impl IntoView {
    view! {
        <figure class="chart" data-testid=format!("chart-{id}")>
            <figcaption>{caption}</figcaption>
            // The SVG is chat_analytics' own drawing of numbers and fixed labels: no text a person typed.
            {match svg {
                Ok(svg) => view! { <div class="drawing" role="img" inner_html=svg></div> }.into_any(),
                Err(message) => view! { <Problem message /> }.into_any(),
            }}
        </figure>
    }
}

/// The operators' table.
#[component]
fn Operators(rows: Vec<OperatorRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No operator worked in these days."</p> }.into_any();
    }
    view! {
        <Table attr:data-testid="operators">
            <TableHeader>
                <TableRow>
                    <TableHeaderCell>"Operator"</TableHeaderCell>
                    <TableHeaderCell>"Messages"</TableHeaderCell>
                    <TableHeaderCell>"Conversations"</TableHeaderCell>
                    <TableHeaderCell>"Average response"</TableHeaderCell>
                    <TableHeaderCell>"Idle releases"</TableHeaderCell>
                    <TableHeaderCell>"Rating"</TableHeaderCell>
                </TableRow>
            </TableHeader>
            <TableBody>
                <For each=move || rows.clone() key=|row| row.user_id let:row>
                    <TableRow>
                        <TableCell>{row.display_name.clone().unwrap_or_else(|| "(no name)".into())}</TableCell>
                        <TableCell>{row.messages_sent}</TableCell>
                        <TableCell>{row.conversations_handled}</TableCell>
                        <TableCell>{row.avg_response_seconds.map_or("–".into(), |s| duration(s as f64))}</TableCell>
                        <TableCell>{row.idle_incidents}</TableCell>
                        <TableCell>
                            {row.average_rating.map_or("–".into(), |r| format!("{r:.1} ({} rated)", row.rated))}
                        </TableCell>
                    </TableRow>
                </For>
            </TableBody>
        </Table>
    }
    .into_any()
}

/// A `data:` address of `csv`, which an `<a download>` saves as a file.
fn csv_href(csv: &str) -> String {
    format!("data:text/csv;charset=utf-8,{}", String::from(js_sys::encode_uri_component(csv)))
}

/// Today in the browser's time zone.
fn today() -> NaiveDate {
    let now = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(now.get_full_year() as i32, now.get_month() + 1, now.get_date()).unwrap_or_default()
}
