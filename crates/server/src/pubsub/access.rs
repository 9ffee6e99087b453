//! What the Pub/Sub host knows of Setup, kept in memory: the users, the permission sets and the
//! admin credentials (by digest). Two things depend on it:
//!
//! - who may use a topic: Salesforce's rule that subscribing (and GetTopic/GetSchema) needs *Read*
//!   on the platform event and publishing needs *Create*
//!   ([`byoc_core::permissions::event_access`]), checked on every call without a database round
//!   trip;
//! - the admin credential as a session id ([`super::auth::AdminCredentialCheck`]): a token the
//!   OAuth verifier refused is looked up here, so a token that is not valid costs no database
//!   query.
//!
//! The snapshot is reloaded (one listing of users, permission sets and admin credentials) when
//! the store's generation moved: this process wrote setup records, or another instance did and
//! its change notice arrived ([`byoc_store::notify`], pushed at the other instance's commit), so
//! a permission change takes effect here at once or within milliseconds. A safety poll
//! ([`poll`], every [`SAFETY_POLL`]) also compares the setup fingerprint, for writers that raise
//! no notice (another process writing the same SQLite file).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use byoc_core::permissions::{event_access, EventAccess};
use byoc_proto::setup::{PermissionSet, User};
use byoc_store::oauth::SetupFingerprint;
use byoc_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use super::auth::Grant;

/// How often the safety poll reads the setup fingerprint (as the OAuth host's does).
pub const SAFETY_POLL: Duration = crate::oauth::background::SAFETY_POLL;

/// One consistent reading of the setup records the Pub/Sub host needs.
pub struct Snapshot {
    /// The store generation it was read under.
    generation: u64,
    /// The fingerprint the poller had observed when it was read, and the one read from the
    /// database just before the records: the poller reporting either is no news.
    observed: Option<SetupFingerprint>,
    fingerprint: SetupFingerprint,
    pub org_id: Option<String>,
    /// Users by 15- and 18-character id.
    users: HashMap<String, Arc<User>>,
    /// Lowercase username → 15-character id.
    usernames: HashMap<String, String>,
    pub permission_sets: Vec<PermissionSet>,
    /// Admin credential SHA-256 hex digest → username.
    admin_credentials: HashMap<String, String>,
}

impl Snapshot {
    pub fn user_by_id(&self, id: &str) -> Option<&Arc<User>> {
        self.users.get(id)
    }

    pub fn user_by_username(&self, username: &str) -> Option<&Arc<User>> {
        self.usernames
            .get(&username.to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The username an admin credential digest stands for.
    pub fn admin_credential(&self, digest: &str) -> Option<(&str, &str)> {
        self.admin_credentials
            .get_key_value(digest)
            .map(|(d, u)| (d.as_str(), u.as_str()))
    }
}

/// The Pub/Sub host's view of Setup.
pub struct SetupCache {
    store: Store,
    /// The latest setup fingerprint the poller read (`None` before its first reading).
    observed: RwLock<Option<SetupFingerprint>>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// One reload at a time; callers that waited use the reload that just finished.
    reload: tokio::sync::Mutex<()>,
}

impl SetupCache {
    pub fn new(store: Store) -> SetupCache {
        SetupCache {
            store,
            observed: RwLock::new(None),
            snapshot: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Record the fingerprint the poller read; a change makes the next call reload.
    pub fn observe_fingerprint(&self, fingerprint: SetupFingerprint) {
        if let Ok(mut o) = self.observed.write() {
            *o = Some(fingerprint);
        }
    }

    fn observed(&self) -> Option<SetupFingerprint> {
        self.observed.read().ok().and_then(|o| *o)
    }

    /// The snapshot, if neither this process (generation) nor another instance (a fingerprint
    /// the poller read that the snapshot was not read under) changed setup since it was read.
    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let snapshot = self.snapshot.read().ok()?.clone()?;
        let observed = self.observed();
        let no_news = observed == snapshot.observed || observed == Some(snapshot.fingerprint);
        (snapshot.generation == self.store.generation() && no_news).then_some(snapshot)
    }

    /// The current snapshot, reloading it first if setup changed since it was read.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _one = self.reload.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        self.load().await
    }

    /// Read everything again, whatever the generation says (a valid token whose user is not in
    /// the snapshot: the user was created on another instance since the last poll).
    async fn reload_now(&self) -> Result<Arc<Snapshot>, StoreError> {
        let _one = self.reload.lock().await;
        self.load().await
    }

    async fn load(&self) -> Result<Arc<Snapshot>, StoreError> {
        // Read under the generation and fingerprint as they were before the reads: a write that
        // lands during them makes the snapshot stale at once, so it is read again next time.
        let generation = self.store.generation();
        let observed = self.observed();
        let fingerprint = self.store.repo().setup_fingerprint().await?;
        let org_id = self.store.org().await?.map(|o| o.id);
        let mut users = HashMap::new();
        let mut usernames = HashMap::new();
        for user in self.store.users().await? {
            let user = Arc::new(user);
            usernames.insert(user.username.to_lowercase(), user.id.clone());
            users.insert(user.id18.clone(), user.clone());
            users.insert(user.id.clone(), user);
        }
        let permission_sets = self.store.permission_sets().await?;
        let admin_credentials = self
            .store
            .admin_credentials()
            .await?
            .into_iter()
            .map(|c| (c.digest, c.username))
            .collect();
        let snapshot = Arc::new(Snapshot {
            generation,
            observed,
            fingerprint,
            org_id,
            users,
            usernames,
            permission_sets,
            admin_credentials,
        });
        if let Ok(mut s) = self.snapshot.write() {
            *s = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    /// What the token's user may do with the platform event `object` (e.g. `Byoc_Outbound__e`).
    pub async fn event_access(
        &self,
        grant: &Grant,
        object: &str,
    ) -> Result<EventAccess, StoreError> {
        let mut snapshot = self.snapshot().await?;
        if snapshot.user_by_id(&grant.user_id).is_none() {
            snapshot = self.reload_now().await?;
        }
        Ok(match snapshot.user_by_id(&grant.user_id) {
            Some(user) => event_access(user, &snapshot.permission_sets, object),
            None => EventAccess::default(),
        })
    }
}

/// Read the setup fingerprint every [`SAFETY_POLL`] until `shutdown`, so changes that raised no
/// notice reach this one's Pub/Sub checks too.
pub async fn poll(cache: Arc<SetupCache>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(SAFETY_POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = ticker.tick() => {}
        }
        match cache.store().repo().setup_fingerprint().await {
            Ok(fp) => cache.observe_fingerprint(fp),
            Err(e) => tracing::warn!(error = %e, "Pub/Sub: polling the setup fingerprint failed"),
        }
    }
}
