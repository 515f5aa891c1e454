//! The language model's wire format: an OpenAI-compatible Chat Completions request (hosted
//! providers, Ollama and llama.cpp servers speak it), streamed back as server-sent events and
//! decoded here into text deltas, a `handoff_to_human` tool call, token counts and how the
//! answer ended. No I/O: the Worker feeds the bytes as they arrive.

use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The tool the model calls when the visitor wants a person.
pub const HANDOFF_TOOL: &str = "handoff_to_human";

/// Who said a line of the history the model is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// The visitor.
    Visitor,
    /// The agent (or an automatic answer) before.
    Agent,
}

/// The body of `POST {base}/chat/completions`: the system prompt, then the history, oldest
/// first; streamed, with the usage in the last chunk, and the handoff tool offered.
pub fn request_body(model: &str, system: &str, history: &[(Speaker, String)], max_tokens: u32) -> Value {
    let mut messages = vec![json!({"role": "system", "content": system})];
    messages.extend(history.iter().map(|(speaker, content)| {
        let role = match speaker {
            Speaker::Visitor => "user",
            Speaker::Agent => "assistant",
        };
        json!({"role": role, "content": content})
    }));
    json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": max_tokens,
        "tools": [{
            "type": "function",
            "function": {
                "name": HANDOFF_TOOL,
                "description": "Hand the conversation to a human operator. Call it when the visitor asks for a person, \
                                or when you cannot help them.",
                "parameters": {
                    "type": "object",
                    "properties": {"reason": {"type": "string", "description": "Why, in a few words."}},
                    "required": [],
                },
            },
        }],
    })
}

/// What went wrong with the provider; every case hands the conversation to a human.
#[derive(Clone, Debug, PartialEq)]
pub enum ProviderError {
    /// The provider refused or failed: its HTTP status and message.
    Refused(u16, String),
    /// The stream broke off or held something that is not the format.
    Malformed(String),
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderError::Refused(status, message) => write!(f, "the provider answered {status}: {message}"),
            ProviderError::Malformed(what) => write!(f, "the provider's stream is unreadable: {what}"),
        }
    }
}

/// The provider's error body, `{"error": {"message": ...}}`, as a sentence (any other body as
/// it is: whoever stores it bounds it).
pub fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct Body {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: String,
    }
    serde_json::from_str::<Body>(body).map(|b| b.error.message).unwrap_or_else(|_| body.trim().to_owned())
}

/// A finished answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    /// The text, all deltas joined.
    pub content: String,
    /// Set when the model called [`HANDOFF_TOOL`]: the reason it gave, if any.
    pub handoff: Option<String>,
    /// Tokens of the prompt, when the provider counted them.
    pub prompt_tokens: Option<u32>,
    /// Tokens of the answer, when the provider counted them.
    pub completion_tokens: Option<u32>,
    /// `stop`, `length`, `tool_calls`...
    pub finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
struct Delta {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: u32,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

/// Reads a streamed answer as its bytes arrive, in pieces of any size.
#[derive(Default)]
pub struct Decoder {
    pending: Vec<u8>,
    data: String,
    completion: Completion,
    /// Tool calls by index: (name, arguments so far).
    tools: BTreeMap<u32, (String, String)>,
    done: bool,
}

impl Decoder {
    /// Takes the next bytes; returns the text that arrived in them, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, ProviderError> {
        self.pending.extend_from_slice(bytes);
        let mut deltas = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = std::str::from_utf8(&line).map_err(|_| ProviderError::Malformed("not UTF-8".into()))?;
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                let data = std::mem::take(&mut self.data);
                if !data.is_empty() {
                    deltas.extend(self.event(&data)?);
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
            // Comments (`: keep-alive`) and other fields (`event:`, `id:`) carry nothing here.
        }
        Ok(deltas)
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.completion.content
    }

    /// The answer, once the stream has ended; an answer cut off before `[DONE]` (or before a
    /// finish reason, for servers that send no `[DONE]`) is an error.
    pub fn finish(mut self) -> Result<Completion, ProviderError> {
        if !self.data.is_empty() {
            let data = std::mem::take(&mut self.data);
            self.event(&data)?;
        }
        if !self.done && self.completion.finish_reason.is_none() {
            return Err(ProviderError::Malformed("the stream ended before the answer did".into()));
        }
        if let Some((_, arguments)) = self.tools.values().find(|(name, _)| name == HANDOFF_TOOL) {
            let reason = serde_json::from_str::<Value>(arguments)
                .ok()
                .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            self.completion.handoff = Some(reason);
        }
        Ok(self.completion)
    }

    fn event(&mut self, data: &str) -> Result<Vec<String>, ProviderError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| ProviderError::Malformed(e.to_string()))?;
        if let Some(error) = chunk.error {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("error").to_owned();
            return Err(ProviderError::Refused(500, message));
        }
        if let Some(usage) = chunk.usage {
            self.completion.prompt_tokens = usage.prompt_tokens.or(self.completion.prompt_tokens);
            self.completion.completion_tokens = usage.completion_tokens.or(self.completion.completion_tokens);
        }
        let mut deltas = Vec::new();
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.completion.content.push_str(&text);
                deltas.push(text);
            }
            for call in choice.delta.tool_calls {
                let (name, arguments) = self.tools.entry(call.index).or_default();
                if let Some(function) = call.function {
                    name.push_str(function.name.as_deref().unwrap_or(""));
                    arguments.push_str(function.arguments.as_deref().unwrap_or(""));
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.completion.finish_reason = Some(reason);
            }
        }
        Ok(deltas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Value, finish: Option<&str>) -> String {
        format!(
            "data: {}\n\n",
            json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    }

    #[test]
    fn the_request_offers_the_handoff_tool_and_asks_for_usage() {
        let body = request_body(
            "llama3.2",
            "Be Maya.",
            &[(Speaker::Visitor, "Hi".into()), (Speaker::Agent, "Hello!".into())],
            512,
        );
        assert_eq!(body["model"], "llama3.2");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        let roles: Vec<&str> =
            body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        assert_eq!(body["tools"][0]["function"]["name"], HANDOFF_TOOL);
    }

    #[test]
    fn text_arrives_in_pieces_whatever_the_network_splits() {
        let stream = [
            ": keep-alive\n\n".to_string(),
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Bon"}), None),
            chunk(json!({"content": "jour é"}), None),
            chunk(json!({}), Some("stop")),
            format!("data: {}\n\n", json!({"choices": [], "usage": {"prompt_tokens": 42, "completion_tokens": 3}})),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat()
        .replace("\n\n", "\r\n\r\n");
        // Byte by byte: a line, and a character, may be cut anywhere.
        let mut decoder = Decoder::default();
        let mut seen = Vec::new();
        for byte in stream.as_bytes() {
            seen.extend(decoder.feed(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(seen, ["Bon", "jour é"]);
        let done = decoder.finish().unwrap();
        assert_eq!(
            done,
            Completion {
                content: "Bonjour é".into(),
                handoff: None,
                prompt_tokens: Some(42),
                completion_tokens: Some(3),
                finish_reason: Some("stop".into()),
            }
        );
    }

    #[test]
    fn a_handoff_tool_call_is_assembled_from_its_fragments() {
        let stream = [
            chunk(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": HANDOFF_TOOL, "arguments": ""}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"reason\": \"asks for"}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": " a person\"}"}}]}), None),
            chunk(json!({}), Some("tool_calls")),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat();
        let mut decoder = Decoder::default();
        assert!(decoder.feed(stream.as_bytes()).unwrap().is_empty());
        let done = decoder.finish().unwrap();
        assert_eq!(done.handoff.as_deref(), Some("asks for a person"));
        assert_eq!(done.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn a_stream_cut_short_or_an_error_in_it_is_an_error() {
        let mut cut = Decoder::default();
        cut.feed(chunk(json!({"content": "Half an ans"}), None).as_bytes()).unwrap();
        assert!(matches!(cut.finish(), Err(ProviderError::Malformed(_))));

        let mut failing = Decoder::default();
        let error = failing.feed(b"data: {\"error\": {\"message\": \"model overloaded\"}}\n\n").unwrap_err();
        assert_eq!(error, ProviderError::Refused(500, "model overloaded".into()));

        let mut garbage = Decoder::default();
        assert!(matches!(garbage.feed(b"data: {not json\n\n"), Err(ProviderError::Malformed(_))));

        // A server that ends with a finish reason but no [DONE] (some local servers) is fine.
        let mut plain = Decoder::default();
        plain.feed(chunk(json!({"content": "Hi"}), Some("stop")).as_bytes()).unwrap();
        assert_eq!(plain.finish().unwrap().content, "Hi");
    }

    #[test]
    fn provider_errors_read_as_their_message() {
        assert_eq!(error_message(r#"{"error": {"message": "Invalid API key", "type": "auth"}}"#), "Invalid API key");
        assert_eq!(error_message("Bad gateway"), "Bad gateway");
    }
}
