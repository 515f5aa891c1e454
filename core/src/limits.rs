//! Every numeric limit of the product, in one place. The SQL CHECKs in `migrations/` mirror
//! these; `tests/tests/limits.rs` proves each boundary is accepted and the next value refused
//! by both sides.

use std::ops::RangeInclusive;

/// Characters in a message.
pub const MESSAGE_CHARS: RangeInclusive<i64> = 1..=5000;
/// Characters of a temporary link's title.
pub const LINK_TITLE_CHARS: RangeInclusive<i64> = 1..=200;
/// Characters of a temporary link's description.
pub const LINK_DESCRIPTION_CHARS: RangeInclusive<i64> = 0..=1000;
/// Characters of a welcome message (widget and links).
pub const WELCOME_MESSAGE_CHARS: RangeInclusive<i64> = 1..=2000;
/// Lifetime of a temporary link, in hours.
pub const LINK_EXPIRES_IN_HOURS: RangeInclusive<i64> = 1..=168;
/// Sessions one temporary link may open.
pub const LINK_MAX_SESSIONS: RangeInclusive<i64> = 1..=50;
/// Visitor messages one session may send.
pub const MAX_MESSAGES_PER_SESSION: RangeInclusive<i64> = 1..=1000;
/// Minutes of inactivity after which a session ends.
pub const SESSION_TIMEOUT_MINUTES: RangeInclusive<i64> = 5..=1440;
/// Visitor messages per minute per session.
pub const RATE_LIMIT_PER_MINUTE: RangeInclusive<i64> = 1..=100;
/// A chat rating (CSAT).
pub const RATING: RangeInclusive<i64> = 1..=5;
/// Characters of rating feedback.
pub const FEEDBACK_CHARS: RangeInclusive<i64> = 0..=1000;
/// Escalation priority (1 = highest).
pub const ESCALATION_PRIORITY: RangeInclusive<i64> = 1..=5;
/// SMS messages per hour per phone number.
pub const SMS_RATE_LIMIT_PER_HOUR: RangeInclusive<i64> = 1..=100;
/// New SMS conversations per agent per day.
pub const SMS_MAX_DAILY_CONVERSATIONS: RangeInclusive<i64> = 1..=1000;
/// Minutes an SMS conversation waits for an answer.
pub const SMS_RESPONSE_TIMEOUT_MINUTES: RangeInclusive<i64> = 1..=1440;
/// Characters of a site's name.
pub const SITE_NAME_CHARS: RangeInclusive<i64> = 1..=200;
/// Characters of the widget's title.
pub const WIDGET_TITLE_CHARS: RangeInclusive<i64> = 1..=80;
/// Characters of the widget's offline message.
pub const OFFLINE_MESSAGE_CHARS: RangeInclusive<i64> = 1..=2000;
/// Minutes an operator who went offline keeps their conversations.
pub const OFFLINE_GRACE_MINUTES: RangeInclusive<i64> = 0..=1440;
/// A site's own pre-chat fields.
pub const CUSTOM_FIELDS_PER_SITE: RangeInclusive<i64> = 0..=20;
/// Characters of a pre-chat field's label.
pub const CUSTOM_FIELD_LABEL_CHARS: RangeInclusive<i64> = 1..=80;
/// Spans of opening hours on one weekday.
pub const SPANS_PER_DAY: RangeInclusive<i64> = 0..=4;
/// Dates a site is closed all day (holidays).
pub const CLOSED_DATES: RangeInclusive<i64> = 0..=100;
/// Characters of one knowledge article an agent's prompt includes.
pub const PROMPT_ARTICLE_CHARS: i64 = 4000;
/// Characters of earlier conversation an agent's prompt includes (the newest turns that fit).
pub const PROMPT_HISTORY_CHARS: i64 = 12000;
/// Characters of the message a visitor sees when an agent hands the chat to a person.
pub const AI_HANDOFF_MESSAGE_CHARS: RangeInclusive<i64> = 1..=1000;
/// Language-model tokens a site may spend per UTC day.
pub const AI_DAILY_TOKEN_BUDGET: RangeInclusive<i64> = 1000..=100_000_000;
/// Language-model tokens one conversation may spend.
pub const AI_CONVERSATION_TOKEN_CAP: RangeInclusive<i64> = 1000..=1_000_000;
/// Characters of a site's own provider key.
pub const AI_PROVIDER_KEY_CHARS: RangeInclusive<i64> = 1..=500;
/// Characters of a site's own provider endpoint address (`http://a` is the shortest).
pub const AI_PROVIDER_URL_CHARS: RangeInclusive<i64> = 8..=500;
/// Characters of a site's own provider model name.
pub const AI_PROVIDER_MODEL_CHARS: RangeInclusive<i64> = 1..=100;
/// Tokens one agent answer may have (less when a budget has less left).
pub const AGENT_ANSWER_TOKENS: i64 = 800;
/// Seconds an agent's answer may take, first token to last, unless the deployment sets
/// `AI_TIMEOUT_SECONDS`; then the conversation is handed to a person.
pub const AGENT_TIMEOUT_SECONDS: i64 = 30;
/// Seconds an edge holds an owed answer while its model writes (`take_owed_answer`'s lease):
/// more than any timeout, so a lease runs out only when its edge is gone.
pub const AGENT_LEASE_SECONDS: i64 = 90;
/// Drafts of one answer broadcast while it is written (each a subrequest of the Worker).
pub const AGENT_DRAFTS: i64 = 16;
/// Milliseconds at least between two drafts of an answer.
pub const AGENT_DRAFT_INTERVAL_MS: i64 = 250;
/// Agents' answers the minute cron writes per run (each a handful of subrequests).
pub const AGENT_TURNS_PER_CRON: i64 = 2;
/// Days one analytics report covers (first and last day included).
pub const ANALYTICS_RANGE_DAYS: RangeInclusive<i64> = 1..=366;
/// Characters of an agent's name.
pub const AGENT_NAME_CHARS: RangeInclusive<i64> = 1..=80;
/// Characters of an agent's persona.
pub const AGENT_PERSONA_CHARS: RangeInclusive<i64> = 0..=4000;
/// Characters of an agent's system prompt.
pub const AGENT_PROMPT_CHARS: RangeInclusive<i64> = 0..=20000;
/// Characters of an agent's model name.
pub const AGENT_MODEL_CHARS: RangeInclusive<i64> = 1..=100;
/// Characters of a knowledge article's title.
pub const ARTICLE_TITLE_CHARS: RangeInclusive<i64> = 1..=200;
/// Characters of a knowledge article's body.
pub const ARTICLE_BODY_CHARS: RangeInclusive<i64> = 1..=20000;
/// Allowed origins of one site.
pub const ORIGINS_PER_SITE: RangeInclusive<i64> = 0..=50;
/// Characters of one allowed origin (`http://` and a one-letter host at least).
pub const ORIGIN_CHARS: RangeInclusive<i64> = 8..=255;
/// Tags on one conversation.
pub const TAGS_PER_CONVERSATION: RangeInclusive<i64> = 0..=20;
/// Characters of one tag.
pub const TAG_CHARS: RangeInclusive<i64> = 1..=40;
/// Concurrent conversations one operator may hold.
pub const OPERATOR_MAX_CONCURRENT: RangeInclusive<i64> = 1..=50;
/// Days messages are kept (sites choose within this range).
pub const RETENTION_DAYS: RangeInclusive<i64> = 1..=3650;
/// Reassignments after which a conversation is flagged for review.
pub const REVIEW_AFTER_REASSIGNMENTS: i64 = 3;
/// Default visitor messages per minute when a session has no link of its own.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i64 = 20;
/// Bytes of a JSON column's text (custom fields, a link page's look, metadata, profiles,
/// widget settings objects); each such column has a CHECK of this size.
pub const JSON_BYTES: i64 = 16_384;
/// Bytes of an automatic answer's recorded request or response (`bot_interactions`).
pub const BOT_INTERACTION_JSON_BYTES: i64 = 262_144;
/// Characters of one answer to a site's own pre-chat field.
pub const CUSTOM_FIELD_CHARS: RangeInclusive<i64> = 0..=500;
/// Characters of a customer's name.
pub const CUSTOMER_NAME_CHARS: RangeInclusive<i64> = 1..=120;
/// Characters of a session's recorded user agent (longer ones are cut).
pub const USER_AGENT_CHARS: RangeInclusive<i64> = 0..=1000;
/// Characters of a referring page's address (sessions and link opens).
pub const REFERRER_CHARS: RangeInclusive<i64> = 0..=2000;
/// New sessions (widget starts and link opens) a site takes from one IP address per minute.
pub const SESSION_STARTS_PER_IP_PER_MINUTE: i64 = 10;
/// New sessions a site takes per minute in all.
pub const SESSION_STARTS_PER_SITE_PER_MINUTE: i64 = 300;
/// Lifetime of a guest JWT minted by the edge, in seconds (the widget refreshes before).
pub const GUEST_JWT_TTL_SECONDS: i64 = 3600;

/// Bytes of `value`'s text as PostgreSQL prints it as `jsonb` (`{"k": 1, "l": [1, 2]}`), which
/// the size CHECKs measure (`octet_length(column::text)`), or more: strings escaped as JSON,
/// one space after every `:` and `,` between items, and for a number with an exponent as many
/// digits as the exponent could add when PostgreSQL writes it out. So a value this counts
/// within [`JSON_BYTES`] is within the CHECK too (`tests/tests/limits.rs` compares them).
pub fn jsonb_text_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Array(items) => jsonb_container_bytes(items.iter().map(jsonb_text_bytes)),
        Value::Object(map) => jsonb_object_bytes(map.iter().map(|(k, v)| (json_string_bytes(k), jsonb_text_bytes(v)))),
        Value::String(text) => json_string_bytes(text),
        Value::Number(number) => {
            let text = number.to_string();
            let exponent = text.split(['e', 'E']).nth(1).and_then(|e| e.parse::<i64>().ok()).unwrap_or(0);
            text.len().saturating_add(usize::try_from(exponent.unsigned_abs()).unwrap_or(usize::MAX))
        }
        Value::Bool(true) | Value::Null => 4,
        Value::Bool(false) => 5,
    }
}

/// [`jsonb_text_bytes`] of an object whose entries print as (key bytes, value bytes).
pub fn jsonb_object_bytes(entries: impl ExactSizeIterator<Item = (usize, usize)>) -> usize {
    jsonb_container_bytes(entries.map(|(key, value)| key + 2 + value))
}

fn jsonb_container_bytes(items: impl ExactSizeIterator<Item = usize>) -> usize {
    let separators = 2 * items.len().saturating_sub(1);
    items.fold(2 + separators, usize::saturating_add)
}

/// Bytes of `text` as a JSON string, quotes included (escaped as jsonb prints it).
pub fn json_string_bytes(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}
