//! Who an access token names, kept in memory: user id → username and app id → consumer key.
//!
//! Access tokens carry ids only ([`super::tokens`]), so checking one needs these names without
//! asking the database. The map is filled
//!
//! - at start, with every user and app of the store ([`load_all`]);
//! - on every mint (the minting instance knows the names);
//! - when the poller ([`super::background`]) sees a setup change made by any instance (the
//!   store's setup fingerprint): a full reload, merged in, so renames and new consumer keys show
//!   within about half a second;
//! - on a miss — a token of a user or app created on another instance less than a poll ago:
//!   [`super::TokenVerifier::verify_resolving`] reads that one record (the only database read a
//!   check can cost, once per new principal), and the synchronous `verify` refuses the token and
//!   wakes the poller to reload at once.
//!
//! In steady state a check reads no database. Entries are never dropped (a deleted app's tokens
//! are refused by principal revocation before its name is looked up), so the map holds one entry
//! per user and app the org has had.

use std::collections::HashMap;
use std::sync::RwLock;

use byoc_proto::setup::{AppKind, User};
use byoc_store::{Store, StoreError};

#[derive(Default)]
pub struct Principals {
    users: RwLock<HashMap<String, String>>,
    apps: RwLock<HashMap<String, String>>,
    /// Signalled when a check missed a name, so the poller reloads now rather than at the next
    /// setup change.
    missed: tokio::sync::Notify,
}

impl Principals {
    pub fn username(&self, user_id: &str) -> Option<String> {
        read(&self.users, user_id)
    }

    pub fn consumer_key(&self, app_id: &str) -> Option<String> {
        read(&self.apps, app_id)
    }

    pub fn remember_user(&self, user_id: &str, username: &str) {
        remember(&self.users, user_id, username);
    }

    pub fn remember_app(&self, app_id: &str, consumer_key: &str) {
        remember(&self.apps, app_id, consumer_key);
    }

    /// Merge a full load in: loaded names win; names not in it are kept (a mint may have added
    /// one after the load's read).
    pub fn merge(&self, names: Names) {
        for (map, loaded) in [(&self.users, names.users), (&self.apps, names.apps)] {
            if let Ok(mut m) = map.write() {
                m.extend(loaded);
            }
        }
    }

    /// A check found no name for an id: ask the poller to reload.
    pub fn missed(&self) {
        self.missed.notify_one();
    }

    /// Resolves after [`Principals::missed`] was called (at once if it was since the last wait).
    pub async fn wait_missed(&self) {
        self.missed.notified().await;
    }
}

fn read(map: &RwLock<HashMap<String, String>>, id: &str) -> Option<String> {
    map.read().ok()?.get(id).cloned()
}

fn remember(map: &RwLock<HashMap<String, String>>, id: &str, name: &str) {
    if id.is_empty() || read(map, id).as_deref() == Some(name) {
        return;
    }
    if let Ok(mut m) = map.write() {
        m.insert(id.to_string(), name.to_string());
    }
}

/// Every user's username and every app's consumer key, by id.
#[derive(Default)]
pub struct Names {
    pub users: HashMap<String, String>,
    pub apps: HashMap<String, String>,
}

/// Read every user and app of the store (a few list queries; at start and after setup changes).
pub async fn load_all(store: &Store) -> Result<Names, StoreError> {
    let users = store
        .users()
        .await?
        .into_iter()
        .map(|u: User| (u.id, u.username))
        .collect();
    let mut apps = HashMap::new();
    for kind in [AppKind::ConnectedApp, AppKind::ExternalClientApp] {
        for app in store.apps(kind).await? {
            apps.insert(app.id, app.oauth.consumer_key);
        }
    }
    Ok(Names { users, apps })
}

/// One user's username by id (a miss).
pub async fn load_user(store: &Store, user_id: &str) -> Result<Option<String>, StoreError> {
    Ok(store.user_by_id(user_id).await?.map(|u| u.username))
}

/// One app's consumer key by id (a miss).
pub async fn load_app(store: &Store, app_id: &str) -> Result<Option<String>, StoreError> {
    use byoc_store::{Kind, Lookup, SetupRecord};
    for kind in [AppKind::ExternalClientApp, AppKind::ConnectedApp] {
        if let Some(raw) = store
            .repo()
            .find(Kind::for_app(kind), Lookup::Id(app_id))
            .await?
        {
            let app = byoc_proto::setup::App::from_raw(&raw)?;
            return Ok(Some(app.oauth.consumer_key));
        }
    }
    Ok(None)
}
