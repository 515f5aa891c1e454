//! The keys a Supabase project signs and checks JWTs with, in either of its key systems:
//!
//! - **legacy**: one HS256 secret signs and verifies everything (user tokens, the `anon` and
//!   `service_role` API keys);
//! - **signing keys**: asymmetric keys, whose public halves the project publishes as a JWKS at
//!   `/auth/v1/.well-known/jwks.json`. We sign with ES256; we verify ES256 and RS256.
//!
//! A private key travels as a JWK, the form `supabase gen signing-key --algorithm ES256` writes
//! and the dashboard imports.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a key could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// The key tokens are signed with.
#[derive(Clone)]
pub enum SigningKey {
    /// The legacy HS256 secret.
    Secret(Vec<u8>),
    /// An ES256 key pair with its key id.
    Es256 {
        /// The `kid` written into every token's header.
        kid: String,
        /// The private scalar, PKCS#8-encoded (what jsonwebtoken signs with).
        private: EncodingKey,
        /// The 32-byte private scalar (to write the key out again).
        scalar: [u8; 32],
        /// The public half, as published in the JWKS (boxed: the variants stay small).
        public: Box<Jwk>,
    },
}

/// A private EC JWK as the Supabase CLI writes it (other members are ignored).
#[derive(serde::Deserialize)]
struct PrivateJwk {
    kty: String,
    crv: String,
    kid: String,
    d: String,
    x: String,
    y: String,
    #[serde(default)]
    alg: Option<String>,
}

impl SigningKey {
    /// The legacy HS256 secret.
    pub fn secret(secret: &[u8]) -> Self {
        Self::Secret(secret.to_vec())
    }

    /// An ES256 key from its 32-byte private scalar (from a random source: this crate does no I/O).
    pub fn es256(kid: &str, scalar: [u8; 32]) -> Result<Self, KeyError> {
        let secret = p256::SecretKey::from_slice(&scalar).map_err(|_| KeyError("not a P-256 private key".into()))?;
        let der = secret.to_pkcs8_der().map_err(|e| KeyError(format!("cannot encode the key: {e}")))?;
        let point = secret.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(KeyError("the public key has no coordinates".into()));
        };
        let public = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "key_ops": ["verify"], "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }))
        .map_err(|e| KeyError(format!("cannot build the public JWK: {e}")))?;
        Ok(Self::Es256 { kid: kid.into(), private: EncodingKey::from_ec_der(der.as_bytes()), scalar, public })
    }

    /// An ES256 key from a private JWK (`{"kty":"EC","crv":"P-256","kid":..,"d":..,"x":..,"y":..}`);
    /// its public coordinates must match its private scalar.
    pub fn from_private_jwk(json: &str) -> Result<Self, KeyError> {
        let jwk: PrivateJwk =
            serde_json::from_str(json).map_err(|e| KeyError(format!("the signing key is not a private JWK: {e}")))?;
        if jwk.kty != "EC" || jwk.crv != "P-256" || jwk.alg.as_deref().is_some_and(|alg| alg != "ES256") {
            return Err(KeyError("the signing key must be an ES256 key (EC, P-256)".into()));
        }
        if jwk.kid.is_empty() {
            return Err(KeyError("the signing key has no kid".into()));
        }
        let scalar: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&jwk.d)
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| KeyError("the signing key's d is not 32 bytes of base64url".into()))?;
        let key = Self::es256(&jwk.kid, scalar)?;
        let matches = match &key.public_jwk().map(|jwk| &jwk.algorithm) {
            Some(AlgorithmParameters::EllipticCurve(ec)) => ec.x == jwk.x && ec.y == jwk.y,
            _ => false,
        };
        if !matches {
            return Err(KeyError("the signing key's x and y do not belong to its d".into()));
        }
        Ok(key)
    }

    /// The private JWK of an ES256 key, as [`SigningKey::from_private_jwk`] reads it.
    pub fn private_jwk(&self) -> Option<serde_json::Value> {
        let Self::Es256 { scalar, public, .. } = self else { return None };
        let mut jwk = serde_json::to_value(public).ok()?;
        jwk["d"] = URL_SAFE_NO_PAD.encode(scalar).into();
        jwk["key_ops"] = serde_json::json!(["sign", "verify"]);
        Some(jwk)
    }

    /// The public JWK of an ES256 key.
    pub fn public_jwk(&self) -> Option<&Jwk> {
        match self {
            Self::Es256 { public, .. } => Some(public),
            Self::Secret(_) => None,
        }
    }

    /// `claims` as a signed JWT (with this key's `kid` in the header).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, jsonwebtoken::errors::Error> {
        match self {
            Self::Secret(secret) => {
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
            }
            Self::Es256 { kid, private, .. } => {
                let mut header = Header::new(Algorithm::ES256);
                header.kid = Some(kid.clone());
                jsonwebtoken::encode(&header, claims, private)
            }
        }
    }

    /// The keys that verify this key's own tokens (and nothing else).
    pub fn verifier(&self) -> VerifyingKeys {
        match self {
            Self::Secret(secret) => VerifyingKeys::new(Some(secret), JwkSet { keys: Vec::new() }),
            Self::Es256 { public, .. } => VerifyingKeys::new(None, JwkSet { keys: vec![(**public).clone()] }),
        }
    }
}

/// Why a token was refused.
#[derive(Debug)]
pub enum VerifyError {
    /// Its header names no key held here: an algorithm without a key, or an unknown `kid`.
    UnknownKey,
    /// Malformed, badly signed, or expired.
    Invalid(jsonwebtoken::errors::Error),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownKey => f.write_str("the token names a key this project does not hold"),
            Self::Invalid(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// The keys tokens are verified with: the legacy secret, a JWKS, or both.
#[derive(Clone)]
pub struct VerifyingKeys {
    secret: Option<Vec<u8>>,
    jwks: JwkSet,
}

impl VerifyingKeys {
    /// From the legacy secret (if the project still accepts it) and the published key set.
    pub fn new(secret: Option<&[u8]>, jwks: JwkSet) -> Self {
        Self { secret: secret.map(<[u8]>::to_vec), jwks }
    }

    /// From the legacy secret and a JWKS document (`{"keys": [...]}`).
    pub fn from_jwks_json(secret: Option<&[u8]>, json: &str) -> Result<Self, KeyError> {
        let jwks = serde_json::from_str(json).map_err(|e| KeyError(format!("not a JWKS: {e}")))?;
        Ok(Self::new(secret, jwks))
    }

    /// The public key set.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// Whether the token's header selects a key held here (`false` for a malformed token too).
    /// A `false` for a well-formed asymmetric token means the set may be stale.
    pub fn holds_key_for(&self, token: &str) -> bool {
        jsonwebtoken::decode_header(token).is_ok_and(|header| self.key_for(&header).is_some())
    }

    fn key_for(&self, header: &Header) -> Option<DecodingKey> {
        match header.alg {
            Algorithm::HS256 => self.secret.as_deref().map(DecodingKey::from_secret),
            Algorithm::ES256 | Algorithm::RS256 => {
                let jwk = self.jwks.find(header.kid.as_deref()?)?;
                let algorithm_matches = match (&jwk.algorithm, header.alg) {
                    (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => ec.curve == EllipticCurve::P256,
                    (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
                    _ => false,
                };
                algorithm_matches.then(|| DecodingKey::from_jwk(jwk).ok()).flatten()
            }
            _ => None,
        }
    }

    /// The claims of `token`, after checking its signature and, when `check_expiry`, its `exp`
    /// (required, no leeway). The audience is not checked: API keys have none, and PostgREST
    /// does not check it either.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, check_expiry: bool) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(VerifyError::Invalid)?;
        let key = self.key_for(&header).ok_or(VerifyError::UnknownKey)?;
        let mut validation = Validation::new(header.alg);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.validate_exp = check_expiry;
        if check_expiry {
            validation.set_required_spec_claims(&["exp"]);
        } else {
            validation.required_spec_claims.clear();
        }
        Ok(jsonwebtoken::decode::<T>(token, &key, &validation).map_err(VerifyError::Invalid)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const SECRET: &[u8] = b"a-legacy-secret-of-at-least-32-characters";

    fn es256(kid: &str, seed: u8) -> SigningKey {
        SigningKey::es256(kid, [seed; 32]).unwrap()
    }

    fn claims(exp: i64) -> Value {
        json!({"role": "authenticated", "sub": "u", "exp": exp})
    }

    const LATER: i64 = 4_000_000_000;

    #[test]
    fn es256_tokens_verify_against_the_published_key_only() {
        let (key, other) = (es256("key-1", 7), es256("key-2", 9));
        let token = key.sign(&claims(LATER)).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some("key-1"));
        let published = VerifyingKeys::new(None, JwkSet { keys: vec![key.public_jwk().unwrap().clone()] });
        assert_eq!(published.verify::<Value>(&token, true).unwrap()["sub"], "u");
        assert!(matches!(other.verifier().verify::<Value>(&token, true), Err(VerifyError::UnknownKey)));
        assert!(!other.verifier().holds_key_for(&token));

        // Another key published under the same kid: the signature fails.
        let impostor = es256("key-1", 9);
        assert!(matches!(impostor.verifier().verify::<Value>(&token, true), Err(VerifyError::Invalid(_))));
    }

    #[test]
    fn the_secret_verifies_hs256_only_and_a_jwks_never_admits_hs256() {
        let legacy = SigningKey::secret(SECRET);
        let token = legacy.sign(&claims(LATER)).unwrap();
        assert!(legacy.verifier().verify::<Value>(&token, true).is_ok());
        let jwks_only = es256("key-1", 7).verifier();
        assert!(matches!(jwks_only.verify::<Value>(&token, true), Err(VerifyError::UnknownKey)));
        let es_token = es256("key-1", 7).sign(&claims(LATER)).unwrap();
        assert!(matches!(legacy.verifier().verify::<Value>(&es_token, true), Err(VerifyError::UnknownKey)));
    }

    #[test]
    fn expiry_is_checked_when_asked() {
        let key = es256("key-1", 7);
        let expired = key.sign(&claims(1)).unwrap();
        assert!(key.verifier().verify::<Value>(&expired, true).is_err());
        assert!(key.verifier().verify::<Value>(&expired, false).is_ok());
        let no_exp = key.sign(&json!({"role": "anon"})).unwrap();
        assert!(key.verifier().verify::<Value>(&no_exp, true).is_err());
    }

    #[test]
    fn private_jwks_round_trip_and_inconsistent_ones_are_refused() {
        let key = es256("6f1c2a3e-key", 7);
        let jwk = key.private_jwk().unwrap();
        let read = SigningKey::from_private_jwk(&jwk.to_string()).unwrap();
        let token = read.sign(&claims(LATER)).unwrap();
        assert!(key.verifier().verify::<Value>(&token, true).is_ok());

        let mut wrong = jwk.clone();
        wrong["x"] = es256("k", 9).private_jwk().unwrap()["x"].clone();
        assert!(SigningKey::from_private_jwk(&wrong.to_string()).is_err());
        let mut rsa = jwk.clone();
        rsa["kty"] = "RSA".into();
        assert!(SigningKey::from_private_jwk(&rsa.to_string()).is_err());
        assert!(SigningKey::from_private_jwk("{}").is_err());
        assert!(SigningKey::es256("k", [0; 32]).is_err(), "zero is no private key");
    }

    #[test]
    fn reads_a_key_the_supabase_cli_generated() {
        // A throwaway key from `supabase gen signing-key --algorithm ES256` (CLI 2.117.0).
        let cli = r#"{"kty":"EC","kid":"cb838c3d-3bcd-484f-92f5-eb885acfaa11","use":"sig","key_ops":["sign","verify"],"alg":"ES256","ext":true,"d":"r3EhZ5_d3rPVCbP-WsqNBjc-GZZC3qJ_kq9PNOj2Ciw","crv":"P-256","x":"JFKfue-_XrBBbWagXm3KqA-QhJCtU7rvsNZSoWRJaw8","y":"k-ox-zAHAQtAUWcLKDM-53LCEL4A13b_KPnYI3ZYubA"}"#;
        let key = SigningKey::from_private_jwk(cli).unwrap();
        let token = key.sign(&claims(LATER)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (Algorithm::ES256, Some("cb838c3d-3bcd-484f-92f5-eb885acfaa11"))
        );
        assert!(key.verifier().verify::<Value>(&token, true).is_ok());
    }
}
