//! The agents and knowledge section (owners and admins): the site's agents (name, picture,
//! persona, system prompt, model; switched on or off), how they answer (`crate::ai`), and its
//! knowledge articles, with a "try a question" box that shows the automatic answer a visitor
//! would get right now.

use crate::ai::AiAnswering;
use crate::app::{Problem, loaded};
use crate::auth::Auth;
use crate::live::latest;
use crate::project::sentence;
use crate::sites::site_rows;
use chat_core::knowledge::{AGENT_COLUMNS, ARTICLE_COLUMNS, Agent, Article, TriedAnswer};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use thaw::*;
use uuid::Uuid;

/// The shown site's agents and articles.
#[component]
pub fn KnowledgeSection(auth: Auth, site_id: Uuid) -> impl IntoView {
    let version = RwSignal::new(0_u32);
    let agents = site_rows::<Agent>(auth, site_id, ("agents", AGENT_COLUMNS, "created_at,id"), version);
    let articles = site_rows::<Article>(auth, site_id, ("knowledge_articles", ARTICLE_COLUMNS, "title,id"), version);
    let (agents, articles) = (latest(agents), latest(articles));
    let reload = move || version.update(|v| *v += 1);
    // The agent or article being edited (a new one has an id nobody has yet).
    let agent = RwSignal::new(None::<Agent>);
    let article = RwSignal::new(None::<Article>);
    let new_agent = move |_| {
        agent.set(Some(Agent {
            id: Uuid::new_v4(),
            name: String::new(),
            avatar_url: None,
            persona: String::new(),
            system_prompt: String::new(),
            model: "gpt-4o-mini".into(),
            is_active: true,
        }))
    };
    let new_article = move |_| {
        article.set(Some(Article {
            id: Uuid::new_v4(),
            title: String::new(),
            body: String::new(),
            is_published: true,
            updated_at: String::new(),
        }))
    };
    view! {
        <main class="settings" aria-labelledby="knowledge-heading">
            <h1 id="knowledge-heading">"Agents and knowledge"</h1>
            <section class="panel-form" aria-labelledby="agents-heading">
                <h2 id="agents-heading">"Agents"</h2>
                <p class="help">"An agent is the name and picture visitors chat with, and what the language model is told to be. The oldest active agent greets visitors on the widget."</p>
                {move || loaded(agents.get(), |list| view! {
                        <ul class="rows" data-testid="agents">
                            {list.into_iter().map(|a| {
                                let edit = a.clone();
                                view! {
                                    <li><strong>{a.name.clone()}</strong>" · "{a.model.clone()}{(!a.is_active).then_some(" · off")}
                                        <Button size=ButtonSize::Small on_click=move |_| agent.set(Some(edit.clone()))
                                            attr:aria-label=format!("Edit {}", a.name)>"Edit"</Button></li>
                                }
                            }).collect_view()}
                        </ul>
                    })}
                <Button on_click=new_agent>"Add an agent"</Button>
                {move || agent.get().map(|a| view! { <AgentEditor auth site_id agent=a done=Callback::new(move |()| { reload(); agent.set(None) }) /> })}
            </section>
            <AiAnswering auth site_id agents />
            <section class="panel-form" aria-labelledby="articles-heading">
                <h2 id="articles-heading">"Knowledge articles"</h2>
                <p class="help">"When no operator holds a conversation, a visitor's question is answered with the best matching published article; an agent with a language model is given the best three and cites them."</p>
                <TryQuestion auth site_id />
                {move || loaded(articles.get(), |list| view! {
                        <ul class="rows" data-testid="articles">
                            {list.into_iter().map(|a| {
                                let edit = a.clone();
                                view! {
                                    <li><strong>{a.title.clone()}</strong>{(!a.is_published).then_some(" · draft")}
                                        <Button size=ButtonSize::Small on_click=move |_| article.set(Some(edit.clone()))
                                            attr:aria-label=format!("Edit {}", a.title)>"Edit"</Button></li>
                                }
                            }).collect_view()}
                        </ul>
                    })}
                <Button on_click=new_article>"Add an article"</Button>
                {move || article.get().map(|a| view! { <ArticleEditor auth site_id article=a done=Callback::new(move |()| { reload(); article.set(None) }) /> })}
            </section>
        </main>
    }
}

/// Create the row if it is new (`upsert` on its id), else change it; `Err` says why not.
async fn store(auth: Auth, table: &str, id: Uuid, mut body: Value, site_id: Uuid) -> Result<(), String> {
    let token = auth.token().unwrap_or_default();
    let filter = format!("eq.{id}");
    let changed =
        auth.project().update::<Value>(&token, table, &[("id", &filter)], &body).await.map_err(|e| sentence(&e))?;
    if !changed.is_empty() {
        return Ok(());
    }
    body["id"] = json!(id);
    body["site_id"] = json!(site_id);
    auth.project().create(&token, table, &body).await.map_err(|e| sentence(&e))
}

/// Delete the row `id` of `table`; `Err` says why not.
async fn remove(auth: Auth, table: &str, id: Uuid) -> Result<(), String> {
    let token = auth.token().unwrap_or_default();
    let filter = format!("eq.{id}");
    let gone = auth.project().delete::<Value>(&token, table, &[("id", &filter)]).await.map_err(|e| sentence(&e))?;
    if gone.is_empty() { Err("It could not be deleted: it is in use, or you may not.".into()) } else { Ok(()) }
}

/// Where an editor saves its row, and what it does once saved or deleted; cheap to copy.
#[derive(Clone, Copy)]
struct Editing {
    auth: Auth,
    site_id: Uuid,
    table: &'static str,
    id: Uuid,
    /// Why the last save or delete did not happen.
    problem: RwSignal<Option<String>>,
    /// Read the list again and close the editor.
    done: Callback<()>,
}

impl Editing {
    fn new(auth: Auth, site_id: Uuid, table: &'static str, id: Uuid, done: Callback<()>) -> Self {
        Self { auth, site_id, table, id, problem: RwSignal::new(None), done }
    }

    /// Save `row` unless one of its `problems` (field, sentence) stops it.
    fn save(self, row: &impl serde::Serialize, problems: BTreeMap<&'static str, String>) {
        if let Some((field, message)) = problems.into_iter().next() {
            self.problem.set(Some(format!("{}: {message}", field.replace('_', " "))));
            return;
        }
        let body = serde_json::to_value(row).unwrap_or_default();
        spawn_local(async move { self.finish(store(self.auth, self.table, self.id, body, self.site_id).await) });
    }

    fn delete(self) {
        spawn_local(async move { self.finish(remove(self.auth, self.table, self.id).await) });
    }

    fn finish(self, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.done.run(()),
            Err(message) => self.problem.set(Some(message)),
        }
    }
}

/// An editor's problem and its save, cancel and delete buttons.
#[component]
fn EditorActions(editing: Editing, save: &'static str) -> impl IntoView {
    view! {
        {move || editing.problem.get().map(|message| view! { <Problem message /> })}
        <div class="actions">
            <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary>{save}</Button>
            <Button on_click=move |_| editing.done.run(())>"Cancel"</Button>
            <Button on_click=move |_| editing.delete()>"Delete"</Button>
        </div>
    }
}

/// One agent's fields.
#[component]
fn AgentEditor(auth: Auth, site_id: Uuid, agent: Agent, done: Callback<()>) -> impl IntoView {
    let id = agent.id;
    let editing = Editing::new(auth, site_id, "agents", id, done);
    let name = RwSignal::new(agent.name.clone());
    let avatar = RwSignal::new(agent.avatar_url.clone().unwrap_or_default());
    let persona = RwSignal::new(agent.persona.clone());
    let prompt = RwSignal::new(agent.system_prompt.clone());
    let model = RwSignal::new(agent.model.clone());
    let active = RwSignal::new(agent.is_active);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let agent = Agent {
            id,
            name: name.get_untracked().trim().to_string(),
            avatar_url: Some(avatar.get_untracked().trim().to_string()).filter(|a| !a.is_empty()),
            persona: persona.get_untracked(),
            system_prompt: prompt.get_untracked(),
            model: model.get_untracked().trim().to_string(),
            is_active: active.get_untracked(),
        };
        editing.save(&agent, agent.problems());
    };
    view! {
        <form class="editor" on:submit=submit data-testid="agent-editor">
            <Field label="Name"><Input value=name /></Field>
            <Field label="Picture (web address, optional)"><Input value=avatar /></Field>
            <Field label="Persona"><Textarea value=persona /></Field>
            <Field label="System prompt"><Textarea value=prompt /></Field>
            <Field label="Model"><Input value=model /></Field>
            <Checkbox checked=active label="Active" />
            <EditorActions editing save="Save the agent" />
        </form>
    }
}

/// One article's fields.
#[component]
fn ArticleEditor(auth: Auth, site_id: Uuid, article: Article, done: Callback<()>) -> impl IntoView {
    let id = article.id;
    let editing = Editing::new(auth, site_id, "knowledge_articles", id, done);
    let title = RwSignal::new(article.title.clone());
    let body = RwSignal::new(article.body.clone());
    let published = RwSignal::new(article.is_published);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let article = Article {
            id,
            title: title.get_untracked().trim().to_string(),
            body: body.get_untracked().trim().to_string(),
            is_published: published.get_untracked(),
            updated_at: String::new(),
        };
        editing.save(&article, article.problems());
    };
    view! {
        <form class="editor" on:submit=submit data-testid="article-editor">
            <Field label="Title"><Input value=title /></Field>
            <Field label="Answer"><Textarea value=body /></Field>
            <Checkbox checked=published label="Published (used for automatic answers)" />
            <EditorActions editing save="Save the article" />
        </form>
    }
}

/// Ask what a visitor would be answered automatically right now.
#[component]
fn TryQuestion(auth: Auth, site_id: Uuid) -> impl IntoView {
    let question = RwSignal::new(String::new());
    let answer = RwSignal::new(None::<Result<TriedAnswer, String>>);
    let ask = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let asked = question.get_untracked();
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            let tried = auth
                .project()
                .rpc::<TriedAnswer>(
                    &token,
                    "try_automatic_answer",
                    &json!({ "p_site_id": site_id, "p_question": asked }),
                )
                .await
                .map_err(|e| sentence(&e));
            answer.set(Some(tried));
        });
    };
    view! {
        <form class="try" on:submit=ask data-testid="try-question">
            <Field label="Try a question a visitor might ask"><Input value=question /></Field>
            <Button button_type=ButtonType::Submit>"Show the answer"</Button>
            <div role="status" data-testid="tried-answer">
                {move || answer.get().map(|tried| match tried {
                    Ok(TriedAnswer::KnowledgeAnswer { article_title, content }) => view! {
                        <p class="help">{format!("Answered from “{article_title}”:")}</p><blockquote>{content}</blockquote>
                    }.into_any(),
                    Ok(TriedAnswer::AwayMessage { content }) => view! {
                        <p class="help">"No article matches and nobody can answer now, so the away message:"</p><blockquote>{content}</blockquote>
                    }.into_any(),
                    Ok(TriedAnswer::None) => view! { <p class="help">"No article matches: an operator online answers it."</p> }.into_any(),
                    Err(message) => view! { <Problem message /> }.into_any(),
                })}
            </div>
        </form>
    }
}
