//! The keys the edge signs guest tokens with and checks tokens against, in either Supabase key
//! system (README "Key systems"):
//!
//! - `SUPABASE_JWT_SIGNING_KEY` (a private ES256 JWK imported into the project): guest tokens
//!   are ES256 with its `kid`; PostgREST and Realtime trust them through the project's JWKS.
//! - `SUPABASE_JWT_SECRET` (legacy): guest tokens are HS256 with the project secret.
//!
//! Guest tokens are verified against the edge's own key only. User (owner) tokens are verified
//! against the project's JWKS, fetched from Auth and cached ([`JwksCache`]), and against the
//! legacy secret when it is configured.

use chat_core::keys::{SigningKey, VerifyingKeys};
use jsonwebtoken::jwk::JwkSet;

/// How long a fetched JWKS is trusted before it is fetched again.
pub const JWKS_MAX_AGE_MS: f64 = 10.0 * 60.0 * 1000.0;
/// A token naming an unknown `kid` fetches the JWKS again, but not more often than this
/// (anyone can mint a token with a random `kid`).
pub const UNKNOWN_KID_INTERVAL_MS: f64 = 30.0 * 1000.0;

/// The edge's keys, from its settings.
#[derive(Clone)]
pub struct EdgeKeys {
    /// Signs guest tokens.
    pub signing: SigningKey,
    /// The legacy secret, when the project still has one: also verifies HS256 user tokens.
    pub secret: Option<Vec<u8>>,
}

impl EdgeKeys {
    /// From `SUPABASE_JWT_SIGNING_KEY` and `SUPABASE_JWT_SECRET`; at least one is required, and
    /// the signing key wins for minting when both are set (a project moving to signing keys).
    pub fn from_settings(signing_key: Option<&str>, secret: Option<&str>) -> Result<Self, String> {
        let secret = secret.filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec());
        let signing = match (signing_key.filter(|k| !k.is_empty()), &secret) {
            (Some(jwk), _) => {
                SigningKey::from_private_jwk(jwk).map_err(|e| format!("SUPABASE_JWT_SIGNING_KEY is unusable: {e}"))?
            }
            (None, Some(secret)) => SigningKey::secret(secret),
            (None, None) => return Err("set SUPABASE_JWT_SIGNING_KEY (or the legacy SUPABASE_JWT_SECRET)".into()),
        };
        Ok(Self { signing, secret })
    }

    /// What verifies guest tokens: the edge's own key, nothing else.
    pub fn guest_verifier(&self) -> VerifyingKeys {
        self.signing.verifier()
    }

    /// What verifies user tokens: the project's published keys and the legacy secret.
    pub fn user_verifier(&self, jwks: JwkSet) -> VerifyingKeys {
        VerifyingKeys::new(self.secret.as_deref(), jwks)
    }
}

/// Whether `token` needs the project's JWKS at all (an HS256 token is checked with the secret).
pub fn needs_jwks(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|header| header.alg != jsonwebtoken::Algorithm::HS256)
}

/// A JWKS and when it was fetched (milliseconds since the epoch).
#[derive(Clone, Default)]
pub struct JwksCache {
    /// The last set fetched, if any.
    pub keys: Option<(JwkSet, f64)>,
}

impl JwksCache {
    /// Whether to fetch the set again before verifying `token` at `now`: never fetched, older
    /// than [`JWKS_MAX_AGE_MS`], or missing the token's key and older than [`UNKNOWN_KID_INTERVAL_MS`].
    pub fn should_fetch(&self, token: &str, now: f64) -> bool {
        let Some((set, fetched)) = &self.keys else { return true };
        let age = now - fetched;
        let known = VerifyingKeys::new(None, set.clone()).holds_key_for(token);
        age >= JWKS_MAX_AGE_MS || (!known && age >= UNKNOWN_KID_INTERVAL_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::{Claims, Role};

    fn token(key: &SigningKey) -> String {
        key.sign(&Claims::api_key(Role::Authenticated, 0, 4_000_000_000)).unwrap()
    }

    #[test]
    fn the_signing_key_wins_and_one_setting_is_required() {
        let jwk = SigningKey::es256("edge", [5; 32]).unwrap().private_jwk().unwrap().to_string();
        let both = EdgeKeys::from_settings(Some(&jwk), Some("a-legacy-secret-of-32-characters!!")).unwrap();
        assert!(matches!(both.signing, SigningKey::Es256 { .. }));
        assert!(both.secret.is_some());
        let legacy = EdgeKeys::from_settings(None, Some("a-legacy-secret-of-32-characters!!")).unwrap();
        assert!(matches!(legacy.signing, SigningKey::Secret(_)));
        assert!(EdgeKeys::from_settings(None, None).is_err());
        assert!(EdgeKeys::from_settings(Some("{not a key"), None).is_err());
    }

    #[test]
    fn guests_are_checked_against_the_edge_key_and_users_against_the_project() {
        let edge = SigningKey::es256("edge", [5; 32]).unwrap();
        let auth = SigningKey::es256("auth", [6; 32]).unwrap();
        let keys = EdgeKeys { signing: edge.clone(), secret: None };
        let jwks = JwkSet { keys: vec![auth.public_jwk().unwrap().clone(), edge.public_jwk().unwrap().clone()] };
        assert!(keys.guest_verifier().verify::<Claims>(&token(&edge), true).is_ok());
        assert!(keys.guest_verifier().verify::<Claims>(&token(&auth), true).is_err(), "Auth mints no guests");
        assert!(keys.user_verifier(jwks).verify::<Claims>(&token(&auth), true).is_ok());
        assert!(needs_jwks(&token(&auth)));
        assert!(!needs_jwks(&token(&SigningKey::secret(b"a-legacy-secret-of-32-characters!!"))));
    }

    #[test]
    fn the_jwks_is_fetched_when_missing_old_or_missing_a_kid_at_most_every_30_seconds() {
        let auth = SigningKey::es256("auth", [6; 32]).unwrap();
        let rotated = SigningKey::es256("rotated", [7; 32]).unwrap();
        let cache = JwksCache { keys: Some((JwkSet { keys: vec![auth.public_jwk().unwrap().clone()] }, 1_000.0)) };
        assert!(JwksCache::default().should_fetch(&token(&auth), 0.0));
        assert!(!cache.should_fetch(&token(&auth), 2_000.0));
        assert!(cache.should_fetch(&token(&auth), 1_000.0 + JWKS_MAX_AGE_MS));
        assert!(!cache.should_fetch(&token(&rotated), 2_000.0), "an unknown kid just after a fetch");
        assert!(cache.should_fetch(&token(&rotated), 1_000.0 + UNKNOWN_KID_INTERVAL_MS));
    }
}
