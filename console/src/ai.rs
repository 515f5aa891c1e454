//! The AI answering panel of the agents and knowledge section (owners and admins): whether
//! agents answer the widget's chats and which one, the handoff message, the token budgets, a
//! language-model provider of the site's own (its key written, never read back), and the
//! language-model use of the last days.

use crate::app::{Problem, loaded};
use crate::auth::Auth;
use crate::live::latest;
use crate::sites::site_rows;
use crate::versioned::{SaveOutcome, Saving};
use chat_client::call::CallError;
use chat_core::ai::{AI_SETTINGS_COLUMNS, AI_USAGE_COLUMNS, AiSettings, AiUsageDay, spent_today};
use chat_core::knowledge::Agent;
use leptos::prelude::*;
use thaw::*;
use uuid::Uuid;

/// Days of use listed, newest first.
const USAGE_DAYS_SHOWN: usize = 14;

/// The site's agents as the section loaded them.
pub type Agents = ReadSignal<Option<Result<Vec<Agent>, CallError>>>;

/// The site's AI settings and use.
#[component]
pub fn AiAnswering(auth: Auth, site_id: Uuid, agents: Agents) -> impl IntoView {
    // Read once: the form keeps what it saves, and the use shows on the next visit.
    let version = RwSignal::new(0_u32);
    let settings =
        site_rows::<AiSettings>(auth, site_id, ("site_ai_settings", AI_SETTINGS_COLUMNS, "site_id"), version);
    let usage = site_rows::<AiUsageDay>(auth, site_id, ("ai_usage_days", AI_USAGE_COLUMNS, "day.desc"), version);
    let (settings, usage) = (latest(settings), latest(usage));
    view! {
        <section class="panel-form" aria-labelledby="ai-heading">
            <h2 id="ai-heading">"AI answering"</h2>
            <p class="help">"Agents answer with a language model: the deployment's, or one of the site's own. Visitors can ask for a person at any time; the agent hands over when it cannot help, when a budget is spent, or when the model fails."</p>
            {move || loaded(settings.get(), |rows| match rows.into_iter().next() {
                Some(row) => view! { <AiForm auth row agents usage /> }.into_any(),
                None => view! { <Problem message="This site has no AI settings.".to_string() /> }.into_any(),
            })}
            <h3>"Use"</h3>
            {move || loaded(usage.get(), |days| if days.is_empty() {
                view! { <p class="help" data-testid="ai-usage">"No language-model use yet."</p> }.into_any()
            } else {
                view! { <UsageDays days /> }.into_any()
            })}
        </section>
    }
}

/// The site's days of use as loaded.
type Usage = ReadSignal<Option<Result<Vec<AiUsageDay>, CallError>>>;

/// Today's tokens against the saved daily budget, once the use is loaded.
fn today(usage: Usage, budget: i64) -> Option<String> {
    let day = String::from(js_sys::Date::new_0().to_iso_string()).get(..DATE_CHARS)?.to_string();
    usage.with(|u| Some(spent_today(u.as_ref()?.as_ref().ok()?, &day, budget)))
}

/// The length of `2026-12-02`.
const DATE_CHARS: usize = 10;

/// The form's fields, as typed.
#[derive(Clone, Copy)]
struct Fields {
    enabled: RwSignal<bool>,
    agent: RwSignal<String>,
    handoff: RwSignal<String>,
    budget: RwSignal<String>,
    cap: RwSignal<String>,
    url: RwSignal<String>,
    model: RwSignal<String>,
    key: RwSignal<String>,
    forget_key: RwSignal<bool>,
    /// The settings as last read or saved.
    loaded: RwSignal<AiSettings>,
}

impl Fields {
    fn new(row: AiSettings) -> Self {
        let fields = Self {
            enabled: RwSignal::new(false),
            agent: RwSignal::new(String::new()),
            handoff: RwSignal::new(String::new()),
            budget: RwSignal::new(String::new()),
            cap: RwSignal::new(String::new()),
            url: RwSignal::new(String::new()),
            model: RwSignal::new(String::new()),
            key: RwSignal::new(String::new()),
            forget_key: RwSignal::new(false),
            loaded: RwSignal::new(row.clone()),
        };
        fields.fill(row);
        fields
    }

    /// Show `row` (the key field empties: a stored key is never shown).
    fn fill(self, row: AiSettings) {
        self.enabled.set(row.enabled);
        self.agent.set(row.default_agent_id.map(|id| id.to_string()).unwrap_or_default());
        self.handoff.set(row.handoff_message.clone());
        self.budget.set(row.daily_token_budget.to_string());
        self.cap.set(row.conversation_token_cap.to_string());
        self.url.set(row.provider_base_url.clone().unwrap_or_default());
        self.model.set(row.provider_model.clone().unwrap_or_default());
        self.key.set(String::new());
        self.forget_key.set(false);
        self.loaded.set(row);
    }

    /// The settings as typed.
    fn settings(self) -> AiSettings {
        let optional = |text: String| Some(text.trim().to_string()).filter(|t| !t.is_empty());
        AiSettings {
            enabled: self.enabled.get(),
            default_agent_id: self.agent.get().parse().ok(),
            handoff_message: self.handoff.get().trim().to_string(),
            daily_token_budget: self.budget.get().trim().parse().unwrap_or(-1),
            conversation_token_cap: self.cap.get().trim().parse().unwrap_or(-1),
            provider_base_url: optional(self.url.get()),
            provider_model: optional(self.model.get()),
            ..self.loaded.get()
        }
    }

    /// A key typed to be stored.
    fn new_key(self) -> Option<String> {
        Some(self.key.get().trim().to_string()).filter(|k| !k.is_empty())
    }

    /// `save_ai_settings`' `p_provider_key`: a new key, `""` to forget the stored one (asked
    /// for, or the endpoint removed), `None` to keep it.
    fn key_to_save(self) -> Option<String> {
        let drop = self.forget_key.get_untracked() || self.url.with_untracked(|u| u.trim().is_empty());
        self.new_key().or_else(|| (drop && self.loaded.with_untracked(|l| l.provider_key_set)).then(String::new))
    }
}

/// The settings' fields and their save.
#[component]
fn AiForm(auth: Auth, row: AiSettings, agents: Agents, usage: Usage) -> impl IntoView {
    let fields = Fields::new(row);
    let draft = Memo::new(move |_| fields.settings());
    let problems = Memo::new(move |_| draft.with(|d| d.problems(fields.new_key().as_deref())));
    let saving = Saving::<AiSettings>::default();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if !problems.with_untracked(|p| p.is_empty()) {
            return saving.refuse();
        }
        let settings = draft.get_untracked();
        let args = serde_json::json!({
            "p_site_id": settings.site_id, "p_version": settings.updated_at, "p_settings": settings,
            "p_provider_key": fields.key_to_save(),
        });
        let target = ("site_ai_settings", "site_id", settings.site_id.to_string(), AI_SETTINGS_COLUMNS);
        saving.run(auth, "save_ai_settings", args, target, "Saved. New questions use these settings.", move |row| {
            fields.fill(row)
        });
    };
    Effect::new(move |_| saving.forget_refusal(problems.with(|p| p.is_empty())));
    let problem = move |field: &'static str| move || problems.with(|p| p.get(field).cloned());
    // Each option says whether it is the chosen one: the agents arrive after the select is
    // drawn, and a select without a selected option shows its first.
    let agent_options = move || match agents.get() {
        Some(Ok(list)) => list
            .into_iter()
            .map(|a| {
                let label = if a.is_active { a.name } else { format!("{} (off)", a.name) };
                let id = a.id.to_string();
                let chosen = id.clone();
                view! { <option value=id selected=move || fields.agent.with(|v| *v == chosen)>{label}</option> }
            })
            .collect_view()
            .into_any(),
        _ => ().into_any(),
    };
    let key_state = move || {
        if fields.loaded.with(|l| l.provider_key_set) {
            "A key is stored; it is never shown. Type a new one to replace it."
        } else {
            "No key is stored."
        }
    };
    view! {
        <form class="panel-form" on:submit=submit data-testid="ai-settings">
            // thaw 0.5.0-beta draws a new random id on every read without one: the label would name nothing.
            <Switch id="ai-enabled" checked=fields.enabled label="Agents answer new chats on the widget" />
            <p class="help">"Chats opened from a link always have the link's agent."</p>
            <label for="ai-agent">"Agent on the widget"</label>
            <Select id="ai-agent" value=fields.agent default_value=fields.agent.get_untracked()>
                <option value="" selected=move || fields.agent.with(String::is_empty)>"The agent that greets (the oldest active one)"</option>
                {agent_options}
            </Select>
            <Field label="Handoff message (when a person takes over)"><Textarea value=fields.handoff /></Field>
            <p class="field-error" role="alert">{problem("handoff_message")}</p>
            <div class="limits">
                <Field label="Tokens per day (UTC)"><Input value=fields.budget input_type=InputType::Number /></Field>
                <Field label="Tokens per conversation"><Input value=fields.cap input_type=InputType::Number /></Field>
            </div>
            <p class="field-error" role="alert">{problem("daily_token_budget")}</p>
            <p class="field-error" role="alert">{problem("conversation_token_cap")}</p>
            <p class="help" data-testid="ai-today">{move || today(usage, fields.loaded.with(|l| l.daily_token_budget))}</p>
            <h3>"The site's own provider (optional)"</h3>
            <p class="help">"Any OpenAI-compatible endpoint: a hosted provider, Ollama (http://localhost:11434/v1), a llama.cpp server. Empty: the deployment's."</p>
            <Field label="Endpoint"><Input value=fields.url placeholder="https://api.openai.com/v1" /></Field>
            <p class="field-error" role="alert">{problem("provider_base_url")}</p>
            <Field label="Model (empty: each agent's own)"><Input value=fields.model /></Field>
            <p class="field-error" role="alert">{problem("provider_model")}</p>
            <Field label="API key"><Input value=fields.key input_type=InputType::Password /></Field>
            <p class="help" data-testid="ai-key-state">{key_state}</p>
            <p class="field-error" role="alert">{problem("provider_key")}</p>
            {move || fields.loaded.with(|l| l.provider_key_set).then(|| view! {
                <Checkbox checked=fields.forget_key label="Forget the stored key" />
            })}
            <SaveOutcome saving fill=Callback::new(move |row| fields.fill(row)) testid="ai" />
            <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary disabled=saving.pending>"Save"</Button>
        </form>
    }
}

/// The newest days of use.
#[component]
fn UsageDays(days: Vec<AiUsageDay>) -> impl IntoView {
    view! {
        <Table attr:data-testid="ai-usage">
            <TableHeader>
                <TableRow>
                    <TableHeaderCell>"Day (UTC)"</TableHeaderCell>
                    <TableHeaderCell>"Tokens"</TableHeaderCell>
                    <TableHeaderCell>"Answers"</TableHeaderCell>
                    <TableHeaderCell>"Handoffs"</TableHeaderCell>
                    <TableHeaderCell>"Refused (budget)"</TableHeaderCell>
                </TableRow>
            </TableHeader>
            <TableBody>
                {days.into_iter().take(USAGE_DAYS_SHOWN).map(|d| {
                    let cells = [d.tokens(), d.answers, d.handoffs, d.refusals].map(|n| view! { <TableCell>{n.to_string()}</TableCell> });
                    view! { <TableRow><TableCell>{d.day}</TableCell>{cells}</TableRow> }
                }).collect_view()}
            </TableBody>
        </Table>
    }
}
