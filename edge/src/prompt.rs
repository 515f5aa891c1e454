//! What an agent is told: its persona and the owner's system prompt, the rules of the product
//! (answer from the knowledge articles and cite them as `[n]`, hand off to a person on request),
//! the best articles for the question, and as much recent history as fits. And which articles
//! an answer cited, to store with it.

use crate::llm::{HANDOFF_TOOL, Speaker};
use chat_core::limits::{PROMPT_ARTICLE_CHARS, PROMPT_HISTORY_CHARS};

/// The agent as its owner wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct Agent {
    /// The name visitors see.
    pub name: String,
    /// How it speaks (may be empty).
    pub persona: String,
    /// The owner's instructions (may be empty).
    pub system_prompt: String,
}

/// A knowledge article found for the question.
#[derive(Clone, Debug, PartialEq)]
pub struct Article {
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
}

/// The system prompt: persona, owner's instructions, the product's rules, then the articles
/// numbered from 1 (each cut to [`PROMPT_ARTICLE_CHARS`]).
pub fn system_prompt(agent: &Agent, articles: &[Article]) -> String {
    let mut prompt = format!("You are {}, answering visitors in this website's chat.", agent.name.trim());
    for part in [&agent.persona, &agent.system_prompt].map(|p| p.trim()).into_iter().filter(|p| !p.is_empty()) {
        prompt.push_str("\n\n");
        prompt.push_str(part);
    }
    prompt.push_str(&format!(
        "\n\nRules: answer in the visitor's language, briefly, as plain text. Use the knowledge articles \
         below when they answer the question and cite each one you use as [n]. When they do not cover it, \
         say so instead of guessing. When the visitor asks for a person, or you cannot help, call {HANDOFF_TOOL}."
    ));
    if articles.is_empty() {
        prompt.push_str("\n\nNo knowledge article matches this question.");
    } else {
        prompt.push_str("\n\nKnowledge articles:");
        for (n, article) in articles.iter().enumerate() {
            let body = cut(&article.body, PROMPT_ARTICLE_CHARS as usize);
            prompt.push_str(&format!("\n\n[{}] {}\n{}", n + 1, article.title.trim(), body.trim()));
        }
    }
    prompt
}

/// The most recent turns whose text fits in [`PROMPT_HISTORY_CHARS`], oldest first; the last
/// turn (the question) is always kept, cut if it alone is too long.
pub fn recent(history: &[(Speaker, String)]) -> Vec<(Speaker, String)> {
    let mut budget = PROMPT_HISTORY_CHARS as usize;
    let mut kept = Vec::new();
    for (speaker, text) in history.iter().rev() {
        let chars = text.chars().count();
        if kept.is_empty() {
            kept.push((*speaker, cut(text, budget)));
            budget = budget.saturating_sub(chars);
        } else if chars <= budget {
            kept.push((*speaker, text.clone()));
            budget -= chars;
        } else {
            break;
        }
    }
    kept.reverse();
    kept
}

/// The articles an answer cites (`[n]` with n within the list), each once, in order of first
/// citation: their positions in `articles`.
pub fn cited(answer: &str, articles: &[Article]) -> Vec<usize> {
    let mut found = Vec::new();
    for piece in answer.split('[').skip(1) {
        let Some((number, _)) = piece.split_once(']') else { continue };
        if let Ok(n @ 1..) = number.trim().parse::<usize>()
            && n <= articles.len()
            && !found.contains(&(n - 1))
        {
            found.push(n - 1);
        }
    }
    found
}

/// `text`'s first `chars` characters.
fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(title: &str, body: &str) -> Article {
        Article { title: title.into(), body: body.into() }
    }

    #[test]
    fn the_prompt_holds_the_persona_the_rules_and_numbered_articles() {
        let agent = Agent { name: "Maya".into(), persona: "Warm and brief.".into(), system_prompt: String::new() };
        let prompt =
            system_prompt(&agent, &[article("Shipping", "We ship in 2 days."), article("Returns", "30 days.")]);
        assert!(prompt.starts_with("You are Maya, answering visitors"));
        assert!(prompt.contains("\n\nWarm and brief.\n\nRules:"), "{prompt}");
        assert!(prompt.contains(HANDOFF_TOOL));
        assert!(prompt.ends_with("[1] Shipping\nWe ship in 2 days.\n\n[2] Returns\n30 days."), "{prompt}");
        let long = "x".repeat(PROMPT_ARTICLE_CHARS as usize + 50);
        assert!(!system_prompt(&agent, &[article("Long", &long)]).contains(&long), "bodies are cut");
        assert!(system_prompt(&agent, &[]).contains("No knowledge article matches"));
    }

    #[test]
    fn history_keeps_the_newest_turns_that_fit_and_always_the_question() {
        let turn = |s: Speaker, n: usize| (s, "y".repeat(n));
        let budget = PROMPT_HISTORY_CHARS as usize;
        let history =
            [turn(Speaker::Visitor, budget / 2), turn(Speaker::Agent, budget / 2), turn(Speaker::Visitor, 10)];
        let kept = recent(&history);
        assert_eq!(kept.len(), 2, "the oldest no longer fits");
        assert_eq!(kept[1], turn(Speaker::Visitor, 10));
        let huge = recent(&[turn(Speaker::Visitor, budget * 2)]);
        assert_eq!(huge[0].1.chars().count(), budget, "a question alone too long is cut, not dropped");
        assert!(recent(&[]).is_empty());
    }

    #[test]
    fn citations_are_read_once_each_and_only_within_the_list() {
        let articles = [article("A", ""), article("B", "")];
        assert_eq!(cited("See [2] and [1], and [2] again.", &articles), [1, 0]);
        assert_eq!(cited("[0] [3] [x] [ 1 ]", &articles), [0]);
        assert!(cited("No citation.", &articles).is_empty());
    }
}
