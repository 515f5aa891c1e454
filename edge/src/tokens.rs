//! Session tokens and guest JWTs.
//!
//! A session token is 244 random bits, given to the widget once and stored only as its SHA-256.
//! A guest JWT is short-lived, signed with the edge's key ([`crate::keys`]), and scopes its
//! holder to one conversation and session: RLS reads the `guest` claim.

use base64::Engine;
use chat_core::keys::VerifyingKeys;
use chat_core::limits::GUEST_JWT_TTL_SECONDS;
use chat_core::{Claims, GuestScope, Role};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A new random session token.
pub fn new_session_token() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a token: the only form the database stores.
pub fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The ids a session function returns.
#[derive(Clone, Debug, Deserialize)]
pub struct SessionIds {
    /// The chat session.
    pub session_id: uuid::Uuid,
    /// Its conversation.
    pub conversation_id: uuid::Uuid,
    /// The customer (the JWT's subject).
    pub customer_id: uuid::Uuid,
    /// The site.
    pub site_id: uuid::Uuid,
    /// Whether an existing session was continued.
    #[serde(default)]
    pub resumed: bool,
}

/// The claims of a guest JWT for `ids`, issued at `now` (seconds), bound to `origin`.
pub fn guest_claims(ids: &SessionIds, now: i64, origin: Option<String>) -> Claims {
    let mut claims = Claims::api_key(Role::Authenticated, now, now + GUEST_JWT_TTL_SECONDS);
    claims.iss = "chat-edge".into();
    claims.sub = Some(ids.customer_id.to_string());
    claims.aud = Some("authenticated".into());
    claims.session_id = Some(ids.session_id.to_string());
    claims.is_anonymous = true;
    claims.guest = Some(GuestScope {
        site_id: ids.site_id.to_string(),
        conversation_id: ids.conversation_id.to_string(),
        session_id: ids.session_id.to_string(),
        origin,
    });
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_session_token(), new_session_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(sha256_hex(&a).len(), 64);
        assert_ne!(sha256_hex(&a), sha256_hex(&b));
    }

    /// Ids of a made-up session.
    pub(super) fn ids() -> SessionIds {
        SessionIds {
            session_id: uuid::Uuid::new_v4(),
            conversation_id: uuid::Uuid::new_v4(),
            customer_id: uuid::Uuid::new_v4(),
            site_id: uuid::Uuid::new_v4(),
            resumed: false,
        }
    }

    #[test]
    fn guest_claims_scope_one_conversation_for_an_hour() {
        let ids = ids();
        let claims = guest_claims(&ids, 1_000, Some("https://shop.example".into()));
        assert_eq!(claims.role, Role::Authenticated);
        assert_eq!(claims.exp - claims.iat, 3600);
        let guest = claims.guest.as_ref().unwrap();
        assert_eq!(guest.conversation_id, ids.conversation_id.to_string());
        assert_eq!(guest.origin.as_deref(), Some("https://shop.example"));
        let secret = b"edge-test-secret-at-least-32-characters";
        let token = claims.sign(secret).unwrap();
        assert!(Claims::verify(&token, secret).is_err(), "issued in 1970, long expired");
    }
}

/// The guest a request's bearer token names, checked: signature, expiry, guest scope, and the
/// page origin the session was started from (when the browser sends one). Returns the token
/// (to call PostgREST as the guest) and its claims.
pub fn verify_guest<'a>(
    authorization: Option<&'a str>,
    origin: Option<&str>,
    keys: &VerifyingKeys,
) -> Result<(&'a str, Claims), chat_core::ApiError> {
    use chat_core::{ApiError, ErrorCode};
    let token = bearer(authorization)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "send the session's guest token as a bearer token"))?;
    let claims: Claims = keys.verify(token, true).map_err(|_| {
        ApiError::new(ErrorCode::Unauthorized, "the guest token is invalid or expired; refresh the session")
    })?;
    // A guest acts as `authenticated` with its customer as subject; a token claiming another
    // role (service_role would bypass RLS) is no guest token whatever else it carries. The
    // database checks the rest of the claims against the session (`guest_session_id()`).
    let guest = claims
        .guest
        .as_ref()
        .filter(|_| claims.role == chat_core::Role::Authenticated && claims.sub.is_some())
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "this token is not a guest token"))?;
    if let (Some(bound), Some(origin)) = (guest.origin.as_deref(), origin)
        && bound != origin
    {
        return Err(ApiError::new(ErrorCode::OriginNotAllowed, "this session belongs to another website"));
    }
    Ok((token, claims))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
}

/// The signed-in owner a request's bearer token names (a Supabase Auth user, not a guest).
/// Returns the token, to call PostgREST as that user.
pub fn verify_owner<'a>(authorization: Option<&'a str>, keys: &VerifyingKeys) -> Result<&'a str, chat_core::ApiError> {
    use chat_core::{ApiError, ErrorCode, Role};
    let refused = || ApiError::new(ErrorCode::Unauthorized, "sign in and send your access token as a bearer token");
    let token = bearer(authorization).ok_or_else(refused)?;
    let claims: Claims = keys.verify(token, true).map_err(|_| refused())?;
    if claims.role != Role::Authenticated || claims.sub.is_none() || claims.guest.is_some() {
        return Err(refused());
    }
    Ok(token)
}

#[cfg(test)]
mod guest_tests {
    use super::*;
    use chat_core::ErrorCode;
    use chat_core::keys::SigningKey;

    const SECRET: &[u8] = b"edge-test-secret-at-least-32-characters";

    /// The edge in each key system.
    fn systems() -> [SigningKey; 2] {
        [SigningKey::secret(SECRET), SigningKey::es256("edge-kid", [9; 32]).unwrap()]
    }

    fn token(key: &SigningKey, now: i64, origin: Option<&str>) -> String {
        key.sign(&guest_claims(&super::tests::ids(), now, origin.map(str::to_string))).unwrap()
    }

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    #[test]
    fn a_valid_guest_token_from_its_origin_passes() {
        for key in systems() {
            let keys = key.verifier();
            let header = format!("Bearer {}", token(&key, now(), Some("https://shop.example")));
            assert!(verify_guest(Some(&header), Some("https://shop.example"), &keys).is_ok());
            assert!(verify_guest(Some(&header), None, &keys).is_ok(), "non-browser clients send no Origin");
        }
    }

    #[test]
    fn missing_expired_foreign_and_non_guest_tokens_are_refused() {
        for key in systems() {
            let keys = key.verifier();
            assert_eq!(verify_guest(None, None, &keys).unwrap_err().code, ErrorCode::Unauthorized);
            let expired = format!("Bearer {}", token(&key, now() - 7200, None));
            assert_eq!(verify_guest(Some(&expired), None, &keys).unwrap_err().code, ErrorCode::Unauthorized);
            let foreign = format!("Bearer {}", token(&key, now(), Some("https://shop.example")));
            assert_eq!(
                verify_guest(Some(&foreign), Some("https://evil.example"), &keys).unwrap_err().code,
                ErrorCode::OriginNotAllowed
            );
            let api_key = key.sign(&Claims::api_key(chat_core::Role::Anon, now(), now() + 60)).unwrap();
            assert_eq!(
                verify_guest(Some(&format!("Bearer {api_key}")), None, &keys).unwrap_err().code,
                ErrorCode::Unauthorized
            );
        }
    }

    #[test]
    fn a_guest_token_of_the_other_system_or_another_key_is_refused() {
        let [legacy, current] = systems();
        let header = format!("Bearer {}", token(&legacy, now(), None));
        assert_eq!(verify_guest(Some(&header), None, &current.verifier()).unwrap_err().code, ErrorCode::Unauthorized);
        let header = format!("Bearer {}", token(&current, now(), None));
        assert_eq!(verify_guest(Some(&header), None, &legacy.verifier()).unwrap_err().code, ErrorCode::Unauthorized);
        let other = SigningKey::es256("edge-kid", [8; 32]).unwrap();
        assert_eq!(verify_guest(Some(&header), None, &other.verifier()).unwrap_err().code, ErrorCode::Unauthorized);
    }

    #[test]
    fn guest_claims_under_another_role_or_without_a_subject_are_refused() {
        for key in systems() {
            for forge in [
                |c: &mut Claims| c.role = chat_core::Role::ServiceRole,
                |c: &mut Claims| c.role = chat_core::Role::Anon,
                |c: &mut Claims| c.sub = None,
            ] {
                let mut claims = guest_claims(&super::tests::ids(), now(), None);
                forge(&mut claims);
                let header = format!("Bearer {}", key.sign(&claims).unwrap());
                assert_eq!(
                    verify_guest(Some(&header), None, &key.verifier()).unwrap_err().code,
                    ErrorCode::Unauthorized
                );
            }
        }
    }

    #[test]
    fn owners_are_signed_in_users_not_guests_nor_api_keys() {
        for key in systems() {
            let keys = key.verifier();
            let mut user = Claims::api_key(chat_core::Role::Authenticated, now(), now() + 60);
            user.sub = Some(uuid::Uuid::new_v4().to_string());
            let header = format!("Bearer {}", key.sign(&user).unwrap());
            assert!(verify_owner(Some(&header), &keys).is_ok());
            let guest = format!("Bearer {}", token(&key, now(), None));
            assert_eq!(verify_owner(Some(&guest), &keys).unwrap_err().code, ErrorCode::Unauthorized);
            let anon = key.sign(&Claims::api_key(chat_core::Role::Anon, now(), now() + 60)).unwrap();
            assert_eq!(verify_owner(Some(&format!("Bearer {anon}")), &keys).unwrap_err().code, ErrorCode::Unauthorized);
        }
    }
}
