//! A site's team as its owners and admins manage it: the members with the addresses they sign
//! in with (`team_members(site)`), and invitations by email (`site_invitations`), accepted
//! when the invited person signs in (`accept_invitations()`).

use crate::limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The roles a member may have, most powerful first, with their names for people.
pub const ROLES: [(&str, &str); 4] =
    [("owner", "Owner"), ("admin", "Admin"), ("operator", "Operator"), ("viewer", "Viewer (reads only)")];

/// One member as `team_members(site)` lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    /// The user.
    pub user_id: Uuid,
    /// The address they sign in with.
    pub email: String,
    /// `owner`, `admin`, `operator` or `viewer`.
    pub role: String,
    /// The name shown to colleagues and visitors.
    pub display_name: Option<String>,
    /// `t1`, `t2`, `t3` or `manager`.
    pub support_level: String,
    /// Conversations they hold at once at most.
    pub max_concurrent_chats: i64,
    /// `online`, `away` or `offline`.
    pub availability: String,
}

/// The `select` of [`Invitation`].
pub const INVITATION_COLUMNS: &str = "id,email,display_name,role,support_level,max_concurrent_chats,expires_at";

/// A pending invitation, as read, or (without id and expiry) as sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    /// The invitation (not sent: the database makes it).
    #[serde(skip_serializing)]
    pub id: Uuid,
    /// The site (sent only).
    #[serde(default, skip_deserializing)]
    pub site_id: Uuid,
    /// Who is invited, lowercase.
    pub email: String,
    /// The name they will have, when the inviter gave one.
    pub display_name: Option<String>,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    /// `t1`, `t2`, `t3` or `manager`.
    pub support_level: String,
    /// Conversations at once at most.
    pub max_concurrent_chats: i64,
    /// Until when it may be accepted (not sent).
    #[serde(default, skip_serializing)]
    pub expires_at: String,
}

impl Invitation {
    /// What is wrong, by field (`email`, `display_name`, `role`, `max_concurrent_chats`).
    pub fn problems(&self) -> BTreeMap<&'static str, String> {
        let mut problems = BTreeMap::new();
        if !is_email(&self.email) {
            problems.insert("email", "Enter an email address like ana@example.com.".to_string());
        }
        if self.display_name.as_ref().is_some_and(|n| !(1..=80).contains(&n.chars().count())) {
            problems.insert("display_name", "Use 1 to 80 characters, or leave it empty.".to_string());
        }
        if !matches!(self.role.as_str(), "admin" | "operator" | "viewer") {
            problems.insert("role", "Invite an admin, an operator or a viewer.".to_string());
        }
        if !limits::OPERATOR_MAX_CONCURRENT.contains(&self.max_concurrent_chats) {
            let (lo, hi) = (limits::OPERATOR_MAX_CONCURRENT.start(), limits::OPERATOR_MAX_CONCURRENT.end());
            problems.insert("max_concurrent_chats", format!("Use {lo} to {hi} conversations."));
        }
        problems
    }
}

/// An address as `site_invitations.email` takes it: lowercase, one `@` with text on both
/// sides, no spaces, 3 to 320 characters.
pub fn is_email(email: &str) -> bool {
    let count = email.chars().count();
    let parts: Vec<&str> = email.split('@').collect();
    (3..=320).contains(&count)
        && email == email.to_lowercase()
        && !email.chars().any(char::is_whitespace)
        && parts.len() == 2
        && parts.iter().all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_are_checked_as_the_database_checks_them() {
        let mut invitation = Invitation {
            id: Uuid::nil(),
            site_id: Uuid::nil(),
            email: "ana@example.com".into(),
            display_name: Some("Ana".into()),
            role: "operator".into(),
            support_level: "t1".into(),
            max_concurrent_chats: 5,
            expires_at: String::new(),
        };
        assert!(invitation.problems().is_empty());
        let sent = serde_json::to_value(&invitation).unwrap();
        assert!(sent.get("id").is_none() && sent.get("expires_at").is_none() && sent.get("site_id").is_some());
        invitation.email = "Ana@Example.com".into();
        invitation.role = "owner".into();
        invitation.max_concurrent_chats = 51;
        invitation.display_name = Some(String::new());
        assert_eq!(
            invitation.problems().into_keys().collect::<Vec<_>>(),
            ["display_name", "email", "max_concurrent_chats", "role"]
        );
        for bad in ["ana", "@example.com", "ana@", "a b@example.com", "a@b@c"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
