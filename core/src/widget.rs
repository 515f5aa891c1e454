//! The public widget configuration: what any page embedding a site's widget may read.
//!
//! Produced by the SQL function `public.widget_config(site_key)` (see `migrations/`),
//! served by the edge at `GET /v1/sites/{site_key}/widget`, rendered by the widget.

use serde::{Deserialize, Serialize};

/// Where the launcher sits on the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// Bottom right corner (the default).
    #[default]
    BottomRight,
    /// Bottom left corner.
    BottomLeft,
}

/// Light, dark, or following the visitor's operating system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorScheme {
    /// Always light (the default).
    #[default]
    Light,
    /// Always dark.
    Dark,
    /// Dark when the visitor's system prefers it.
    Auto,
}

/// Colours of the widget, as `#rrggbb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    /// Launcher, header and the visitor's own bubbles.
    pub primary_color: String,
    /// Body text.
    pub text_color: String,
    /// Panel background.
    pub background_color: String,
    /// Light, dark or automatic.
    #[serde(default)]
    pub color_scheme: ColorScheme,
}

/// A site's public widget settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WidgetConfig {
    /// The site's public key (the `data-site` attribute of the embed script).
    pub site_key: String,
    /// The site's display name.
    pub site_name: String,
    /// Whether the widget is switched on.
    pub enabled: bool,
    /// Panel title.
    pub title: String,
    /// Greeting shown when the team is online.
    pub welcome_message: String,
    /// Shown outside business hours.
    pub offline_message: String,
    /// Whether someone can answer now: within business hours (in the site's time zone) and an
    /// operator online. The hours themselves stay with the site.
    #[serde(default = "always")]
    pub is_online: bool,
    /// The persona that greets visitors, when the site has an agent.
    #[serde(default)]
    pub agent: Option<AgentPersona>,
    /// Colours.
    pub theme: Theme,
    /// Launcher position.
    pub position: Position,
    /// Show agents' avatars next to their messages.
    pub show_agent_photos: bool,
    /// Show "… is typing".
    pub show_typing_indicator: bool,
    /// Allow attachments.
    pub enable_file_upload: bool,
    /// Offer the emoji picker.
    pub enable_emojis: bool,
    /// Largest attachment accepted, in bytes.
    pub max_file_size_bytes: i64,
    /// MIME types or extensions accepted for attachments.
    pub allowed_file_types: Vec<String>,
    /// Pre-chat form: name required.
    pub require_name: bool,
    /// Pre-chat form: email required.
    pub require_email: bool,
    /// Pre-chat form: phone required.
    pub require_phone: bool,
    /// Extra pre-chat fields defined by the site owner.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
}

/// An agent as visitors see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentPersona {
    /// Display name.
    pub name: String,
    /// Picture, when the site set one.
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// A custom pre-chat field the site defines (`widget_settings.custom_fields`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomField {
    /// The key the answer is stored under.
    pub key: String,
    /// What the form shows.
    pub label: String,
    /// Whether the visitor must answer.
    #[serde(default)]
    pub required: bool,
}

fn always() -> bool {
    true
}

/// What `GET /v1/sites/{site_key}/widget` answers: the settings, or only that it is off.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum WidgetState {
    /// The widget is on; here is everything it needs.
    Enabled(Box<WidgetConfig>),
    /// The site switched its widget off: nothing is shown.
    Disabled {
        /// The site's public key.
        site_key: String,
        /// Always false.
        enabled: bool,
    },
}

impl WidgetState {
    /// Read the answer: a first look at `enabled`, then the settings when it is on.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Probe {
            site_key: String,
            enabled: bool,
        }
        let probe: Probe = serde_json::from_str(text)?;
        if probe.enabled {
            Ok(Self::Enabled(Box::new(serde_json::from_str(text)?)))
        } else {
            Ok(Self::Disabled { site_key: probe.site_key, enabled: false })
        }
    }
}

/// A colour as the settings hold one: `#` and six hex digits (the database's CHECK).
pub fn is_hex_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_widgets_say_only_that() {
        let state = WidgetState::from_json(r#"{"site_key":"demo-site","enabled":false}"#).unwrap();
        assert_eq!(state, WidgetState::Disabled { site_key: "demo-site".into(), enabled: false });
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, r#"{"site_key":"demo-site","enabled":false}"#);
    }

    #[test]
    fn colours_are_six_hex_digits() {
        assert!(is_hex_color("#0f766E"));
        for bad in ["#fff", "0f766e0", "#0f766g", "red;}x{", "#0f766e;"] {
            assert!(!is_hex_color(bad), "{bad}");
        }
    }

    #[test]
    fn position_wire_form_is_kebab_case() {
        assert_eq!(serde_json::to_value(Position::BottomLeft).unwrap(), "bottom-left");
        assert_eq!(serde_json::from_str::<Position>("\"bottom-right\"").unwrap(), Position::BottomRight);
    }
}

/// Whether `key` has the shape of a site key (the `sites.site_key` CHECK in `migrations/`).
pub fn is_valid_site_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-';
    (4..=64).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(allowed)
}

#[cfg(test)]
mod site_key_tests {
    use super::is_valid_site_key;

    #[test]
    fn site_keys_follow_the_sql_check() {
        assert!(is_valid_site_key("demo-site"));
        assert!(is_valid_site_key("0a1b2c3d4e5f6a7b8c9d0e1f"));
        assert!(!is_valid_site_key("abc"));
        assert!(!is_valid_site_key("-abc"));
        assert!(!is_valid_site_key("Demo"));
        assert!(!is_valid_site_key(&"a".repeat(65)));
        assert!(is_valid_site_key(&"a".repeat(64)));
    }
}
