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
/// Characters of a referring page's address (sessions and link opens).
pub const REFERRER_CHARS: RangeInclusive<i64> = 0..=2000;
/// New sessions (widget starts and link opens) a site takes from one IP address per minute.
pub const SESSION_STARTS_PER_IP_PER_MINUTE: i64 = 10;
/// New sessions a site takes per minute in all.
pub const SESSION_STARTS_PER_SITE_PER_MINUTE: i64 = 300;
/// Lifetime of a guest JWT minted by the edge, in seconds (the widget refreshes before).
pub const GUEST_JWT_TTL_SECONDS: i64 = 3600;
