//! A site's widget settings as its owners and admins edit them in the console: the columns of
//! `widget_settings` the widget honours, their checks (the database's, with the numbers of
//! [`crate::limits`]), the configuration the console's preview feeds the widget, and the colour
//! contrasts the form warns about. Settings the widget does not honour yet (attachments, emoji)
//! are left out, so nothing offers them.

use crate::limits;
use crate::widget::{AgentPersona, ColorScheme, CustomField, Position, Theme, WidgetConfig, is_hex_color};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The `select` of [`WidgetSettings`].
pub const SETTINGS_COLUMNS: &str = "site_id,enabled,title,welcome_message,offline_message,primary_color,text_color,\
background_color,color_scheme,position,show_agent_photos,show_typing_indicator,require_name,require_email,\
require_phone,custom_fields,timezone,business_hours,auto_assignment,offline_grace_minutes,updated_at";

/// One row of `widget_settings`, the columns the widget honours. Serialized, it is the body of
/// the update (the key and the version are not written).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidgetSettings {
    /// The site.
    #[serde(skip_serializing)]
    pub site_id: Uuid,
    /// Whether the widget shows at all.
    pub enabled: bool,
    /// Panel title.
    pub title: String,
    /// Greeting while someone can answer.
    pub welcome_message: String,
    /// Greeting outside business hours or while nobody is online.
    pub offline_message: String,
    /// Launcher, header, buttons and the visitor's bubbles (white text on it).
    pub primary_color: String,
    /// Body text in light mode.
    pub text_color: String,
    /// Panel background in light mode.
    pub background_color: String,
    /// Light, dark or the visitor's system's.
    pub color_scheme: ColorScheme,
    /// Launcher corner.
    pub position: Position,
    /// The agent's picture in the header.
    pub show_agent_photos: bool,
    /// "… is typing" while an operator types.
    pub show_typing_indicator: bool,
    /// Pre-chat form: name required.
    pub require_name: bool,
    /// Pre-chat form: email required.
    pub require_email: bool,
    /// Pre-chat form: phone required.
    pub require_phone: bool,
    /// The site's own pre-chat fields.
    pub custom_fields: Vec<CustomField>,
    /// IANA time zone the business hours are read in.
    pub timezone: String,
    /// Opening hours; none means always open.
    pub business_hours: Option<BusinessHours>,
    /// New conversations go to the next free operator.
    pub auto_assignment: bool,
    /// Minutes an operator who went offline keeps their conversations.
    pub offline_grace_minutes: i64,
    /// The version read (`updated_at`): a save succeeds only while it is still the stored one.
    #[serde(skip_serializing)]
    pub updated_at: String,
}

/// The `select` of [`SiteRow`].
pub const SITE_COLUMNS: &str = "id,name,site_key,allowed_origins,updated_at";

/// One row of `sites` as its owners edit it: the name and the pages allowed to embed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    /// The site.
    #[serde(skip_serializing)]
    pub id: Uuid,
    /// Its name for people.
    pub name: String,
    /// The public key of its embed snippet.
    #[serde(skip_serializing)]
    pub site_key: String,
    /// The origins whose pages may start chats; none allows every page.
    pub allowed_origins: Vec<String>,
    /// The version read.
    #[serde(skip_serializing)]
    pub updated_at: String,
}

impl SiteRow {
    /// What is wrong, by field (`name`, `allowed_origins`, `allowed_origins.3`), in words.
    pub fn problems(&self) -> BTreeMap<String, String> {
        let mut problems = BTreeMap::new();
        if let Some(message) = chars_outside(self.name.trim(), &limits::SITE_NAME_CHARS) {
            problems.insert("name".into(), message);
        }
        if !fits(&self.allowed_origins, &limits::ORIGINS_PER_SITE) {
            problems.insert("allowed_origins".into(), format!("At most {} origins.", limits::ORIGINS_PER_SITE.end()));
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if !is_origin(origin) {
                problems.insert(
                    format!("allowed_origins.{i}"),
                    format!("\"{origin}\" is not an origin: write it as https://shop.example (no path, no slash at the end)."),
                );
            }
        }
        problems
    }

    /// The `<script>` tag that embeds the widget, served from `edge`.
    pub fn embed_snippet(&self, edge: &str) -> String {
        format!(
            r#"<script src="{}/embed.js" data-site="{}" async></script>"#,
            edge.trim_end_matches('/'),
            self.site_key
        )
    }
}

/// An origin as a browser sends it: `http` or `https`, a lowercase host name, IPv4 address or
/// bracketed IPv6 address, an optional port, nothing after (the SQL `origins_valid`).
pub fn is_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) else {
        return false;
    };
    let count = i64::try_from(origin.chars().count()).unwrap_or(i64::MAX);
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (!host.starts_with('[') || host.ends_with(']')) => (host, Some(port)),
        _ => (rest, None),
    };
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let name = |h: &str| {
        let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let bytes = h.as_bytes();
        !bytes.is_empty()
            && edge(bytes[0])
            && edge(bytes[bytes.len() - 1])
            && bytes.iter().all(|&b| edge(b) || b == b'.' || b == b'-')
    };
    let ipv6 = |h: &str| {
        h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).is_some_and(|inner| {
            !inner.is_empty()
                && inner.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b':' || b == b'.')
        })
    };
    limits::ORIGIN_CHARS.contains(&count) && port_ok && (name(host) || ipv6(host))
}

/// One span of opening hours, `["09:00", "17:00"]`, start included, end excluded.
pub type Span = [String; 2];

/// Opening hours per weekday in the site's time zone (a day without spans is closed), and
/// dates closed all day (`YYYY-MM-DD`, holidays). The database's `is_open` reads the same shape
/// (and refuses any other key, as this does).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Monday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mon: Vec<Span>,
    /// Tuesday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tue: Vec<Span>,
    /// Wednesday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wed: Vec<Span>,
    /// Thursday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thu: Vec<Span>,
    /// Friday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fri: Vec<Span>,
    /// Saturday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sat: Vec<Span>,
    /// Sunday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sun: Vec<Span>,
    /// Dates closed all day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
}

/// The weekdays as `business_hours` names them, with their names for people.
pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

impl BusinessHours {
    /// Nine to five on weekdays: what a site starts from when it first sets hours.
    pub fn office() -> Self {
        let day = || vec![["09:00".to_string(), "17:00".to_string()]];
        Self { mon: day(), tue: day(), wed: day(), thu: day(), fri: day(), ..Self::default() }
    }

    /// The spans of the weekday named `day` (one of [`WEEKDAYS`]).
    pub fn day(&self, day: &str) -> &[Span] {
        match day {
            "mon" => &self.mon,
            "tue" => &self.tue,
            "wed" => &self.wed,
            "thu" => &self.thu,
            "fri" => &self.fri,
            "sat" => &self.sat,
            "sun" => &self.sun,
            _ => &[],
        }
    }

    /// The spans of the weekday named `day`, to change (a name outside [`WEEKDAYS`] is Sunday's).
    pub fn day_mut(&mut self, day: &str) -> &mut Vec<Span> {
        match day {
            "mon" => &mut self.mon,
            "tue" => &mut self.tue,
            "wed" => &mut self.wed,
            "thu" => &mut self.thu,
            "fri" => &mut self.fri,
            "sat" => &mut self.sat,
            _ => &mut self.sun,
        }
    }
}

/// The contrast WCAG AA asks of body text.
pub const AA_CONTRAST: f64 = 4.5;

impl WidgetSettings {
    /// What is wrong, by field (`title`, `custom_fields.1.key`, `business_hours.mon.0`,
    /// `business_hours.closed.2`…), in words; empty when the database will take it.
    pub fn problems(&self) -> BTreeMap<String, String> {
        let mut problems = BTreeMap::new();
        let mut say = |field: String, message: String| {
            problems.entry(field).or_insert(message);
        };
        for (field, value, range) in [
            ("title", &self.title, limits::WIDGET_TITLE_CHARS),
            ("welcome_message", &self.welcome_message, limits::WELCOME_MESSAGE_CHARS),
            ("offline_message", &self.offline_message, limits::OFFLINE_MESSAGE_CHARS),
        ] {
            if let Some(message) = chars_outside(value, &range) {
                say(field.into(), message);
            }
        }
        for (field, value) in [
            ("primary_color", &self.primary_color),
            ("text_color", &self.text_color),
            ("background_color", &self.background_color),
        ] {
            if !is_hex_color(value) {
                say(field.into(), "Use a colour like #0f766e.".into());
            }
        }
        if self.timezone.trim().is_empty() {
            say("timezone".into(), "Choose a time zone.".into());
        }
        if !limits::OFFLINE_GRACE_MINUTES.contains(&self.offline_grace_minutes) {
            say("offline_grace_minutes".into(), within("minutes", &limits::OFFLINE_GRACE_MINUTES));
        }
        if !fits(&self.custom_fields, &limits::CUSTOM_FIELDS_PER_SITE) {
            say("custom_fields".into(), format!("At most {} fields.", limits::CUSTOM_FIELDS_PER_SITE.end()));
        }
        for (i, field) in self.custom_fields.iter().enumerate() {
            if !is_field_key(&field.key) {
                say(
                    format!("custom_fields.{i}.key"),
                    "Lowercase letters, digits and _, starting with a letter (at most 40).".into(),
                );
            } else if self.custom_fields[..i].iter().any(|f| f.key == field.key) {
                say(format!("custom_fields.{i}.key"), "Another field has this key.".into());
            }
            if let Some(message) = chars_outside(&field.label, &limits::CUSTOM_FIELD_LABEL_CHARS) {
                say(format!("custom_fields.{i}.label"), message);
            }
        }
        if let Some(hours) = &self.business_hours {
            for (day, _) in WEEKDAYS {
                let spans = hours.day(day);
                if !fits(spans, &limits::SPANS_PER_DAY) {
                    say(
                        format!("business_hours.{day}"),
                        format!("At most {} spans a day.", limits::SPANS_PER_DAY.end()),
                    );
                }
                for (i, [from, to]) in spans.iter().enumerate() {
                    let field = format!("business_hours.{day}.{i}");
                    match (minutes_of(from), minutes_of(to)) {
                        (Some(from), Some(to)) if from < to => {}
                        (Some(_), Some(_)) => say(field, "Closing must be after opening.".into()),
                        _ => say(field, "Use times like 09:00.".into()),
                    }
                }
            }
            if !fits(&hours.closed, &limits::CLOSED_DATES) {
                say("business_hours.closed".into(), format!("At most {} closed dates.", limits::CLOSED_DATES.end()));
            }
            for (i, date) in hours.closed.iter().enumerate() {
                if !is_date(date) {
                    say(format!("business_hours.closed.{i}"), "Use a date like 2026-12-25.".into());
                }
            }
        }
        problems
    }

    /// Pairs of colours the widget draws text with whose contrast is below [`AA_CONTRAST`],
    /// each said in a sentence (the dark scheme's own colours pass).
    pub fn contrast_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let pairs = [
            ("White text on the primary colour", "#ffffff", &self.primary_color),
            ("The text colour on the background", &self.text_color, &self.background_color),
        ];
        for (what, text, background) in pairs {
            if let Some(ratio) = contrast_ratio(text, background)
                && ratio < AA_CONTRAST
            {
                warnings.push(format!(
                    "{what} has a contrast of {ratio:.1}:1; WCAG AA asks for {AA_CONTRAST}:1, so some visitors will struggle to read it."
                ));
            }
        }
        warnings
    }

    /// The configuration the widget would get with these settings (what the preview shows):
    /// `is_online` picks the welcome or the offline message.
    pub fn preview(
        &self,
        site_key: &str,
        site_name: &str,
        agent: Option<AgentPersona>,
        is_online: bool,
    ) -> WidgetConfig {
        WidgetConfig {
            site_key: site_key.into(),
            site_name: site_name.into(),
            enabled: true,
            title: self.title.clone(),
            welcome_message: self.welcome_message.clone(),
            offline_message: self.offline_message.clone(),
            is_online,
            agent,
            theme: Theme {
                primary_color: self.primary_color.clone(),
                text_color: self.text_color.clone(),
                background_color: self.background_color.clone(),
                color_scheme: self.color_scheme,
            },
            position: self.position,
            show_agent_photos: self.show_agent_photos,
            show_typing_indicator: self.show_typing_indicator,
            enable_file_upload: false,
            enable_emojis: false,
            max_file_size_bytes: 0,
            allowed_file_types: Vec::new(),
            require_name: self.require_name,
            require_email: self.require_email,
            require_phone: self.require_phone,
            custom_fields: self.custom_fields.clone(),
        }
    }
}

/// WCAG's contrast ratio of two `#rrggbb` colours (1 to 21), none for anything else.
pub fn contrast_ratio(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (luminance(a)?, luminance(b)?);
    let (light, dark) = if a > b { (a, b) } else { (b, a) };
    Some((light + 0.05) / (dark + 0.05))
}

/// Relative luminance of a `#rrggbb` colour.
fn luminance(color: &str) -> Option<f64> {
    if !is_hex_color(color) {
        return None;
    }
    let channel = |i: usize| {
        let value = f64::from(u8::from_str_radix(&color[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if value <= 0.039_28 { value / 12.92 } else { ((value + 0.055) / 1.055).powf(2.4) }
    };
    Some(0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5))
}

/// A custom field's key: a letter, then letters, digits or `_`, 40 at most (the SQL check).
pub fn is_field_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    (1..=40).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Minutes since midnight of `HH:MM`.
fn minutes_of(time: &str) -> Option<u32> {
    let (hours, minutes) = time.split_once(':')?;
    let two =
        |s: &str| (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten();
    let (hours, minutes) = (two(hours)?, two(minutes)?);
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// Whether `date` is a real calendar date written `YYYY-MM-DD` in the years 1000 to 2999 (the SQL check).
fn is_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else { return false };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (year, month, day) =
        (year.parse::<u32>().unwrap_or(0), month.parse::<u32>().unwrap_or(0), day.parse::<u32>().unwrap_or(0));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1000..=2999).contains(&year) && (1..=days).contains(&day)
}

fn fits<T>(items: &[T], range: &std::ops::RangeInclusive<i64>) -> bool {
    i64::try_from(items.len()).is_ok_and(|n| range.contains(&n))
}

fn chars_outside(value: &str, range: &std::ops::RangeInclusive<i64>) -> Option<String> {
    let count = i64::try_from(value.chars().count()).unwrap_or(i64::MAX);
    (!range.contains(&count)).then(|| within("characters", range))
}

fn within(unit: &str, range: &std::ops::RangeInclusive<i64>) -> String {
    format!("Use {} to {} {unit}.", range.start(), range.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WidgetSettings {
        serde_json::from_value(serde_json::json!({
            "site_id": "00000000-0000-4000-8000-000000000101", "enabled": true, "title": "Chat with us",
            "welcome_message": "Hi!", "offline_message": "Away.", "primary_color": "#0f766e",
            "text_color": "#1f2937", "background_color": "#ffffff", "color_scheme": "light",
            "position": "bottom-right", "show_agent_photos": true, "show_typing_indicator": true,
            "require_name": true, "require_email": false, "require_phone": false,
            "custom_fields": [{"key": "order_id", "label": "Order number", "required": false}],
            "timezone": "Europe/Paris", "business_hours": {"mon": [["09:00", "17:00"]], "closed": ["2026-12-25"]},
            "auto_assignment": true, "offline_grace_minutes": 5, "updated_at": "2026-12-02T10:00:00.123456+00:00"
        }))
        .unwrap()
    }

    #[test]
    fn good_settings_have_no_problems_and_write_no_key_or_version() {
        let settings = settings();
        assert!(settings.problems().is_empty(), "{:?}", settings.problems());
        let body = serde_json::to_value(&settings).unwrap();
        assert!(body.get("site_id").is_none() && body.get("updated_at").is_none());
        assert_eq!(body["business_hours"], serde_json::json!({"mon": [["09:00", "17:00"]], "closed": ["2026-12-25"]}));
        assert_eq!(body["position"], "bottom-right");
    }

    #[test]
    fn problems_name_their_field() {
        let mut bad = settings();
        bad.title = "x".repeat(81);
        bad.primary_color = "blue".into();
        bad.offline_grace_minutes = 1441;
        bad.custom_fields.push(CustomField { key: "order_id".into(), label: String::new(), required: true });
        bad.custom_fields.push(CustomField { key: "Order".into(), label: "Order".into(), required: false });
        let hours = bad.business_hours.as_mut().unwrap();
        hours.tue = vec![["17:00".into(), "09:00".into()], ["9".into(), "10:00".into()]];
        hours.closed.push("2026-02-29".into());
        let problems = bad.problems();
        let fields: Vec<&str> = problems.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "business_hours.closed.1",
                "business_hours.tue.0",
                "business_hours.tue.1",
                "custom_fields.1.key",
                "custom_fields.1.label",
                "custom_fields.2.key",
                "offline_grace_minutes",
                "primary_color",
                "title"
            ]
        );
        assert_eq!(problems["custom_fields.1.key"], "Another field has this key.");
        assert_eq!(problems["title"], "Use 1 to 80 characters.");
    }

    #[test]
    fn counts_are_bounded() {
        let mut many = settings();
        many.custom_fields = (0..=*limits::CUSTOM_FIELDS_PER_SITE.end())
            .map(|i| CustomField { key: format!("f{i}"), label: "F".into(), required: false })
            .collect();
        let hours = many.business_hours.as_mut().unwrap();
        hours.wed = vec![["09:00".into(), "10:00".into()]; *limits::SPANS_PER_DAY.end() as usize + 1];
        hours.closed = vec!["2027-01-01".into(); *limits::CLOSED_DATES.end() as usize + 1];
        let problems = many.problems();
        for field in ["custom_fields", "business_hours.wed", "business_hours.closed"] {
            assert!(problems.contains_key(field), "{field}: {problems:?}");
        }
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast_ratio("#000000", "#ffffff").unwrap() - 21.0).abs() < 1e-9);
        assert!((contrast_ratio("#ffffff", "#ffffff").unwrap() - 1.0).abs() < 1e-9);
        // WebAIM's checker: #767676 on white is 4.54:1, #777777 4.48:1.
        assert!((contrast_ratio("#767676", "#ffffff").unwrap() - 4.54).abs() < 0.01);
        assert!(contrast_ratio("#777777", "#ffffff").unwrap() < AA_CONTRAST);
        assert_eq!(contrast_ratio("white", "#ffffff"), None);
        let mut pale = settings();
        assert!(pale.contrast_warnings().is_empty());
        pale.primary_color = "#fde047".into();
        pale.text_color = "#9ca3af".into();
        let warnings = pale.contrast_warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("White text on the primary colour has a contrast of 1.3:1"), "{}", warnings[0]);
    }

    #[test]
    fn the_preview_is_the_widget_configuration_of_the_unsaved_settings() {
        let settings = settings();
        let config = settings.preview("demo-site", "Demo Shop", None, false);
        assert_eq!(config.theme.primary_color, "#0f766e");
        assert_eq!(config.custom_fields, settings.custom_fields);
        assert!(!config.is_online && config.enabled && !config.enable_file_upload);
    }

    #[test]
    fn origins_are_what_browsers_send() {
        for good in
            ["https://shop.example", "http://localhost:8080", "http://127.0.0.1:5173", "https://[::1]:8443", "http://a"]
        {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "https://shop.example/",
            "https://Shop.example",
            "shop.example",
            "https://*.shop.example",
            "https://shop.example/path",
            "https://shop.example:",
            "https://shop.example:123456",
            "ftp://x.example",
            "https://-shop.example",
            "https://[::1",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
        let site = SiteRow {
            id: Uuid::nil(),
            name: " ".into(),
            site_key: "demo-site".into(),
            allowed_origins: vec!["https://ok.example".into(), "https://bad.example/".into()],
            updated_at: String::new(),
        };
        let problems = site.problems();
        assert_eq!(problems.keys().collect::<Vec<_>>(), ["allowed_origins.1", "name"]);
        assert_eq!(
            site.embed_snippet("https://chat.example/"),
            r#"<script src="https://chat.example/embed.js" data-site="demo-site" async></script>"#
        );
    }

    #[test]
    fn times_and_dates_are_checked_like_postgres() {
        assert_eq!(minutes_of("23:59"), Some(1439));
        for bad in ["24:00", "9:00", "09:60", "0900", "ab:cd"] {
            assert_eq!(minutes_of(bad), None, "{bad}");
        }
        assert!(is_date("2028-02-29") && is_date("2000-02-29"));
        for bad in ["2026-02-29", "1900-02-29", "2026-13-01", "2026-1-01", "2026-04-31"] {
            assert!(!is_date(bad), "{bad}");
        }
        assert!(is_field_key("order_id") && !is_field_key("1st") && !is_field_key(&"a".repeat(41)));
    }
}
