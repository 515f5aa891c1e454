//! A site's AI answering as its owners and admins set it (`site_ai_settings`, saved through
//! `save_ai_settings`) and the language-model use they read (`ai_usage_days`), with the
//! database's checks.

use crate::limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use uuid::Uuid;

/// The `select` of [`AiSettings`] (every column an API role may read: the key is not one).
pub const AI_SETTINGS_COLUMNS: &str = "site_id,enabled,default_agent_id,handoff_message,daily_token_budget,\
conversation_token_cap,provider_base_url,provider_model,provider_key_set,updated_at";

/// A site's AI answering. Serialized, it is `save_ai_settings`' `p_settings`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AiSettings {
    /// The site.
    #[serde(skip_serializing)]
    pub site_id: Uuid,
    /// Agents answer the widget's new chats (links' chats always have their agent).
    pub enabled: bool,
    /// The agent that answers on the widget; `None`: the agent that greets (the oldest active).
    pub default_agent_id: Option<Uuid>,
    /// What the visitor reads when a person takes over.
    pub handoff_message: String,
    /// Tokens the site may spend per UTC day.
    pub daily_token_budget: i64,
    /// Tokens one conversation may spend.
    pub conversation_token_cap: i64,
    /// The site's own OpenAI-compatible endpoint; `None`: the deployment's.
    pub provider_base_url: Option<String>,
    /// The model asked of the site's endpoint; `None`: each agent's own.
    pub provider_model: Option<String>,
    /// The site's endpoint has a key (the key itself is never read back).
    #[serde(skip_serializing)]
    pub provider_key_set: bool,
    /// The version saves are checked against.
    #[serde(skip_serializing)]
    pub updated_at: String,
}

impl AiSettings {
    /// What is wrong, by field, with these settings and `new_key` (a key to store, if any).
    pub fn problems(&self, new_key: Option<&str>) -> BTreeMap<&'static str, String> {
        let mut problems = BTreeMap::new();
        let mut chars = |field, value: Option<&str>, range: RangeInclusive<i64>| {
            let count = value.map(|v| i64::try_from(v.chars().count()).unwrap_or(i64::MAX));
            if count.is_some_and(|c| !range.contains(&c)) {
                problems.insert(field, format!("Use {} to {} characters.", range.start(), range.end()));
            }
        };
        chars("handoff_message", Some(self.handoff_message.trim()), limits::AI_HANDOFF_MESSAGE_CHARS);
        chars("provider_model", self.provider_model.as_deref(), limits::AI_PROVIDER_MODEL_CHARS);
        chars("provider_key", new_key, limits::AI_PROVIDER_KEY_CHARS);
        chars("provider_base_url", self.provider_base_url.as_deref(), limits::AI_PROVIDER_URL_CHARS);
        for (field, value, range) in [
            ("daily_token_budget", self.daily_token_budget, limits::AI_DAILY_TOKEN_BUDGET),
            ("conversation_token_cap", self.conversation_token_cap, limits::AI_CONVERSATION_TOKEN_CAP),
        ] {
            if !range.contains(&value) {
                problems.insert(field, format!("Use a number of tokens from {} to {}.", range.start(), range.end()));
            }
        }
        if let Some(url) = &self.provider_base_url
            && !is_endpoint(url)
        {
            problems.insert("provider_base_url", "Use the endpoint's address, like https://api.openai.com/v1.".into());
        }
        if self.provider_base_url.is_none() && (new_key.is_some() || self.provider_model.is_some()) {
            problems
                .entry("provider_base_url")
                .or_insert_with(|| "A model or key of the site's own needs its endpoint's address.".into());
        }
        problems
    }
}

/// An `http(s)://` address without spaces (the SQL check on `provider_base_url`).
fn is_endpoint(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.chars().any(char::is_whitespace))
}

/// The `select` of [`AiUsageDay`].
pub const AI_USAGE_COLUMNS: &str = "day,prompt_tokens,completion_tokens,answers,handoffs,refusals";

/// A site's language-model use on one UTC day.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct AiUsageDay {
    /// The day (`2026-12-02`).
    pub day: String,
    /// Tokens of the prompts sent.
    pub prompt_tokens: i64,
    /// Tokens of the answers received.
    pub completion_tokens: i64,
    /// Answers stored.
    pub answers: i64,
    /// Conversations handed to a person.
    pub handoffs: i64,
    /// Questions refused because a budget was spent.
    pub refusals: i64,
}

impl AiUsageDay {
    /// Tokens spent, as the daily budget counts them.
    pub fn tokens(&self) -> i64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// "1200 of 50000 tokens spent today (2%)": `day`'s use among `days` against `budget`.
pub fn spent_today(days: &[AiUsageDay], day: &str, budget: i64) -> String {
    let spent = days.iter().find(|d| d.day == day).map_or(0, AiUsageDay::tokens);
    let percent = spent.saturating_mul(100) / budget.max(1);
    format!("{spent} of {budget} tokens spent today, {day} UTC ({percent}%).")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AiSettings {
        serde_json::from_str(
            r#"{"site_id":"00000000-0000-4000-8000-000000000101","enabled":true,"default_agent_id":null,
                "handoff_message":"A person will answer.","daily_token_budget":200000,"conversation_token_cap":20000,
                "provider_base_url":null,"provider_model":null,"provider_key_set":false,
                "updated_at":"2026-12-02T10:00:00+00:00"}"#,
        )
        .unwrap()
    }

    #[test]
    fn saved_settings_carry_no_key_site_or_version() {
        let body = serde_json::to_value(settings()).unwrap();
        for kept_out in ["site_id", "provider_key_set", "updated_at", "provider_key"] {
            assert!(body.get(kept_out).is_none(), "{kept_out}");
        }
        assert_eq!(body["daily_token_budget"], 200000);
        assert!(settings().problems(None).is_empty());
    }

    #[test]
    fn settings_are_checked_by_field() {
        let mut wrong = settings();
        wrong.handoff_message = "  ".into();
        wrong.daily_token_budget = 999;
        wrong.conversation_token_cap = 1_000_001;
        wrong.provider_model = Some(String::new());
        assert_eq!(
            wrong.problems(Some("")).into_keys().collect::<Vec<_>>(),
            [
                "conversation_token_cap",
                "daily_token_budget",
                "handoff_message",
                "provider_base_url",
                "provider_key",
                "provider_model"
            ]
        );
        let mut own = settings();
        own.provider_base_url = Some("http://127.0.0.1:11434/v1".into());
        own.provider_model = Some("llama3.2".into());
        assert!(own.problems(Some("sk-test")).is_empty());
        for url in ["ftp://llm.example", "https://", "https://llm example/v1", &format!("https://{}", "a".repeat(500))]
        {
            own.provider_base_url = Some(url.into());
            assert!(own.problems(None).contains_key("provider_base_url"), "{url}");
        }
    }

    #[test]
    fn a_day_counts_prompt_and_answer_tokens() {
        let day: AiUsageDay = serde_json::from_str(
            r#"{"day":"2026-12-02","prompt_tokens":1200,"completion_tokens":300,"answers":2,"handoffs":1,"refusals":0}"#,
        )
        .unwrap();
        assert_eq!(day.tokens(), 1500);
        let days = [day];
        assert_eq!(spent_today(&days, "2026-12-02", 3000), "1500 of 3000 tokens spent today, 2026-12-02 UTC (50%).");
        assert_eq!(spent_today(&days, "2026-12-03", 3000), "0 of 3000 tokens spent today, 2026-12-03 UTC (0%).");
    }
}
