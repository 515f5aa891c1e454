//! One answer an agent owes: what `take_owed_answer` hands the edge (the agent, the history,
//! the articles, the tokens it may spend, a provider of the site's own), the request the model
//! is sent, the drafts broadcast while it writes, and what is stored after. No I/O.

use crate::llm::{self, Speaker};
use crate::prompt::{self, Agent, Article};
use chat_core::api::{DRAFT_EVENT, DRAFT_SEQ, Message, MessageMetadata, SenderType};
use chat_core::limits::{
    AGENT_ANSWER_TOKENS, AGENT_DRAFT_INTERVAL_MS, AGENT_DRAFTS, AGENT_LEASE_SECONDS, AGENT_TIMEOUT_SECONDS,
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// `take_owed_answer`'s answer: a turn for the model, or nothing left to do.
#[derive(Debug, Deserialize)]
pub struct Taken {
    /// Set when the model must answer (the owed row is leased to this edge).
    #[serde(default)]
    pub turn: Option<Turn>,
}

/// What the model needs to answer one visitor message.
#[derive(Debug, Deserialize)]
pub struct Turn {
    /// The visitor message owed an answer.
    pub message_id: Uuid,
    /// The id the answer will be stored with; its drafts are broadcast under it.
    pub answer_id: Uuid,
    /// Its conversation (the drafts' topic).
    pub conversation_id: Uuid,
    /// Who answers.
    pub agent: TurnAgent,
    /// The site's own provider, when it set one.
    pub provider: Option<Provider>,
    /// The conversation up to the question, oldest first.
    pub history: Vec<Line>,
    /// The best knowledge articles for the question, best first.
    pub articles: Vec<TurnArticle>,
    /// Tokens the budgets have left.
    pub max_tokens: i64,
}

/// The agent as stored.
#[derive(Debug, Deserialize)]
pub struct TurnAgent {
    /// Its name.
    pub name: String,
    /// How it speaks.
    pub persona: String,
    /// The owner's instructions.
    pub system_prompt: String,
    /// The model it asks for.
    pub model: String,
}

/// A site's own OpenAI-compatible endpoint.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Provider {
    /// `https://host/v1`: requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model to ask for instead of the agent's.
    pub model: Option<String>,
    /// The bearer key, if the endpoint wants one.
    pub key: Option<String>,
}

/// One message of the history.
#[derive(Debug, Deserialize)]
pub struct Line {
    /// Written by the visitor (else by the agent or a person of the site).
    pub visitor: bool,
    /// Its text.
    pub content: String,
}

/// A knowledge article found for the question.
#[derive(Debug, Deserialize)]
pub struct TurnArticle {
    /// Its id, stored with an answer that cites it.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
}

/// Where a turn is sent: the site's provider, else the deployment's (`AI_BASE_URL`,
/// `AI_API_KEY`, `AI_MODEL`), else none.
pub fn provider(turn: &Turn, deployment: Option<Provider>) -> Option<Provider> {
    turn.provider.clone().or(deployment)
}

impl Turn {
    /// The model asked for: the provider's choice, else the agent's.
    pub fn model(&self, provider: &Provider) -> String {
        provider.model.clone().filter(|m| !m.trim().is_empty()).unwrap_or_else(|| self.agent.model.clone())
    }

    /// The Chat Completions request: the agent's system prompt with the articles, the recent
    /// history that fits, at most [`AGENT_ANSWER_TOKENS`] or what the budgets have left.
    pub fn request(&self, model: &str) -> Value {
        let agent = Agent {
            name: self.agent.name.clone(),
            persona: self.agent.persona.clone(),
            system_prompt: self.agent.system_prompt.clone(),
        };
        let history: Vec<(Speaker, String)> = self
            .history
            .iter()
            .map(|line| (if line.visitor { Speaker::Visitor } else { Speaker::Agent }, line.content.clone()))
            .collect();
        let max_tokens = self.max_tokens.clamp(1, AGENT_ANSWER_TOKENS);
        llm::request_body(
            model,
            &prompt::system_prompt(&agent, &self.articles()),
            &prompt::recent(&history),
            max_tokens as u32,
        )
    }

    /// The articles an answer cited, as stored with it: `[{id, title}]`.
    pub fn sources(&self, answer: &str) -> Value {
        let cited = prompt::cited(answer, &self.articles());
        Value::Array(
            cited.into_iter().map(|i| json!({"id": self.articles[i].id, "title": self.articles[i].title})).collect(),
        )
    }

    fn articles(&self) -> Vec<Article> {
        self.articles.iter().map(|a| Article { title: a.title.clone(), body: a.body.clone() }).collect()
    }
}

/// `{base_url}/chat/completions`.
pub fn endpoint(base_url: &str) -> String {
    format!("{}/chat/completions", base_url.trim_end_matches('/'))
}

/// Seconds an answer may take: the deployment's `AI_TIMEOUT_SECONDS` when it is a number of
/// at least one, kept well inside the lease; else [`AGENT_TIMEOUT_SECONDS`].
pub fn timeout_seconds(setting: Option<&str>) -> i64 {
    let seconds = setting.and_then(|s| s.trim().parse::<i64>().ok()).filter(|s| *s >= 1);
    seconds.unwrap_or(AGENT_TIMEOUT_SECONDS).min(AGENT_LEASE_SECONDS / 2)
}

/// The answer as written so far, as the row change the widget merges (event
/// [`chat_core::api::DRAFT_EVENT`]): under the id the answer will be stored with, after every
/// stored message, `…` while the agent thinks; `removed` when the answer was dropped or failed.
pub fn draft(turn: &Turn, text: &str, at: &str, removed: bool) -> Value {
    let record = Message {
        id: turn.answer_id,
        seq: DRAFT_SEQ,
        conversation_id: turn.conversation_id,
        sender_type: SenderType::Ai,
        message_type: "text".into(),
        content: if text.trim().is_empty() { "…".into() } else { text.into() },
        metadata: MessageMetadata { kind: Some("ai_reply".into()), article_title: None },
        client_msg_id: None,
        created_at: at.into(),
        // A new edit time per draft: the widget draws a message again when it changes.
        edited_at: Some(at.into()),
        deleted_at: removed.then(|| at.into()),
        read_at: None,
    };
    json!({"type": DRAFT_EVENT, "record": record})
}

/// When to broadcast the answer as written so far: its first text at once, then at most every
/// [`AGENT_DRAFT_INTERVAL_MS`], and no more than [`AGENT_DRAFTS`] drafts (the rest comes with the
/// stored answer).
#[derive(Debug, Default)]
pub struct Drafts {
    sent: i64,
    last_ms: Option<f64>,
}

impl Drafts {
    /// Whether a draft is due at `now_ms`; counts it if so.
    pub fn due(&mut self, now_ms: f64) -> bool {
        let spaced = self.last_ms.is_none_or(|last| now_ms - last >= AGENT_DRAFT_INTERVAL_MS as f64);
        if self.sent < AGENT_DRAFTS && spaced {
            self.sent += 1;
            self.last_ms = Some(now_ms);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(provider: Option<Provider>, max_tokens: i64) -> Turn {
        serde_json::from_value(json!({
            "message_id": Uuid::nil(),
            "answer_id": Uuid::nil(),
            "conversation_id": Uuid::nil(),
            "site_id": Uuid::nil(),
            "agent": {"id": Uuid::nil(), "name": "Maya", "persona": "Warm.", "system_prompt": "Sell socks.", "model": "gpt-4o-mini"},
            "provider": provider.map(|p| json!({"base_url": p.base_url, "model": p.model, "key": p.key})),
            "history": [
                {"visitor": true, "content": "Hi"},
                {"visitor": false, "content": "Hello! How can I help?"},
                {"visitor": true, "content": "How long does shipping take?"}
            ],
            "articles": [
                {"id": "00000000-0000-0000-0000-000000000001", "title": "Shipping", "body": "Three days."},
                {"id": "00000000-0000-0000-0000-000000000002", "title": "Returns", "body": "Thirty days."}
            ],
            "max_tokens": max_tokens,
            "lease_until": "2026-12-02T10:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_taken_answer_without_a_turn_reads_as_nothing_to_do() {
        let taken: Taken = serde_json::from_str(r#"{"done": true, "message": null}"#).unwrap();
        assert!(taken.turn.is_none());
    }

    #[test]
    fn the_request_holds_the_agent_the_articles_and_the_history() {
        let body = turn(None, 100_000).request("llama3.2");
        let system = body["messages"][0]["content"].as_str().unwrap();
        assert!(system.contains("You are Maya") && system.contains("Sell socks.") && system.contains("[2] Returns"));
        assert_eq!(body["messages"].as_array().unwrap().len(), 4);
        assert_eq!(body["messages"][3]["content"], "How long does shipping take?");
        assert_eq!(body["max_tokens"], AGENT_ANSWER_TOKENS);
        // A budget nearly spent asks for less.
        assert_eq!(turn(None, 120).request("m")["max_tokens"], 120);
    }

    #[test]
    fn the_site_provider_wins_and_its_model_replaces_the_agents() {
        let own = Provider { base_url: "https://llm.example/v1/".into(), model: Some("mistral".into()), key: None };
        let deployment = Provider { base_url: "http://127.0.0.1:11434/v1".into(), model: None, key: Some("k".into()) };
        let with_own = turn(Some(own.clone()), 500);
        let chosen = provider(&with_own, Some(deployment.clone())).unwrap();
        assert_eq!(chosen, own);
        assert_eq!(with_own.model(&chosen), "mistral");
        assert_eq!(endpoint(&chosen.base_url), "https://llm.example/v1/chat/completions");
        let plain = turn(None, 500);
        assert_eq!(plain.model(&provider(&plain, Some(deployment)).unwrap()), "gpt-4o-mini");
        assert!(provider(&plain, None).is_none());
    }

    #[test]
    fn an_answer_stores_the_articles_it_cited() {
        let answered = turn(None, 500);
        assert_eq!(
            answered.sources("Three days [1]. See also [1] and [7]."),
            json!([{"id": "00000000-0000-0000-0000-000000000001", "title": "Shipping"}])
        );
        assert_eq!(answered.sources("No idea."), json!([]));
    }

    #[test]
    fn a_draft_is_the_answers_row_after_everything_until_removed() {
        let turn = turn(None, 500);
        let thinking = draft(&turn, "", "2026-12-02T10:00:00Z", false);
        assert_eq!(thinking["type"], DRAFT_EVENT);
        let record: Message = serde_json::from_value(thinking["record"].clone()).unwrap();
        assert_eq!((record.id, record.seq, record.content.as_str()), (turn.answer_id, DRAFT_SEQ, "…"));
        assert_eq!(record.metadata.kind.as_deref(), Some("ai_reply"));
        assert!(record.deleted_at.is_none());
        let next = draft(&turn, "Three", "2026-12-02T10:00:01Z", false);
        assert_eq!(next["record"]["content"], "Three");
        assert_ne!(next["record"]["edited_at"], thinking["record"]["edited_at"], "redrawn");
        assert_eq!(draft(&turn, "Th", "2026-12-02T10:00:02Z", true)["record"]["deleted_at"], "2026-12-02T10:00:02Z");
    }

    #[test]
    fn drafts_are_spaced_and_counted() {
        let mut drafts = Drafts::default();
        assert!(drafts.due(0.0));
        assert!(!drafts.due(AGENT_DRAFT_INTERVAL_MS as f64 - 1.0));
        assert!(drafts.due(AGENT_DRAFT_INTERVAL_MS as f64));
        let mut sent = 2;
        for step in 2..1000 {
            sent += i64::from(drafts.due((step * AGENT_DRAFT_INTERVAL_MS) as f64));
        }
        assert_eq!(sent, AGENT_DRAFTS);
    }

    #[test]
    fn the_timeout_is_the_setting_within_the_lease() {
        assert_eq!(timeout_seconds(None), AGENT_TIMEOUT_SECONDS);
        assert_eq!(timeout_seconds(Some(" 3 ")), 3);
        assert_eq!(timeout_seconds(Some("0")), AGENT_TIMEOUT_SECONDS);
        assert_eq!(timeout_seconds(Some("soon")), AGENT_TIMEOUT_SECONDS);
        assert_eq!(timeout_seconds(Some("600")), AGENT_LEASE_SECONDS / 2);
    }
}
