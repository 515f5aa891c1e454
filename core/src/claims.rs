//! JWT claims as Supabase issues them, and HS256 signing with the project secret.
//!
//! PostgREST reads `role` to pick the database role; RLS policies read the rest through
//! `auth.uid()` / `auth.jwt()`.

use serde::{Deserialize, Serialize};

/// The database role a token acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Not signed in: the public API key.
    Anon,
    /// A signed-in user (owner, operator, or a guest scoped by extra claims).
    Authenticated,
    /// Bypasses RLS; held only by trusted servers.
    ServiceRole,
}

impl Role {
    /// The Postgres role name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anon => "anon",
            Self::Authenticated => "authenticated",
            Self::ServiceRole => "service_role",
        }
    }
}

/// Claims of a Supabase access token or API key. API keys carry only `iss`, `role`, `iat`, `exp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the Auth URL for user tokens, `supabase-demo` for local API keys.
    pub iss: String,
    /// The user id (absent on API keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: `authenticated` for user tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// The database role the token acts as.
    pub role: Role,
    /// The user's email, when the user has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The Auth session this token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// True for anonymous sign-ins.
    #[serde(default)]
    pub is_anonymous: bool,
    /// Server-controlled metadata (never user-editable); RLS may trust it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<serde_json::Value>,
    /// User-editable metadata; RLS must not trust it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<serde_json::Value>,
    /// Authenticator assurance level (`aal1` for a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aal: Option<String>,
    /// Present only on guest tokens the edge mints: the one conversation they may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<GuestScope>,
}

/// What a guest token is scoped to. RLS reads it through `public.guest_conversation_id()` and
/// its siblings (`auth.jwt() -> 'guest'`); Supabase Auth never issues this claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestScope {
    /// The site the guest is chatting with.
    pub site_id: String,
    /// The only conversation the guest may read and write.
    pub conversation_id: String,
    /// The chat session the guest holds.
    pub session_id: String,
    /// The page origin the session was started from; later calls must come from it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Claims {
    /// Claims of a project API key (`anon` or `service_role`), as `supabase start` prints them.
    pub fn api_key(role: Role, iat: i64, exp: i64) -> Self {
        Self {
            iss: "supabase-demo".into(),
            sub: None,
            aud: None,
            exp,
            iat,
            role,
            email: None,
            session_id: None,
            is_anonymous: false,
            app_metadata: None,
            user_metadata: None,
            aal: None,
            guest: None,
        }
    }
}

#[cfg(feature = "jwt")]
mod hs256 {
    use super::Claims;
    use crate::keys::{SigningKey, VerifyError};

    impl Claims {
        /// Sign these claims with the project's legacy HS256 secret.
        pub fn sign(&self, secret: &[u8]) -> Result<String, jsonwebtoken::errors::Error> {
            SigningKey::secret(secret).sign(self)
        }

        /// Verify an HS256 token's signature and expiry and return its claims.
        pub fn verify(token: &str, secret: &[u8]) -> Result<Self, VerifyError> {
            SigningKey::secret(secret).verifier().verify(token, true)
        }
    }
}

#[cfg(all(test, feature = "jwt"))]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-with-at-least-32-characters!";

    #[test]
    fn signs_and_verifies_round_trip() {
        let claims = Claims::api_key(Role::Anon, 1_700_000_000, 4_000_000_000);
        let token = claims.sign(SECRET).unwrap();
        assert_eq!(Claims::verify(&token, SECRET).unwrap(), claims);
    }

    #[test]
    fn rejects_wrong_secret_and_expired() {
        let token = Claims::api_key(Role::ServiceRole, 0, 4_000_000_000).sign(SECRET).unwrap();
        assert!(Claims::verify(&token, b"another-secret-of-thirty-two-characters").is_err());
        let expired = Claims::api_key(Role::Anon, 0, 1).sign(SECRET).unwrap();
        assert!(Claims::verify(&expired, SECRET).is_err());
    }

    #[test]
    fn api_key_wire_form_has_no_user_claims() {
        let value = serde_json::to_value(Claims::api_key(Role::ServiceRole, 1, 2)).unwrap();
        assert_eq!(value["role"], "service_role");
        assert!(value.get("sub").is_none());
    }
}
