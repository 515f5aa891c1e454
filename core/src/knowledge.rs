//! A site's agents (the personas that answer) and knowledge articles (what automatic answers
//! are taken from), as owners and admins edit them, with the database's checks.

use crate::limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use uuid::Uuid;

/// The `select` of [`Agent`].
pub const AGENT_COLUMNS: &str = "id,name,avatar_url,persona,system_prompt,model,is_active";

/// An agent: the name and picture visitors see, and what a language model is told to be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// The agent (chosen by the console when it creates one).
    pub id: Uuid,
    /// Shown to visitors.
    pub name: String,
    /// Picture shown to visitors, when set.
    pub avatar_url: Option<String>,
    /// Who the agent is, in a few sentences.
    pub persona: String,
    /// Instructions for the language model.
    pub system_prompt: String,
    /// The model that answers.
    pub model: String,
    /// Answers and greets visitors (the oldest active agent greets on the widget).
    pub is_active: bool,
}

/// The `select` of [`Article`].
pub const ARTICLE_COLUMNS: &str = "id,title,body,is_published,updated_at";

/// A knowledge article.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// The article (chosen by the console when it creates one).
    pub id: Uuid,
    /// What it answers, in a few words.
    pub title: String,
    /// The answer visitors get.
    pub body: String,
    /// Used for automatic answers.
    pub is_published: bool,
    /// Last saved (not written).
    #[serde(default, skip_serializing)]
    pub updated_at: String,
}

/// What `try_automatic_answer(site, question)` says a visitor would be answered.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriedAnswer {
    /// The best published article.
    KnowledgeAnswer {
        /// Its title.
        article_title: String,
        /// What the visitor gets.
        content: String,
    },
    /// Nobody can answer now: the away message.
    AwayMessage {
        /// What the visitor gets.
        content: String,
    },
    /// No automatic answer: an operator will answer.
    None,
}

impl Agent {
    /// What is wrong, by field.
    pub fn problems(&self) -> BTreeMap<&'static str, String> {
        let mut problems = BTreeMap::new();
        check(&mut problems, "name", &self.name, limits::AGENT_NAME_CHARS);
        check(&mut problems, "persona", &self.persona, limits::AGENT_PERSONA_CHARS);
        check(&mut problems, "system_prompt", &self.system_prompt, limits::AGENT_PROMPT_CHARS);
        check(&mut problems, "model", &self.model, limits::AGENT_MODEL_CHARS);
        if self.avatar_url.as_ref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
            problems.insert("avatar_url", "Use a picture's web address (https://…), or leave it empty.".to_string());
        }
        problems
    }
}

impl Article {
    /// What is wrong, by field.
    pub fn problems(&self) -> BTreeMap<&'static str, String> {
        let mut problems = BTreeMap::new();
        check(&mut problems, "title", &self.title, limits::ARTICLE_TITLE_CHARS);
        check(&mut problems, "body", &self.body, limits::ARTICLE_BODY_CHARS);
        problems
    }
}

fn check(problems: &mut BTreeMap<&'static str, String>, field: &'static str, value: &str, range: RangeInclusive<i64>) {
    let count = i64::try_from(value.chars().count()).unwrap_or(i64::MAX);
    if !range.contains(&count) {
        problems.insert(field, format!("Use {} to {} characters.", range.start(), range.end()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_and_articles_are_checked_by_field() {
        let mut agent = Agent {
            id: Uuid::nil(),
            name: "Maya".into(),
            avatar_url: None,
            persona: String::new(),
            system_prompt: String::new(),
            model: "gpt-4o-mini".into(),
            is_active: true,
        };
        assert!(agent.problems().is_empty());
        agent.name = String::new();
        agent.model = "m".repeat(101);
        agent.avatar_url = Some("javascript:alert(1)".into());
        assert_eq!(agent.problems().into_keys().collect::<Vec<_>>(), ["avatar_url", "model", "name"]);
        let article = Article {
            id: Uuid::nil(),
            title: String::new(),
            body: "x".repeat(20_001),
            is_published: true,
            updated_at: String::new(),
        };
        assert_eq!(article.problems().into_keys().collect::<Vec<_>>(), ["body", "title"]);
        assert!(serde_json::to_value(&article).unwrap().get("updated_at").is_none());
    }

    #[test]
    fn tried_answers_read_each_kind() {
        let knowledge: TriedAnswer =
            serde_json::from_str(r#"{"kind":"knowledge_answer","article_id":"00000000-0000-4000-8000-000000000203","article_title":"Opening hours","content":"9 to 5","rank":0.3}"#).unwrap();
        assert_eq!(
            knowledge,
            TriedAnswer::KnowledgeAnswer { article_title: "Opening hours".into(), content: "9 to 5".into() }
        );
        assert_eq!(serde_json::from_str::<TriedAnswer>(r#"{"kind":"none"}"#).unwrap(), TriedAnswer::None);
        assert!(matches!(
            serde_json::from_str(r#"{"kind":"away_message","content":"Away"}"#).unwrap(),
            TriedAnswer::AwayMessage { .. }
        ));
    }
}
