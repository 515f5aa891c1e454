//! JWT checks as Realtime makes them: on connect (`apikey`) and per channel (`access_token`).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

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

/// Verifies an HS256 token with the project secret and checks `role` and `exp` against `now`.
pub fn verify(raw: &str, secret: &[u8], now: i64) -> Result<Token, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(raw, &DecodingKey::from_secret(secret), &validation).map_err(|error| {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => TokenError::Signature,
            _ => TokenError::Malformed,
        }
    })?;
    let claims = data.claims;
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
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters";

    fn sign(claims: Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    #[test]
    fn accepts_a_valid_token_and_words_refusals_like_realtime() {
        let token = verify(&sign(json!({"role": "anon", "exp": 2000}), SECRET), SECRET, 1000).unwrap();
        assert_eq!((token.role.as_str(), token.exp), ("anon", 2000));

        let expired = verify(&sign(json!({"role": "anon", "exp": 990}), SECRET), SECRET, 1000).unwrap_err();
        assert_eq!(expired.reason(), "InvalidJWTToken: Token has expired 10 seconds ago");
        let no_role = verify(&sign(json!({"exp": 2000}), SECRET), SECRET, 1000).unwrap_err();
        assert_eq!(no_role.reason(), "InvalidJWTToken: Fields `role` and `exp` are required in JWT");
        let forged = sign(json!({"role": "service_role", "exp": 2000}), b"another-secret-of-at-least-32-chars!!");
        assert_eq!(verify(&forged, SECRET, 1000).unwrap_err(), TokenError::Signature);
        assert_eq!(verify("not a jwt", SECRET, 1000).unwrap_err(), TokenError::Malformed);
    }
}
