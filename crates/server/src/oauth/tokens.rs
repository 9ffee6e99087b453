//! Access tokens shaped like Salesforce's: `<orgId15>!<opaque>`, 108 characters.
//!
//! The opaque part is `base64url(kid || nonce || AES-256-GCM(body) || tag)`: a 2-byte key id, the
//! 12-byte random nonce (which is also the token id revocation records), and a 39-byte binary
//! body sealed with aws-lc-rs's AES-256-GCM, the org id, format and key id authenticated as
//! associated data. The body ([`Body`]) holds ids, not names: the user id and app id packed from
//! their 15 base-62 characters into 12 bytes each, the scopes as a bitmask over [`SCOPE_TABLE`]
//! (other scopes follow the fixed part by name, making the token longer), the issue time in
//! milliseconds and the lifetime. The username and consumer key are resolved when the token is
//! checked, from memory ([`super::principals`]). Tokens of the earlier format (JSON claims,
//! 4-byte key ids, ~500 characters) do not verify: upgrading the server invalidates outstanding
//! tokens, and clients get new ones as they would after expiry.
//!
//! The sealing keys are kept in the store ([`SEALING_KEY_PREFIX`]), so every instance sharing the
//! database mints and accepts the same tokens, tokens survive restarts, and checking one costs a
//! decryption, a few map lookups and a set lookup — no database round trip. Revoked token ids are
//! held in memory: this instance adds its own revocations at once, and a poller
//! ([`super::background`]) picks up other instances' within about half a second.
//!
//! Sealing keys rotate ([`SealingKey`]): each has a key id, written in clear before the nonce and
//! authenticated. The newest key whose activation time has come mints; every key verifies until
//! [`MAX_TOKEN_LIFETIME_MILLIS`] after its successor took over, so no token outlives the key that
//! sealed it and a retired key stops counting. A new key becomes active
//! [`KEY_ACTIVATION_DELAY_MILLIS`] after it is stored, so every instance (polling the store every
//! 500 ms) knows it before any instance mints with it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use byoc_store::Store;
use serde::{Deserialize, Serialize};

use super::principals::{self, Principals};

/// Names of sealing keys in the store's `server_keys`: this prefix and the key id in hex; the
/// row's `created_at` is the time the key becomes active. (Keys of the earlier formats,
/// `access_token_sealing_v1` and `access_token_sealing_v2/…`, are no longer read.)
pub const SEALING_KEY_PREFIX: &str = "access_token_sealing_v3/";
/// The key every instance creates on a fresh database (the same name, so they agree on it).
pub const FIRST_KEY_ID: [u8; KID_LEN] = [0; KID_LEN];
/// Two bytes: rotation draws an id no stored key has, and 65,536 leave room for any history.
pub const KID_LEN: usize = 2;
/// The longest access token lifetime (a policy's session timeout is at most 24 hours).
pub const MAX_TOKEN_LIFETIME_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// A rotated-in key mints only this long after it was stored (four poll intervals).
pub const KEY_ACTIVATION_DELAY_MILLIS: i64 = 2_000;
/// Bound into every token's associated data, so a body of another format never opens as this one.
const FORMAT: &[u8] = b"byoc-access-token-3";

/// The scopes a token's bitmask stands for, bit 0 first. Append only: a bit's meaning never
/// changes while tokens that use it may be outstanding. Other scopes are carried by name.
pub const SCOPE_TABLE: [&str; 21] = [
    "interaction_api",
    "refresh_token",
    "offline_access",
    "api",
    "full",
    "web",
    "openid",
    "id",
    "profile",
    "email",
    "address",
    "phone",
    "chatter_api",
    "custom_permissions",
    "visualforce",
    "lightning",
    "content",
    "wave_api",
    "pardot_api",
    "cdp_api",
    "sfap_api",
];

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

/// What an access token stands for. The token carries the ids, scopes and times; `token_id` is its
/// nonce (in hex), `org_id` its clear prefix, and `username` and `consumer_key` are resolved from
/// memory when it is opened (both empty for a session without an app, e.g. a SOAP login's).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Token id: what revocation records. Chosen by [`TokenVerifier::mint`] (the nonce): a value
    /// given to `mint` is ignored.
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
    /// Usernames and consumer keys by id: what tokens do not carry.
    names: Principals,
    /// Where a name this instance has not seen yet is read ([`TokenVerifier::verify_resolving`]).
    store: OnceLock<Store>,
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
            names: Principals::default(),
            store: OnceLock::new(),
            changes: tokio::sync::watch::channel(0).0,
        })
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The usernames and consumer keys tokens are resolved with.
    pub fn names(&self) -> &Principals {
        &self.names
    }

    /// Read names this instance has not seen from `store` ([`TokenVerifier::verify_resolving`]).
    pub fn attach_store(&self, store: Store) {
        let _ = self.store.set(store);
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

    /// Seal the claims into a token, with the key current at `claims.issued_at`. The token id is
    /// the random nonce (`claims.token_id` is not used); `org_id` must be this verifier's, and
    /// the user id and app id (empty for none) 15-character ids.
    pub fn mint(&self, claims: &AccessTokenClaims) -> anyhow::Result<String> {
        anyhow::ensure!(
            claims.org_id == self.org_id,
            "an access token of org {} can't be minted for org {}",
            claims.org_id,
            self.org_id
        );
        let body = Body::from_claims(claims)?.encode()?;
        let keys = self.keys();
        let key = keys
            .get(current_index(&keys, claims.issued_at))
            .ok_or_else(|| anyhow::anyhow!("no access token sealing key"))?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a token nonce"))?;
        let mut sealed = body;
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
        // The minting instance knows the names: later checks here need no lookup.
        self.names.remember_user(&claims.user_id, &claims.username);
        if !claims.app_id.is_empty() {
            self.names
                .remember_app(&claims.app_id, &claims.consumer_key);
        }
        Ok(format!("{}!{}", self.org_id, URL_SAFE_NO_PAD.encode(out)))
    }

    /// The associated data: the format, the org id and the key id.
    fn aad(&self, kid: &[u8; KID_LEN]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(FORMAT.len() + self.org_id.len() + KID_LEN);
        aad.extend_from_slice(FORMAT);
        aad.extend_from_slice(self.org_id.as_bytes());
        aad.extend_from_slice(kid);
        aad
    }

    /// Open a token without looking at expiry or revocation (any known key). Names this instance
    /// does not know yet come back empty (opening is for revoking a token, which needs its id).
    pub fn open(&self, bearer: &str) -> Result<AccessTokenClaims, TokenError> {
        let mut claims = self.open_at(bearer, None)?;
        self.fill_names(&mut claims);
        Ok(claims)
    }

    /// Open a token; with `now`, a key retired longer than the longest token lifetime ago no
    /// longer counts. The names are left empty.
    fn open_at(&self, bearer: &str, now: Option<i64>) -> Result<AccessTokenClaims, TokenError> {
        let (org, sealed) = bearer.trim().split_once('!').ok_or(TokenError::Invalid)?;
        // Tokens are small; refuse anything absurd before decoding it.
        if org != self.org_id || sealed.len() > 1024 {
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
        let nonce_bytes = bytes.get(KID_LEN..).unwrap_or_default();
        let token_id = hex::encode(nonce_bytes);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| TokenError::Invalid)?;
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
        let body = Body::decode(plain).ok_or(TokenError::Invalid)?;
        Ok(body.into_claims(token_id, &self.org_id))
    }

    /// Fill the names known here; whether every name the token needs was found.
    fn fill_names(&self, claims: &mut AccessTokenClaims) -> bool {
        let mut complete = true;
        match self.names.username(&claims.user_id) {
            Some(name) => claims.username = name,
            None => complete = false,
        }
        if !claims.app_id.is_empty() {
            match self.names.consumer_key(&claims.app_id) {
                Some(key) => claims.consumer_key = key,
                None => complete = false,
            }
        }
        complete
    }

    /// Sealed by this org's key, not expired, not revoked; the names unresolved.
    fn check(&self, bearer: &str, now_millis: i64) -> Result<AccessTokenClaims, TokenError> {
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

    /// Check a bearer token: sealed by this org's key, not expired, not revoked, its user (and
    /// app) known here. A user or app created on another instance less than a poll ago may not
    /// be known yet: the token is refused as invalid this once and the poller reloads at once;
    /// callers that can wait use [`TokenVerifier::verify_resolving`], which never refuses for
    /// that.
    pub fn verify(&self, bearer: &str, now_millis: i64) -> Result<AccessTokenClaims, TokenError> {
        let mut claims = self.check(bearer, now_millis)?;
        if !self.fill_names(&mut claims) {
            self.names.missed();
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    /// [`TokenVerifier::verify`] for callers that need the ids and scopes only (the Interaction
    /// API): names not known here yet come back empty instead of refusing the token.
    pub fn verify_ids(
        &self,
        bearer: &str,
        now_millis: i64,
    ) -> Result<AccessTokenClaims, TokenError> {
        let mut claims = self.check(bearer, now_millis)?;
        if !self.fill_names(&mut claims) {
            self.names.missed();
        }
        Ok(claims)
    }

    /// [`TokenVerifier::verify`], reading a name this instance has not seen yet from the store
    /// (once per new user or app; never in steady state).
    pub async fn verify_resolving(
        &self,
        bearer: &str,
        now_millis: i64,
    ) -> Result<AccessTokenClaims, TokenError> {
        let mut claims = self.check(bearer, now_millis)?;
        if self.fill_names(&mut claims) {
            return Ok(claims);
        }
        let Some(store) = self.store.get() else {
            return Err(TokenError::Invalid);
        };
        if self.names.username(&claims.user_id).is_none() {
            match principals::load_user(store, &claims.user_id).await {
                Ok(Some(name)) => self.names.remember_user(&claims.user_id, &name),
                Ok(None) => return Err(TokenError::Invalid),
                Err(e) => {
                    tracing::warn!(error = %e, "reading a token's user failed");
                    return Err(TokenError::Invalid);
                }
            }
        }
        if !claims.app_id.is_empty() && self.names.consumer_key(&claims.app_id).is_none() {
            match principals::load_app(store, &claims.app_id).await {
                Ok(Some(key)) => self.names.remember_app(&claims.app_id, &key),
                Ok(None) => return Err(TokenError::Invalid),
                Err(e) => {
                    tracing::warn!(error = %e, "reading a token's app failed");
                    return Err(TokenError::Invalid);
                }
            }
        }
        if self.fill_names(&mut claims) {
            Ok(claims)
        } else {
            Err(TokenError::Invalid)
        }
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

/// A token's sealed body: fixed fields, then scopes outside [`SCOPE_TABLE`] by name.
///
/// ```text
/// [0]      flags: bit 0 = an app, bit 1 = scopes by name follow; other bits 0
/// [1..13]  user id, 15 base-62 characters as one 96-bit number (big-endian)
/// [13..25] app id, the same (zeros without an app)
/// [25..29] scope bitmask over SCOPE_TABLE (u32, big-endian)
/// [29..35] issued at, ms since the epoch (u48, big-endian)
/// [35..39] lifetime, ms (u32, big-endian): expires at = issued at + lifetime
/// [39..]   with bit 1: a count, then that many (length, UTF-8 name)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
struct Body {
    user_id: String,
    app_id: String,
    scopes: Vec<String>,
    issued_at: i64,
    lifetime: u32,
}

const FLAG_APP: u8 = 1;
const FLAG_NAMED_SCOPES: u8 = 2;
const FIXED_LEN: usize = 39;
const ID_BYTES: usize = 12;
/// At most this many scopes by name, each at most this long (a token stays small).
const MAX_NAMED_SCOPES: usize = 8;
const MAX_SCOPE_NAME: usize = 64;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ISSUED_AT_LIMIT: i64 = 1 << 48;

impl Body {
    fn from_claims(c: &AccessTokenClaims) -> anyhow::Result<Body> {
        let lifetime = c.expires_at.checked_sub(c.issued_at).unwrap_or(-1);
        anyhow::ensure!(
            (0..ISSUED_AT_LIMIT).contains(&c.issued_at),
            "an access token's issue time is out of range"
        );
        Ok(Body {
            user_id: c.user_id.clone(),
            app_id: c.app_id.clone(),
            scopes: c.scopes.clone(),
            issued_at: c.issued_at,
            lifetime: u32::try_from(lifetime)
                .map_err(|_| anyhow::anyhow!("an access token's lifetime is out of range"))?,
        })
    }

    fn into_claims(self, token_id: String, org_id: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            token_id,
            org_id: org_id.to_string(),
            user_id: self.user_id,
            username: String::new(),
            app_id: self.app_id,
            consumer_key: String::new(),
            scopes: self.scopes,
            issued_at: self.issued_at,
            expires_at: self.issued_at + i64::from(self.lifetime),
        }
    }

    fn encode(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(FIXED_LEN);
        let mut mask = 0u32;
        let mut named: Vec<&str> = Vec::new();
        for scope in &self.scopes {
            match SCOPE_TABLE.iter().position(|s| s == scope) {
                Some(bit) => mask |= 1 << bit,
                None if !named.contains(&scope.as_str()) => named.push(scope),
                None => {}
            }
        }
        anyhow::ensure!(
            named.len() <= MAX_NAMED_SCOPES
                && named
                    .iter()
                    .all(|n| !n.is_empty() && n.len() <= MAX_SCOPE_NAME),
            "an access token can carry at most {MAX_NAMED_SCOPES} scopes outside its table, of \
             1 to {MAX_SCOPE_NAME} bytes"
        );
        let mut flags = 0;
        if !self.app_id.is_empty() {
            flags |= FLAG_APP;
        }
        if !named.is_empty() {
            flags |= FLAG_NAMED_SCOPES;
        }
        out.push(flags);
        out.extend_from_slice(&pack_id(&self.user_id)?);
        if self.app_id.is_empty() {
            out.extend_from_slice(&[0; ID_BYTES]);
        } else {
            out.extend_from_slice(&pack_id(&self.app_id)?);
        }
        out.extend_from_slice(&mask.to_be_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes()[2..]);
        out.extend_from_slice(&self.lifetime.to_be_bytes());
        if !named.is_empty() {
            out.push(named.len() as u8);
            for name in named {
                out.push(name.len() as u8);
                out.extend_from_slice(name.as_bytes());
            }
        }
        Ok(out)
    }

    /// `None` for anything [`Body::encode`] does not write.
    fn decode(bytes: &[u8]) -> Option<Body> {
        let (fixed, mut rest) = bytes.split_at_checked(FIXED_LEN)?;
        let flags = fixed[0];
        if flags & !(FLAG_APP | FLAG_NAMED_SCOPES) != 0 {
            return None;
        }
        let user_id = unpack_id(&fixed[1..13])?;
        let app_id = if flags & FLAG_APP != 0 {
            unpack_id(&fixed[13..25])?
        } else if fixed[13..25] == [0; ID_BYTES] {
            String::new()
        } else {
            return None;
        };
        let mask = u32::from_be_bytes(fixed[25..29].try_into().ok()?);
        let mut issued = [0u8; 8];
        issued[2..].copy_from_slice(&fixed[29..35]);
        let issued_at = i64::from_be_bytes(issued);
        let lifetime = u32::from_be_bytes(fixed[35..39].try_into().ok()?);
        if mask >> SCOPE_TABLE.len() != 0 {
            return None;
        }
        let mut scopes: Vec<String> = SCOPE_TABLE
            .iter()
            .enumerate()
            .filter(|(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, s)| s.to_string())
            .collect();
        if flags & FLAG_NAMED_SCOPES != 0 {
            let (&count, tail) = rest.split_first()?;
            rest = tail;
            if count == 0 || usize::from(count) > MAX_NAMED_SCOPES {
                return None;
            }
            for _ in 0..count {
                let (&len, tail) = rest.split_first()?;
                let (name, tail) = tail.split_at_checked(usize::from(len))?;
                rest = tail;
                scopes.push(String::from_utf8(name.to_vec()).ok()?);
            }
        }
        rest.is_empty().then_some(Body {
            user_id,
            app_id,
            scopes,
            issued_at,
            lifetime,
        })
    }
}

/// A 15-character id (3-character key prefix and 12 base-62 characters, `byoc_core::ids`) as
/// one base-62 number in 12 bytes (62^15 < 2^96).
fn pack_id(id: &str) -> anyhow::Result<[u8; ID_BYTES]> {
    anyhow::ensure!(id.len() == 15, "{id:?} is not a 15-character id");
    let mut n: u128 = 0;
    for b in id.bytes() {
        let digit = BASE62
            .iter()
            .position(|&c| c == b)
            .ok_or_else(|| anyhow::anyhow!("{id:?} is not a 15-character id"))?;
        n = n * 62 + digit as u128;
    }
    let mut out = [0u8; ID_BYTES];
    out.copy_from_slice(&n.to_be_bytes()[16 - ID_BYTES..]);
    Ok(out)
}

fn unpack_id(bytes: &[u8]) -> Option<String> {
    let mut full = [0u8; 16];
    full[16 - ID_BYTES..].copy_from_slice(bytes);
    let mut n = u128::from_be_bytes(full);
    let mut chars = [0u8; 15];
    for c in chars.iter_mut().rev() {
        *c = BASE62[(n % 62) as usize];
        n /= 62;
    }
    // A number past 62^15 - 1 is no id.
    (n == 0).then(|| String::from_utf8_lossy(&chars).into_owned())
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

    const ORG: &str = "00D000000000001";

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            token_id: String::new(),
            org_id: ORG.into(),
            user_id: "005Ab0000000xYz".into(),
            username: "a@example.com".into(),
            app_id: "0xIzzzzzzzzzzzz".into(),
            consumer_key: "3MVG9".into(),
            scopes: vec![
                "interaction_api".into(),
                "refresh_token".into(),
                "offline_access".into(),
            ],
            issued_at: 1_000,
            expires_at: 2_000,
        }
    }

    /// The claims a verifier gives back: the token id is the token's.
    fn opened(token_id: &str) -> AccessTokenClaims {
        AccessTokenClaims {
            token_id: token_id.into(),
            ..claims()
        }
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(&[7u8; 32], ORG).unwrap()
    }

    #[test]
    fn tokens_are_shaped_like_salesforce_s_and_round_trip() {
        let v = verifier();
        let now = 1_700_000_000_000;
        let mut c = claims();
        c.issued_at = now;
        c.expires_at = now + MAX_TOKEN_LIFETIME_MILLIS;
        let t = v.mint(&c).unwrap();
        assert_eq!(t.len(), 108, "{t}");
        let (org, opaque) = t.split_once('!').unwrap();
        assert_eq!(org, ORG);
        assert!(opaque
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let back = v.verify(&t, now + 1).unwrap();
        assert_eq!(back.token_id.len(), 24);
        assert_eq!(
            back,
            AccessTokenClaims {
                token_id: back.token_id.clone(),
                ..c
            }
        );
        // Two mints of the same claims differ (fresh nonce, hence fresh token id).
        let again = v.mint(&claims()).unwrap();
        assert_ne!(
            v.verify(&again, 1_500).unwrap().token_id,
            v.verify(&v.mint(&claims()).unwrap(), 1_500)
                .unwrap()
                .token_id
        );
    }

    #[test]
    fn a_session_without_an_app_and_scopes_outside_the_table_round_trip() {
        let v = verifier();
        // A SOAP login's session id: no app, `api web full`.
        let session = AccessTokenClaims {
            app_id: String::new(),
            consumer_key: String::new(),
            scopes: vec!["api".into(), "web".into(), "full".into()],
            ..claims()
        };
        let t = v.mint(&session).unwrap();
        assert_eq!(t.len(), 108);
        let back = v.verify(&t, 1_500).unwrap();
        assert_eq!(back.app_id, "");
        assert_eq!(back.consumer_key, "");
        // Scopes come back in the table's order, once each.
        assert_eq!(back.scopes, ["api", "full", "web"]);
        let mut odd = claims();
        odd.scopes = vec![
            "api".into(),
            "my_scope".into(),
            "api".into(),
            "other".into(),
        ];
        let t = v.mint(&odd).unwrap();
        assert!(t.len() > 108 && t.len() < 140, "{}", t.len());
        assert_eq!(
            v.verify(&t, 1_500).unwrap().scopes,
            ["api", "my_scope", "other"]
        );
        let mut too_many = claims();
        too_many.scopes = (0..9).map(|i| format!("s{i}")).collect();
        assert!(v.mint(&too_many).is_err());
    }

    #[test]
    fn claims_a_token_can_not_hold_are_refused_at_mint() {
        let v = verifier();
        for broken in [
            AccessTokenClaims {
                user_id: "005000000000001AAA".into(),
                ..claims()
            },
            AccessTokenClaims {
                user_id: "005-00000000001".into(),
                ..claims()
            },
            AccessTokenClaims {
                user_id: String::new(),
                ..claims()
            },
            AccessTokenClaims {
                app_id: "0xI".into(),
                ..claims()
            },
            AccessTokenClaims {
                org_id: "00D000000000002".into(),
                ..claims()
            },
            AccessTokenClaims {
                expires_at: 999,
                ..claims()
            },
            AccessTokenClaims {
                expires_at: 1_000 + (1 << 32),
                ..claims()
            },
            AccessTokenClaims {
                issued_at: -1,
                ..claims()
            },
        ] {
            assert!(v.mint(&broken).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn ids_pack_into_twelve_bytes_and_back() {
        for id in [
            "000000000000000",
            "zzzzzzzzzzzzzzz",
            "005Ab0000000xYz",
            "0xI9Zz8Yy7Xx6Ww",
            "00D000000000001",
        ] {
            assert_eq!(unpack_id(&pack_id(id).unwrap()).unwrap(), id);
        }
        // Past 62^15 - 1 is no id.
        assert_eq!(unpack_id(&[0xff; ID_BYTES]), None);
    }

    #[test]
    fn rotated_keys_mint_after_activation_and_verify_until_retired_long_enough() {
        let first = || SealingKey::new(FIRST_KEY_ID, &[7u8; 32], 0).unwrap();
        let v = TokenVerifier::with_keys(vec![first()], ORG).unwrap();
        let old = v.mint(&claims()).unwrap();
        assert_eq!(TokenVerifier::key_id_of(&old).unwrap(), "0000");
        v.set_keys(vec![
            first(),
            SealingKey::new([1, 2], &[9u8; 32], 1_200).unwrap(),
        ]);
        // Before its activation the new key verifies nothing new but mints nothing either.
        let mut c = claims();
        c.issued_at = 1_100;
        assert_eq!(
            TokenVerifier::key_id_of(&v.mint(&c).unwrap()).unwrap(),
            "0000"
        );
        c.issued_at = 1_300;
        let new = v.mint(&c).unwrap();
        assert_eq!(TokenVerifier::key_id_of(&new).unwrap(), "0102");
        assert!(v.verify(&old, 1_500).is_ok());
        assert!(v.verify(&new, 1_500).is_ok());
        let states: Vec<_> = v.key_status(1_500).into_iter().map(|k| k.state).collect();
        assert_eq!(states, ["retired", "current"]);
        // A token of the retired key, even one claiming the farthest expiry a token can hold,
        // stops counting once the longest token lifetime has passed since the key retired.
        let mut forever = claims();
        forever.expires_at = forever.issued_at + i64::from(u32::MAX);
        let v_old = TokenVerifier::with_keys(vec![first()], ORG).unwrap();
        let forged = v_old.mint(&forever).unwrap();
        assert!(v
            .verify(&forged, 1_200 + MAX_TOKEN_LIFETIME_MILLIS - 1)
            .is_ok());
        assert_eq!(
            v.verify(&forged, 1_200 + MAX_TOKEN_LIFETIME_MILLIS),
            Err(TokenError::Invalid)
        );
        // A kid this verifier does not know is refused, and so is a known kid on another key.
        for stranger in [
            SealingKey::new([9, 9], &[7u8; 32], 0).unwrap(),
            SealingKey::new([1, 2], &[7u8; 32], 0).unwrap(),
        ] {
            let stranger = TokenVerifier::with_keys(vec![stranger], ORG).unwrap();
            assert_eq!(
                v.verify(&stranger.mint(&claims()).unwrap(), 1_500),
                Err(TokenError::Invalid)
            );
        }
    }

    #[test]
    fn mint_verify_expire_revoke() {
        let v = verifier();
        let t = v.mint(&claims()).unwrap();
        assert!(t.starts_with("00D000000000001!"));
        let back = v.verify(&t, 1_500).unwrap();
        assert_eq!(back, opened(&back.token_id));
        assert_eq!(v.open(&t).unwrap(), back, "open ignores the clock");
        assert_eq!(v.verify(&t, 2_000), Err(TokenError::Expired));
        let other = v.mint(&claims()).unwrap();
        v.add_revoked([back.token_id.clone()]);
        assert_eq!(v.verify(&t, 1_500), Err(TokenError::Revoked));
        assert!(v.verify(&other, 1_500).is_ok(), "only that token");
    }

    #[test]
    fn revoking_a_user_or_an_app_refuses_their_older_tokens_only() {
        let v = verifier();
        let user = claims().user_id;
        let t = v.mint(&claims()).unwrap();
        let mut changes = v.revocation_changes();
        v.revoke_principals([(user.clone(), 999)]);
        assert!(v.verify(&t, 1_500).is_ok(), "issued after the revocation");
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        v.revoke_principals([(user.clone(), 999)]);
        assert!(!changes.has_changed().unwrap(), "nothing new");
        v.revoke_principals([(claims().app_id, 1_000)]);
        assert_eq!(v.verify(&t, 1_500), Err(TokenError::Revoked));
        assert!(changes.has_changed().unwrap());
        let other = verifier();
        other.revoke_principals([(user, 5_000)]);
        assert_eq!(other.verify(&t, 1_500), Err(TokenError::Revoked));
    }

    /// Another instance shares the sealing keys but learns names from its store: until it has,
    /// `verify` refuses (and asks for a reload), `verify_ids` answers without the names.
    #[tokio::test]
    async fn a_token_minted_on_one_instance_verifies_on_another_sharing_the_keys() {
        let a = verifier();
        let b = verifier();
        let t = a.mint(&claims()).unwrap();
        assert_eq!(b.verify(&t, 1_500), Err(TokenError::Invalid));
        // The miss woke the poller's wait.
        tokio::time::timeout(std::time::Duration::from_secs(1), b.names().wait_missed())
            .await
            .expect("a miss is signalled");
        let ids = b.verify_ids(&t, 1_500).unwrap();
        assert_eq!(
            (ids.user_id.as_str(), ids.username.as_str()),
            (claims().user_id.as_str(), "")
        );
        // No store attached: nothing to resolve from.
        assert_eq!(
            b.verify_resolving(&t, 1_500).await,
            Err(TokenError::Invalid)
        );
        b.names().merge(principals::Names {
            users: [(claims().user_id, "renamed@example.com".to_string())].into(),
            apps: [(claims().app_id, "3MVG9".to_string())].into(),
        });
        let back = b.verify(&t, 1_500).unwrap();
        assert_eq!(back.username, "renamed@example.com", "the name of now");
        assert_eq!(b.verify_resolving(&t, 1_500).await.unwrap(), back);
        // A session without an app needs only its user.
        let session = AccessTokenClaims {
            app_id: String::new(),
            consumer_key: String::new(),
            ..claims()
        };
        assert!(b.verify(&a.mint(&session).unwrap(), 1_500).is_ok());
    }

    #[test]
    fn foreign_or_tampered_tokens_are_invalid() {
        let v = verifier();
        let other_key = TokenVerifier::new(&[8u8; 32], ORG).unwrap();
        let t = v.mint(&claims()).unwrap();
        assert_eq!(other_key.verify(&t, 1_500), Err(TokenError::Invalid));
        // Every character of the opaque part matters (the last one carries 4 of 6 bits).
        let opaque_from = ORG.len() + 1;
        for i in opaque_from..t.len() {
            let mut tampered = t.clone().into_bytes();
            tampered[i] = if tampered[i] == b'A' { b'Q' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert_eq!(v.verify(&tampered, 1_500), Err(TokenError::Invalid), "{i}");
        }
        let other_org = t.replacen(ORG, "00D000000000002", 1);
        assert_eq!(v.verify(&other_org, 1_500), Err(TokenError::Invalid));
        let other_org_verifier = TokenVerifier::new(&[7u8; 32], "00D000000000002").unwrap();
        assert_eq!(
            other_org_verifier.verify(&other_org, 1_500),
            Err(TokenError::Invalid)
        );
        // A token of the previous format (4-byte key id, JSON claims) is refused.
        let old = format!("{ORG}!{}", URL_SAFE_NO_PAD.encode([0u8; 400]));
        assert_eq!(v.verify(&old, 1_500), Err(TokenError::Invalid));
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

    #[test]
    fn bodies_other_than_the_encoder_s_do_not_decode() {
        let body = Body::from_claims(&claims()).unwrap();
        let bytes = body.encode().unwrap();
        assert_eq!(bytes.len(), FIXED_LEN);
        assert_eq!(Body::decode(&bytes).unwrap(), body);
        let mut unknown_flag = bytes.clone();
        unknown_flag[0] |= 4;
        let mut no_app_but_bytes = bytes.clone();
        no_app_but_bytes[0] &= !FLAG_APP;
        let mut high_scope_bit = bytes.clone();
        high_scope_bit[25] = 0x80;
        let mut trailing = bytes.clone();
        trailing.push(0);
        let mut named_missing = bytes.clone();
        named_missing[0] |= FLAG_NAMED_SCOPES;
        for bad in [
            unknown_flag,
            no_app_but_bytes,
            high_scope_bit,
            trailing,
            named_missing,
            bytes[..FIXED_LEN - 1].to_vec(),
        ] {
            assert_eq!(Body::decode(&bad), None, "{bad:?}");
        }
    }
}
