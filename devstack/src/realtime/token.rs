//! JWT checks as Realtime makes them: on connect (`apikey`) and per channel (`access_token`).

use crate::keys::ProjectKeys;
use chat_core::keys::VerifyError;
use serde_json::{Value, json};

/// A verified token: its text, its claims and the database role it acts as.
#[derive(Clone, Debug)]
pub struct Token {
    /// The JWT as sent (a repeated `access_token` with the same text is ignored).
    pub raw: String,
    /// All claims, passed to Postgres as `request.jwt.claims`.
    pub claims: Value,
    /// `anon`, `authenticated` or `service_role`.
    pub role: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

/// Why a token was refused, worded as Realtime words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The token is past `exp`.
    Expired(i64),
    /// `role` or `exp` is missing.
    MissingClaims,
    /// Not a JWT at all.
    Malformed,
    /// Signed with another key or algorithm.
    Signature,
}

impl TokenError {
    /// The message without a code (system messages and handshake errors).
    pub fn message(&self) -> String {
        match self {
            Self::Expired(seconds) => format!("Token has expired {seconds} seconds ago"),
            Self::MissingClaims => "Fields `role` and `exp` are required in JWT".into(),
            Self::Malformed => "The token provided is not a valid JWT".into(),
            Self::Signature => "Failed to validate JWT signature".into(),
        }
    }

    /// The join-reply `reason`: `<Code>: <message>`.
    pub fn reason(&self) -> String {
        let code = match self {
            Self::Expired(_) | Self::MissingClaims => "InvalidJWTToken",
            Self::Malformed => "MalformedJWT",
            Self::Signature => "JwtSignatureError",
        };
        format!("{code}: {}", self.message())
    }
}

/// How long an `sb_` API key counts as valid on a socket (it never expires; a year is "never").
const API_KEY_LIFETIME: i64 = 365 * 24 * 3600;

/// Verifies a token with the project's keys (or takes an `sb_` API key as its role, as hosted
/// Realtime does) and checks `role` and `exp` against `now`.
pub fn verify(raw: &str, keys: &ProjectKeys, now: i64) -> Result<Token, TokenError> {
    if let Some(role) = keys.api_key_role(raw) {
        let exp = now + API_KEY_LIFETIME;
        let claims = json!({"iss": "supabase", "role": role.as_str(), "iat": now, "exp": exp});
        return Ok(Token { raw: raw.to_owned(), claims, role: role.as_str().to_owned(), exp });
    }
    let claims: Value = keys.verifying.verify(raw, false).map_err(|error| {
        use jsonwebtoken::errors::ErrorKind;
        match error {
            VerifyError::UnknownKey => TokenError::Signature,
            VerifyError::Invalid(error) => match error.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => TokenError::Signature,
                _ => TokenError::Malformed,
            },
        }
    })?;
    let role = claims.get("role").and_then(Value::as_str).map(str::to_owned);
    let exp = claims.get("exp").and_then(Value::as_i64);
    let (Some(role), Some(exp)) = (role, exp) else {
        return Err(TokenError::MissingClaims);
    };
    if exp <= now {
        return Err(TokenError::Expired(now - exp));
    }
    Ok(Token { raw: raw.to_owned(), claims, role, exp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::keys::SigningKey;

    const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters";

    fn sign(claims: Value, secret: &[u8]) -> String {
        SigningKey::secret(secret).sign(&claims).unwrap()
    }

    #[test]
    fn accepts_a_valid_token_and_words_refusals_like_realtime() {
        let keys = ProjectKeys::legacy(SECRET);
        let token = verify(&sign(json!({"role": "anon", "exp": 2000}), SECRET), &keys, 1000).unwrap();
        assert_eq!((token.role.as_str(), token.exp), ("anon", 2000));

        let expired = verify(&sign(json!({"role": "anon", "exp": 990}), SECRET), &keys, 1000).unwrap_err();
        assert_eq!(expired.reason(), "InvalidJWTToken: Token has expired 10 seconds ago");
        let no_role = verify(&sign(json!({"exp": 2000}), SECRET), &keys, 1000).unwrap_err();
        assert_eq!(no_role.reason(), "InvalidJWTToken: Fields `role` and `exp` are required in JWT");
        let forged = sign(json!({"role": "service_role", "exp": 2000}), b"another-secret-of-at-least-32-chars!!");
        assert_eq!(verify(&forged, &keys, 1000).unwrap_err(), TokenError::Signature);
        assert_eq!(verify("not a jwt", &keys, 1000).unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn with_signing_keys_api_keys_act_as_their_role_and_the_secret_is_refused() {
        let auth = SigningKey::es256("auth", [3; 32]).unwrap();
        let keys = ProjectKeys::signing_keys(vec![auth.clone()]).unwrap();
        let publishable = keys.api_keys.clone().unwrap().publishable;
        assert_eq!(verify(&publishable, &keys, 1000).unwrap().role, "anon");
        let user = auth.sign(&json!({"role": "authenticated", "exp": 2000})).unwrap();
        assert_eq!(verify(&user, &keys, 1000).unwrap().role, "authenticated");
        let legacy = sign(json!({"role": "service_role", "exp": 2000}), SECRET);
        assert_eq!(verify(&legacy, &keys, 1000).unwrap_err(), TokenError::Signature);
        assert_eq!(verify("sb_secret_guessed", &keys, 1000).unwrap_err(), TokenError::Malformed);
    }
}
