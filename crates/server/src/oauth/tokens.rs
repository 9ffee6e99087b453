//! Access tokens: `<orgId15>!<base64url(kid || nonce || AES-256-GCM(claims))>`.
//!
//! The claims are sealed with a key kept in the store ([`SEALING_KEY_PREFIX`]), so every instance
//! sharing the database mints and accepts the same tokens, tokens survive restarts, and checking
//! one costs a decryption and a set lookup — no database round trip. Revoked token ids are held in
//! memory: this instance adds its own revocations at once, and a poller
//! ([`super::background`]) picks up other instances' within about half a second.
//!
//! Sealing keys rotate ([`SealingKey`]): each has a 4-byte key id, written in clear before the
//! nonce and authenticated as associated data. The newest key whose activation time has come
//! mints; every key verifies until [`MAX_TOKEN_LIFETIME_MILLIS`] after its successor took over,
//! so no token outlives the key that sealed it and a retired key stops counting. A new key
//! becomes active [`KEY_ACTIVATION_DELAY_MILLIS`] after it is stored, so every instance (polling
//! the store every 500 ms) knows it before any instance mints with it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Names of sealing keys in the store's `server_keys`: this prefix and the key id in hex; the
/// row's `created_at` is the time the key becomes active. (`access_token_sealing_v1`, the single
/// key before key ids, is no longer read: tokens it sealed were invalidated once.)
pub const SEALING_KEY_PREFIX: &str = "access_token_sealing_v2/";
/// The key every instance creates on a fresh database (the same name, so they agree on it).
pub const FIRST_KEY_ID: [u8; KID_LEN] = [0; KID_LEN];
pub const KID_LEN: usize = 4;
/// The longest access token lifetime (a policy's session timeout is at most 24 hours).
pub const MAX_TOKEN_LIFETIME_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// A rotated-in key mints only this long after it was stored (four poll intervals).
pub const KEY_ACTIVATION_DELAY_MILLIS: i64 = 2_000;

/// One sealing key: its id, when it starts minting, and the AES-256-GCM key.
pub struct SealingKey {
    pub kid: [u8; KID_LEN],
    pub active_from: i64,
    key: LessSafeKey,
}

impl SealingKey {
    pub fn new(kid: [u8; KID_LEN], secret: &[u8], active_from: i64) -> anyhow::Result<SealingKey> {
        let unbound = UnboundKey::new(&AES_256_GCM, secret)
            .map_err(|_| anyhow::anyhow!("an access token sealing key is not 32 bytes"))?;
        Ok(SealingKey {
            kid,
            active_from,
            key: LessSafeKey::new(unbound),
        })
    }

    /// A `server_keys` row, if it is a sealing key of this format.
    pub fn from_row(name: &str, key_hex: &str, created_at: i64) -> Option<SealingKey> {
        let kid: [u8; KID_LEN] = hex::decode(name.strip_prefix(SEALING_KEY_PREFIX)?)
            .ok()?
            .try_into()
            .ok()?;
        let secret = hex::decode(key_hex.trim()).ok()?;
        SealingKey::new(kid, &secret, created_at).ok()
    }

    /// The `server_keys` name of key id `kid`.
    pub fn row_name(kid: &[u8; KID_LEN]) -> String {
        format!("{SEALING_KEY_PREFIX}{}", hex::encode(kid))
    }
}

/// Where a key stands at some time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStatus {
    pub key_id: String,
    pub active_from: i64,
    /// `pending` (not minting yet), `current` (mints), `retired` (verifies until `verifiesUntil`).
    pub state: &'static str,
    pub verifies_until: Option<i64>,
}

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
    /// Sorted by activation time (then key id).
    keys: RwLock<Arc<Vec<SealingKey>>>,
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
        TokenVerifier::with_keys(vec![SealingKey::new(FIRST_KEY_ID, key, 0)?], org_id)
    }

    /// A verifier with these sealing keys (at least one).
    pub fn with_keys(keys: Vec<SealingKey>, org_id: &str) -> anyhow::Result<TokenVerifier> {
        anyhow::ensure!(!keys.is_empty(), "no access token sealing key");
        Ok(TokenVerifier {
            keys: RwLock::new(Arc::new(sorted(keys))),
            org_id: org_id.to_string(),
            revoked: RwLock::new(HashSet::new()),
            principals: RwLock::new(HashMap::new()),
            changes: tokio::sync::watch::channel(0).0,
        })
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Replace the sealing keys (the poller, after reading the store); an empty list is ignored.
    pub fn set_keys(&self, keys: Vec<SealingKey>) {
        if keys.is_empty() {
            return;
        }
        if let Ok(mut slot) = self.keys.write() {
            *slot = Arc::new(sorted(keys));
        }
    }

    fn keys(&self) -> Arc<Vec<SealingKey>> {
        self.keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The ids of the keys known here, with their state at `now`.
    pub fn key_status(&self, now: i64) -> Vec<KeyStatus> {
        let keys = self.keys();
        let current = current_index(&keys, now);
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                let retired_at = successor_activation(&keys, i, now);
                KeyStatus {
                    key_id: hex::encode(k.kid),
                    active_from: k.active_from,
                    state: if i == current {
                        "current"
                    } else if k.active_from > now {
                        "pending"
                    } else {
                        "retired"
                    },
                    verifies_until: retired_at.map(|t| t.saturating_add(MAX_TOKEN_LIFETIME_MILLIS)),
                }
            })
            .collect()
    }

    /// The key id a token was sealed with (hex), if it has the shape of one.
    pub fn key_id_of(bearer: &str) -> Option<String> {
        let (_, sealed) = bearer.trim().split_once('!')?;
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        bytes.get(..KID_LEN).map(hex::encode)
    }

    /// Seal the claims into a token, with the key current at `claims.issued_at`.
    pub fn mint(&self, claims: &AccessTokenClaims) -> anyhow::Result<String> {
        let keys = self.keys();
        let key = keys
            .get(current_index(&keys, claims.issued_at))
            .ok_or_else(|| anyhow::anyhow!("no access token sealing key"))?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a token nonce"))?;
        let mut sealed = serde_json::to_vec(claims)?;
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(&key.kid)),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("sealing an access token failed"))?;
        let mut out = Vec::with_capacity(KID_LEN + NONCE_LEN + sealed.len());
        out.extend_from_slice(&key.kid);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{}!{}", self.org_id, URL_SAFE_NO_PAD.encode(out)))
    }

    /// The associated data: the org id and the key id.
    fn aad(&self, kid: &[u8; KID_LEN]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.org_id.len() + KID_LEN);
        aad.extend_from_slice(self.org_id.as_bytes());
        aad.extend_from_slice(kid);
        aad
    }

    /// Open a token without looking at expiry or revocation (any known key).
    pub fn open(&self, bearer: &str) -> Result<AccessTokenClaims, TokenError> {
        self.open_at(bearer, None)
    }

    /// Open a token; with `now`, a key retired longer than the longest token lifetime ago no
    /// longer counts.
    fn open_at(&self, bearer: &str, now: Option<i64>) -> Result<AccessTokenClaims, TokenError> {
        let (org, sealed) = bearer.trim().split_once('!').ok_or(TokenError::Invalid)?;
        // Tokens are small; refuse anything absurd before decoding it.
        if org != self.org_id || sealed.len() > 8 * 1024 {
            return Err(TokenError::Invalid);
        }
        let mut bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| TokenError::Invalid)?;
        if bytes.len() < KID_LEN + NONCE_LEN {
            return Err(TokenError::Invalid);
        }
        let mut ciphertext = bytes.split_off(KID_LEN + NONCE_LEN);
        let kid: [u8; KID_LEN] = bytes
            .get(..KID_LEN)
            .and_then(|k| k.try_into().ok())
            .ok_or(TokenError::Invalid)?;
        let nonce = Nonce::try_assume_unique_for_key(bytes.get(KID_LEN..).unwrap_or_default())
            .map_err(|_| TokenError::Invalid)?;
        let keys = self.keys();
        let index = keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or(TokenError::Invalid)?;
        if let Some(now) = now {
            if successor_activation(&keys, index, now)
                .is_some_and(|t| t.saturating_add(MAX_TOKEN_LIFETIME_MILLIS) <= now)
            {
                return Err(TokenError::Invalid);
            }
        }
        // The tag check is constant-time inside aws-lc.
        let plain = keys[index]
            .key
            .open_in_place(nonce, Aad::from(self.aad(&kid)), &mut ciphertext)
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
        let claims = self.open_at(bearer, Some(now_millis))?;
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

fn sorted(mut keys: Vec<SealingKey>) -> Vec<SealingKey> {
    keys.sort_by_key(|k| (k.active_from, k.kid));
    keys
}

/// The key that mints at `now`: the last one active by then (the first if none is yet).
fn current_index(keys: &[SealingKey], now: i64) -> usize {
    keys.iter().rposition(|k| k.active_from <= now).unwrap_or(0)
}

/// When key `i` stopped minting: the activation of the next key, if that has come by `now`.
fn successor_activation(keys: &[SealingKey], i: usize, now: i64) -> Option<i64> {
    keys.get(i + 1)
        .map(|next| next.active_from)
        .filter(|t| *t <= now)
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
    fn rotated_keys_mint_after_activation_and_verify_until_retired_long_enough() {
        let first = || SealingKey::new(FIRST_KEY_ID, &[7u8; 32], 0).unwrap();
        let v = TokenVerifier::with_keys(vec![first()], "00D000000000001").unwrap();
        let old = v.mint(&claims()).unwrap();
        assert_eq!(TokenVerifier::key_id_of(&old).unwrap(), "00000000");
        v.set_keys(vec![
            first(),
            SealingKey::new([1, 2, 3, 4], &[9u8; 32], 1_200).unwrap(),
        ]);
        // Before its activation the new key verifies nothing new but mints nothing either.
        let mut c = claims();
        c.issued_at = 1_100;
        assert_eq!(
            TokenVerifier::key_id_of(&v.mint(&c).unwrap()).unwrap(),
            "00000000"
        );
        c.issued_at = 1_300;
        let new = v.mint(&c).unwrap();
        assert_eq!(TokenVerifier::key_id_of(&new).unwrap(), "01020304");
        assert!(v.verify(&old, 1_500).is_ok());
        assert!(v.verify(&new, 1_500).is_ok());
        let states: Vec<_> = v.key_status(1_500).into_iter().map(|k| k.state).collect();
        assert_eq!(states, ["retired", "current"]);
        // A token of the retired key, even one claiming a far expiry, stops counting once the
        // longest token lifetime has passed since the key retired.
        let mut forever = claims();
        forever.expires_at = i64::MAX;
        let v_old = TokenVerifier::with_keys(vec![first()], "00D000000000001").unwrap();
        let forged = v_old.mint(&forever).unwrap();
        assert!(v
            .verify(&forged, 1_200 + MAX_TOKEN_LIFETIME_MILLIS - 1)
            .is_ok());
        assert_eq!(
            v.verify(&forged, 1_200 + MAX_TOKEN_LIFETIME_MILLIS),
            Err(TokenError::Invalid)
        );
        // A kid this verifier does not know is refused.
        let stranger = TokenVerifier::with_keys(
            vec![SealingKey::new([9, 9, 9, 9], &[7u8; 32], 0).unwrap()],
            "00D000000000001",
        )
        .unwrap();
        assert_eq!(
            v.verify(&stranger.mint(&claims()).unwrap(), 1_500),
            Err(TokenError::Invalid)
        );
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
