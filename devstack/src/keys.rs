//! The project's keys, in the key system a Supabase project has (README "Key systems"):
//!
//! - **legacy** (`JWT_SECRET`): one HS256 secret signs user tokens; the API keys are the `anon`
//!   and `service_role` JWTs signed with it.
//! - **signing keys** (`DEVSTACK_SIGNING_KEYS`, a JSON array of private ES256 JWKs, the file
//!   `supabase/config.toml`'s `signing_keys_path` names): the first key signs user tokens, all
//!   are published at `/auth/v1/.well-known/jwks.json` (as hosted Supabase publishes its in-use
//!   and standby keys), and the API keys are `sb_publishable_…` / `sb_secret_…`, which the
//!   gateway turns into short-lived `anon` / `service_role` tokens. The legacy secret is not
//!   accepted at all: a new project has none.

use anyhow::{Context, Result, bail};
use base64::Engine;
use chat_core::keys::{SigningKey, VerifyingKeys};
use chat_core::{Claims, Role};
use jsonwebtoken::jwk::JwkSet;
use sha2::{Digest, Sha256};
use std::path::Path;

/// How long a token the gateway mints for an `sb_` API key lives.
const API_KEY_TOKEN_TTL: i64 = 300;

/// The `sb_` API keys of the signing-keys system.
#[derive(Clone, Debug)]
pub struct ApiKeys {
    /// `sb_publishable_…`: acts as `anon`.
    pub publishable: String,
    /// `sb_secret_…`: acts as `service_role`.
    pub secret: String,
}

/// Everything the stand-in signs and verifies tokens with.
#[derive(Clone)]
pub struct ProjectKeys {
    /// Signs user tokens (and the gateway's tokens for `sb_` keys).
    pub signing: SigningKey,
    /// Verifies every token the API accepts.
    pub verifying: VerifyingKeys,
    /// The `sb_` API keys (signing-keys system only).
    pub api_keys: Option<ApiKeys>,
}

/// Never prints a key.
impl std::fmt::Debug for ProjectKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let system = if self.api_keys.is_some() { "signing keys" } else { "legacy" };
        f.debug_struct("ProjectKeys").field("system", &system).finish_non_exhaustive()
    }
}

impl ProjectKeys {
    /// The legacy system: everything is HS256 with `secret`.
    pub fn legacy(secret: &[u8]) -> Self {
        let signing = SigningKey::secret(secret);
        Self { verifying: signing.verifier(), signing, api_keys: None }
    }

    /// The signing-keys system: `keys[0]` signs, all verify; API keys derived from `keys[0]`.
    pub fn signing_keys(keys: Vec<SigningKey>) -> Result<Self> {
        let Some(first @ SigningKey::Es256 { .. }) = keys.first().cloned() else {
            bail!("the signing keys file must hold at least one ES256 private JWK");
        };
        let public = keys.iter().filter_map(|key| key.public_jwk().cloned()).collect();
        let derive = |purpose: &str| {
            let private = first.private_jwk().unwrap_or_default();
            let digest = Sha256::digest(format!("{purpose}:{}", private["d"]).as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24])
        };
        let api_keys = ApiKeys {
            publishable: format!("sb_publishable_{}", derive("publishable")),
            secret: format!("sb_secret_{}", derive("secret")),
        };
        Ok(Self {
            signing: first,
            verifying: VerifyingKeys::new(None, JwkSet { keys: public }),
            api_keys: Some(api_keys),
        })
    }

    /// Read the key system from the environment: `DEVSTACK_SIGNING_KEYS` (a file) if set, else
    /// `JWT_SECRET`.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os("DEVSTACK_SIGNING_KEYS") {
            Some(path) => Self::signing_keys(read_signing_keys(Path::new(&path))?),
            None => Ok(Self::legacy(crate::config::jwt_secret_from_env()?.as_bytes())),
        }
    }

    /// The role an `sb_` API key stands for; `None` for any other text.
    pub fn api_key_role(&self, key: &str) -> Option<Role> {
        let keys = self.api_keys.as_ref()?;
        if key == keys.publishable {
            Some(Role::Anon)
        } else if key == keys.secret {
            Some(Role::ServiceRole)
        } else {
            None
        }
    }

    /// A short-lived token acting as `role`, signed with the current key: what the gateway
    /// forwards for an `sb_` key.
    pub fn role_token(&self, role: Role) -> String {
        let now = now_seconds();
        let mut claims = Claims::api_key(role, now, now + API_KEY_TOKEN_TTL);
        claims.iss = "supabase".into();
        self.signing.sign(&claims).expect("claims of an API key always serialize")
    }

    /// The public key set (`{"keys": []}` in the legacy system: a secret is never published).
    pub fn jwks(&self) -> &JwkSet {
        self.verifying.jwks()
    }

    /// The keys as the API clients of this project know them, as `NAME=value` lines.
    pub fn client_keys(&self) -> Result<String> {
        Ok(match &self.api_keys {
            Some(keys) => format!("PUBLISHABLE_KEY={}\nSECRET_KEY={}", keys.publishable, keys.secret),
            None => {
                let now = now_seconds();
                let exp = now + 10 * 365 * 24 * 3600;
                let anon = self.signing.sign(&Claims::api_key(Role::Anon, now, exp))?;
                let service = self.signing.sign(&Claims::api_key(Role::ServiceRole, now, exp))?;
                format!("ANON_KEY={anon}\nSERVICE_ROLE_KEY={service}")
            }
        })
    }
}

/// The private JWKs of `path` (a JSON array, as `supabase gen signing-key` output is kept).
pub fn read_signing_keys(path: &Path) -> Result<Vec<SigningKey>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let values: Vec<serde_json::Value> =
        serde_json::from_str(&text).with_context(|| format!("{} is not a JSON array of JWKs", path.display()))?;
    values
        .iter()
        .map(|value| SigningKey::from_private_jwk(&value.to_string()).map_err(anyhow::Error::from))
        .collect::<Result<_>>()
        .with_context(|| format!("in {}", path.display()))
}

/// Write `count` new ES256 keys to `path` unless it exists: the project's signing key first,
/// then keys meant to be imported by others (the edge's).
pub fn create_signing_keys(path: &Path, count: usize) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut keys = Vec::new();
    while keys.len() < count {
        let mut scalar = [0u8; 32];
        getrandom::fill(&mut scalar).context("the OS random source is unavailable")?;
        // A random 32-byte string is a valid P-256 scalar but for a 2^-32 chance: draw again.
        if let Ok(key) = SigningKey::es256(&uuid::Uuid::new_v4().to_string(), scalar) {
            keys.push(key.private_jwk().context("an ES256 key has a private JWK")?);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&keys)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_keys() -> Vec<SigningKey> {
        vec![SigningKey::es256("auth", [3; 32]).unwrap(), SigningKey::es256("edge", [4; 32]).unwrap()]
    }

    #[test]
    fn signing_keys_publish_every_key_and_map_api_keys_to_roles() {
        let keys = ProjectKeys::signing_keys(two_keys()).unwrap();
        assert_eq!(keys.jwks().keys.len(), 2);
        let api = keys.api_keys.clone().unwrap();
        assert!(api.publishable.starts_with("sb_publishable_") && api.secret.starts_with("sb_secret_"));
        assert_eq!(keys.api_key_role(&api.publishable), Some(Role::Anon));
        assert_eq!(keys.api_key_role(&api.secret), Some(Role::ServiceRole));
        assert_eq!(keys.api_key_role("sb_secret_guess"), None);
        let edge_token = two_keys()[1].sign(&Claims::api_key(Role::Anon, 0, 4_000_000_000)).unwrap();
        assert!(keys.verifying.verify::<Claims>(&edge_token, true).is_ok(), "a standby key's tokens verify");
        let claims: Claims = keys.verifying.verify(&keys.role_token(Role::ServiceRole), true).unwrap();
        assert_eq!(claims.role, Role::ServiceRole);
    }

    #[test]
    fn the_legacy_system_publishes_nothing_and_signs_jwt_api_keys() {
        let keys = ProjectKeys::legacy(b"a-local-secret-of-at-least-thirty-two-chars");
        assert!(keys.jwks().keys.is_empty());
        assert_eq!(keys.api_key_role("sb_publishable_x"), None);
        let lines = keys.client_keys().unwrap();
        let anon = lines.lines().next().unwrap().strip_prefix("ANON_KEY=").unwrap();
        assert_eq!(keys.verifying.verify::<Claims>(anon, true).unwrap().role, Role::Anon);
    }

    #[test]
    fn a_created_keys_file_reads_back_and_is_kept() {
        let path = std::env::temp_dir().join(format!("devstack-keys-{}.json", uuid::Uuid::new_v4()));
        create_signing_keys(&path, 2).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        create_signing_keys(&path, 2).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "an existing file is kept");
        assert_eq!(read_signing_keys(&path).unwrap().len(), 2);
        std::fs::remove_file(&path).unwrap();
    }
}
