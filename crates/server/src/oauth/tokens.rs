//! Access tokens: `<orgId15>!<base64url(nonce || AES-256-GCM(claims))>`.
//!
//! The claims are sealed with a key kept in the store ([`SEALING_KEY_NAME`]), so every instance
//! sharing the database mints and accepts the same tokens, tokens survive restarts, and checking
//! one costs a decryption and a set lookup — no database round trip. Revoked token ids are held in
//! memory: this instance adds its own revocations at once, and a poller
//! ([`super::background`]) picks up other instances' within about half a second.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Name of the sealing key in the store's `server_keys`.
pub const SEALING_KEY_NAME: &str = "access_token_sealing_v1";

/// What an access token stands for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Token id: what revocation records.
    #[serde(rename = "t")]
    pub token_id: String,
    #[serde(rename = "o")]
    pub org_id: String,
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "n")]
    pub username: String,
    #[serde(rename = "a")]
    pub app_id: String,
    #[serde(rename = "k")]
    pub consumer_key: String,
    #[serde(rename = "s")]
    pub scopes: Vec<String>,
    /// Milliseconds since the epoch.
    #[serde(rename = "i")]
    pub issued_at: i64,
    #[serde(rename = "e")]
    pub expires_at: i64,
}

impl AccessTokenClaims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl fmt::Debug for AccessTokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenClaims")
            .field("org_id", &self.org_id)
            .field("username", &self.username)
            .field("app_id", &self.app_id)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this org minted (wrong shape, wrong org, tampered, other key).
    #[error("the access token is not valid for this org")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token was revoked")]
    Revoked,
}

/// Mints and checks access tokens; shared by every request.
pub struct TokenVerifier {
    key: LessSafeKey,
    org_id: String,
    revoked: RwLock<HashSet<String>>,
    /// Principal revocations: user id or app id → tokens issued at or before this time (ms) are
    /// refused (a deactivated user, a disabled or deleted app).
    principals: RwLock<HashMap<String, i64>>,
    /// Bumped whenever something new is revoked, so holders of long-lived streams (Pub/Sub
    /// subscriptions) re-check their token then, and only then.
    changes: tokio::sync::watch::Sender<u64>,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// `key` is the 32-byte sealing key.
    pub fn new(key: &[u8], org_id: &str) -> anyhow::Result<TokenVerifier> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| anyhow::anyhow!("the access token sealing key is not 32 bytes"))?;
        Ok(TokenVerifier {
            key: LessSafeKey::new(unbound),
            org_id: org_id.to_string(),
            revoked: RwLock::new(HashSet::new()),
            principals: RwLock::new(HashMap::new()),
            changes: tokio::sync::watch::channel(0).0,
        })
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Seal the claims into a token.
    pub fn mint(&self, claims: &AccessTokenClaims) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a token nonce"))?;
        let mut sealed = serde_json::to_vec(claims)?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.org_id.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("sealing an access token failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{}!{}", self.org_id, URL_SAFE_NO_PAD.encode(out)))
    }

    /// Open a token without looking at expiry or revocation.
    pub fn open(&self, bearer: &str) -> Result<AccessTokenClaims, TokenError> {
        let (org, sealed) = bearer.trim().split_once('!').ok_or(TokenError::Invalid)?;
        // Tokens are small; refuse anything absurd before decoding it.
        if org != self.org_id || sealed.len() > 8 * 1024 {
            return Err(TokenError::Invalid);
        }
        let mut bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| TokenError::Invalid)?;
        if bytes.len() < NONCE_LEN {
            return Err(TokenError::Invalid);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| TokenError::Invalid)?;
        // The tag check is constant-time inside aws-lc.
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(self.org_id.as_bytes()), &mut ciphertext)
            .map_err(|_| TokenError::Invalid)?;
        let claims: AccessTokenClaims =
            serde_json::from_slice(plain).map_err(|_| TokenError::Invalid)?;
        if claims.org_id != self.org_id {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    /// Check a bearer token: sealed by this org's key, not expired, not revoked.
    pub fn verify(&self, bearer: &str, now_millis: i64) -> Result<AccessTokenClaims, TokenError> {
        let claims = self.open(bearer)?;
        if claims.expires_at <= now_millis {
            return Err(TokenError::Expired);
        }
        if self.is_revoked(&claims.token_id)
            || self.principal_revoked(&claims.user_id, claims.issued_at)
            || self.principal_revoked(&claims.app_id, claims.issued_at)
        {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }

    /// Whether tokens of `subject` issued at `issued_at` are revoked.
    fn principal_revoked(&self, subject: &str, issued_at: i64) -> bool {
        self.principals
            .read()
            .map(|m| m.get(subject).is_some_and(|&at| issued_at <= at))
            .unwrap_or(true)
    }

    /// Record principal revocations (subject, revoked_at); the latest per subject wins.
    pub fn revoke_principals<I: IntoIterator<Item = (String, i64)>>(&self, revocations: I) {
        let mut changed = false;
        if let Ok(mut map) = self.principals.write() {
            for (subject, at) in revocations {
                let entry = map.entry(subject).or_insert(i64::MIN);
                if at > *entry {
                    *entry = at;
                    changed = true;
                }
            }
        }
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// A receiver that changes whenever a token or principal is newly revoked.
    pub fn revocation_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn is_revoked(&self, token_id: &str) -> bool {
        self.revoked
            .read()
            .map(|set| set.contains(token_id))
            .unwrap_or(true)
    }

    /// Mark token ids revoked in this instance.
    pub fn add_revoked<I: IntoIterator<Item = String>>(&self, ids: I) {
        let mut changed = false;
        if let Ok(mut set) = self.revoked.write() {
            for id in ids {
                changed |= set.insert(id);
            }
        }
        if changed {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// Replace the revoked set (after a full reload that leaves out expired tokens).
    pub fn replace_revoked(&self, ids: HashSet<String>) {
        if let Ok(mut set) = self.revoked.write() {
            *set = ids;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            token_id: "tid".into(),
            org_id: "00D000000000001".into(),
            user_id: "005000000000001".into(),
            username: "a@example.com".into(),
            app_id: "0xI000000000001".into(),
            consumer_key: "3MVG9".into(),
            scopes: vec!["interaction_api".into()],
            issued_at: 1_000,
            expires_at: 2_000,
        }
    }

    #[test]
    fn mint_verify_expire_revoke() {
        let v = TokenVerifier::new(&[7u8; 32], "00D000000000001").unwrap();
        let t = v.mint(&claims()).unwrap();
        assert!(t.starts_with("00D000000000001!"));
        assert_eq!(v.verify(&t, 1_500).unwrap(), claims());
        assert_eq!(v.verify(&t, 2_000), Err(TokenError::Expired));
        v.add_revoked(["tid".to_string()]);
        assert_eq!(v.verify(&t, 1_500), Err(TokenError::Revoked));
    }

    #[test]
    fn revoking_a_user_or_an_app_refuses_their_older_tokens_only() {
        let v = TokenVerifier::new(&[7u8; 32], "00D000000000001").unwrap();
        let t = v.mint(&claims()).unwrap();
        let mut changes = v.revocation_changes();
        v.revoke_principals([("005000000000001".to_string(), 999)]);
        assert!(v.verify(&t, 1_500).is_ok(), "issued after the revocation");
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        v.revoke_principals([("005000000000001".to_string(), 999)]);
        assert!(!changes.has_changed().unwrap(), "nothing new");
        v.revoke_principals([("0xI000000000001".to_string(), 1_000)]);
        assert_eq!(v.verify(&t, 1_500), Err(TokenError::Revoked));
        assert!(changes.has_changed().unwrap());
        let user = TokenVerifier::new(&[7u8; 32], "00D000000000001").unwrap();
        user.revoke_principals([("005000000000001".to_string(), 5_000)]);
        assert_eq!(user.verify(&t, 1_500), Err(TokenError::Revoked));
    }

    #[test]
    fn foreign_or_tampered_tokens_are_invalid() {
        let v = TokenVerifier::new(&[7u8; 32], "00D000000000001").unwrap();
        let other_key = TokenVerifier::new(&[8u8; 32], "00D000000000001").unwrap();
        let t = v.mint(&claims()).unwrap();
        assert_eq!(other_key.verify(&t, 1_500), Err(TokenError::Invalid));
        let mut tampered = t.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            v.verify(&String::from_utf8(tampered).unwrap(), 1_500),
            Err(TokenError::Invalid)
        );
        let other_org = t.replacen("00D000000000001", "00D000000000002", 1);
        assert_eq!(v.verify(&other_org, 1_500), Err(TokenError::Invalid));
        for junk in [
            "",
            "!",
            "00D000000000001!",
            "00D000000000001!!!",
            "00D000000000001!AAAA",
            "Bearer x",
        ] {
            assert_eq!(v.verify(junk, 1_500), Err(TokenError::Invalid), "{junk:?}");
        }
    }
}
