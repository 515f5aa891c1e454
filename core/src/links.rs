//! Temporary chat links: what owners (and AI agents acting for them) send and get back.

use crate::error::{ApiError, ErrorCode};
use crate::limits;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use uuid::Uuid;

/// Most links one list page returns.
pub const MAX_LINK_PAGE: i64 = 100;
/// Analytics look back 1 to 365 days.
pub const ANALYTICS_DAYS: RangeInclusive<i64> = 1..=365;

/// `POST /v1/links`: a new link to chat with one of the owner's agents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// The agent guests will chat with (its site owns the link).
    pub agent_id: Uuid,
    /// Shown on the link's page; 1–200 printable characters.
    pub title: String,
    /// Shown under the title; at most 1000 characters.
    #[serde(default)]
    pub description: String,
    /// The first message guests see; 1–2000 characters.
    #[serde(default)]
    pub welcome_message: Option<String>,
    /// Lifetime: 1–168 hours.
    pub expires_in_hours: i64,
    /// Sessions the link may open: 1–50.
    #[serde(default = "one")]
    pub max_sessions: i64,
    /// Guest messages per session: 1–1000.
    #[serde(default = "hundred")]
    pub max_messages_per_session: i64,
    /// Inactivity that ends a session: 5–1440 minutes.
    #[serde(default = "thirty")]
    pub session_timeout_minutes: i64,
    /// Guest messages per minute per session: 1–100.
    #[serde(default = "ten")]
    pub rate_limit_per_minute: i64,
    /// Websites the link may be opened from (host names; subdomains included); empty: any.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Networks the link may be opened from (IPs or CIDRs); empty: any.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// Look of the link's page (colours, logo...), passed to the page as is.
    #[serde(default)]
    pub ui_customization: Option<Value>,
}

fn one() -> i64 {
    1
}
fn hundred() -> i64 {
    100
}
fn thirty() -> i64 {
    30
}
fn ten() -> i64 {
    10
}

/// `PATCH /v1/links/{id}`: only the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateLink {
    /// Switch the link off (or on again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Move the expiry later by this many hours (the total lifetime stays within 168 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend_hours: Option<i64>,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New session limit (not below the sessions already opened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sessions: Option<i64>,
    /// New message limit per session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages_per_session: Option<i64>,
    /// New inactivity timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout_minutes: Option<i64>,
    /// New rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<i64>,
}

/// The columns of [`Link`], as PostgREST's `select` names them.
pub const LINK_COLUMNS: &str = "id,site_id,agent_id,short_code,title,description,welcome_message,expires_at,max_sessions,\
max_messages_per_session,session_timeout_minutes,rate_limit_per_minute,allowed_domains,allowed_ips,session_count,\
message_count,is_active,ui_customization,created_at";

/// A link as its owner sees it (never its token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Its id.
    pub id: Uuid,
    /// Its site.
    pub site_id: Uuid,
    /// The agent guests chat with.
    pub agent_id: Uuid,
    /// The public part of its URL.
    pub short_code: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Welcome message.
    pub welcome_message: Option<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Session limit.
    pub max_sessions: i64,
    /// Message limit per session.
    pub max_messages_per_session: i64,
    /// Inactivity timeout.
    pub session_timeout_minutes: i64,
    /// Rate limit.
    pub rate_limit_per_minute: i64,
    /// Domain allowlist.
    pub allowed_domains: Vec<String>,
    /// Network allowlist.
    pub allowed_ips: Vec<String>,
    /// Sessions opened so far.
    pub session_count: i64,
    /// Guest messages so far.
    pub message_count: i64,
    /// Switched on.
    pub is_active: bool,
    /// Page look.
    pub ui_customization: Value,
    /// Created (RFC 3339); the list's cursor.
    pub created_at: String,
}

/// `POST /v1/links` answer: the link, its URL and its secret token (shown this once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedLink {
    /// The link.
    #[serde(flatten)]
    pub link: Link,
    /// The URL to share: the page, with the token in the fragment (never sent to servers).
    pub url: String,
    /// The secret token; only its hash is stored.
    pub token: String,
}

/// `GET /v1/links`: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkPage {
    /// The links.
    pub links: Vec<Link>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/links/{short_code}/sessions`: a guest opens a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenLink {
    /// The secret token from the link's URL.
    pub token: String,
    /// The page the guest came from (`document.referrer`), for the domain allowlist.
    #[serde(default)]
    pub referrer: Option<String>,
}

impl OpenLink {
    /// Checks the referrer's length (the token is checked by the database).
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut fields = BTreeMap::new();
        if self.referrer.as_deref().is_some_and(|r| !limits::REFERRER_CHARS.contains(&(r.chars().count() as i64))) {
            fields.insert("referrer".into(), "A referrer has at most 2000 characters.".into());
        }
        refuse_fields(fields)
    }
}

/// What the link's page needs: the session, the chat's look and the link's own texts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenedLink {
    /// The guest's session (as `POST /v1/sessions` returns it).
    pub session: crate::api::Session,
    /// The site's widget settings with the link's title, welcome message and agent.
    pub widget: crate::widget::WidgetConfig,
    /// Shown above the chat.
    pub title: String,
    /// Shown under the title.
    pub description: String,
    /// The owner's look for the page, as given.
    pub ui_customization: Value,
}

/// A link's numbers (or an agent's, or all of the owner's) over `days_back` days:
/// `GET /v1/links/{id}/analytics` and the `link_analytics` tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    /// The days looked back (1 to 365).
    pub days_back: i64,
    /// Links counted.
    pub total_links: i64,
    /// Of them, switched on and not expired.
    pub active_links: i64,
    /// Sessions opened through them.
    pub total_sessions: i64,
    /// Of them, still going.
    pub active_sessions: i64,
    /// Messages in those sessions.
    pub total_messages: i64,
    /// Mean length of a session, in seconds.
    pub average_session_seconds: i64,
    /// Where sessions came from, most first.
    pub top_countries: Vec<CountrySessions>,
}

/// Sessions from one country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountrySessions {
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Sessions from there.
    pub sessions: i64,
}

/// One session of a link, as its owner sees it (`GET /v1/links/{id}/sessions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSession {
    /// The session.
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// `active` or `ended`.
    pub status: String,
    /// Why it ended, once it has.
    pub end_reason: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The guest's last message or start.
    pub last_activity_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Messages in it.
    pub message_count: i64,
    /// Where the guest was (ISO 3166-1 alpha-2), when known.
    pub country: Option<String>,
    /// The guest's rating, if given.
    pub rating: Option<i64>,
}

/// The columns of [`LinkSession`], as PostgREST's `select` names them.
pub const LINK_SESSION_COLUMNS: &str =
    "id,conversation_id,status,end_reason,started_at,last_activity_at,ended_at,message_count,country,rating";

impl CreateLink {
    /// Checks every field against the limits, reporting each problem by field.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut fields = BTreeMap::new();
        let title_chars = self.title.chars().count() as i64;
        if !limits::LINK_TITLE_CHARS.contains(&title_chars) {
            fields.insert("title".into(), "A title has 1 to 200 characters.".into());
        } else if self.title.chars().any(char::is_control) {
            fields.insert("title".into(), "A title has no control characters.".into());
        }
        if !limits::LINK_DESCRIPTION_CHARS.contains(&(self.description.chars().count() as i64)) {
            fields.insert("description".into(), "A description has at most 1000 characters.".into());
        }
        if let Some(welcome) = &self.welcome_message
            && !limits::WELCOME_MESSAGE_CHARS.contains(&(welcome.chars().count() as i64))
        {
            fields.insert("welcome_message".into(), "A welcome message has 1 to 2000 characters.".into());
        }
        let mut range = |name: &str, value: i64, bounds: RangeInclusive<i64>| {
            if !bounds.contains(&value) {
                fields.insert(name.into(), format!("Must be between {} and {}.", bounds.start(), bounds.end()));
            }
        };
        range("expires_in_hours", self.expires_in_hours, limits::LINK_EXPIRES_IN_HOURS);
        range("max_sessions", self.max_sessions, limits::LINK_MAX_SESSIONS);
        range("max_messages_per_session", self.max_messages_per_session, limits::MAX_MESSAGES_PER_SESSION);
        range("session_timeout_minutes", self.session_timeout_minutes, limits::SESSION_TIMEOUT_MINUTES);
        range("rate_limit_per_minute", self.rate_limit_per_minute, limits::RATE_LIMIT_PER_MINUTE);
        if let Some(bad) = self.allowed_domains.iter().find(|d| !is_host_name(d)) {
            fields.insert("allowed_domains".into(), format!("{bad:?} is not a host name like shop.example.com."));
        }
        if let Some(bad) = self.allowed_ips.iter().find(|ip| !is_ip_or_cidr(ip)) {
            fields.insert("allowed_ips".into(), format!("{bad:?} is not an IP address or CIDR like 203.0.113.0/24."));
        }
        if self.ui_customization.as_ref().is_some_and(|v| !v.is_object()) {
            fields.insert("ui_customization".into(), "Must be a JSON object.".into());
        } else if self
            .ui_customization
            .as_ref()
            .is_some_and(|v| limits::jsonb_text_bytes(v) as i64 > limits::JSON_BYTES)
        {
            fields.insert("ui_customization".into(), format!("Must be at most {} bytes of JSON.", limits::JSON_BYTES));
        }
        refuse_fields(fields)
    }
}

impl UpdateLink {
    /// Checks the given fields against the limits.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut fields = BTreeMap::new();
        if let Some(title) = &self.title
            && (!limits::LINK_TITLE_CHARS.contains(&(title.chars().count() as i64))
                || title.chars().any(char::is_control))
        {
            fields.insert("title".into(), "A title has 1 to 200 printable characters.".into());
        }
        let mut range = |name: &str, value: Option<i64>, bounds: RangeInclusive<i64>| {
            if value.is_some_and(|v| !bounds.contains(&v)) {
                fields.insert(name.into(), format!("Must be between {} and {}.", bounds.start(), bounds.end()));
            }
        };
        range("extend_hours", self.extend_hours, limits::LINK_EXPIRES_IN_HOURS);
        range("max_sessions", self.max_sessions, limits::LINK_MAX_SESSIONS);
        range("max_messages_per_session", self.max_messages_per_session, limits::MAX_MESSAGES_PER_SESSION);
        range("session_timeout_minutes", self.session_timeout_minutes, limits::SESSION_TIMEOUT_MINUTES);
        range("rate_limit_per_minute", self.rate_limit_per_minute, limits::RATE_LIMIT_PER_MINUTE);
        if *self == Self::default() {
            fields.insert("body".into(), "Nothing to change.".into());
        }
        refuse_fields(fields)
    }
}

fn refuse_fields(fields: BTreeMap<String, String>) -> Result<(), ApiError> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut error = ApiError::new(ErrorCode::ValidationFailed, "Some fields are not valid.");
    error.fields = fields;
    Err(error)
}

/// A DNS host name (labels of letters, digits and hyphens).
fn is_host_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// An IPv4/IPv6 address, or a network in CIDR form with no bits set right of its mask (as
/// PostgreSQL's `cidr` requires: `10.0.0.0/8`, not `10.0.0.1/8`).
fn is_ip_or_cidr(value: &str) -> bool {
    let (address, prefix) = match value.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (value, None),
    };
    let Ok(ip) = address.parse::<std::net::IpAddr>() else { return false };
    let (bits, width) = match ip {
        std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        std::net::IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    prefix.is_none_or(|p| {
        p.parse::<u32>().is_ok_and(|p| p <= width && (p == width || bits & ((1u128 << (width - p)) - 1) == 0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> CreateLink {
        CreateLink {
            agent_id: Uuid::nil(),
            title: "Support for order 1042".into(),
            expires_in_hours: 24,
            max_sessions: 1,
            max_messages_per_session: 100,
            session_timeout_minutes: 30,
            rate_limit_per_minute: 10,
            ..CreateLink::default()
        }
    }

    #[test]
    fn every_bound_is_checked_at_both_ends() {
        assert!(valid().validate().is_ok());
        type Setter = fn(&mut CreateLink, i64);
        let cases: [(&str, Setter, RangeInclusive<i64>); 5] = [
            ("expires_in_hours", |l, v| l.expires_in_hours = v, limits::LINK_EXPIRES_IN_HOURS),
            ("max_sessions", |l, v| l.max_sessions = v, limits::LINK_MAX_SESSIONS),
            ("max_messages_per_session", |l, v| l.max_messages_per_session = v, limits::MAX_MESSAGES_PER_SESSION),
            ("session_timeout_minutes", |l, v| l.session_timeout_minutes = v, limits::SESSION_TIMEOUT_MINUTES),
            ("rate_limit_per_minute", |l, v| l.rate_limit_per_minute = v, limits::RATE_LIMIT_PER_MINUTE),
        ];
        for (field, set, bounds) in cases {
            for (value, ok) in
                [(*bounds.start(), true), (*bounds.end(), true), (bounds.start() - 1, false), (bounds.end() + 1, false)]
            {
                let mut link = valid();
                set(&mut link, value);
                let result = link.validate();
                assert_eq!(result.is_ok(), ok, "{field} = {value}");
                if let Err(error) = result {
                    assert!(error.fields.contains_key(field), "{field}: {:?}", error.fields);
                }
            }
        }
    }

    #[test]
    fn text_and_allowlists_are_checked() {
        let mut link = valid();
        link.title = "t".repeat(201);
        link.description = "d".repeat(1001);
        link.welcome_message = Some(String::new());
        link.allowed_domains = vec!["shop.example.com".into(), "bad domain".into()];
        link.allowed_ips = vec!["203.0.113.0/24".into(), "::1".into(), "10.0.0.0/33".into()];
        assert!(is_ip_or_cidr("10.0.0.0/8") && is_ip_or_cidr("10.0.0.1/32") && is_ip_or_cidr("2001:db8::/32"));
        assert!(!is_ip_or_cidr("10.0.0.1/8") && !is_ip_or_cidr("2001:db8::1/64"), "host bits right of the mask");
        let error = link.validate().unwrap_err();
        let fields: Vec<&str> = error.fields.keys().map(String::as_str).collect();
        assert_eq!(fields, ["allowed_domains", "allowed_ips", "description", "title", "welcome_message"]);
        let mut control = valid();
        control.title = "Line\nbreak".into();
        assert!(control.validate().is_err());
        assert!(
            serde_json::from_str::<CreateLink>(
                r#"{"agent_id":"00000000-0000-0000-0000-000000000000","title":"x","expires_in_hours":1,"oops":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn updates_need_something_valid_to_change() {
        assert!(UpdateLink::default().validate().is_err());
        assert!(UpdateLink { is_active: Some(false), ..UpdateLink::default() }.validate().is_ok());
        assert!(UpdateLink { extend_hours: Some(169), ..UpdateLink::default() }.validate().is_err());
    }
}
