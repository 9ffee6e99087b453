//! In-memory caches that keep the token endpoint off the database and off X.509 parsing.
//!
//! - [`Directory`]: apps by consumer key and users by username, as the store has them. It is
//!   emptied when this process writes setup records (the store's generation counter) and when
//!   the poller sees another instance's writes (the store's setup fingerprint), so a change made
//!   through any instance is seen here at once or within about half a second.
//! - [`KeyCache`]: the RSA public key of each app certificate, parsed once per app id and
//!   certificate fingerprint into aws-lc-rs's verification key (its Montgomery constants
//!   included, which are most of the cost of parsing it per call), implementing the domain's
//!   [`SignatureVerifier`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use byoc_core::oauth::{Assertion, SignatureOutcome, SignatureVerifier};
use byoc_proto::setup::{App, Certificate, User};
use byoc_store::oauth::SetupFingerprint;
use byoc_store::{Store, StoreError};

/// Past this many cached lookups (unknown keys included) the cache starts over, so a flood of
/// made-up consumer keys or usernames can't grow it without bound.
const MAX_ENTRIES: usize = 20_000;

#[derive(Default)]
struct Entries {
    generation: u64,
    fingerprint: SetupFingerprint,
    apps: HashMap<String, Option<Arc<App>>>,
    users: HashMap<String, Option<Arc<User>>>,
}

impl Entries {
    fn clear(&mut self) {
        self.apps.clear();
        self.users.clear();
    }
}

pub struct Directory {
    store: Store,
    entries: RwLock<Entries>,
}

impl Directory {
    pub fn new(store: Store, fingerprint: SetupFingerprint) -> Directory {
        let generation = store.generation();
        Directory {
            store,
            entries: RwLock::new(Entries {
                generation,
                fingerprint,
                ..Entries::default()
            }),
        }
    }

    /// Forget everything if another instance changed setup records.
    pub fn observe_fingerprint(&self, fingerprint: SetupFingerprint) {
        if let Ok(mut e) = self.entries.write() {
            if e.fingerprint != fingerprint {
                e.fingerprint = fingerprint;
                e.clear();
            }
        }
    }

    fn cached<T>(&self, pick: impl Fn(&Entries) -> Option<T>) -> Option<T> {
        let generation = self.store.generation();
        {
            let e = self.entries.read().ok()?;
            if e.generation == generation {
                return pick(&e);
            }
        }
        if let Ok(mut e) = self.entries.write() {
            if e.generation != generation {
                e.generation = generation;
                e.clear();
            }
        }
        None
    }

    fn remember(&self, generation_before: u64, put: impl FnOnce(&mut Entries)) {
        // A write that landed while we read may have been missed by the read: keep nothing then.
        if self.store.generation() != generation_before {
            return;
        }
        if let Ok(mut e) = self.entries.write() {
            if e.generation != generation_before {
                return;
            }
            if e.apps.len() + e.users.len() >= MAX_ENTRIES {
                e.clear();
            }
            put(&mut e);
        }
    }

    /// The app answering to this consumer key.
    pub async fn app_by_consumer_key(&self, key: &str) -> Result<Option<Arc<App>>, StoreError> {
        if let Some(hit) = self.cached(|e| e.apps.get(key).cloned()) {
            return Ok(hit);
        }
        let before = self.store.generation();
        let app = self.store.app_by_consumer_key(key).await?.map(Arc::new);
        self.remember(before, |e| {
            e.apps.insert(key.to_string(), app.clone());
        });
        Ok(app)
    }

    /// The user with this username (case-insensitive).
    pub async fn user(&self, username: &str) -> Result<Option<Arc<User>>, StoreError> {
        let k = username.to_lowercase();
        if let Some(hit) = self.cached(|e| e.users.get(&k).cloned()) {
            return Ok(hit);
        }
        let before = self.store.generation();
        let user = self.store.user(&k).await?.map(Arc::new);
        self.remember(before, |e| {
            e.users.insert(k.clone(), user.clone());
        });
        Ok(user)
    }
}

/// (app id, certificate SHA-256 fingerprint).
type CertificateId = (String, String);

/// Parsed certificate keys by (app id, certificate fingerprint), for RS256 (RSASSA-PKCS1-v1_5
/// with SHA-256, [RFC 7518 §3.3](https://www.rfc-editor.org/rfc/rfc7518#section-3.3)). A bad
/// certificate is cached as `None` so it is not parsed again either.
#[derive(Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<CertificateId, Option<Arc<ParsedPublicKey>>>>,
}

impl KeyCache {
    fn key_for(&self, app: &App, certificate: &Certificate) -> Option<Arc<ParsedPublicKey>> {
        let id = (app.id.clone(), certificate.sha256_fingerprint.clone());
        if let Some(hit) = self.keys.read().ok().and_then(|k| k.get(&id).cloned()) {
            return hit;
        }
        let parsed = byoc_pki::parse_certificate(&certificate.pem)
            .ok()
            .and_then(|info| {
                ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &info.rsa_public_key_pkcs1_der)
                    .ok()
            })
            .map(Arc::new);
        if let Ok(mut keys) = self.keys.write() {
            // Old certificates of the same app are dropped with the rest when the map gets big.
            if keys.len() >= MAX_ENTRIES {
                keys.clear();
            }
            keys.insert(id, parsed.clone());
        }
        parsed
    }
}

impl SignatureVerifier for KeyCache {
    fn verify(
        &self,
        app: &App,
        certificate: &Certificate,
        assertion: &Assertion,
    ) -> SignatureOutcome {
        let Some(key) = self.key_for(app, certificate) else {
            return SignatureOutcome::UnusableKey;
        };
        // The JWS signature segment is base64url without padding (RFC 7515 §2).
        let Ok(signature) = URL_SAFE_NO_PAD.decode(&assertion.signature) else {
            return SignatureOutcome::Invalid;
        };
        match key.verify_sig(assertion.signing_input.as_bytes(), &signature) {
            Ok(()) => SignatureOutcome::Valid,
            Err(_) => SignatureOutcome::Invalid,
        }
    }
}
