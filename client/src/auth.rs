//! Supabase Auth (GoTrue) as the console signs in: the grants it sends, the session it keeps
//! across reloads, and how a refusal reads. When to refresh is [`crate::timing::refresh_due`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /auth/v1/token?grant_type=password`.
#[derive(Clone, Debug, Serialize)]
pub struct PasswordGrant {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: String,
}

/// `POST /auth/v1/token?grant_type=refresh_token`: each refresh token works once.
#[derive(Clone, Debug, Serialize)]
pub struct RefreshGrant {
    /// The session's current refresh token.
    pub refresh_token: String,
}

/// A signed-in session, as Auth answers a grant (fields it adds are ignored) and as it is saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSession {
    /// The JWT sent to PostgREST and Realtime.
    pub access_token: String,
    /// Exchanged for the next session before `expires_at`.
    pub refresh_token: String,
    /// When the access token expires (seconds since the epoch).
    pub expires_at: i64,
    /// Who signed in.
    pub user: AuthUser,
}

/// The signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthUser {
    /// The user's id (`auth.uid()` in policies).
    pub id: Uuid,
    /// The email signed in with.
    #[serde(default)]
    pub email: Option<String>,
}

/// What `POST /auth/v1/signup` answers: a session when the address needs no confirmation (as
/// `supabase start` is set up), else the new user, who confirms by email and then signs in.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SignUp {
    /// Signed in already.
    Session(AuthSession),
    /// The address must be confirmed first.
    Confirm(AuthUser),
}

/// Auth's error body: `{"code", "error_code", "msg"}`, or the older
/// `{"error", "error_description"}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthRefusal {
    /// The stable code (`invalid_credentials`, `refresh_token_not_found` ...).
    #[serde(default)]
    pub error_code: Option<String>,
    /// The sentence.
    #[serde(default)]
    pub msg: Option<String>,
    /// The older code.
    #[serde(default)]
    pub error: Option<String>,
    /// The older sentence.
    #[serde(default)]
    pub error_description: Option<String>,
}

impl AuthRefusal {
    /// What to tell the person signing in.
    pub fn sentence(&self) -> String {
        match self.code() {
            "invalid_credentials" | "invalid_grant" => "The email or the password is wrong.".into(),
            _ => self
                .msg
                .clone()
                .or_else(|| self.error_description.clone())
                .unwrap_or_else(|| "Signing in failed.".into()),
        }
    }

    /// Whether the session is over for good (its refresh token is spent or revoked): sign in
    /// again. Anything else (the network, a 5xx) is worth another try.
    pub fn ends_session(&self) -> bool {
        matches!(
            self.code(),
            "refresh_token_not_found" | "refresh_token_already_used" | "session_not_found" | "invalid_grant"
        )
    }

    fn code(&self) -> &str {
        self.error_code.as_deref().or(self.error.as_deref()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_reads_from_auth_and_back_from_storage() {
        let answer = r#"{"access_token":"a.b.c","token_type":"bearer","expires_in":3600,"expires_at":1900000000,
            "refresh_token":"r1","user":{"id":"00000000-0000-4000-8000-000000000002","email":"operator@demo.test","role":"authenticated"}}"#;
        let session: AuthSession = serde_json::from_str(answer).unwrap();
        assert_eq!(session.user.email.as_deref(), Some("operator@demo.test"));
        assert_eq!(session.expires_at, 1_900_000_000);
        let saved = serde_json::to_string(&session).unwrap();
        assert_eq!(serde_json::from_str::<AuthSession>(&saved).unwrap(), session);
    }

    #[test]
    fn a_sign_up_signs_in_or_asks_for_confirmation() {
        let session = r#"{"access_token":"a.b.c","expires_at":1900000000,"refresh_token":"r1",
            "user":{"id":"00000000-0000-4000-8000-000000000009","email":"new@demo.test"}}"#;
        assert!(matches!(serde_json::from_str::<SignUp>(session).unwrap(), SignUp::Session(_)));
        let user = r#"{"id":"00000000-0000-4000-8000-000000000009","email":"new@demo.test","confirmation_sent_at":"2026-12-02T10:00:00Z"}"#;
        let SignUp::Confirm(user) = serde_json::from_str::<SignUp>(user).unwrap() else { panic!("a user to confirm") };
        assert_eq!(user.email.as_deref(), Some("new@demo.test"));
    }

    #[test]
    fn refusals_read_in_both_shapes() {
        let new: AuthRefusal = serde_json::from_str(
            r#"{"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}"#,
        )
        .unwrap();
        assert_eq!(new.sentence(), "The email or the password is wrong.");
        assert!(!new.ends_session());
        let old: AuthRefusal =
            serde_json::from_str(r#"{"error":"invalid_grant","error_description":"Invalid Refresh Token"}"#).unwrap();
        assert!(old.ends_session());
        let spent: AuthRefusal =
            serde_json::from_str(r#"{"error_code":"refresh_token_already_used","msg":"x"}"#).unwrap();
        assert!(spent.ends_session());
        assert_eq!(AuthRefusal::default().sentence(), "Signing in failed.");
    }
}
