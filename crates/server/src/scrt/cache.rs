//! Channels and their CCDs in memory, by CCD developer name (case-insensitive) and by channel
//! address. A snapshot is reloaded when the store's generation moved — this process changed
//! setup, or another instance did and its change notice arrived ([`byoc_store::notify`]) — or
//! when it is older than [`TTL_MS`], a safety net for writers that raise no notice (another
//! process writing the same SQLite file).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use byoc_proto::setup::MessagingChannel;
use byoc_store::{Store, StoreError};

/// How long a snapshot is trusted when no setup change was announced.
pub const TTL_MS: i64 = 5000;

#[derive(Default)]
pub struct Snapshot {
    loaded_at: i64,
    generation: u64,
    by_ccd: HashMap<String, Arc<MessagingChannel>>,
    by_address: HashMap<String, Arc<MessagingChannel>>,
}

impl Snapshot {
    pub fn by_ccd(&self, developer_name: &str) -> Option<&Arc<MessagingChannel>> {
        self.by_ccd.get(&developer_name.to_lowercase())
    }

    pub fn by_address(&self, address: &str) -> Option<&Arc<MessagingChannel>> {
        self.by_address.get(address)
    }

    pub fn by_id(&self, channel_id: &str) -> Option<&Arc<MessagingChannel>> {
        self.by_address.values().find(|c| c.id == channel_id)
    }
}

pub struct SetupCache {
    store: Store,
    current: RwLock<Option<Arc<Snapshot>>>,
    reload: tokio::sync::Mutex<()>,
}

impl SetupCache {
    pub fn new(store: Store) -> SetupCache {
        SetupCache {
            store,
            current: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self, now: i64) -> Option<Arc<Snapshot>> {
        let guard = self.current.read().ok()?;
        let snap = guard.as_ref()?;
        (snap.generation == self.store.generation()
            && now - snap.loaded_at < TTL_MS
            && now >= snap.loaded_at)
            .then(|| snap.clone())
    }

    /// The current snapshot, reloading it (one reload at a time) when stale.
    pub async fn snapshot(&self, now: i64) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(s) = self.fresh(now) {
            return Ok(s);
        }
        let _one_at_a_time = self.reload.lock().await;
        if let Some(s) = self.fresh(now) {
            return Ok(s);
        }
        let generation = self.store.generation();
        let channels = self.store.channels().await?;
        let mut snap = Snapshot {
            loaded_at: now,
            generation,
            ..Snapshot::default()
        };
        for channel in channels {
            let channel = Arc::new(channel);
            if let Some(ccd) = &channel.conversation_channel_definition {
                snap.by_ccd
                    .insert(ccd.developer_name.to_lowercase(), channel.clone());
            }
            snap.by_address
                .insert(channel.channel_address_identifier.clone(), channel);
        }
        let snap = Arc::new(snap);
        if let Ok(mut guard) = self.current.write() {
            *guard = Some(snap.clone());
        }
        Ok(snap)
    }
}
